//! `cargo xtask setup`: installs what the BPF build and the tests need, when it is missing.
//!
//! Follows ../shared/docs/toolchain.md step by step. Each step checks cheaply first (dpkg
//! status, PATH, /proc/mounts) and prints one line, `ok: ...` or `installing: ...`, so a run
//! on a machine that has everything takes well under two seconds. A step that needs root on
//! a run without root (or without apt-get) prints `missing: ...`; at the end the exact commands
//! are printed and setup fails, instead of half-installing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd;

/// Debian's compiler and library source, matched to each other (one source package): the
/// BPF side needs `-Z build-std=core`, which needs a rust-src of exactly the compiler's version.
const RUST_DEBS: &[&str] = &["rustc-web", "cargo-web", "rust-web-src"];
/// The Debian compiler those packages install; its LLVM major picks the LLVM for bpf-linker.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Real peers and tools the namespace tests drive. iputils-ping: the harness self-test;
/// isc-dhcp-relay: dhcrelay, the DHCPv6 relay agent of tests/tests/netns_relay6_agent.rs.
const TEST_PEER_DEBS: &[&str] = &[
    "kea-dhcp4-server",
    "kea-dhcp6-server",
    "isc-dhcp-relay",
    "dhcpcd-base",
    "isc-dhcp-client",
    "python3-scapy",
    "tcpdump",
    "iproute2",
    "ethtool",
    "bpftool",
    "iputils-ping",
];
/// promtool, which checks the metrics text (tests/tests/netns_metrics.rs). Without its
/// recommended node exporter: a service nothing here needs.
const PROMTOOL_DEBS: &[&str] = &["prometheus"];
const BPF_LINKER_VERSION: &str = "0.13.0";
/// The rustup name xdp-user/build.rs hands to aya-build for the Debian compiler.
const BPF_TOOLCHAIN: &str = "debian-bpf";
const BPFFS: &str = "/sys/fs/bpf";
/// Free space a full `cargo xtask test` needs on the target directory's file system: the
/// debug build of the workspace, the BPF objects, the package and the fuzz/soak work files
/// (about 4 GB measured, with line tables only), with room to spare.
const TEST_DISK_GIB: u64 = 8;

/// Shell line that prints the LLVM major of the Debian compiler, for the printed commands
/// when the compiler is not installed yet and the major cannot be known.
const LLVM_MAJOR_SHELL: &str =
    r"N=$(/usr/bin/rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')";

pub fn run() -> Result<()> {
    let mut setup = Setup::new();
    setup.apt_step("Debian rustc/cargo/rust-src for the BPF build", RUST_DEBS)?;
    let llvm = setup.llvm_major()?;
    setup.apt_step(
        &format!("LLVM {} development files for bpf-linker", llvm.shown()),
        &llvm.debs(),
    )?;
    setup.bpf_linker_step(&llvm)?;
    setup.toolchain_link_step()?;
    setup.rust_components_step()?;
    setup.apt_step(
        "test peers (kea, dhcrelay, dhcpcd, dhclient, scapy, tcpdump, ip, ethtool, bpftool, ping)",
        TEST_PEER_DEBS,
    )?;
    setup.apt_step_without_recommends("promtool (Debian's prometheus)", PROMTOOL_DEBS)?;
    setup.bpffs_step()?;
    setup.disk_step()?;
    setup.finish()
}

/// LLVM major version of the Debian compiler; unknown while that compiler is not installed.
enum LlvmMajor {
    Known(u32),
    /// Only possible when setup could not install rustc-web: the printed commands compute it.
    Unknown,
}

impl LlvmMajor {
    /// How N appears in messages and printed commands.
    fn shown(&self) -> String {
        match self {
            Self::Known(n) => n.to_string(),
            Self::Unknown => "$N".to_owned(),
        }
    }

    fn debs(&self) -> Vec<String> {
        let n = self.shown();
        vec![
            format!("llvm-{n}-dev"),
            format!("libpolly-{n}-dev"),
            "libzstd-dev".to_owned(),
        ]
    }
}

