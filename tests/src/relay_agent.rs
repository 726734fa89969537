//! Three hosts for a real DHCPv6 relay agent: client <-veth-> agent <-veth-> router. The
//! router link is a [`NetnsPair`]: its server end is the router (so [`crate::running::Running`]
//! runs `lwm2m-xdp run` there unchanged), its client end the agent's upper interface. The
//! client link joins the agent's namespace to a third, the client's. ISC dhcrelay runs in the
//! agent's namespace ([`Dhcrelay`], stopped by pid on drop). Everything is removed on drop,
//! also when a test panics.
//!
//! Addresses (x = the pair's subnet number), link-local addresses on every end besides:
//! - router link: 2001:db8:x::/64, the pair's (router ::1, agent ::2);
//! - client link: 2001:db8:x:1::/64, agent ::1 (dhcrelay's link-address), client ::2.
//!
//! Checksum offload is off on the agent's and the client's ends: the fast path verifies what
//! dhcrelay sends, the raw client what dhcrelay hands down (ARCHITECTURE.md, "Traps").

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::bounded::{bounded, run_checked, wait_child, wait_until};
use crate::files::{sanitize, PREFIX};
use crate::netns::{NetnsPair, Side};

/// `ip` and friends answer in milliseconds; a limit only catches a hang.
const CMD_LIMIT: Duration = Duration::from_secs(10);
/// Link-local addresses appear when the link gets carrier (DAD is off).
const LINK_LOCAL_LIMIT: Duration = Duration::from_secs(5);
/// From SIGTERM to dhcrelay's exit.
const STOP_LIMIT: Duration = Duration::from_secs(5);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// What the kernel chose for one end of the client link.
#[derive(Debug, Clone, Copy)]
pub struct LinkEnd {
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub link_local: Ipv6Addr,
}

/// client <-> agent <-> router, addressed and up.
#[derive(Debug)]
pub struct AgentTopology {
    /// Router ([`Side::Server`]) and the agent's upper end ([`Side::Client`]).
    pub pair: NetnsPair,
    pub client_ns: String,
    /// The client's end of the client link.
    pub client_if: String,
    /// The agent's lower end of the client link (in `pair.client_ns`).
    pub agent_down_if: String,
    pub client: LinkEnd,
    pub agent_down: LinkEnd,
}

impl AgentTopology {
    /// Makes the three namespaces. Needs root ([`crate::require_root`]).
    pub fn new(tag: &str) -> Result<AgentTopology> {
        let pair = NetnsPair::new(tag)?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
        let pid = std::process::id();
        let unknown = LinkEnd {
            ifindex: 0,
            mac: [0; 6],
            link_local: Ipv6Addr::UNSPECIFIED,
        };
        let mut topo = AgentTopology {
            // `lwx-<pid>-...`: cleanup_stale removes it when this process died without Drop.
            client_ns: format!("{PREFIX}{pid}-a{n}-d-{}", sanitize(tag)),
            client_if: format!("lwa{pid}-{n}c"),
            agent_down_if: format!("lwa{pid}-{n}a"),
            pair,
            client: unknown,
            agent_down: unknown,
        };
        topo.build()
            .with_context(|| format!("making the client namespace {}", topo.client_ns))?;
        Ok(topo)
    }

    fn build(&mut self) -> Result<()> {
        let agent_ns = self.pair.client_ns.clone();
        run(&["netns", "add", &self.client_ns])?;
        run(&[
            "-n",
            &self.client_ns,
            "link",
            "add",
            &self.client_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.agent_down_if,
            "netns",
            &agent_ns,
        ])?;
        let ends = [
            (
                self.client_ns.clone(),
                self.client_if.clone(),
                self.client_ipv6(),
            ),
            (agent_ns, self.agent_down_if.clone(), self.agent_down_ipv6()),
        ];
        for (ns, ifname, v6) in &ends {
            // No DAD: dhcrelay and the client use the addresses at once.
            let dad = format!("net.ipv6.conf.{ifname}.accept_dad=0");
            run(&["netns", "exec", ns, "sysctl", "-qw", &dad])?;
            run(&["-n", ns, "link", "set", "lo", "up"])?;
            run(&["-n", ns, "link", "set", ifname, "up"])?;
            let v6 = format!("{v6}/64");
            run(&["-n", ns, "-6", "addr", "add", &v6, "dev", ifname, "nodad"])?;
            run(&["netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off"])?;
        }
        // dhcrelay's Relay-forwards leave by the agent's upper end.
        let upper = &self.pair.client_if;
        run(&[
            "netns",
            "exec",
            &self.pair.client_ns,
            "ethtool",
            "-K",
            upper,
            "tx",
            "off",
        ])?;
        let [(client_ns, client_if, _), (agent_ns, agent_if, _)] = &ends;
        self.client = read_link_end(client_ns, client_if)?;
        self.agent_down = read_link_end(agent_ns, agent_if)?;
        Ok(())
    }

    fn client_link_v6(&self, host: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, self.pair.subnet, 1, 0, 0, 0, host)
    }

    /// 2001:db8:x:1::1: the agent's lower end, dhcrelay's link-address.
    pub fn agent_down_ipv6(&self) -> Ipv6Addr {
        self.client_link_v6(1)
    }

    /// 2001:db8:x:1::2.
    pub fn client_ipv6(&self) -> Ipv6Addr {
        self.client_link_v6(2)
    }
}

