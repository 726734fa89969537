//! Running external commands: print what runs, fail with the command's name, and cheap
//! look-ups (PATH search, dpkg status) that keep an all-present `setup` under a second or two.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The command line as a person would type it, for logs and for "run this yourself" hints.
pub fn display(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Prints the command, runs it with inherited stdio, and fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("+ {shown}");
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs a look-up command quietly; its stdout when it exits 0, `None` when it fails or is
/// missing (a missing tool is an answer here, not an error).
pub fn output_of<S: AsRef<OsStr>>(program: S, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like `which`: the first executable called `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Which of `packages` dpkg does not have fully installed. One dpkg-query call for all.
pub fn missing_debs<S: AsRef<str>>(packages: &[S]) -> Vec<String> {
    let names: Vec<&str> = packages.iter().map(AsRef::as_ref).collect();
    // dpkg-query exits 1 when it knows none of some name; it still prints the ones it knows.
    let listed = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Status}\\n"])
        .args(&names)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let installed = |pkg: &str| {
        listed.lines().any(|line| {
            // "<name>[:arch] install ok installed"
            let name = line.split([' ', ':']).next().unwrap_or("");
            name == pkg && line.ends_with("install ok installed")
        })
    };
    names
        .into_iter()
        .filter(|pkg| !installed(pkg))
        .map(str::to_owned)
        .collect()
}

/// The effective uid, from /proc (no libc dependency for one number).
pub fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // "Uid:\treal\teffective\tsaved\tfs"
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The workspace root: xtask lives one level below it.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// The cargo that runs us (set by `cargo run`), so nested builds use the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_debs_asks_dpkg() {
        if which("dpkg-query").is_none() {
            return; // not a Debian machine: nothing to ask
        }
        // bash is Essential on Debian; the other name cannot exist.
        assert_eq!(
            missing_debs(&["bash", "no-such-package-lwx"]),
            ["no-such-package-lwx"]
        );
    }

    #[test]
    fn display_shows_env_and_args() {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "x"]);
        assert_eq!(
            display(&cmd),
            "DEBIAN_FRONTEND=noninteractive apt-get install -y x"
        );
    }
}
