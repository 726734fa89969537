//! Three hosts for the relay: client <-veth-> relay <-veth-> upstream. The first link is a
//! [`NetnsPair`] (its server end is the relay, which runs `lwm2m-xdp run` with
//! `slow_path.mode = "relay"`); the second joins the relay's namespace to a third, where a
//! real DHCP server (Kea) runs. Everything is removed on drop, also when a test panics.
//!
//! Addresses (x = the pair's subnet number, hi/lo its octets):
//! - client link: 198.(18+hi).lo.0/24 and 2001:db8:x::/64 (the pair's: relay .1 / ::1,
//!   client .2 / ::2);
//! - upstream link: 198.(19-hi).lo.0/24 and 2001:db8:x:1::/64, relay .1 / ::1, upstream
//!   .2 / ::2; the upstream routes the client link's prefixes back via the relay (a server
//!   answers giaddr, which is on the client link).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bounded::{run_checked, stop_child, wait_until};
use crate::files::{sanitize, PREFIX};
use crate::netns::{remove_netns, NetnsPair};

/// `ip` and friends answer in milliseconds; a limit only catches a hang.
const CMD_LIMIT: Duration = Duration::from_secs(10);
/// Link-local addresses appear when the link gets carrier (DAD is off).
const LINK_LOCAL_LIMIT: Duration = Duration::from_secs(5);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// client <-> relay <-> upstream, addressed, routed, up.
#[derive(Debug)]
pub struct RelayTopology {
    /// Client end and relay end ([`crate::Side::Server`]) of the client link.
    pub pair: NetnsPair,
    pub upstream_ns: String,
    /// The relay's end of the upstream link (in `pair.server_ns`).
    pub relay_up_if: String,
    /// The upstream's end of the upstream link.
    pub upstream_if: String,
}

impl RelayTopology {
    /// Makes the three namespaces. Needs root ([`crate::require_root`]).
    pub fn new(tag: &str) -> Result<RelayTopology> {
        let pair = NetnsPair::new(tag)?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
        let pid = std::process::id();
        let topo = RelayTopology {
            // `lwx-<pid>-...`: cleanup_stale removes it when this process died without Drop.
            upstream_ns: format!("{PREFIX}{pid}-r{n}-u-{}", sanitize(tag)),
            relay_up_if: format!("lwr{pid}-{n}r"),
            upstream_if: format!("lwr{pid}-{n}u"),
            pair,
        };
        topo.build()
            .with_context(|| format!("making the upstream namespace {}", topo.upstream_ns))?;
        Ok(topo)
    }

    fn build(&self) -> Result<()> {
        let (relay_ns, up_ns) = (self.pair.server_ns.as_str(), self.upstream_ns.as_str());
        run("ip", &["netns", "add", up_ns])?;
        run(
            "ip",
            &[
                "-n",
                up_ns,
                "link",
                "add",
                &self.upstream_if,
                "type",
                "veth",
                "peer",
                "name",
                &self.relay_up_if,
                "netns",
                relay_ns,
            ],
        )?;
        let ends = [
            (
                relay_ns,
                &self.relay_up_if,
                self.relay_up_ipv4(),
                self.relay_up_ipv6(),
            ),
            (
                up_ns,
                &self.upstream_if,
                self.upstream_ipv4(),
                self.upstream_ipv6(),
            ),
        ];
        for (ns, ifname, v4, v6) in ends {
            // No DAD: Kea and the relay use the addresses at once (two hosts on one wire).
            let dad = format!("net.ipv6.conf.{ifname}.accept_dad=0");
            run("ip", &["netns", "exec", ns, "sysctl", "-qw", &dad])?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
            run("ip", &["-n", ns, "link", "set", ifname, "up"])?;
            run(
                "ip",
                &["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", ifname],
            )?;
            let v6 = format!("{v6}/64");
            run(
                "ip",
                &["-n", ns, "-6", "addr", "add", &v6, "dev", ifname, "nodad"],
            )?;
            // Full checksums on what the relay and Kea send over veth (ARCHITECTURE.md).
            run(
                "ip",
                &["netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off"],
            )?;
        }
        // Carrier (and so link-local addresses) once both ends are up.
        for (ns, ifname, ..) in ends {
            wait_link_local(ns, ifname)?;
        }
        // The relay sends its answers to the client with full checksums too: the raw client
        // verifies them.
        let relay_down = &self.pair.server_if;
        run(
            "ip",
            &[
                "netns", "exec", relay_ns, "ethtool", "-K", relay_down, "tx", "off",
            ],
        )?;
        // The upstream answers giaddr / the client link through the relay.
        let [hi, lo] = self.pair.subnet.to_be_bytes();
        let client_v4 = format!("{}/24", Ipv4Addr::new(198, 18 + hi, lo, 0));
        let via4 = self.relay_up_ipv4().to_string();
        run(
            "ip",
            &["-n", up_ns, "route", "add", &client_v4, "via", &via4],
        )?;
        let client_v6 = format!(
            "{}/64",
            Ipv6Addr::new(0x2001, 0xdb8, self.pair.subnet, 0, 0, 0, 0, 0)
        );
        let via6 = self.relay_up_ipv6().to_string();
        run(
            "ip",
            &["-n", up_ns, "-6", "route", "add", &client_v6, "via", &via6],
        )?;
        Ok(())
    }

