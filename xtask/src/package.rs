//! `cargo xtask package`: the Debian package, built by cargo-deb from xdp-user's
//! `[package.metadata.deb]`: the binary, the systemd unit, the example config as a conffile,
//! man pages and shell completions (made by the binary itself: `lwm2m-xdp assets`), and the
//! maintainer scripts of packaging/debian/ (the system user).
//!
//! [`check_installs`] is what `cargo xtask test` runs: the package built from the debug
//! binary it already has (no second build), installed with dpkg, looked at, its example
//! config checked as the service's user would, and purged again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _, Result};

use crate::{cmd, setup};

/// Which cargo profile the packaged binary comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `cargo xtask package`: what an operator installs.
    Release,
    /// The test: the binary `cargo xtask test` built anyway.
    Dev,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "dev",
        }
    }

    /// Its directory under the target dir.
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "debug",
        }
    }
}

pub const PACKAGE: &str = "lwm2m-xdp";
/// Where `[package.metadata.deb]` looks for the generated man pages and completions: under
/// cargo-deb's `target/release/` prefix, which it resolves to the profile's directory.
const ASSETS_DIR: &str = "lwm2m-xdp-assets";
const INSTALLED_BIN: &str = "/usr/bin/lwm2m-xdp";
const INSTALLED_CONFIG: &str = "/etc/lwm2m-xdp/lwm2m-xdp.toml";
const INSTALLED_UNIT: &str = "/lib/systemd/system/lwm2m-xdp.service";
const SERVICE_USER: &str = "lwm2m-xdp";

/// `CARGO_TARGET_DIR` when set (relative to the workspace), else `<workspace>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds the package (and, for [`Profile::Release`], the binary first); its path.
pub fn build(profile: Profile) -> Result<PathBuf> {
    let started = Instant::now();
    setup::cargo_deb_step()?;
    let root = cmd::workspace_root();
    let profile_dir = target_dir(&root).join(profile.dir());
    if profile == Profile::Release {
        cmd::run(
            cmd::cargo()
                .current_dir(&root)
                .args(["build", "--release", "-p", "lwm2m-xdp"]),
        )?;
    }
    let bin = profile_dir.join("lwm2m-xdp");
    ensure!(
        bin.is_file(),
        "{} is not built (cargo build -p lwm2m-xdp{})",
        bin.display(),
        if profile == Profile::Release {
            " --release"
        } else {
            ""
        }
    );
    let assets = profile_dir.join(ASSETS_DIR);
    if assets.exists() {
        std::fs::remove_dir_all(&assets)
            .with_context(|| format!("removing {}", assets.display()))?;
    }
    cmd::run(Command::new(&bin).arg("assets").arg("--out").arg(&assets))?;
    // Debian ships man pages compressed; -n: no name or time stamp, so rebuilds are equal.
    for page in std::fs::read_dir(assets.join("man"))? {
        cmd::run(Command::new("gzip").arg("-9nf").arg(page?.path()))?;
    }
    let out_dir = target_dir(&root).join("debian");
    let out = cmd::cargo()
        .current_dir(&root)
        .args([
            "deb",
            "-p",
            "lwm2m-xdp",
            "--no-build",
            "--profile",
            profile.name(),
        ])
        .arg("--output")
        .arg(&out_dir)
        .output()
        .context("running cargo deb")?;
    if !out.status.success() {
        bail!(
            "cargo deb failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let deb = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with(".deb"))
        .map(|l| PathBuf::from(l.trim()))
        .context("cargo deb printed no .deb path")?;
    println!(
        "package: {} ({} profile) in {:.1} s",
        deb.display(),
        profile.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(deb)
}

fn run_ok(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success(),
        "`{program} {}` failed ({}):\n{text}",
        args.join(" "),
        out.status
    );
    Ok(text)
}

fn installed() -> bool {
    cmd::missing_debs(&[PACKAGE]).is_empty()
}

/// Purges the package when dropped: also when a check failed half way.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
    }
}

