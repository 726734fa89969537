//! A running `lwm2m-xdp run`, as other invocations (`stats`, `reload`, `detach`) find it:
//! a small state file under /run naming its pid and the kernel IDs of its program and
//! counters. Kernel IDs, unlike bpffs pins, are visible from every mount namespace
//! (`ip netns exec` gives each command a fresh /sys and so a fresh bpffs).

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

pub const STATE_DIR: &str = "/run/lwm2m-xdp";
pub const DEFAULT_INSTANCE: &str = "lwm2m-xdp";
pub const BPFFS: &str = "/sys/fs/bpf";

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    pub pid: u32,
    pub config: PathBuf,
    pub program_id: u32,
    pub counters_map_id: u32,
    pub interfaces: Vec<String>,
    pub pin_dir: Option<PathBuf>,
}

/// The instance name: the last component of `--pin-dir`, else `--instance`.
pub fn name(instance: &str, pin_dir: Option<&Path>) -> String {
    pin_dir
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| instance.to_string())
}

pub fn state_path(name: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{name}.json"))
}

pub fn write_state(name: &str, state: &State) -> Result<()> {
    fs::create_dir_all(STATE_DIR).with_context(|| format!("creating {STATE_DIR}"))?;
    let path = state_path(name);
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// The state of a running instance; an error naming the instance when there is none.
pub fn read_state(name: &str) -> Result<State> {
    let path = state_path(name);
    let text = fs::read(&path).with_context(|| {
        format!(
            "no running instance {name:?} ({} not found; is `lwm2m-xdp run` running?)",
            path.display()
        )
    })?;
    let state: State = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an lwm2m-xdp state file", path.display()))?;
    if !alive(state.pid) {
        anyhow::bail!(
            "instance {name:?} is not running (pid {} has exited; stale {})",
            state.pid,
            path.display()
        );
    }
    Ok(state)
}

pub fn remove_state(name: &str) {
    let _ = fs::remove_file(state_path(name));
}

pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

/// Mount bpffs at /sys/fs/bpf when nothing is mounted there (toolchain.md: it is not, on
/// these machines).
pub fn ensure_bpffs() -> Result<()> {
    let mounts = fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    if mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(BPFFS) && l.split(' ').nth(2) == Some("bpf"))
    {
        return Ok(());
    }
    let src = std::ffi::CString::new("bpf").unwrap();
    let dst = std::ffi::CString::new(BPFFS).unwrap();
    // SAFETY: valid C strings; a plain mount without data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("mount -t bpf bpf /sys/fs/bpf");
    }
    Ok(())
}
