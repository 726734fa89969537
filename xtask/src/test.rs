//! `cargo xtask test`: the one command README and CI run. Fails on the first failing stage.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd;

/// Members never compiled for the host: the kernel program is `no_std`/`no_main` for
/// bpfel-unknown-none and is built (and so checked) by xdp-user's build.rs through aya-build.
/// Under `--workspace` its bin would be built for the host and fail ("unwinding panics are not
/// supported without std"); the root Cargo.toml leaves it out of default-members for the same
/// reason. Remove it here if it ever gains a host build.
const NOT_FOR_HOST: &[&str] = &["xdp-ebpf"];

pub fn run(cargo_test_args: &[String]) -> Result<()> {
    let root = cmd::workspace_root();
    let cargo = |args: &[&str]| {
        let mut c = cmd::cargo();
        c.current_dir(&root).args(args);
        c
    };
    let excluded: Vec<&str> = NOT_FOR_HOST.iter().flat_map(|p| ["--exclude", p]).collect();

    cmd::run(&mut cargo(&["fmt", "--all", "--check"]))?;
    let mut clippy = cargo(&["clippy", "--workspace", "--all-targets"]);
    clippy.args(&excluded).args(["--", "-D", "warnings"]);
    cmd::run(&mut clippy)?;
    // The namespace tests run the real binary: build it first and tell them where it is.
    cmd::run(&mut cargo(&["build", "-p", "lwm2m-xdp"]))?;
    let bin = target_dir(&root).join("debug").join("lwm2m-xdp");
    let mut test = cargo(&["test", "--workspace"]);
    test.args(&excluded)
        .args(cargo_test_args)
        .env("LWM2M_XDP_BIN", &bin);
    cmd::run(&mut test)
}

/// `CARGO_TARGET_DIR` when set (relative to the workspace), else `<workspace>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}