/// Reads "LLVM version: 22.1.8" from `rustc -vV` output.
fn parse_llvm_major(version_output: &str) -> Option<u32> {
    let version = version_output
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version:"))?
        .trim();
    version.split('.').next()?.parse().ok()
}

struct Setup {
    /// Root with apt-get: the steps that change the system can run.
    can_install: bool,
    apt_updated: bool,
    /// Commands a person must run (as root) because this run could not.
    manual: Vec<String>,
}

impl Setup {
    fn new() -> Self {
        let root = cmd::euid() == Some(0);
        let apt = cmd::which("apt-get").is_some();
        Self {
            can_install: root && apt,
            apt_updated: false,
            manual: Vec::new(),
        }
    }

    /// One apt group: ok when all are installed, else install them (one `apt-get update`
    /// per setup run, and only when something is installed).
    fn apt_step<S: AsRef<str>>(&mut self, label: &str, packages: &[S]) -> Result<()> {
        self.apt_install(label, packages, &[])
    }

    fn apt_step_without_recommends(&mut self, label: &str, packages: &[&str]) -> Result<()> {
        self.apt_install(label, packages, &["--no-install-recommends"])
    }

    fn apt_install<S: AsRef<str>>(
        &mut self,
        label: &str,
        packages: &[S],
        flags: &[&str],
    ) -> Result<()> {
        // A `$N` name cannot be asked of dpkg: it is only missing.
        let missing: Vec<String> = if packages.iter().any(|p| p.as_ref().contains('$')) {
            packages.iter().map(|p| p.as_ref().to_owned()).collect()
        } else {
            cmd::missing_debs(packages)
        };
        if missing.is_empty() {
            println!("ok: {label}");
            return Ok(());
        }
        if !self.can_install {
            println!("missing: {label} ({})", missing.join(" "));
            if !self.manual.iter().any(|c| c == "apt-get update") {
                self.manual.push("apt-get update".to_owned());
            }
            self.manual.push(format!(
                "DEBIAN_FRONTEND=noninteractive apt-get install -y {}{}",
                flags.iter().map(|f| format!("{f} ")).collect::<String>(),
                missing.join(" ")
            ));
            return Ok(());
        }
        println!("installing: {label} ({})", missing.join(" "));
        if !self.apt_updated {
            // A fresh machine has no package lists at all (toolchain.md step 0).
            cmd::run(Command::new("apt-get").args(["update"]))?;
            self.apt_updated = true;
        }
        cmd::run(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                // A fresh machine may still be running its own apt jobs: wait, don't fail.
                .args(["-o", "DPkg::Lock::Timeout=300", "install", "-y"])
                .args(flags)
                .args(&missing),
        )
    }

    /// Never hard-coded: a Debian update of rustc-web may move to a newer LLVM, and
    /// bpf-linker must link the same major as the compiler that emits the bitcode.
    fn llvm_major(&mut self) -> Result<LlvmMajor> {
        if !PathBuf::from(DEBIAN_RUSTC).exists() {
            // Only reached when rustc-web could not be installed (manual commands pending).
            self.manual.push(LLVM_MAJOR_SHELL.to_owned());
            return Ok(LlvmMajor::Unknown);
        }
        let out = cmd::output_of(DEBIAN_RUSTC, &["-vV"])
            .with_context(|| format!("`{DEBIAN_RUSTC} -vV` failed"))?;
        let major = parse_llvm_major(&out)
            .with_context(|| format!("no `LLVM version:` line in `{DEBIAN_RUSTC} -vV`:\n{out}"))?;
        Ok(LlvmMajor::Known(major))
    }

