//! The slow path's relay agent (`[slow_path] mode = "relay"`, design.md): what the fast path
//! passes (DISCOVER, REQUEST, SOLICIT, an INFORM it cannot answer completely, ...) reaches
//! the stack, and this forwards it to the configured servers and their answers back.
//!
//! Sockets, per attached interface:
//! - DHCPv4, *down*: 0.0.0.0:67 bound to the interface (SO_BINDTODEVICE): client broadcasts
//!   on that link, and where BOOTREPLYs leave for the client (broadcast needs the device).
//! - DHCPv4, *up*: <interface address>:67, no device: servers answer to giaddr:67, which
//!   arrives on the upstream interface; an exact-address socket wins the kernel's lookup
//!   for that, and requests are forwarded from it, so their source is the interface address.
//! - DHCPv6, *down*: [::]:547 bound to the interface, joined to ff02::1:2: client messages.
//! - DHCPv6, one *up* socket: [::]:547, no device, no multicast: Relay-forwards leave from
//!   it, Relay-replies come back to it, and it sends the unwrapped message to the client
//!   (a link-local peer-address with the interface as scope).
//!
//! All with SO_REUSEADDR, so a DHCP server on this host may hold the ports too. Every
//! datagram is handled to the end before the next is read: no queue, one 64 KiB buffer per
//! socket task. Errors are logged and counted, never fatal; a malformed datagram is counted
//! and never forwarded.
//!
//! A config change (SIGHUP) swaps the server lists in place; a change of interfaces or of
//! their addresses restarts the sockets (the old ones are closed before the new bind).
//! Addresses are read at start and reload: an interface renumbered meanwhile needs a SIGHUP.

mod sys;
pub mod v4;
pub mod v6;

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, PoisonError, RwLock,
    },
    time::Duration,
};

use log::{debug, info, warn};
use tokio::{
    net::UdpSocket,
    sync::oneshot,
    task::{JoinHandle, JoinSet},
};
use xdp_common::wire::{dhcpv4 as wire4, dhcpv6 as wire6, ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS};

pub use sys::Iface;

use crate::config::{Config, SlowPathMode};

/// Why a datagram is not relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Not a well-formed message: counted `malformed`.
    Malformed(&'static str),
    /// Well-formed, but not one to relay: counted `dropped`.
    Policy(&'static str),
}

/// Every UDP payload fits (at most 65 507 octets), so a datagram is never cut short, and so
/// never forwarded cut short.
const RECV_BUF: usize = 65_536;
/// After a receive error other than "not ready": pause, so a persistent error cannot spin.
const ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How long `shutdown` waits for the socket tasks to end.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// What the relay did, per family.
#[derive(Debug, Default)]
pub struct FamilyCounters {
    /// Requests sent on to the servers (once per request, however many servers).
    pub forwarded: AtomicU64,
    /// Server answers delivered to a client (or to a relay below).
    pub relayed: AtomicU64,
    /// Well-formed datagrams not relayed (hop limit, not from a server, not for us ...).
    pub dropped: AtomicU64,
    /// Datagrams that are not well-formed DHCP.
    pub malformed: AtomicU64,
    /// sendto failures (one per destination).
    pub send_errors: AtomicU64,
}

/// A reading of [`FamilyCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FamilySnapshot {
    pub forwarded: u64,
    pub relayed: u64,
    pub dropped: u64,
    pub malformed: u64,
    pub send_errors: u64,
}

impl FamilyCounters {
    pub fn snapshot(&self) -> FamilySnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FamilySnapshot {
            forwarded: get(&self.forwarded),
            relayed: get(&self.relayed),
            dropped: get(&self.dropped),
            malformed: get(&self.malformed),
            send_errors: get(&self.send_errors),
        }
    }
}

impl std::fmt::Display for FamilySnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "forwarded {}, relayed {}, dropped {}, malformed {}, send errors {}",
            self.forwarded, self.relayed, self.dropped, self.malformed, self.send_errors
        )
    }
}

fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed) + 1
}

