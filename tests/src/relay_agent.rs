//! Hosts for real DHCPv6 relay agents: client <-veth-> agent(s) <-veth-> router. The router
//! link is a [`NetnsPair`]: its server end is the router (so [`crate::running::Running`] runs
//! `lwm2m-xdp run` there unchanged), its client end the upper interface of the agent nearest
//! the router. Each agent's lower interface joins it to the next agent down, the last one's to
//! the client. ISC dhcrelay runs in the agents' namespaces ([`Dhcrelay`], stopped by pid on
//! drop). Everything is removed on drop, also when a test panics.
//!
//! Addresses (x = the pair's subnet number), link-local addresses on every end besides:
//! - router link: 2001:db8:x::/64, the pair's (router ::1, first agent ::2);
//! - the link below agent i (0 nearest the router): 2001:db8:x:(i+1)::/64, agent i ::1
//!   (dhcrelay's link-address there), the next agent or the client ::2.
//!
//! Checksum offload is off on every end but the router's: the fast path verifies what
//! dhcrelay sends, dhcrelay what the next agent sends, the raw client what dhcrelay hands down
//! (ARCHITECTURE.md, "Traps").

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use crate::bounded::{run_checked, stop_child, wait_until};
use crate::files::{sanitize, PREFIX};
use crate::netns::{remove_netns, NetnsPair, Side};
use crate::LinkEnd;

/// `ip` and friends answer in milliseconds; a limit only catches a hang.
const CMD_LIMIT: Duration = Duration::from_secs(10);
/// From SIGTERM to dhcrelay's exit.
const STOP_LIMIT: Duration = Duration::from_secs(5);
/// Agents in one chain: one digit in the link names.
const MAX_AGENTS: usize = 9;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One relay agent's host.
#[derive(Debug)]
pub struct Agent {
    pub ns: String,
    /// Towards the router, with its global address.
    pub upper_if: String,
    pub upper_ipv6: Ipv6Addr,
    /// Towards the client, with its global address (the link-address of what it relays).
    pub lower_if: String,
    pub lower_ipv6: Ipv6Addr,
    pub lower: LinkEnd,
}

/// client <-> agents <-> router, addressed and up.
#[derive(Debug)]
pub struct AgentTopology {
    /// Router ([`Side::Server`]) and the first agent's upper end ([`Side::Client`]).
    pub pair: NetnsPair,
    /// Nearest the router first; `agents[0]` lives in `pair.client_ns`.
    pub agents: Vec<Agent>,
    pub client_ns: String,
    pub client_if: String,
    pub client: LinkEnd,
    /// The namespaces made besides the pair's, in the order made.
    made: Vec<String>,
}

impl AgentTopology {
    /// Makes the router, `agents` agent hosts (1 to 9) and the client. Needs root
    /// ([`crate::require_root`]).
    pub fn new(tag: &str, agents: usize) -> Result<AgentTopology> {
        ensure!(
            (1..=MAX_AGENTS).contains(&agents),
            "1 to {MAX_AGENTS} agents, not {agents}"
        );
        let pair = NetnsPair::new(tag)?;
        let mut topo = AgentTopology {
            agents: Vec::new(),
            client_ns: String::new(),
            client_if: String::new(),
            client: LinkEnd::UNKNOWN,
            made: Vec::new(),
            pair,
        };
        // From here on a failure returns early and Drop removes what was made.
        topo.build(tag, agents)
            .with_context(|| format!("making the agents below {}", topo.pair.client_ns))?;
        Ok(topo)
    }