    fn bpf_linker_step(&mut self, llvm: &LlvmMajor) -> Result<()> {
        let label = format!("bpf-linker {BPF_LINKER_VERSION} (LLVM {})", llvm.shown());
        let installed = installed_bpf_linker();
        let version = installed
            .as_ref()
            .and_then(|bin| cmd::output_of(bin, &["--version"]));
        if version
            .as_deref()
            .is_some_and(|v| v.split_whitespace().any(|w| w == BPF_LINKER_VERSION))
        {
            println!("ok: {label}");
            return Ok(());
        }
        let n = llvm.shown();
        let mut install = cmd::cargo();
        install
            .env("LLVM_PREFIX", format!("/usr/lib/llvm-{n}"))
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args(["--no-default-features", "--features", &format!("llvm-{n}")]);
        if version.is_some() {
            // Another version is there: replace it.
            install.arg("--force");
        }
        let llvm_ready =
            matches!(llvm, LlvmMajor::Known(_)) && cmd::missing_debs(&llvm.debs()).is_empty();
        if !llvm_ready {
            println!("missing: {label}");
            self.manual.push(format!(
                "LLVM_PREFIX=/usr/lib/llvm-{n} cargo install bpf-linker --version {BPF_LINKER_VERSION} \
                 --no-default-features --features llvm-{n}"
            ));
            return Ok(());
        }
        println!("installing: {label} (about a minute)");
        // Outside the workspace, so its .cargo/config.toml ([env] RUSTC_BOOTSTRAP) stays out
        // of an ordinary host build.
        install
            .current_dir(std::env::temp_dir())
            .env_remove("RUSTC_BOOTSTRAP");
        cmd::run(&mut install)?;
        if cmd::which("bpf-linker").is_none() {
            println!("note: bpf-linker is in {}, which is not on PATH; add it (`. \"$HOME/.cargo/env\"`)", cargo_bin_dir().display());
        }
        Ok(())
    }

    /// aya-build runs `rustup run debian-bpf cargo build ...`: the name must reach /usr.
    fn toolchain_link_step(&mut self) -> Result<()> {
        let label = format!("rustup toolchain `{BPF_TOOLCHAIN}` -> /usr");
        let Some(rustup) = cmd::which("rustup") else {
            bail!("rustup is not on PATH: this project builds with a rustup toolchain (run `. \"$HOME/.cargo/env\"`?)");
        };
        let list = cmd::output_of(&rustup, &["toolchain", "list"]).unwrap_or_default();
        if list
            .lines()
            .any(|l| l.split_whitespace().next() == Some(BPF_TOOLCHAIN))
        {
            println!("ok: {label}");
            return Ok(());
        }
        if !PathBuf::from(DEBIAN_RUSTC).exists() {
            println!("missing: {label}");
            self.manual
                .push(format!("rustup toolchain link {BPF_TOOLCHAIN} /usr"));
            return Ok(());
        }
        println!("installing: {label}");
        cmd::run(Command::new(rustup).args(["toolchain", "link", BPF_TOOLCHAIN, "/usr"]))
    }

