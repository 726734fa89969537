//! The servers under test, on the server end: `lwm2m-xdp run` (generic mode) with the example
//! config, and Kea 2.x configured from `lwm2m-xdp kea-config` to serve the same options.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lwm2m_xdp::config::Config;
use serde_json::{json, Value};

use crate::{
    frames::Family,
    topo::{SERVER_IF, SERVER_V4},
};

/// A scratch directory for configs and logs, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("lwm2m-xdp-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example config (examples/lwm2m-xdp.toml) adapted to the bench: the server veth in
/// `mode` ("generic", or "native" for the native pair) with the bench's address as server id,
/// an absolute certificate path, no rate limit, no VLANs, `wire_format` rfc3396 (the one
/// format Kea can serve completely: draft-00's per-fragment sequence numbers are not
/// something Kea can send) and `uri`.
pub fn config_text(root: &Path, uri: &str, mode: &str) -> Result<String> {
    let example = root.join("examples/lwm2m-xdp.toml");
    let text = std::fs::read_to_string(&example)
        .with_context(|| format!("reading {}", example.display()))?;
    let mut doc: toml::Table = toml::from_str(&text).context("the example config")?;
    let lwm2m = doc
        .get_mut("lwm2m")
        .and_then(|v| v.as_table_mut())
        .context("[lwm2m] in the example")?;
    let cert = lwm2m
        .get("certificate")
        .and_then(|v| v.as_str())
        .context("lwm2m.certificate in the example")?;
    let cert = root.join("examples").join(cert);
    lwm2m.insert("certificate".into(), cert.display().to_string().into());
    lwm2m.insert("wire_format".into(), "rfc3396".into());
    lwm2m.insert("bootstrap_uri".into(), uri.into());
    let mut iface = toml::Table::new();
    iface.insert("name".into(), SERVER_IF.into());
    iface.insert("mode".into(), mode.into());
    iface.insert("server_id".into(), SERVER_V4.to_string().into());
    doc.insert(
        "interface".into(),
        toml::Value::Array(vec![toml::Value::Table(iface)]),
    );
    doc.remove("rate_limit");
    Ok(toml::to_string(&doc)?)
}

/// A child in the server namespace, pinned to one CPU; stopped (signal, then KILL) on drop.
pub struct Server {
    child: Child,
    pub log: PathBuf,
    stop_signal: i32,
}

impl Server {
    fn spawn(
        ns: &str,
        cpu: usize,
        cmd: &[&str],
        envs: &[(&str, &Path)],
        log: PathBuf,
        stop_signal: i32,
    ) -> Result<Server> {
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let cpu = cpu.to_string();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "taskset", "-c", &cpu])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in envs {
            c.env(k, v);
        }
        // `ip netns exec` and taskset exec: the child's pid is the server's own.
        let child = c.spawn().with_context(|| format!("starting {}", cmd[0]))?;
        Ok(Server {
            child,
            log,
            stop_signal,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    pub fn stop(&mut self) {
        if !self.alive() {
            return;
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, self.stop_signal) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `lwm2m-xdp` binary: `LWM2M_XDP_BIN` (set by `cargo xtask bench`, which builds it
/// with `--release`), else the release build beside this bench's own executable.
fn lwm2m_xdp_bin() -> Result<PathBuf> {
    let bin = match std::env::var_os("LWM2M_XDP_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().context("the bench's own path")?;
            // <target>/release/deps/e2e-<hash> -> <target>/release/lwm2m-xdp
            let release = exe
                .parent()
                .and_then(Path::parent)
                .context("no target dir")?;
            release.join("lwm2m-xdp")
        }
    };
    if !bin.is_file() {
        bail!(
            "no lwm2m-xdp binary at {}: build it (`cargo build --release -p lwm2m-xdp`; \
             `cargo xtask bench` does) or set LWM2M_XDP_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// `lwm2m-xdp run --config FILE --instance NAME` in the server namespace.
pub fn start_run(
    ns: &str,
    cpu: usize,
    config: &Path,
    instance: &str,
    log: PathBuf,
) -> Result<Server> {
    let bin = lwm2m_xdp_bin()?;
    let bin = bin.display().to_string();
    let config = config.display().to_string();
    Server::spawn(
        ns,
        cpu,
        &[&bin, "run", "--config", &config, "--instance", instance],
        &[],
        log,
        libc::SIGINT,
    )
}

/// kea-dhcp4 / kea-dhcp6 on PATH (Debian puts them in /usr/sbin).
pub fn kea_binary(family: Family) -> Option<PathBuf> {
    let name = match family {
        Family::V4 => "kea-dhcp4",
        Family::V6 => "kea-dhcp6",
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn kea_version(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Strips the explanatory keys Kea's parser does not take everywhere.
fn strip_comments(list: &Value) -> Value {
    let mut list = list.clone();
    if let Some(items) = list.as_array_mut() {
        for item in items {
            if let Some(o) = item.as_object_mut() {
                o.remove("comment");
            }
        }
    }
    list
}

/// A complete kea-dhcp4.conf / kea-dhcp6.conf serving what `cfg` serves, on the server veth:
/// option-def and option-data from `lwm2m-xdp kea-config`, a subnet for the client's address
/// (DHCPv4), leases in memory only, no control socket, the log in `dir`.
pub fn kea_config(family: Family, cfg: &Config, dir: &Path) -> Result<String> {
    let (key, logger, kea_family) = match family {
        Family::V4 => ("Dhcp4", "kea-dhcp4", xdp_common::maps::Family::V4),
        Family::V6 => ("Dhcp6", "kea-dhcp6", xdp_common::maps::Family::V6),
    };
    let exported: Value = serde_json::from_str(&lwm2m_xdp::kea::kea_config(cfg, kea_family)?)?;
    let part = &exported[key];
    if part.is_null() {
        bail!("kea-config exported no {key} section");
    }
    let log = dir.join(format!("{logger}.log"));
    let mut conf = json!({
        "interfaces-config": { "interfaces": [SERVER_IF] },
        "lease-database": { "type": "memfile", "persist": false },
        "option-def": strip_comments(&part["option-def"]),
        "option-data": strip_comments(&part["option-data"]),
        "loggers": [{
            "name": logger,
            "output_options": [{ "output": log.display().to_string() }],
            "severity": "INFO"
        }]
    });
    match family {
        Family::V4 => {
            conf["interfaces-config"]["dhcp-socket-type"] = json!("raw");
            conf["subnet4"] = json!([{ "id": 1, "subnet": "198.18.100.0/24" }]);
        }
        Family::V6 => {
            conf["server-id"] = json!({ "type": "LL", "persist": false });
        }
    }
    Ok(serde_json::to_string_pretty(&json!({ key: conf }))?)
}

/// Kea for `family` in the server namespace, its pid file, lock file and log in `dir`.
pub fn start_kea(ns: &str, cpu: usize, bin: &Path, conf: &Path, dir: &Path) -> Result<Server> {
    let bin = bin.display().to_string();
    let conf = conf.display().to_string();
    let name = bin.rsplit('/').next().unwrap_or("kea").to_string();
    Server::spawn(
        ns,
        cpu,
        &[&bin, "-c", &conf],
        &[("KEA_PIDFILE_DIR", dir), ("KEA_LOCKFILE_DIR", dir)],
        dir.join(format!("{name}.out")),
        libc::SIGTERM,
    )
}