#[derive(Debug, Default)]
struct Counters {
    v4: FamilyCounters,
    v6: FamilyCounters,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Servers {
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
}

/// What the sockets are bound to; a change restarts them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    v4: bool,
    v6: bool,
    ifaces: Vec<Iface>,
}

#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    servers: RwLock<Arc<Servers>>,
}

impl Shared {
    fn servers(&self) -> Arc<Servers> {
        Arc::clone(&self.servers.read().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Running {
    plan: Plan,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A reader of a [`Relay`]'s counters, valid for as long as it is kept.
#[derive(Clone, Debug)]
pub struct CountersHandle(Arc<Shared>);

impl CountersHandle {
    /// (DHCPv4, DHCPv6) since the relay was made.
    pub fn snapshot(&self) -> (FamilySnapshot, FamilySnapshot) {
        let c = &self.0.counters;
        (c.v4.snapshot(), c.v6.snapshot())
    }
}

/// The relay agent of one `run`: idle until a config with `slow_path.mode = "relay"` is
/// applied. Needs a tokio runtime.
#[derive(Default)]
pub struct Relay {
    shared: Arc<Shared>,
    running: Option<Running>,
    /// It ran at some point: `shutdown` reports its counters.
    started: bool,
}

impl Relay {
    pub fn new() -> Relay {
        Relay::default()
    }

    /// Makes the relay do what `cfg` says: nothing (mode local), or relay on its interfaces
    /// to its servers. Never fails: what cannot be done is logged.
    pub fn apply(&mut self, cfg: &Config) {
        if cfg.slow_path.mode != SlowPathMode::Relay {
            if let Some(running) = self.running.take() {
                info!(
                    "relay: stopping (slow_path.mode = \"{}\")",
                    cfg.slow_path.mode
                );
                let _ = running.stop.send(());
            }
            return;
        }
        // A family that is disabled is not relayed either: its requests are not ours.
        let servers = Servers {
            v4: if cfg.dhcpv4.enabled {
                cfg.slow_path.dhcpv4_servers.clone()
            } else {
                Vec::new()
            },
            v6: if cfg.dhcpv6.enabled {
                cfg.slow_path.dhcpv6_servers.clone()
            } else {
                Vec::new()
            },
        };
        let ifaces = cfg
            .interfaces
            .iter()
            .filter_map(|i| {
                sys::iface(&i.name)
                    .map_err(|e| warn!("relay: {}: {e:#}; not relaying there", i.name))
                    .ok()
            })
            .collect();
        let plan = Plan {
            v4: !servers.v4.is_empty(),
            v6: !servers.v6.is_empty(),
            ifaces,
        };
        info!(
            "relay: DHCPv4 to {:?}, DHCPv6 to {:?}",
            servers.v4, servers.v6
        );
        *self
            .shared
            .servers
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(servers);
        if self.running.as_ref().is_some_and(|r| r.plan == plan) {
            return; // same sockets; the tasks read the new servers from the next datagram on
        }
        let previous = self.running.take().map(|r| {
            let _ = r.stop.send(());
            r.task
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(generation(
            previous,
            plan.clone(),
            Arc::clone(&self.shared),
            stopped,
        ));
        self.running = Some(Running { plan, stop, task });
        self.started = true;
    }

    /// Counters since this relay was made: (DHCPv4, DHCPv6).
    pub fn counters(&self) -> (FamilySnapshot, FamilySnapshot) {
        self.counters_handle().snapshot()
    }

    /// The counters, readable from elsewhere (the metrics server) while the relay runs.
    pub fn counters_handle(&self) -> CountersHandle {
        CountersHandle(Arc::clone(&self.shared))
    }

    /// Closes every socket (waits for that, boundedly) and logs the counters.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            if tokio::time::timeout(SHUTDOWN_LIMIT, running.task)
                .await
                .is_err()
            {
                warn!("relay: sockets still open {SHUTDOWN_LIMIT:?} after stop");
            }
        }
        if !self.started {
            return;
        }
        let (v4, v6) = self.counters();
        info!("relay: stopped; DHCPv4 {v4}; DHCPv6 {v6}");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
        }
    }
}

/// One plan's sockets, from bind to close.
async fn generation(
    previous: Option<JoinHandle<()>>,
    plan: Plan,
    shared: Arc<Shared>,
    stopped: oneshot::Receiver<()>,
) {
    // The previous plan's sockets hold the same ports: close them before binding ours.
    if let Some(task) = previous {
        let _ = task.await;
    }
    let plan = Arc::new(plan);
    let mut tasks = JoinSet::new();
    if plan.v4 {
        for iface in &plan.ifaces {
            let Some(addr) = iface.ipv4 else {
                warn!(
                    "relay: {} has no IPv4 address: DHCPv4 is not relayed there",
                    iface.name
                );
                continue;
            };
            match v4_sockets(&iface.name, addr) {
                Ok((down, up)) => {
                    info!("relay: DHCPv4 on {} (giaddr {addr})", iface.name);
                    tasks.spawn(v4_loop(V4Link {
                        iface: iface.clone(),
                        addr,
                        down,
                        up,
                        shared: Arc::clone(&shared),
                    }));
                }
                Err(e) => warn!(
                    "relay: {}: DHCPv4 sockets: {e}; DHCPv4 is not relayed there",
                    iface.name
                ),
            }
        }
    }
    if plan.v6 {
        let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, wire6::SERVER_PORT, 0, 0);
        match sys::udp_v6(any, None, false) {
            Ok(up) => {
                let up = Arc::new(up);
                tasks.spawn(v6_loop(V6Link {
                    iface: None,
                    recv: Arc::clone(&up),
                    send: Arc::clone(&up),
                    plan: Arc::clone(&plan),
                    shared: Arc::clone(&shared),
                }));
                for iface in &plan.ifaces {
                    match v6_socket(iface) {
                        Ok(down) => {
                            info!(
                                "relay: DHCPv6 on {} (link-address {})",
                                iface.name,
                                iface.ipv6_global.unwrap_or(Ipv6Addr::UNSPECIFIED)
                            );
                            tasks.spawn(v6_loop(V6Link {
                                iface: Some(iface.clone()),
                                recv: Arc::new(down),
                                send: Arc::clone(&up),
                                plan: Arc::clone(&plan),
                                shared: Arc::clone(&shared),
                            }));
                        }
                        Err(e) => warn!(
                            "relay: {}: DHCPv6 socket: {e}; DHCPv6 is not relayed there",
                            iface.name
                        ),
                    }
                }
            }
            Err(e) => warn!("relay: DHCPv6 socket [::]:547: {e}; DHCPv6 is not relayed"),
        }
    }
    // Sent, or the Relay dropped: either way, stop.
    let _ = stopped.await;
    tasks.shutdown().await;
}

fn v4_sockets(name: &str, addr: Ipv4Addr) -> io::Result<(UdpSocket, UdpSocket)> {
    let down = sys::udp_v4(
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, wire4::SERVER_PORT),
        Some(name),
        true,
    )?;
    let up = sys::udp_v4(SocketAddrV4::new(addr, wire4::SERVER_PORT), None, false)?;
    Ok((down, up))
}

fn v6_socket(iface: &Iface) -> io::Result<UdpSocket> {
    let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, wire6::SERVER_PORT, 0, 0);
    let socket = sys::udp_v6(any, Some(&iface.name), false)?;
    // Joined here too (the loader's join is another socket's): this one takes only the
    // groups it joined, so it never sees another link's multicast.
    socket.join_multicast_v6(
        &Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
        iface.ifindex,
    )?;
    Ok(socket)
}