    /// `cargo xtask test` runs fmt and clippy with the host toolchain.
    fn rust_components_step(&mut self) -> Result<()> {
        let label = "rustfmt and clippy";
        let has = |sub: &str| {
            cmd::cargo()
                .args([sub, "--version"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if has("fmt") && has("clippy") {
            println!("ok: {label}");
            return Ok(());
        }
        println!("installing: {label}");
        let mut add = Command::new("rustup");
        add.args(["component", "add", "rustfmt", "clippy"]);
        if let Err(err) = cmd::run(&mut add) {
            // Offline machines cannot fetch components: say what to do, keep checking the rest.
            println!("missing: {label} ({err:#})");
            self.manual.push(cmd::display(&add));
        }
        Ok(())
    }

    /// Pinning maps and links needs bpffs, which this kind of machine does not mount.
    fn bpffs_step(&mut self) -> Result<()> {
        let label = format!("bpffs mounted at {BPFFS}");
        if bpffs_mounted() {
            println!("ok: {label}");
            return Ok(());
        }
        let mount = format!("mount -t bpf bpf {BPFFS}");
        if cmd::euid() != Some(0) {
            println!("missing: {label}");
            self.manual.push(mount);
            return Ok(());
        }
        println!("installing: {label}");
        cmd::run(Command::new("mount").args(["-t", "bpf", "bpf", BPFFS]))
    }

    /// Warns, loudly and first, when the build's file system is too full for a test run: a
    /// build that runs out of space fails later with a mere "No space left on device".
    fn disk_step(&mut self) -> Result<()> {
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .filter(|dir| dir.exists())
            .unwrap_or_else(cmd::workspace_root);
        let Some(free) = free_bytes(&dir) else {
            println!("unknown: free space under {}", dir.display());
            return Ok(());
        };
        let gib = free / (1 << 30);
        if gib >= TEST_DISK_GIB {
            println!("ok: {gib} GiB free under {}", dir.display());
        } else {
            println!(
                "warning: only {} MiB free under {}; a full `cargo xtask test` needs about \
                 {TEST_DISK_GIB} GiB (free space, or set CARGO_TARGET_DIR elsewhere)",
                free >> 20,
                dir.display()
            );
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if self.manual.is_empty() {
            return Ok(());
        }
        let why = if cmd::euid() != Some(0) {
            "not root"
        } else if cmd::which("apt-get").is_none() {
            "no apt-get"
        } else {
            "a step failed"
        };
        eprintln!(
            "\nsetup cannot do these itself ({why}); run them in this order \
             (apt-get and mount as root):\n"
        );
        for line in &self.manual {
            eprintln!("    {line}");
        }
        eprintln!("\nthen run `cargo xtask setup` again.");
        bail!("setup incomplete")
    }
}

/// Where `cargo install` puts binaries.
fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
        .join("bin")
}

fn installed_bpf_linker() -> Option<PathBuf> {
    cmd::which("bpf-linker").or_else(|| {
        let bin = cargo_bin_dir().join("bpf-linker");
        bin.exists().then_some(bin)
    })
}

/// Bytes an unprivileged writer may still use on the file system holding `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stat` is written by the call before it is read.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|l| {
            let mut fields = l.split_whitespace().skip(1);
            fields.next() == Some(BPFFS) && fields.next() == Some("bpf")
        })
    })
}

/// cargo-deb builds the Debian package (`cargo xtask package`, and the package check of
/// `cargo xtask test`). Installed only when those run: compiling it takes a few minutes.
const CARGO_DEB_VERSION: &str = "3.8.0";

/// cargo-deb [`CARGO_DEB_VERSION`], installed with `cargo install` when missing.
pub fn cargo_deb_step() -> Result<()> {
    let label = format!("cargo-deb {CARGO_DEB_VERSION}");
    let version = cmd::cargo()
        .args(["deb", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if version
        .as_deref()
        .is_some_and(|v| v.split_whitespace().any(|w| w == CARGO_DEB_VERSION))
    {
        println!("ok: {label}");
        return Ok(());
    }
    println!("installing: {label} (a few minutes)");
    let mut install = cmd::cargo();
    install
        .args([
            "install",
            "cargo-deb",
            "--locked",
            "--version",
            CARGO_DEB_VERSION,
        ])
        .current_dir(std::env::temp_dir())
        .env_remove("RUSTC_BOOTSTRAP");
    if version.is_some() {
        install.arg("--force");
    }
    cmd::run(&mut install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llvm_major_from_rustc_vv() {
        let out = "rustc 1.96.0 (ac68faa20 2026-05-25)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.96.0\nLLVM version: 22.1.8\n";
        assert_eq!(parse_llvm_major(out), Some(22));
        assert_eq!(parse_llvm_major("LLVM version: 9\n"), Some(9));
        assert_eq!(parse_llvm_major("rustc 1.0\n"), None);
    }

    #[test]
    fn unknown_major_prints_shell_variable() {
        assert_eq!(LlvmMajor::Unknown.debs()[0], "llvm-$N-dev");
        assert_eq!(LlvmMajor::Known(23).debs()[1], "libpolly-23-dev");
    }
}