    fn upstream_v4(&self, host: u8) -> Ipv4Addr {
        let [hi, lo] = self.pair.subnet.to_be_bytes();
        Ipv4Addr::new(198, 19 - hi, lo, host)
    }

    fn upstream_v6(&self, host: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, self.pair.subnet, 1, 0, 0, 0, host)
    }

    /// The relay's address on the upstream link (198.(19-hi).lo.1).
    pub fn relay_up_ipv4(&self) -> Ipv4Addr {
        self.upstream_v4(1)
    }

    /// The upstream server's address (198.(19-hi).lo.2).
    pub fn upstream_ipv4(&self) -> Ipv4Addr {
        self.upstream_v4(2)
    }

    /// An address on the upstream link where nothing answers (198.(19-hi).lo.9).
    pub fn nobody_ipv4(&self) -> Ipv4Addr {
        self.upstream_v4(9)
    }

    /// 2001:db8:x:1::1.
    pub fn relay_up_ipv6(&self) -> Ipv6Addr {
        self.upstream_v6(1)
    }

    /// 2001:db8:x:1::2.
    pub fn upstream_ipv6(&self) -> Ipv6Addr {
        self.upstream_v6(2)
    }

    /// `ip netns exec <upstream> <cmd...>`, not yet run.
    pub fn upstream_command(&self, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.upstream_ns]).args(cmd);
        c
    }
}

impl Drop for RelayTopology {
    /// Stops what runs in the upstream namespace and deletes it (and so the upstream veth);
    /// then the pair's own Drop removes the other two. Never panics.
    fn drop(&mut self) {
        remove_netns(&self.upstream_ns);
    }
}

fn run(program: &str, args: &[&str]) -> Result<Output> {
    run_checked(CMD_LIMIT, program, args)
}

fn wait_link_local(ns: &str, ifname: &str) -> Result<()> {
    let ready = wait_until(LINK_LOCAL_LIMIT, Duration::from_millis(20), || {
        run(
            "ip",
            &[
                "-n", ns, "-6", "-o", "addr", "show", "dev", ifname, "scope", "link",
            ],
        )
        .is_ok_and(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.contains("inet6") && !text.contains("tentative")
        })
    });
    if !ready {
        bail!("{ifname} in {ns} has no usable link-local address after {LINK_LOCAL_LIMIT:?}");
    }
    Ok(())
}

/// Which Kea server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeaFamily {
    V4,
    V6,
}

impl KeaFamily {
    fn binary(self) -> &'static str {
        match self {
            KeaFamily::V4 => "kea-dhcp4",
            KeaFamily::V6 => "kea-dhcp6",
        }
    }

    /// The message Kea logs once its sockets are open.
    fn started(self) -> &'static str {
        match self {
            KeaFamily::V4 => "DHCP4_STARTED",
            KeaFamily::V6 => "DHCP6_STARTED",
        }
    }
}

/// kea-dhcp4 / kea-dhcp6 in the upstream namespace; stopped on drop.
#[derive(Debug)]
pub struct Kea {
    child: Child,
    /// Where the config's logger writes (the caller puts this path in the config).
    pub log: PathBuf,
    /// Kea's own stdout and stderr.
    pub output: PathBuf,
}

impl Kea {
    /// Starts `kea-dhcp4|6 -c config` where `command` runs it (`RelayTopology::
    /// upstream_command`: the upstream server behind the relay; `NetnsPair::command`: the
    /// normal server of a link), its pid and lock files in `state_dir` (nothing under /run),
    /// and waits up to `limit` for its "started" message in `log`.
    pub fn start(
        command: impl FnOnce(&[&str]) -> Command,
        family: KeaFamily,
        config: &Path,
        log: &Path,
        state_dir: &Path,
        limit: Duration,
    ) -> Result<Kea> {
        let binary = kea_binary(family)?;
        let output = state_dir.join(format!("{}.out", family.binary()));
        let out_file = std::fs::File::create(&output)
            .with_context(|| format!("create {}", output.display()))?;
        let err_file = out_file.try_clone()?;
        let config_arg = config.to_str().context("UTF-8 config path")?;
        let binary_arg = binary.to_str().context("UTF-8 Kea path")?;
        let child = command(&[binary_arg, "-c", config_arg])
            .env("KEA_PIDFILE_DIR", state_dir)
            .env("KEA_LOCKFILE_DIR", state_dir)
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(err_file)
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let mut kea = Kea {
            child,
            log: log.to_path_buf(),
            output,
        };
        let mut exited = None;
        let started = wait_until(limit, Duration::from_millis(50), || {
            if let Ok(Some(status)) = kea.child.try_wait() {
                exited = Some(status);
                return true;
            }
            kea.log_text().contains(family.started())
        });
        if let Some(status) = exited {
            bail!(
                "{} exited at start ({status}):\n{}\n{}",
                family.binary(),
                kea.output_text(),
                kea.log_text()
            );
        }
        if !started {
            bail!(
                "{} not started within {limit:?}:\n{}\n{}",
                family.binary(),
                kea.output_text(),
                kea.log_text()
            );
        }
        Ok(kea)
    }

    /// What Kea logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn output_text(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Kea {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// Debian puts Kea in /usr/sbin, which a user's PATH may lack.
pub fn kea_binary(family: KeaFamily) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(family.binary()))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{} is not installed (`cargo xtask setup` installs Debian's Kea)",
                family.binary()
            )
        })
}
