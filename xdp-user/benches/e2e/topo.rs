//! The bench's two hosts: namespaces `lwb-<pid>-srv` and `lwb-<pid>-cli` joined by a veth
//! pair (`bench-srv` / `bench-cli`, made inside the namespaces so the names never touch the
//! host), 198.18.100.0/24 and fe80::/64 only. Everything is removed on drop (also when a step
//! fails or panics) and namespaces that a killed run left are removed at start.

use std::{
    fs::File,
    net::{Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

pub const SERVER_IF: &str = "bench-srv";
pub const CLIENT_IF: &str = "bench-cli";
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 100, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 100, 2);
const PREFIX: &str = "lwb-";
/// `ip` answers in milliseconds; the bound only catches a hang.
const IP_LIMIT: &str = "10";

/// One veth end as the kernel made it.
#[derive(Clone, Copy, Debug)]
pub struct End {
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub link_local: Ipv6Addr,
}

pub struct Topology {
    pub server_ns: String,
    pub client_ns: String,
    pub server: End,
    pub client: End,
}

/// Runs `ip ARGS` (bounded by `timeout`), failing with its stderr.
pub fn ip(args: &[&str]) -> Result<String> {
    let out = Command::new("timeout")
        .args(["--kill-after=2", IP_LIMIT, "ip"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `timeout ip` (coreutils, iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip netns exec NS CMD...`, bounded, must exit 0.
pub fn ns_exec(ns: &str, cmd: &[&str]) -> Result<String> {
    let mut args = vec!["netns", "exec", ns];
    args.extend(cmd);
    ip(&args)
}

impl Topology {
    pub fn create() -> Result<Topology> {
        remove_stale();
        let pid = std::process::id();
        let mut topo = Topology {
            server_ns: format!("{PREFIX}{pid}-srv"),
            client_ns: format!("{PREFIX}{pid}-cli"),
            server: End::UNKNOWN,
            client: End::UNKNOWN,
        };
        // From here a failure returns early and Drop removes what was made.
        topo.build().context("making the bench namespaces")?;
        Ok(topo)
    }

    fn build(&mut self) -> Result<()> {
        let (srv, cli) = (self.server_ns.clone(), self.client_ns.clone());
        ip(&["netns", "add", &srv])?;
        ip(&["netns", "add", &cli])?;
        ip(&[
            "-n", &cli, "link", "add", CLIENT_IF, "type", "veth", "peer", "name", SERVER_IF,
            "netns", &srv,
        ])?;
        for (ns, dev, addr) in [(&srv, SERVER_IF, SERVER_V4), (&cli, CLIENT_IF, CLIENT_V4)] {
            // One wire, two hosts: DAD would only keep link-local addresses tentative.
            ns_exec(
                ns,
                &[
                    "sh",
                    "-c",
                    &format!("echo 0 > /proc/sys/net/ipv6/conf/{dev}/accept_dad"),
                ],
            )?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        // Full UDP checksums from the client's sockets (the fast path verifies them), and
        // NAPI on the server end: frames the generator sends with XDP_TX (ndo_xdp_xmit)
        // reach a veth peer only when it runs NAPI, and `run` attaches in generic mode.
        ns_exec(&cli, &["ethtool", "-K", CLIENT_IF, "tx", "off"])?;
        ns_exec(&srv, &["ethtool", "-K", SERVER_IF, "gro", "on"])?;
        self.server = read_end(&srv, SERVER_IF)?;
        self.client = read_end(&cli, CLIENT_IF)?;
        // Static neighbours both ways: no ARP in the measured paths.
        let mac = |m: [u8; 6]| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        ip(&[
            "-n",
            &srv,
            "neigh",
            "replace",
            &CLIENT_V4.to_string(),
            "lladdr",
            &mac(self.client.mac),
            "dev",
            SERVER_IF,
            "nud",
            "permanent",
        ])?;
        ip(&[
            "-n",
            &cli,
            "neigh",
            "replace",
            &SERVER_V4.to_string(),
            "lladdr",
            &mac(self.server.mac),
            "dev",
            CLIENT_IF,
            "nud",
            "permanent",
        ])?;
        Ok(())
    }
}

impl End {
    const UNKNOWN: End = End {
        ifindex: 0,
        mac: [0; 6],
        link_local: Ipv6Addr::UNSPECIFIED,
    };
}

fn read_end(ns: &str, dev: &str) -> Result<End> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = ip(&["-j", "-n", ns, "addr", "show", "dev", dev])?;
        let v: serde_json::Value = serde_json::from_str(&out).context("`ip -j addr` output")?;
        let link = &v[0];
        let link_local = link["addr_info"].as_array().and_then(|a| {
            a.iter().find_map(|i| {
                let local: Ipv6Addr = i["local"].as_str()?.parse().ok()?;
                (i["scope"] == "link" && i.get("tentative").is_none()).then_some(local)
            })
        });
        if let Some(link_local) = link_local {
            let mac = lwm2m_xdp::ifaces::parse_mac(link["address"].as_str().unwrap_or(""))?;
            let ifindex = link["ifindex"].as_u64().context("ifindex")? as u32;
            return Ok(End {
                ifindex,
                mac,
                link_local,
            });
        }
        if Instant::now() > deadline {
            bail!("{dev} in {ns} has no link-local address after 5 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        remove_netns(&self.client_ns);
        remove_netns(&self.server_ns);
        println!(
            "e2e: namespaces {} and {} removed",
            self.server_ns, self.client_ns
        );
    }
}

/// Namespaces of earlier runs whose process is gone (killed before its Drop ran).
fn remove_stale() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('-') else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove_netns(name);
        }
    }
}

/// Stops what still runs inside `ns` (TERM, then KILL), then deletes it. Never panics.
fn remove_netns(ns: &str) {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let pids: Vec<i32> = ip(&["netns", "pids", ns])
            .map(|o| {
                o.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: kill has no memory preconditions; these pids live in our namespace.
            unsafe { libc::kill(pid, signal) };
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = ip(&["netns", "del", ns]);
}

/// Moves the calling thread into a named network namespace until dropped. Sockets, BPF links
/// and test runs made meanwhile belong to that namespace (and stay there).
pub struct InNetns {
    home: File,
}

impl InNetns {
    pub fn enter(ns: &str) -> Result<InNetns> {
        let home = File::open("/proc/thread-self/ns/net").context("own netns")?;
        let target = File::open(format!("/run/netns/{ns}")).with_context(|| ns.to_string())?;
        // SAFETY: setns with a namespace fd; affects this thread only.
        if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error()).context(format!("setns {ns}"));
        }
        Ok(InNetns { home })
    }
}

impl Drop for InNetns {
    fn drop(&mut self) {
        // SAFETY: as in enter; going back where this thread came from.
        unsafe { libc::setns(self.home.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}

/// Pins the calling thread to one CPU (best effort: a 1-CPU machine has only CPU 0).
pub fn pin_thread(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
