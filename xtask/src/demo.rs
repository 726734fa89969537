//! `cargo xtask demo`: the responder answering real requests between two network namespaces.
//!
//! client ns `lwm2m-demo-cli` [lwm2m-cli] <-- veth --> [lwm2m-srv] server ns `lwm2m-demo-srv`
//! 198.18.0.2/24, fe80::/64                              198.18.0.1/24, `lwm2m-xdp run` (generic XDP)
//!
//! The client side runs `lwm2m-xdp probe` (DHCPINFORM, then INFORMATION-REQUEST) and prints
//! the answers decoded; then the server's counters; then everything is removed, also when a
//! step fails or on Ctrl-C.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use crate::cmd;

const SERVER_NS: &str = "lwm2m-demo-srv";
const CLIENT_NS: &str = "lwm2m-demo-cli";
const SERVER_IF: &str = "lwm2m-srv";
const CLIENT_IF: &str = "lwm2m-cli";
const INSTANCE: &str = "lwm2m-demo";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Removes the namespaces (and with them the veth pair) when dropped.
struct Topology;

impl Topology {
    fn create() -> Result<Topology> {
        remove_namespaces();
        let topology = Topology;
        let ip = |args: &[&str]| cmd::run(Command::new("ip").args(args));
        ip(&["netns", "add", SERVER_NS])?;
        ip(&["netns", "add", CLIENT_NS])?;
        ip(&[
            "link", "add", SERVER_IF, "netns", SERVER_NS, "type", "veth", "peer", "name",
            CLIENT_IF, "netns", CLIENT_NS,
        ])?;
        ip(&[
            "-n",
            SERVER_NS,
            "addr",
            "add",
            "198.18.0.1/24",
            "dev",
            SERVER_IF,
        ])?;
        ip(&[
            "-n",
            CLIENT_NS,
            "addr",
            "add",
            "198.18.0.2/24",
            "dev",
            CLIENT_IF,
        ])?;
        for (ns, dev) in [(SERVER_NS, SERVER_IF), (CLIENT_NS, CLIENT_IF)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        // Full UDP checksums from the client (veth offloads them otherwise, and the fast path
        // verifies them).
        cmd::run(
            Command::new("ip")
                .args([
                    "netns", "exec", CLIENT_NS, "ethtool", "-K", CLIENT_IF, "tx", "off",
                ])
                .stdout(Stdio::null()),
        )?;
        wait_for_link_local()?;
        Ok(topology)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        remove_namespaces();
        println!("demo: namespaces {SERVER_NS} and {CLIENT_NS} removed");
    }
}

fn remove_namespaces() {
    for ns in [SERVER_NS, CLIENT_NS] {
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
    }
}

fn wait_for_link_local() -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = Command::new("ip")
            .args(["-n", CLIENT_NS, "-6", "addr", "show", "dev", CLIENT_IF])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let server = Command::new("ip")
            .args(["-n", SERVER_NS, "-6", "addr", "show", "dev", SERVER_IF])
            .output()?;
        let server = String::from_utf8_lossy(&server.stdout);
        if text.contains("fe80")
            && !text.contains("tentative")
            && server.contains("fe80")
            && !server.contains("tentative")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("IPv6 link-local addresses did not become ready within 10 s")
}

/// A file the demo wrote, removed when the demo ends (also on an error or Ctrl-C).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The example config (its `mode = "auto"` attaches a veth in generic mode) with an absolute
/// certificate path, written to a temporary file.
fn demo_config(root: &Path) -> Result<TempFile> {
    let example = root.join("examples/lwm2m-xdp.toml");
    let text = std::fs::read_to_string(&example)
        .with_context(|| format!("reading {}", example.display()))?;
    let certs = root.join("examples/certs");
    let text = text.replace("\"certs/", &format!("\"{}/", certs.display()));
    let path = std::env::temp_dir().join(format!("lwm2m-xdp-demo-{}.toml", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(TempFile(path))
}

fn in_ns(ns: &str, bin: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.args(["--kill-after=2", "20", "ip", "netns", "exec", ns])
        .arg(bin)
        .args(args);
    c
}

/// Stops `run` with SIGINT (it detaches and exits 0) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // `timeout` forwards the signal to the server.
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run() -> Result<()> {
    if cmd::euid() != Some(0) {
        bail!("the demo creates network namespaces and loads a BPF program: run it as root");
    }
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
    let root = cmd::workspace_root();
    println!("demo: building lwm2m-xdp");
    cmd::run(cmd::cargo().args(["build", "--quiet", "-p", "lwm2m-xdp"]))?;
    let bin = root.join("target/debug/lwm2m-xdp");
    let config = demo_config(&root)?;
    let _topology = Topology::create()?;
    let config_arg = config.0.to_string_lossy().into_owned();
    println!("\ndemo: server side: lwm2m-xdp run in {SERVER_NS} on {SERVER_IF} (198.18.0.1)");
    let child = in_ns(
        SERVER_NS,
        &bin,
        &["run", "--config", &config_arg, "--instance", INSTANCE],
    )
    .spawn()
    .context("starting lwm2m-xdp run")?;
    let _server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        check_interrupt()?;
        let ok = in_ns(SERVER_NS, &bin, &["stats", "--instance", INSTANCE])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success();
        if ok {
            break;
        }
        if Instant::now() > deadline {
            bail!("lwm2m-xdp run did not come up within 15 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    println!("\ndemo: client side ({CLIENT_NS}): DHCPINFORM asking for options 224 and 225");
    let v4 = in_ns(
        CLIENT_NS,
        &bin,
        &["probe", "--interface", CLIENT_IF, "--config", &config_arg],
    )
    .status()?;
    check_interrupt()?;
    println!("\ndemo: client side: DHCPv6 INFORMATION-REQUEST asking for options 65001 and 65002");
    println!("      (bare, as devices send it: on veth XDP has no room to grow it, so the TC fallback answers)");
    let v6 = in_ns(
        CLIENT_NS,
        &bin,
        &[
            "probe",
            "--interface",
            CLIENT_IF,
            "--v6",
            "--config",
            &config_arg,
        ],
    )
    .status()?;
    check_interrupt()?;
    println!("\ndemo: what the XDP program saw (lwm2m-xdp stats):");
    cmd::run(&mut in_ns(
        SERVER_NS,
        &bin,
        &["stats", "--instance", INSTANCE],
    ))?;
    if !v4.success() || !v6.success() {
        bail!("a probe got no valid answer (DHCPv4 {v4}, DHCPv6 {v6})");
    }
    println!("\ndemo: both requests answered in the kernel (XDP_TX, or TC where XDP had no room: answered_tc) and decoded; cleaning up");
    Ok(())
}
