//! Tests that load programs and build namespaces need root: CAP_BPF, CAP_NET_ADMIN, netns.

use std::io::Write;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use crate::bounded;

/// Where pins live; this kind of machine does not mount it by itself.
pub(crate) const BPFFS: &str = "/sys/fs/bpf";

/// True when this test can run its privileged part. Otherwise prints a loud `SKIPPED` line
/// to stderr and returns false, so `cargo test` as a user still passes the rest — except
/// under CI (`CI=true`), which runs as root: a skip there hides a broken set-up, so panic.
pub fn require_root(test: &str) -> bool {
    let Some(reason) = missing_privilege() else {
        return true;
    };
    let message = format!("{test}: needs root (CAP_BPF, CAP_NET_ADMIN, netns): {reason}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}. CI runs as root, so this skip would hide a bug.");
    }
    let bar = "!".repeat(78);
    // Straight to the stderr handle: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(std::io::stderr(), "{bar}\n!!! SKIPPED {message}\n{bar}");
    false
}

/// Why privileged tests cannot run here, or `None` when they can. Checked once per process.
fn missing_privilege() -> Option<String> {
    static ANSWER: OnceLock<Option<String>> = OnceLock::new();
    ANSWER.get_or_init(check_privilege).clone()
}

fn check_privilege() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some(format!("running as uid {euid}"));
    }
    if let Err(why) = ensure_bpffs() {
        return Some(why);
    }
    let netns = bounded(Duration::from_secs(10), "ip", &["netns", "list"])
        .stdout(Stdio::null())
        .output();
    match netns {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`ip netns list` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(err) => Some(format!("cannot run `ip` (iproute2): {err}")),
    }
}

pub(crate) fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            fields.next() == Some(BPFFS) && fields.next() == Some("bpf")
        })
    })
}

/// Mounts bpffs when it is not (as `cargo xtask setup` does), so a plain `cargo test` as
/// root after a reboot works too.
pub(crate) fn ensure_bpffs() -> Result<(), String> {
    if bpffs_mounted() {
        return Ok(());
    }
    let out = bounded(
        Duration::from_secs(10),
        "mount",
        &["-t", "bpf", "bpf", BPFFS],
    )
    .output()
    .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() && bpffs_mounted() {
        Ok(())
    } else {
        Err(format!(
            "bpffs is not mounted at {BPFFS} and `mount -t bpf bpf {BPFFS}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// True when `tool` is on PATH. Otherwise a loud `SKIPPED` line (`cargo xtask setup`
/// installs it, from `package`), and under CI a panic: a skip there hides a missing set-up.
pub fn require_tool(test: &str, tool: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    if found {
        return true;
    }
    let message = format!(
        "{test}: needs `{tool}` (Debian package {package}; `cargo xtask setup` installs it)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}. Under CI this skip would hide a missing set-up step.");
    }
    let bar = "!".repeat(78);
    let _ = writeln!(std::io::stderr(), "{bar}\n!!! SKIPPED {message}\n{bar}");
    false
}

/// The first line of a privileged test: returns from it, after [`require_root`]'s loud
/// SKIPPED line (a panic under CI), unless it can run its privileged part; with
/// `tool "name" from "package"`, also unless that tool is on PATH ([`require_tool`]).
#[macro_export]
macro_rules! skip_unless_root {
    ($test:expr) => {
        if !$crate::require_root($test) {
            return;
        }
    };
    ($test:expr, tool $tool:literal from $package:literal) => {
        if !$crate::require_root($test) || !$crate::require_tool($test, $tool, $package) {
            return;
        }
    };
}
