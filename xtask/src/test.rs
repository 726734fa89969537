//! `cargo xtask test`: the one command README and CI run. Fails on the first failing stage.

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
    let bin = crate::package::target_dir(&root)
        .join("debug")
        .join("lwm2m-xdp");
    // The Debian package from that binary: installs, checks, purges (before the tests, so
    // their count stays the last line).
    crate::package::check_installs()?;
    // Library, binary and integration tests (not the benches: `cargo xtask bench` runs those).
    let mut test = cargo(&["test", "--workspace", "--lib", "--bins", "--tests"]);
    test.args(&excluded)
        .args(cargo_test_args)
        .env("LWM2M_XDP_BIN", &bin);
    run_counting(&mut test)?;
    // The fuzzer and the soak load programs, as the kernel tests do: root here, loud otherwise.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        crate::fuzz::run(crate::fuzz::CI_FRAMES, Some(crate::fuzz::CI_SEED))?;
        crate::soak::run(crate::soak::CI_RELOADS)
    } else {
        println!("SKIPPED: cargo xtask fuzz and soak (need root: BPF programs, namespaces)");
        Ok(())
    }
}

/// Run `cargo test`, echoing its output, and close with one plain line totalling every test
/// binary's "test result" line (CI reads the last line; cargo's own last line is whichever
/// binary ran last).
fn run_counting(test: &mut std::process::Command) -> Result<()> {
    use std::io::{BufRead, BufReader};
    println!("+ {}", cmd::display(test));
    let mut child = test
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .strip_suffix(word)?
                            .trim()
                            .rsplit(' ')
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait()?;
    println!("tests: {passed} passed, {failed} failed");
    anyhow::ensure!(
        status.success() && failed == 0,
        "cargo test failed ({status})"
    );
    Ok(())
}
