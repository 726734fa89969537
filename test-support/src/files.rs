//! Per-test directories that clean up after themselves: scratch files (configs, captures)
//! and bpffs pin directories. Names are `lwx-<pid>-<n>-<tag>`, so [`crate::cleanup_stale`]
//! removes those of runs that died before their Drop ran.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

use lwm2m_xdp::instance;

use crate::privilege::BPFFS;

pub const PREFIX: &str = "lwx-";

/// Numbers names within this process (threads of one test binary share it).
static NEXT: AtomicU32 = AtomicU32::new(0);

/// `lwx-<pid>-<n>-<tag>`: unique on this machine while this process lives.
pub(crate) fn unique_name(tag: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}-{n}-{}", std::process::id(), sanitize(tag))
}

/// Keeps names greppable and safe as file names, netns names and sysctl paths.
pub fn sanitize(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect()
}

/// A directory under the system temp dir, removed (with its contents) on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> Result<ScratchDir> {
        let dir = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `<dir>/<name>` and returns that path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let file = self.0.join(name);
        std::fs::write(&file, contents).with_context(|| format!("write {}", file.display()))?;
        Ok(file)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh pin directory path `/sys/fs/bpf/lwx-<pid>-<n>-<tag>`, not created (the tool under
/// test makes it); whatever is left there is removed on drop, which unpins it.
#[derive(Debug)]
pub struct PinDir(PathBuf);

impl PinDir {
    pub fn new(tag: &str) -> PinDir {
        PinDir(Path::new(BPFFS).join(unique_name(tag)))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().expect("pin paths are ASCII")
    }

    /// The directory's own name: the instance name of a `run --pin-dir` with it.
    pub fn instance(&self) -> String {
        let name = self.0.file_name().expect("a pin dir has a name");
        name.to_str().expect("pin paths are ASCII").to_owned()
    }
}

impl Drop for PinDir {
    /// Also the instance's files in /run/lwm2m-xdp (state, a half-written state, socket,
    /// lock): a test that failed before its `detach` leaves them otherwise.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        remove_instance_files(&self.instance());
    }
}

fn remove_instance_files(instance: &str) {
    instance::remove_state(instance);
    let _ = std::fs::remove_file(instance::socket_path(instance));
    let _ = std::fs::remove_file(instance::lock_path(instance));
}

/// True for `lwx-<pid>-...` names whose pid is gone; false for anything else.
pub(crate) fn owner_is_dead(name: &str) -> bool {
    let pid = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes scratch and pin directories whose owning process is gone.
pub(crate) fn cleanup_stale_dirs() {
    // Instance files of pin-dir tests of a dead process: `<instance>.<extension>`.
    if let Ok(entries) = std::fs::read_dir(instance::STATE_DIR) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if owner_is_dead(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for parent in [std::env::temp_dir(), PathBuf::from(BPFFS)] {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            if owner_is_dead(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_owners() {
        assert_eq!(sanitize("a b/c-d_e"), "a_b_c_d_e");
        let name = unique_name("x y");
        assert!(
            name.starts_with(&format!("lwx-{}-", std::process::id())) && name.ends_with("-x_y")
        );
        assert!(
            owner_is_dead("lwx-999999999-0-c-x"),
            "a pid beyond pid_max is dead"
        );
        assert!(!owner_is_dead(&name));
        assert!(!owner_is_dead("other-name"));
    }

    #[test]
    fn scratch_dir_is_removed() {
        let dir = ScratchDir::new("scratch").unwrap();
        let file = dir.write("a.toml", "x = 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x = 1\n");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}
