//! Two hosts in network namespaces joined by a veth pair: the server side runs lwm2m-xdp,
//! the client side runs DHCP clients, scapy, ping, traffic generators. The one namespace
//! runner of the tests and the benches; [`InNetns`] moves a thread into one.
//!
//! A trap this module hides: `ip netns exec` mounts a fresh sysfs over /sys (so that
//! /sys/class/net shows the namespace's links), and that hides the host's bpffs at
//! /sys/fs/bpf. A program pinned "inside" would then fail, or land in a private bpffs that
//! `stats` run by another `ip netns exec` cannot see. So [`NetnsPair::exec`] and
//! [`NetnsPair::spawn`] bind the host's bpffs back over /sys/fs/bpf before running the
//! command: pins made inside a namespace are the host's pins.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bounded::{bounded, run_checked, wait_until};
use crate::files::{cleanup_stale_dirs, owner_is_dead, sanitize, PREFIX};
use crate::link_end::LinkEnd;
use crate::privilege::{ensure_bpffs, BPFFS};

/// A second mount of the host's bpffs outside /sys, which `ip netns exec` leaves visible; one
/// per test process, so that a process unmounting its own never pulls the bind from under
/// another one's namespace commands (test runs of two checkouts at once).
fn host_bpffs_bind() -> &'static str {
    static BIND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIND.get_or_init(|| format!("/run/lwm2m-xdp-tests/bpffs-{}", std::process::id()))
}
/// `ip` on a quiet machine answers in milliseconds; a limit only catches a hang.
const IP_LIMIT: Duration = Duration::from_secs(10);
/// Default bound for [`NetnsPair::exec`].
const EXEC_LIMIT: Duration = Duration::from_secs(60);
/// 198.18.0.0/15 holds 512 /24 subnets: one per pair, for readable captures.
const SUBNETS: u32 = 512;

