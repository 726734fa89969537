//! `lwm2m-xdp detach`: clean up after an instance, running or crashed.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use log::{info, warn};
use xdp_common::maps::PROGRAM_NAME;

use crate::instance;

/// Stop the instance if it runs (its own exit detaches its links), then remove anything
/// left: netlink-attached programs named ours, the pin directory, the state file.
pub fn detach(name: &str, pin_dir: Option<&Path>) -> Result<()> {
    let mut pin_dir = pin_dir.map(Path::to_path_buf);
    if let Ok(state) = instance::read_state(name) {
        pin_dir = pin_dir.or(state.pin_dir.clone());
        // SAFETY: signalling a pid found alive.
        unsafe { libc::kill(state.pid as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while instance::alive(state.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        info!("stopped instance {name:?} (pid {})", state.pid);
    }
    for iface in interfaces_with_our_program()? {
        for mode in ["xdpgeneric", "xdpdrv"] {
            let _ = Command::new("ip")
                .args(["link", "set", "dev", &iface, mode, "off"])
                .status();
        }
        info!("{iface}: removed a left-over {PROGRAM_NAME} program");
    }
    if let Some(dir) = pin_dir {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    instance::remove_state(name);
    Ok(())
}

/// Interfaces of this network namespace with an XDP program named ours attached.
fn interfaces_with_our_program() -> Result<Vec<String>> {
    let out = Command::new("ip")
        .args(["-details", "-json", "link", "show"])
        .output()
        .context("running ip")?;
    let links: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            warn!("could not read `ip -json link`: {e}");
            return Ok(vec![]);
        }
    };
    let mut found = Vec::new();
    for link in links.as_array().into_iter().flatten() {
        let xdp = &link["xdp"];
        let names = [&xdp["prog"]["name"], &xdp["attached"][0]["prog"]["name"]];
        if names.iter().any(|n| n.as_str() == Some(PROGRAM_NAME)) {
            if let Some(name) = link["ifname"].as_str() {
                found.push(name.to_string());
            }
        }
    }
    Ok(found)
}
