//! A running `lwm2m-xdp run`, as other invocations find it, by instance name under
//! /run/lwm2m-xdp:
//! - `NAME.lock`: flock'ed by the daemon for its whole life: one daemon per instance;
//! - `NAME.sock`: its control socket (control.rs), bound only while the lock is held, so
//!   reaching it proves the instance runs: no command needs a pid, none signals one;
//! - `NAME.json`: what it created (program, maps, links, pins), for tools and for `detach`
//!   after a crash. Kernel IDs, unlike bpffs pins, are visible from every mount namespace
//!   (`ip netns exec` gives each command a fresh /sys and so a fresh bpffs).

use std::{
    fs::{self, File, OpenOptions},
    os::unix::fs::MetadataExt as _,
    os::{fd::AsRawFd as _, unix::fs::OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

pub const STATE_DIR: &str = "/run/lwm2m-xdp";
pub const DEFAULT_INSTANCE: &str = "lwm2m-xdp";
/// Instance names end up in file names (and a socket path of at most 108 octets).
const NAME_MAX: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    pub pid: u32,
    pub config: PathBuf,
    pub program_id: u32,
    pub counters_map_id: u32,
    pub interfaces: Vec<String>,
    pub pin_dir: Option<PathBuf>,
    /// Every pin in `pin_dir` this instance made, with the kernel object it held (`detach`
    /// removes a pin only while it still holds that object).
    #[serde(default)]
    pub pins: Vec<crate::pins::Pin>,
    /// The XDP mode of each pinned link ("native", "generic"), for the run that adopts it.
    #[serde(default)]
    pub link_modes: std::collections::BTreeMap<String, String>,
}

/// An instance name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with a dot (so never a
/// path, `.` or `..`).
pub fn check_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty()
        || name.len() > NAME_MAX
        || name.starts_with('.')
        || !name.chars().all(ok_char)
    {
        bail!(
            "instance name {name:?} refused: use 1 to {NAME_MAX} of A-Z a-z 0-9 . _ - (no path separators), not starting with a dot"
        );
    }
    Ok(())
}

/// The instance name: the last component of `--pin-dir`, else `--instance`; checked.
pub fn name(instance: &str, pin_dir: Option<&Path>) -> Result<String> {
    let name = match pin_dir {
        Some(dir) => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("--pin-dir {} has no last component", dir.display()))?,
        None => instance.to_string(),
    };
    check_name(&name)?;
    Ok(name)
}

fn path(name: &str, extension: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{name}.{extension}"))
}

pub fn state_path(name: &str) -> PathBuf {
    path(name, "json")
}

pub fn socket_path(name: &str) -> PathBuf {
    path(name, "sock")
}

pub fn lock_path(name: &str) -> PathBuf {
    path(name, "lock")
}

fn ensure_state_dir() -> Result<()> {
    fs::create_dir_all(STATE_DIR).with_context(|| format!("creating {STATE_DIR}"))
}

/// The instance lock, held for the daemon's life; the lock file is removed on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// Takes instance `name`'s lock, or says that another process holds it.
pub fn lock(name: &str) -> Result<Lock> {
    ensure_state_dir()?;
    let path = lock_path(name);
    // A holder that exits removes the file after we opened it: then our lock is on a file
    // nobody else will open; take it again on the file now at the path.
    for _ in 0..10 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                bail!(
                    "instance {name:?} is already running ({} is locked); stop it or pick another --instance",
                    path.display()
                );
            }
            return Err(e).with_context(|| format!("flock {}", path.display()));
        }
        let same = match (file.metadata(), fs::metadata(&path)) {
            (Ok(held), Ok(now)) => held.ino() == now.ino() && held.dev() == now.dev(),
            _ => false,
        };
        if same {
            return Ok(Lock { file, path });
        }
    }
    bail!("could not lock {}: it keeps being replaced", path.display())
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so no one can lock the old file and think it current.
        let _ = fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

pub fn write_state(name: &str, state: &State) -> Result<()> {
    ensure_state_dir()?;
    let path = state_path(name);
    let tmp = state_tmp_path(name);
    fs::write(&tmp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// What instance `name` recorded (running or not: the state file says nothing about that).
pub fn read_state(name: &str) -> Result<State> {
    let path = state_path(name);
    let text = fs::read(&path).with_context(|| {
        format!(
            "no state of instance {name:?} ({} not found; is `lwm2m-xdp run` running?)",
            path.display()
        )
    })?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an lwm2m-xdp state file", path.display()))
}

/// Where `write_state` writes before it renames: left behind by a run killed mid-write.
fn state_tmp_path(name: &str) -> PathBuf {
    state_path(name).with_extension("json.tmp")
}

/// Removes the state file, and a half-written one.
pub fn remove_state(name: &str) {
    let _ = fs::remove_file(state_path(name));
    let _ = fs::remove_file(state_tmp_path(name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_never_paths() {
        for good in ["lwm2m-xdp", "edge_1", "a.b", "X9"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            ".hidden",
            "a b",
            "tab\t",
            &"x".repeat(65),
        ] {
            let e = check_name(bad).unwrap_err().to_string();
            assert!(e.contains("no path separators"), "{bad:?}: {e}");
        }
        assert_eq!(
            name("x", Some(Path::new("/sys/fs/bpf/edge"))).unwrap(),
            "edge"
        );
        assert_eq!(name("x", None).unwrap(), "x");
        assert!(name("x", Some(Path::new("/"))).is_err());
    }
}