    fn build(&mut self, tag: &str, agents: usize) -> Result<()> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed) % 100;
        let pid = std::process::id();
        let tag = sanitize(tag);
        // dhcrelay's Relay-forwards leave by the first agent's upper end.
        let first_upper = self.pair.client_if.clone();
        off_load(&self.pair.client_ns, &first_upper)?;
        let (mut ns, mut upper_if, mut upper_ipv6) = (
            self.pair.client_ns.clone(),
            first_upper,
            self.pair.ipv6(Side::Client),
        );
        for i in 0..agents {
            let below = i + 1;
            // `lwx-<pid>-...`: cleanup_stale removes it when this process died without Drop.
            let below_ns = if below == agents {
                format!("{PREFIX}{pid}-a{n}-c-{tag}")
            } else {
                format!("{PREFIX}{pid}-a{n}-{below}-{tag}")
            };
            // At most 15 octets: "lwa" + 7-digit pid + "-" + 2 + 1 + 1.
            let lower_if = format!("lwa{pid}-{n:02}{i}l");
            let below_upper_if = format!("lwa{pid}-{n:02}{i}u");
            run(&["netns", "add", &below_ns])?;
            self.made.push(below_ns.clone());
            run(&[
                "-n",
                &below_ns,
                "link",
                "add",
                &below_upper_if,
                "type",
                "veth",
                "peer",
                "name",
                &lower_if,
                "netns",
                &ns,
            ])?;
            let lower_ipv6 = self.link_v6(below, 1);
            let below_ipv6 = self.link_v6(below, 2);
            for (ns, ifname, v6) in [
                (&below_ns, &below_upper_if, below_ipv6),
                (&ns, &lower_if, lower_ipv6),
            ] {
                address(ns, ifname, v6)?;
            }
            let lower = LinkEnd::read(&ns, &lower_if)?;
            self.agents.push(Agent {
                ns,
                upper_if,
                upper_ipv6,
                lower_if,
                lower_ipv6,
                lower,
            });
            (ns, upper_if, upper_ipv6) = (below_ns, below_upper_if, below_ipv6);
        }
        self.client = LinkEnd::read(&ns, &upper_if)?;
        self.client_ns = ns;
        self.client_if = upper_if;
        Ok(())
    }

    /// 2001:db8:x:link::host.
    fn link_v6(&self, link: usize, host: u16) -> Ipv6Addr {
        let link = u16::try_from(link).expect("at most 9 links below the router");
        Ipv6Addr::new(0x2001, 0xdb8, self.pair.subnet, link, 0, 0, 0, host)
    }

    /// The agent nearest the client.
    pub fn last_agent(&self) -> &Agent {
        self.agents.last().expect("at least one agent")
    }
}

impl Drop for AgentTopology {
    /// Stops what runs in the namespaces made here and deletes them (and so their links),
    /// the client's first; then the pair's own Drop removes the other two. Never panics.
    fn drop(&mut self) {
        for ns in self.made.iter().rev() {
            remove_netns(ns);
        }
    }
}

/// Up, `v6`/64 without DAD (dhcrelay and the client use the addresses at once), full
/// checksums on what leaves.
fn address(ns: &str, ifname: &str, v6: Ipv6Addr) -> Result<()> {
    let dad = format!("net.ipv6.conf.{ifname}.accept_dad=0");
    run(&["netns", "exec", ns, "sysctl", "-qw", &dad])?;
    run(&["-n", ns, "link", "set", "lo", "up"])?;
    run(&["-n", ns, "link", "set", ifname, "up"])?;
    let v6 = format!("{v6}/64");
    run(&["-n", ns, "-6", "addr", "add", &v6, "dev", ifname, "nodad"])?;
    off_load(ns, ifname)
}

fn off_load(ns: &str, ifname: &str) -> Result<()> {
    run(&["netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off"])
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
    /// Starts dhcrelay on `agent`, relaying from its lower end to `upper` (`IF` sends to
    /// ff05::1:3, `ADDRESS%IF` to ADDRESS) with `args` before `-l`; waits up to `limit` until
    /// it says it sends on the lower interface (its last start-up line).
    pub fn start(
        agent: &Agent,
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
        argv.extend(["-l", &agent.lower_if, "-u", upper]);
        let child = Command::new("ip")
            .args(["netns", "exec", &agent.ns])
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("start dhcrelay")?;
        let mut relay = Dhcrelay {
            child,
            log: log.to_path_buf(),
        };
        let ready = format!("Sending on   Socket/{}", agent.lower_if);
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
        stop_child(&mut self.child, STOP_LIMIT);
    }
}

fn run(args: &[&str]) -> Result<()> {
    run_checked(CMD_LIMIT, "ip", args).map(drop)
}