/// Builds the package from the debug binary, installs it, checks it, purges it. Needs root.
pub fn check_installs() -> Result<()> {
    if cmd::euid() != Some(0) {
        let message = "package check: needs root (dpkg -i)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            bail!("{message}; CI runs as root, so this skip would hide a bug");
        }
        let bar = "!".repeat(78);
        eprintln!("{bar}\n!!! SKIPPED {message}\n{bar}");
        return Ok(());
    }
    ensure!(
        !installed() && !Path::new(INSTALLED_BIN).exists(),
        "{PACKAGE} is already installed on this machine: the package check installs and \
         purges it, so it leaves a machine alone that has it (dpkg --purge {PACKAGE} first)"
    );
    let started = Instant::now();
    let deb = build(Profile::Dev)?;
    let deb = deb.to_str().context("package path is not UTF-8")?;
    run_ok("dpkg", &["-i", deb])?;
    let guard = Installed;
    ensure!(installed(), "dpkg -i left {PACKAGE} not installed");

    let version = run_ok(INSTALLED_BIN, &["--version"])?;
    ensure!(version.starts_with("lwm2m-xdp "), "--version: {version}");
    run_ok("getent", &["passwd", SERVICE_USER]).context("the postinst made no system user")?;
    let conffiles = run_ok(
        "dpkg-query",
        &["--showformat=${Conffiles}", "--show", PACKAGE],
    )?;
    ensure!(
        conffiles.contains(INSTALLED_CONFIG),
        "{INSTALLED_CONFIG} is not a conffile: {conffiles}"
    );
    let files = run_ok("dpkg", &["-L", PACKAGE])?;
    for wanted in [
        INSTALLED_BIN,
        INSTALLED_UNIT,
        INSTALLED_CONFIG,
        "/usr/share/man/man1/lwm2m-xdp.1.gz",
        "/usr/share/man/man1/lwm2m-xdp-run.1.gz",
        "/usr/share/bash-completion/completions/lwm2m-xdp",
        "/usr/share/zsh/vendor-completions/_lwm2m-xdp",
        "/usr/share/fish/vendor_completions.d/lwm2m-xdp.fish",
    ] {
        ensure!(
            files.lines().any(|l| l == wanted) && Path::new(wanted).exists(),
            "the package does not install {wanted}:\n{files}"
        );
    }
    // The unit as installed (its ExecStart and man page exist now): no warning at all.
    let verify = run_ok("systemd-analyze", &["verify", INSTALLED_UNIT])?;
    ensure!(
        verify.trim().is_empty(),
        "systemd-analyze verify {INSTALLED_UNIT}:\n{verify}"
    );
    // The example config, read as the service's user reads it (0640 root:lwm2m-xdp).
    check_config_as_service_user()?;

    drop(guard);
    ensure!(!installed(), "dpkg --purge left {PACKAGE} installed");
    for gone in [INSTALLED_BIN, INSTALLED_CONFIG, INSTALLED_UNIT] {
        ensure!(
            !Path::new(gone).exists(),
            "{gone} is still there after the purge"
        );
    }
    println!(
        "package check: built, installed, checked and purged {deb} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `lwm2m-xdp check` of the installed example as user lwm2m-xdp: `--offline` when this
/// binary has it, else in a namespace of its own that has the example's eth0.
fn check_config_as_service_user() -> Result<()> {
    let help = run_ok(INSTALLED_BIN, &["check", "--help"])?;
    let as_user = [
        "setpriv",
        "--reuid",
        SERVICE_USER,
        "--regid",
        SERVICE_USER,
        "--init-groups",
        INSTALLED_BIN,
        "check",
        "--config",
        INSTALLED_CONFIG,
    ];
    if help.contains("--offline") {
        let mut args = as_user[1..].to_vec();
        args.push("--offline");
        let said = run_ok(as_user[0], &args)?;
        println!(
            "package check: `check --offline` of the example: {}",
            said.lines().last().unwrap_or("")
        );
        return Ok(());
    }
    let ns = format!("lwx-pkg-{}", std::process::id());
    run_ok("ip", &["netns", "add", &ns])?;
    let result = (|| {
        run_ok(
            "ip",
            &[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
            ],
        )?;
        let mut args = vec!["netns", "exec", &ns];
        args.extend_from_slice(&as_user);
        run_ok("ip", &args)
    })();
    let _ = Command::new("ip").args(["netns", "del", &ns]).output();
    let said = result?;
    println!(
        "package check: `check` of the example (eth0 in a namespace of its own): {}",
        said.lines().last().unwrap_or("")
    );
    Ok(())
}