impl Drop for AgentTopology {
    /// Stops what runs in the client namespace and deletes it (and so the client link);
    /// then the pair's own Drop removes the other two. Never panics.
    fn drop(&mut self) {
        for signal in [libc::SIGTERM, libc::SIGKILL] {
            let pids = netns_pids(&self.client_ns);
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: no memory-safety preconditions; these pids are processes this test
                // started inside a namespace it made.
                unsafe { libc::kill(pid, signal) };
            }
            wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
                netns_pids(&self.client_ns).is_empty()
            });
        }
        let _ = bounded(CMD_LIMIT, "ip", &["netns", "del", &self.client_ns])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `dhcrelay -6 -d --no-pid ARGS -l LOWER -u UPPER` in the agent's namespace, its output in
/// a file; stopped by its pid on drop (SIGTERM, then SIGKILL).
#[derive(Debug)]
pub struct Dhcrelay {
    child: Child,
    /// dhcrelay's stdout and stderr (`-d`: its log).
    pub log: PathBuf,
}

impl Dhcrelay {
    /// Starts dhcrelay relaying from the agent's lower end to `upper` (`IF` sends to
    /// ff05::1:3, `ADDRESS%IF` to ADDRESS) with `args` before `-l`; waits up to `limit` until
    /// it says it sends on the lower interface (its last start-up line).
    pub fn start(
        topo: &AgentTopology,
        upper: &str,
        args: &[&str],
        log: &Path,
        limit: Duration,
    ) -> Result<Dhcrelay> {
        let out =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut argv = vec!["dhcrelay", "-6", "-d", "--no-pid"];
        argv.extend_from_slice(args);
        argv.extend(["-l", &topo.agent_down_if, "-u", upper]);
        let child = topo
            .pair
            .command(Side::Client, &argv)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("start dhcrelay")?;
        let mut relay = Dhcrelay {
            child,
            log: log.to_path_buf(),
        };
        let ready = format!("Sending on   Socket/{}", topo.agent_down_if);
        let mut exited = None;
        let started = wait_until(limit, Duration::from_millis(20), || {
            if let Ok(Some(status)) = relay.child.try_wait() {
                exited = Some(status);
                return true;
            }
            relay.log_text().contains(&ready)
        });
        if let Some(status) = exited {
            bail!("dhcrelay exited at start ({status}):\n{}", relay.log_text());
        }
        if !started {
            bail!(
                "dhcrelay did not say {ready:?} within {limit:?}:\n{}",
                relay.log_text()
            );
        }
        Ok(relay)
    }

    /// What dhcrelay printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dhcrelay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: no memory-safety preconditions; our own child.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            if !matches!(wait_child(&mut self.child, STOP_LIMIT), Ok(Some(_))) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn run(args: &[&str]) -> Result<()> {
    run_checked(CMD_LIMIT, "ip", args).map(drop)
}

fn netns_pids(ns: &str) -> Vec<libc::pid_t> {
    run_checked(CMD_LIMIT, "ip", &["netns", "pids", ns])
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Index, MAC and (once no longer tentative) link-local address, from `ip -j addr show`.
fn read_link_end(ns: &str, ifname: &str) -> Result<LinkEnd> {
    let mut end = None;
    let ready = wait_until(LINK_LOCAL_LIMIT, Duration::from_millis(20), || {
        end = run_checked(
            CMD_LIMIT,
            "ip",
            &["-n", ns, "-j", "addr", "show", "dev", ifname],
        )
        .ok()
        .and_then(|out| parse_link_end(&out.stdout));
        end.is_some()
    });
    if !ready {
        bail!("{ifname} in {ns} has no usable link-local address after {LINK_LOCAL_LIMIT:?}");
    }
    Ok(end.expect("ready"))
}

fn parse_link_end(json: &[u8]) -> Option<LinkEnd> {
    let shown: Value = serde_json::from_slice(json).ok()?;
    let link = shown.get(0)?;
    let ifindex = u32::try_from(link.get("ifindex")?.as_u64()?).ok()?;
    let mut mac = [0u8; 6];
    let mut octets = link.get("address")?.as_str()?.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(octets.next()?, 16).ok()?;
    }
    let link_local = link
        .get("addr_info")?
        .as_array()?
        .iter()
        .filter(|a| a.get("scope").and_then(Value::as_str) == Some("link"))
        .filter(|a| a.get("tentative").is_none())
        .find_map(|a| a.get("local")?.as_str()?.parse().ok())?;
    Some(LinkEnd {
        ifindex,
        mac,
        link_local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ip_json() {
        let shown = br#"[{"ifindex":5,"ifname":"lwa1-0c","address":"5e:0a:11:22:33:ff",
            "addr_info":[{"family":"inet6","local":"2001:db8:0:1::2","scope":"global"},
            {"family":"inet6","local":"fe80::1","scope":"link","tentative":true},
            {"family":"inet6","local":"fe80::5c0a:11ff:fe22:33ff","scope":"link"}]}]"#;
        let end = parse_link_end(shown).unwrap();
        assert_eq!(end.ifindex, 5);
        assert_eq!(end.mac, [0x5e, 0x0a, 0x11, 0x22, 0x33, 0xff]);
        assert_eq!(
            end.link_local,
            "fe80::5c0a:11ff:fe22:33ff".parse::<Ipv6Addr>().unwrap()
        );
        let tentative_only = br#"[{"ifindex":5,"address":"5e:0a:11:22:33:ff",
            "addr_info":[{"family":"inet6","local":"fe80::1","scope":"link","tentative":true}]}]"#;
        assert!(parse_link_end(tentative_only).is_none());
    }
}