/// Waits for the first of two sockets to be readable and reads one datagram from it into
/// `buf` (one buffer for both). `Ok(None)`: a spurious wake-up.
async fn receive_either(
    a: &UdpSocket,
    b: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<Option<(usize, SocketAddr)>> {
    let socket = tokio::select! {
        r = a.readable() => r.map(|()| a)?,
        r = b.readable() => r.map(|()| b)?,
    };
    match socket.try_recv_from(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

fn count_reject(c: &FamilyCounters, family: &str, link: &str, from: SocketAddr, reject: Reject) {
    match reject {
        Reject::Malformed(why) => {
            let n = bump(&c.malformed);
            debug!("relay {family} {link}: malformed from {from}: {why} (malformed {n})");
        }
        Reject::Policy(why) => {
            let n = bump(&c.dropped);
            debug!("relay {family} {link}: dropped from {from}: {why} (dropped {n})");
        }
    }
}

fn count_send_error(c: &FamilyCounters, family: &str, link: &str, to: SocketAddr, e: &io::Error) {
    // The first one loud, the rest at debug: a dead server must not flood the log.
    if bump(&c.send_errors) == 1 {
        warn!("relay {family} {link}: sending to {to}: {e} (further send errors at debug)");
    } else {
        debug!("relay {family} {link}: sending to {to}: {e}");
    }
}

struct V4Link {
    iface: Iface,
    addr: Ipv4Addr,
    down: UdpSocket,
    up: UdpSocket,
    shared: Arc<Shared>,
}

async fn v4_loop(link: V4Link) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        match receive_either(&link.down, &link.up, &mut buf).await {
            Ok(Some((n, SocketAddr::V4(from)))) => link.handle(&buf[..n], from).await,
            Ok(_) => {}
            Err(e) => {
                warn!("relay v4 {}: receive: {e}", link.iface.name);
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

impl V4Link {
    async fn handle(&self, bytes: &[u8], from: SocketAddrV4) {
        let c = &self.shared.counters.v4;
        let name = self.iface.name.as_str();
        let servers = self.shared.servers();
        if bytes.first() == Some(&wire4::OP_BOOTREPLY) {
            // Only a configured server may send a client an answer through us.
            if !servers.v4.contains(from.ip()) {
                let why = Reject::Policy("BOOTREPLY not from a configured server");
                return count_reject(c, "v4", name, from.into(), why);
            }
            let (msg, to) = match v4::relay_reply(bytes, self.addr) {
                Ok(r) => r,
                Err(r) => return count_reject(c, "v4", name, from.into(), r),
            };
            let dst = match to {
                v4::Destination::Broadcast => Ipv4Addr::BROADCAST,
                v4::Destination::Unicast(a) => a,
            };
            let dst = SocketAddr::from(SocketAddrV4::new(dst, wire4::CLIENT_PORT));
            match self.down.send_to(bytes, dst).await {
                Ok(_) => {
                    let n = bump(&c.relayed);
                    debug!(
                        "relay v4 {name}: {} xid {:#010x} from {from} to {dst} (relayed {n})",
                        v4::message_name(msg.message_type),
                        msg.xid
                    );
                }
                Err(e) => count_send_error(c, "v4", name, dst, &e),
            }
            return;
        }
        let (msg, out) = match v4::relay_request(bytes, self.addr) {
            Ok(r) => r,
            Err(r) => return count_reject(c, "v4", name, from.into(), r),
        };
        let mut sent = 0;
        for server in &servers.v4 {
            let dst = SocketAddr::from(SocketAddrV4::new(*server, wire4::SERVER_PORT));
            match self.up.send_to(&out, dst).await {
                Ok(_) => sent += 1,
                Err(e) => count_send_error(c, "v4", name, dst, &e),
            }
        }
        if sent > 0 {
            let n = bump(&c.forwarded);
            debug!(
                "relay v4 {name}: {} xid {:#010x} from {from} (hops {}) to {:?} (forwarded {n})",
                v4::message_name(msg.message_type),
                msg.xid,
                msg.hops + 1,
                servers.v4
            );
        }
    }
}

struct V6Link {
    /// The interface `recv` is bound to; `None` for the upstream socket.
    iface: Option<Iface>,
    recv: Arc<UdpSocket>,
    /// The upstream socket: every datagram leaves from it.
    send: Arc<UdpSocket>,
    plan: Arc<Plan>,
    shared: Arc<Shared>,
}

async fn v6_loop(link: V6Link) {
    let mut buf = vec![0u8; RECV_BUF];
    let name = link.name().to_owned();
    loop {
        match link.recv.recv_from(&mut buf).await {
            Ok((n, SocketAddr::V6(from))) => link.handle(&buf[..n], from).await,
            Ok(_) => {}
            Err(e) => {
                warn!("relay v6 {name}: receive: {e}");
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

impl V6Link {
    fn name(&self) -> &str {
        self.iface.as_ref().map_or("upstream", |i| i.name.as_str())
    }

    async fn handle(&self, bytes: &[u8], from: SocketAddrV6) {
        if bytes.first() == Some(&wire6::MSG_RELAY_REPL) {
            return self.relay_reply(bytes, from).await;
        }
        let c = &self.shared.counters.v6;
        let Some(iface) = &self.iface else {
            // Unicast to this host on a link we do not relay for.
            let why = Reject::Policy("a client message outside the relay's interfaces");
            return count_reject(c, "v6", self.name(), from.into(), why);
        };
        let link_address = iface.ipv6_global.unwrap_or(Ipv6Addr::UNSPECIFIED);
        let out = match v6::relay_forward(bytes, link_address, *from.ip(), iface.name.as_bytes()) {
            Ok(out) => out,
            Err(r) => return count_reject(c, "v6", &iface.name, from.into(), r),
        };
        let servers = self.shared.servers();
        let mut sent = 0;
        for server in &servers.v6 {
            let dst = SocketAddr::from(SocketAddrV6::new(*server, wire6::SERVER_PORT, 0, 0));
            match self.send.send_to(&out, dst).await {
                Ok(_) => sent += 1,
                Err(e) => count_send_error(c, "v6", &iface.name, dst, &e),
            }
        }
        if sent > 0 {
            let n = bump(&c.forwarded);
            debug!(
                "relay v6 {}: message type {} from {from} in Relay-forward (hop-count {}) to \
                 {:?} (forwarded {n})",
                iface.name,
                bytes[wire6::field::MSG_TYPE],
                out[wire6::relay::HOP_COUNT],
                servers.v6
            );
        }
    }

    async fn relay_reply(&self, bytes: &[u8], from: SocketAddrV6) {
        let c = &self.shared.counters.v6;
        let name = self.name();
        let servers = self.shared.servers();
        // Replies to a multicast server list come from unicast addresses we cannot know.
        let from_server =
            servers.v6.contains(from.ip()) || servers.v6.iter().any(Ipv6Addr::is_multicast);
        if !from_server {
            let why = Reject::Policy("Relay-reply not from a configured server");
            return count_reject(c, "v6", name, from.into(), why);
        }
        let reply = match v6::relay_reply(bytes) {
            Ok(r) => r,
            Err(r) => return count_reject(c, "v6", name, from.into(), r),
        };
        // RFC 8415 §19.3: Interface-Id names the link (we always send one); without it,
        // link-address does.
        let iface = match reply.interface_id {
            Some(id) => self.plan.ifaces.iter().find(|i| i.name.as_bytes() == id),
            None if !reply.link.is_unspecified() => self
                .plan
                .ifaces
                .iter()
                .find(|i| i.ipv6_global == Some(reply.link)),
            None => None,
        };
        let Some(iface) = iface else {
            let why = Reject::Policy("Relay-reply for no interface of this relay");
            return count_reject(c, "v6", name, from.into(), why);
        };
        // The scope picks the link for a link-local peer; a global one is routed.
        let dst = SocketAddr::from(SocketAddrV6::new(
            reply.peer,
            reply.port(),
            0,
            iface.ifindex,
        ));
        match self.send.send_to(reply.message, dst).await {
            Ok(_) => {
                let n = bump(&c.relayed);
                debug!(
                    "relay v6 {}: message type {} from {from} to {dst} (relayed {n})",
                    iface.name,
                    reply.message[wire6::field::MSG_TYPE]
                );
            }
            Err(e) => count_send_error(c, "v6", &iface.name, dst, &e),
        }
    }
}
