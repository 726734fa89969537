//! `cargo xtask bench`: the benchmarks, measured in one run so their ratios hold.
//! Now: the kernel cost per packet through BPF_PROG_TEST_RUN (xdp-user/benches/kernel.rs),
//! next to a MAC-swap XDP_TX reflector and the empty program; its table is printed and kept
//! in target/bench/ (kernel.txt, kernel.json).
//! Not yet (issue 5): end-to-end rates over veth against Kea, the config-change latency.

use std::process::Stdio;

use anyhow::{ensure, Context as _, Result};

use crate::cmd;

pub fn run() -> Result<()> {
    let root = cmd::workspace_root();
    let mut bench = cmd::cargo();
    bench
        .current_dir(&root)
        .args(["bench", "-p", "lwm2m-xdp", "--bench", "kernel"])
        .stdout(Stdio::piped());
    println!("+ {}", cmd::display(&bench));
    let out = bench.output().context("running cargo bench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    ensure!(out.status.success(), "cargo bench failed ({})", out.status);
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("kernel.txt"), text.as_bytes())?;
    println!("written: {}", dir.join("kernel.txt").display());
    Ok(())
}
