//! `cargo xtask fuzz --frames N [--seed S]`: the fuzzer (the `lwm2m-xdp-fuzz` crate) built
//! and run by cargo, so xtask itself builds before the BPF toolchain exists. Violating
//! frames land in `<target>/fuzz/` as hex; any violation fails the task.

use std::{path::Path, process::Command};

use anyhow::Result;

use crate::{cmd, package};

/// Frames `cargo xtask test` runs, with a fixed seed so CI is reproducible.
pub const CI_FRAMES: u64 = 200_000;
pub const CI_SEED: u64 = 12;

/// `cargo run` of `bin` of the fuzz crate from the workspace `root`, up to its own arguments.
pub fn fuzz_crate_bin(root: &Path, bin: &str) -> Command {
    let mut c = cmd::cargo();
    c.current_dir(root)
        .args(["run", "-q", "-p", "lwm2m-xdp-fuzz", "--bin", bin, "--"]);
    c
}

pub fn run(frames: u64, seed: Option<u64>) -> Result<()> {
    let root = cmd::workspace_root();
    let out = package::target_dir(&root).join("fuzz");
    let mut c = fuzz_crate_bin(&root, "lwm2m-xdp-fuzz");
    c.args(["--frames", &frames.to_string()])
        .arg("--out")
        .arg(&out);
    if let Some(seed) = seed {
        c.args(["--seed", &seed.to_string()]);
    }
    cmd::run(&mut c)
}
