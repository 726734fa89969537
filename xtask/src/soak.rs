//! `cargo xtask soak --reloads N`: the reload soak (the `lwm2m-xdp-soak` binary of the fuzz
//! crate) against the real `lwm2m-xdp run`, built first, in network namespaces.

use anyhow::Result;

use crate::{cmd, fuzz, package};

/// Reloads `cargo xtask test` runs.
pub const CI_RELOADS: u64 = 200;

pub fn run(reloads: u64) -> Result<()> {
    let root = cmd::workspace_root();
    cmd::run(
        cmd::cargo()
            .current_dir(&root)
            .args(["build", "-q", "-p", "lwm2m-xdp"]),
    )?;
    let bin = package::target_dir(&root).join("debug").join("lwm2m-xdp");
    let mut c = fuzz::fuzz_crate_bin(&root, "lwm2m-xdp-soak");
    c.args(["--reloads", &reloads.to_string()])
        .env("LWM2M_XDP_BIN", &bin);
    cmd::run(&mut c)
}