/// Pair numbers within this process (threads of one test binary share it).
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Which end of a [`NetnsPair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The device end: DHCP clients, probes, traffic generators.
    Client,
    /// The router end: lwm2m-xdp and the normal DHCP server.
    Server,
}

/// Two namespaces joined by veth, addressed and up; removed on drop (also on panic).
#[derive(Debug)]
pub struct NetnsPair {
    pub client_ns: String,
    pub server_ns: String,
    pub client_if: String,
    pub server_if: String,
    /// Which /24 of 198.18.0.0/15 and which 2001:db8:<subnet>::/64 this pair uses.
    pub subnet: u16,
    client: LinkEnd,
    server: LinkEnd,
}

impl NetnsPair {
    /// Makes the pair: namespaces `lwx-<pid>-<n>-{c,s}-<tag>`, veth `lwx<pid>-<n>{c,s}`,
    /// lo and veth up, server 198.18.x.1/24 + 2001:db8:x::1/64, client .2 and ::2, link-local
    /// addresses ready, GRO on the client end. Needs root ([`crate::require_root`]).
    pub fn new(tag: &str) -> Result<NetnsPair> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Link names are at most 15 bytes: "lwx" + 7-digit pid + "-" + 3 digits + side.
        let short = n % 1000;
        let subnet = u16::try_from(n % SUBNETS).expect("below 512");
        let links = [format!("lwx{pid}-{short}c"), format!("lwx{pid}-{short}s")];
        NetnsPair::make(n, tag, links, subnet)
    }

    /// [`Self::new`] with veth ends named `client_if` / `server_if` (made inside the
    /// namespaces, so the names never touch the host) and addresses from `subnet`, for a
    /// process that makes one pair of its own (the benches).
    pub fn with_links(
        tag: &str,
        client_if: &str,
        server_if: &str,
        subnet: u16,
    ) -> Result<NetnsPair> {
        assert!(subnet < SUBNETS as u16, "198.18.0.0/15 has {SUBNETS} /24s");
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        NetnsPair::make(n, tag, [client_if.into(), server_if.into()], subnet)
    }

    fn make(
        n: u32,
        tag: &str,
        [client_if, server_if]: [String; 2],
        subnet: u16,
    ) -> Result<NetnsPair> {
        static CLEANUP: Once = Once::new();
        CLEANUP.call_once(cleanup_stale);
        // Released in Drop, which runs for every pair made from here on.
        hold_host_bpffs_bind()?;

        let pid = std::process::id();
        let tag = sanitize(tag);
        let mut pair = NetnsPair {
            client_ns: format!("{PREFIX}{pid}-{n}-c-{tag}"),
            server_ns: format!("{PREFIX}{pid}-{n}-s-{tag}"),
            client_if,
            server_if,
            subnet,
            client: LinkEnd::UNKNOWN,
            server: LinkEnd::UNKNOWN,
        };
        // From here on a failure returns early and Drop removes what was made.
        pair.build()
            .with_context(|| format!("making netns pair {}", pair.server_ns))?;
        Ok(pair)
    }

    fn build(&mut self) -> Result<()> {
        ip(&["netns", "add", &self.server_ns])?;
        ip(&["netns", "add", &self.client_ns])?;
        // Made inside the namespaces: the names never touch the host's links.
        ip(&[
            "-n",
            &self.client_ns,
            "link",
            "add",
            &self.client_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.server_if,
            "netns",
            &self.server_ns,
        ])?;
        for side in [Side::Server, Side::Client] {
            let (ns, ifname) = (self.ns(side), self.ifname(side));
            // Two hosts on one wire cannot collide; DAD would only make link-local
            // addresses wait a second, tentative, before DHCPv6 can use them.
            let accept_dad = format!("echo 0 > /proc/sys/net/ipv6/conf/{ifname}/accept_dad");
            self.checked(side, &["sh", "-c", &accept_dad])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", ifname, "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", self.ipv4(side)),
                "dev",
                ifname,
            ])?;
            let v6 = format!("{}/64", self.ipv6(side));
            ip(&["-n", ns, "-6", "addr", "add", &v6, "dev", ifname, "nodad"])?;
        }
        // A frame sent with XDP_TX on a veth reaches its peer only when the peer runs NAPI
        // (toolchain.md): GRO on the client end turns NAPI on for native-mode tests.
        self.checked(
            Side::Client,
            &["ethtool", "-K", &self.client_if, "gro", "on"],
        )?;
        self.server = LinkEnd::read(&self.server_ns, &self.server_if)?;
        self.client = LinkEnd::read(&self.client_ns, &self.client_if)?;
        Ok(())
    }

    pub fn ns(&self, side: Side) -> &str {
        match side {
            Side::Client => &self.client_ns,
            Side::Server => &self.server_ns,
        }
    }

    pub fn ifname(&self, side: Side) -> &str {
        match side {
            Side::Client => &self.client_if,
            Side::Server => &self.server_if,
        }
    }

    /// 198.18.x.1 (server) or 198.18.x.2 (client), x from [`Self::subnet`]; prefix /24.
    pub fn ipv4(&self, side: Side) -> Ipv4Addr {
        let [hi, lo] = self.subnet.to_be_bytes();
        Ipv4Addr::new(198, 18 + hi, lo, host_number(side))
    }

    /// 2001:db8:x::1 (server) or 2001:db8:x::2 (client); prefix /64.
    pub fn ipv6(&self, side: Side) -> Ipv6Addr {
        Ipv6Addr::new(
            0x2001,
            0xdb8,
            self.subnet,
            0,
            0,
            0,
            0,
            u16::from(host_number(side)),
        )
    }

    /// The fe80::/64 address the kernel gave the veth end (what DHCPv6 uses).
    pub fn ipv6_link_local(&self, side: Side) -> Ipv6Addr {
        self.end(side).link_local
    }

    pub fn ifindex(&self, side: Side) -> u32 {
        self.end(side).ifindex
    }

    pub fn mac(&self, side: Side) -> [u8; 6] {
        self.end(side).mac
    }

    /// What the kernel chose for the `side` end.
    pub fn end(&self, side: Side) -> LinkEnd {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    /// `ip netns exec <ns> <cmd...>` with the host's bpffs visible (module doc); not yet run,
    /// so the caller can set stdio and environment. Not bounded: for long-lived peers, which
    /// Drop stops.
    pub fn command(&self, side: Side, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(self.exec_args(side, cmd));
        c
    }

    /// `netns exec NS /bin/sh -c SCRIPT lwx-exec CMD...`: the wrapper shell restores the
    /// host's bpffs, then execs the command (so the pid stays the command's).
    fn exec_args(&self, side: Side, cmd: &[&str]) -> Vec<String> {
        let bind = host_bpffs_bind();
        let script = format!("mount --bind {bind} {BPFFS} && exec \"$@\"");
        let mut args: Vec<String> = [
            "netns",
            "exec",
            self.ns(side),
            "/bin/sh",
            "-c",
            &script,
            "lwx-exec",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(cmd.iter().map(|s| (*s).to_owned()));
        args
    }

    /// Runs `cmd` inside one namespace, output captured, killed after 60 s.
    /// Panics only when `timeout`/`ip` themselves cannot be started.
    pub fn exec(&self, side: Side, cmd: &[&str]) -> Output {
        self.exec_within(side, EXEC_LIMIT, cmd)
    }

    /// [`Self::exec`] with another time limit (exit status 124 when it was hit).
    pub fn exec_within(&self, side: Side, limit: Duration, cmd: &[&str]) -> Output {
        bounded(limit, "ip", &self.exec_args(side, cmd))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot start `timeout ip netns exec`: {e}"))
    }

    /// Starts `cmd` inside one namespace in the background: stdin null, stdout and stderr
    /// inherited. The child's pid is the command's own (`ip netns exec` and the wrapper shell
    /// both exec), so signals reach it. Drop stops it if the test did not.
    pub fn spawn(&self, side: Side, cmd: &[&str]) -> Child {
        self.command(side, cmd)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `ip netns exec {} {cmd:?}`: {e}",
                    self.ns(side)
                )
            })
    }

    /// Sets the MTU of both ends of the veth (for replies larger than 1500 octets).
    pub fn set_mtu(&self, mtu: u32) -> Result<()> {
        let mtu = mtu.to_string();
        for side in [Side::Client, Side::Server] {
            self.checked(
                side,
                &["ip", "link", "set", "dev", self.ifname(side), "mtu", &mtu],
            )?;
        }
        Ok(())
    }

    /// `exec` that must exit 0 within `IP_LIMIT`, for building the pair.
    fn checked(&self, side: Side, cmd: &[&str]) -> Result<Output> {
        let out = self.exec_within(side, IP_LIMIT, cmd);
        if !out.status.success() {
            bail!(
                "`{}` in {} failed ({}): {}",
                cmd.join(" "),
                self.ns(side),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }
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

/// Runs `f` on a thread that has entered the network namespace `ns` (`/run/netns/<ns>`);
/// the calling thread stays where it is. Sockets made there stay in `ns` for their life.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let _inside = InNetns::enter(ns)?;
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

impl Drop for InNetns {
    fn drop(&mut self) {
        // SAFETY: as in enter; going back where this thread came from.
        unsafe { libc::setns(self.home.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}

impl Drop for NetnsPair {
    /// Best effort and never panics (it also runs while a failed test unwinds): stop what
    /// still runs inside, then delete both namespaces, which deletes the veth pair.
    fn drop(&mut self) {
        remove_netns(&self.client_ns);
        remove_netns(&self.server_ns);
        release_host_bpffs_bind();
    }
}

/// Deletes what earlier runs left behind when they crashed or were killed (their Drop never
/// ran): `lwx-<pid>-...` namespaces, scratch dirs and pin dirs whose owning pid is no longer
/// alive. Live runs' are untouched, so parallel test binaries are safe.
/// [`NetnsPair::new`] calls this once per process.
pub fn cleanup_stale() {
    for ns in netns_names() {
        if owner_is_dead(&ns) {
            remove_netns(&ns);
        }
    }
    cleanup_stale_dirs();
}

fn host_number(side: Side) -> u8 {
    match side {
        Side::Server => 1,
        Side::Client => 2,
    }
}

/// Serialises the check-and-mount among this process's threads.
/// This process's pairs and whether it made the host bind: the bind stays while a pair may
/// still run a command through it, and the process that made it removes it after its last
/// pair (a bind found in place belongs to whoever made it and is left alone).
struct HostBind {
    pairs: usize,
    made: bool,
}

static HOST_BIND: Mutex<HostBind> = Mutex::new(HostBind {
    pairs: 0,
    made: false,
});

/// Counts a new pair, binding the host's bpffs outside /sys first where it is not.
fn hold_host_bpffs_bind() -> Result<()> {
    let mut bind = HOST_BIND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    bind.made |= ensure_host_bpffs_bind()?;
    bind.pairs += 1;
    Ok(())
}

/// Counts a pair gone; after the last one, removes the bind this process made. Best effort
/// (it runs in Drop, also while a failed test unwinds).
fn release_host_bpffs_bind() {
    let mut bind = HOST_BIND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    bind.pairs = bind.pairs.saturating_sub(1);
    if bind.pairs == 0 && bind.made {
        let _ = bounded(IP_LIMIT, "umount", &[host_bpffs_bind()]).status();
        let _ = std::fs::remove_dir(host_bpffs_bind());
        bind.made = false;
    }
}

/// Binds the host's bpffs at `host_bpffs_bind()` unless that already shows it; true when it
/// mounted. Called with HOST_BIND held.
fn ensure_host_bpffs_bind() -> Result<bool> {
    ensure_bpffs().map_err(anyhow::Error::msg)?;
    let bind = host_bpffs_bind();
    let dev = |p: &str| std::fs::metadata(p).map(|m| m.dev()).ok();
    // Same device: the bind shows the current bpffs. Not mounted, or bound to a bpffs that
    // was since unmounted and mounted anew: (re)bind on top.
    if dev(bind).is_some() && dev(bind) == dev(BPFFS) {
        return Ok(false);
    }
    std::fs::create_dir_all(bind).with_context(|| format!("mkdir {bind}"))?;
    let out = bounded(IP_LIMIT, "mount", &["--bind", BPFFS, bind]).output()?;
    if !out.status.success() {
        bail!(
            "mount --bind {BPFFS} {bind} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(true)
}

fn ip(args: &[&str]) -> Result<()> {
    ip_output(args).map(drop)
}

fn ip_output(args: &[&str]) -> Result<String> {
    let out = run_checked(IP_LIMIT, "ip", args)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Names from `ip netns list` ("name (id: 3)" lines).
fn netns_names() -> Vec<String> {
    ip_output(&["netns", "list"])
        .map(|out| {
            out.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Stops every process inside `ns` (TERM, then KILL), then deletes it. Never panics. For
/// namespaces a test made itself (the pair's, and any it adds beside them).
pub fn remove_netns(ns: &str) {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let pids = netns_pids(ns);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: kill has no memory-safety preconditions; these pids were just listed
            // as members of a namespace this harness made.
            unsafe { libc::kill(pid, signal) };
        }
        wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
            netns_pids(ns).is_empty()
        });
    }
    let _ = bounded(IP_LIMIT, "ip", &["netns", "del", ns])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Live processes in `ns` (exited-but-unreaped ones are not listed: their ns link is gone).
fn netns_pids(ns: &str) -> Vec<libc::pid_t> {
    ip_output(&["netns", "pids", ns])
        .map(|out| {
            out.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{skip_unless_root, wait_child};

    #[test]
    fn link_names_fit_ifnamsiz() {
        // The largest pid (pid_max is at most 2^22) with pair number 999.
        assert!("lwx4194304-999c".len() <= 15);
    }

    /// The pair carries IPv4, IPv6 and link-local traffic, shows the host's bpffs inside, and
    /// leaves nothing behind.
    #[test]
    fn pair_pings_and_drops_cleanly() {
        skip_unless_root!("netns::pair_pings_and_drops_cleanly");
        let pair = NetnsPair::new("selftest").unwrap();
        let ping = |dst: &str| {
            let out = pair.exec(Side::Client, &["ping", "-c", "1", "-W", "2", dst]);
            assert!(
                out.status.success(),
                "ping {dst}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        };
        ping(&pair.ipv4(Side::Server).to_string());
        ping(&pair.ipv6(Side::Server).to_string());
        ping(&format!(
            "{}%{}",
            pair.ipv6_link_local(Side::Server),
            pair.client_if
        ));
        assert_ne!(pair.ifindex(Side::Server), 0);
        assert_ne!(pair.mac(Side::Client), [0; 6]);
        assert_ne!(pair.mac(Side::Client), pair.mac(Side::Server));

        let fs = pair.exec(Side::Server, &["stat", "-f", "-c", "%T", BPFFS]);
        assert_eq!(
            String::from_utf8_lossy(&fs.stdout).trim(),
            "bpf_fs",
            "host bpffs inside the ns"
        );

        let names = [pair.client_ns.clone(), pair.server_ns.clone()];
        drop(pair);
        let left = netns_names();
        assert!(
            names.iter().all(|n| !left.contains(n)),
            "{names:?} still in {left:?}"
        );
    }

    /// Signals sent to a spawned child reach the command itself, and Drop stops what a test
    /// left running inside.
    #[test]
    fn spawn_gives_the_command_pid_and_drop_stops_it() {
        skip_unless_root!("netns::spawn_gives_the_command_pid_and_drop_stops_it");
        let pair = NetnsPair::new("spawn").unwrap();
        let mut child = pair.spawn(Side::Server, &["sleep", "60"]);
        let comm =
            || std::fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap_or_default();
        assert!(wait_until(
            Duration::from_secs(5),
            Duration::from_millis(20),
            || comm().trim() == "sleep"
        ));
        drop(pair);
        let status = wait_child(&mut child, Duration::from_secs(5)).unwrap();
        assert!(
            status.is_some(),
            "sleep still running after the pair was dropped"
        );
    }

    /// Drop runs while a failing test unwinds: a panic leaves no namespace behind.
    #[test]
    fn pair_is_removed_when_a_test_panics() {
        skip_unless_root!("netns::pair_is_removed_when_a_test_panics");
        let mut names = Vec::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let pair = NetnsPair::new("panics").unwrap();
            names = vec![pair.client_ns.clone(), pair.server_ns.clone()];
            panic!("a failing assertion");
        }));
        assert!(result.is_err());
        let left = netns_names();
        assert!(
            !names.is_empty() && names.iter().all(|n| !left.contains(n)),
            "{names:?} in {left:?}"
        );
    }

    #[test]
    fn cleanup_stale_removes_dead_owners_only() {
        skip_unless_root!("netns::cleanup_stale_removes_dead_owners_only");
        let stale = "lwx-999999999-0-c-stale";
        ip(&["netns", "add", stale]).unwrap();
        let live = NetnsPair::new("live").unwrap();
        // Instance files of pin-dir tests: a dead process's go, this one's stay.
        let run_dir = std::path::Path::new(lwm2m_xdp::instance::STATE_DIR);
        std::fs::create_dir_all(run_dir).unwrap();
        let stale_state = run_dir.join("lwx-999999999-0-stale.json");
        let live_state = run_dir.join(format!("lwx-{}-0-live.json", std::process::id()));
        std::fs::write(&stale_state, "{}").unwrap();
        std::fs::write(&live_state, "{}").unwrap();
        cleanup_stale();
        let left = netns_names();
        assert!(!left.iter().any(|n| n == stale), "stale namespace survived");
        assert!(left.contains(&live.server_ns), "a live pair was removed");
        assert!(!stale_state.exists(), "a dead run's state file survived");
        assert!(live_state.exists(), "a live run's state file was removed");
        std::fs::remove_file(&live_state).unwrap();
    }
}
