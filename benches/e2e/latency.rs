//! Clients that time single requests through UDP sockets on the client end, as `probe` asks:
//! the latency run (a fixed moderate rate, every reply decoded and checked) and the poller of
//! the config-change bench.
//!
//! Latency = kernel receive timestamp of the reply (SO_TIMESTAMPNS) - the clock read just
//! before the request's sendto. It includes the client's send path and both veth hops.

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket},
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, Result};
use lwm2m_xdp::{client, config::WireFormat, system};
use xdp_common::wire::{dhcpv4, dhcpv6};

use crate::{
    frames::{self, Family, V4_CODES, V6_CODES},
    topo::{pin_thread, InNetns, LinkEnd, CLIENT_IF},
};

/// What every reply must carry.
pub struct Expect {
    pub format: WireFormat,
    pub uri: String,
    pub certificate: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
pub struct Latency {
    pub sent: u64,
    pub received: u64,
    /// Replies that decoded with the expected URI and certificate.
    pub valid: u64,
    /// Microseconds, sorted.
    pub samples_us: Vec<f64>,
    pub first_error: Option<String>,
}

impl Latency {
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.samples_us.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * (self.samples_us.len() - 1) as f64).round() as usize;
        Some(self.samples_us[rank.min(self.samples_us.len() - 1)])
    }
}

fn setsockopt<T>(sock: &UdpSocket, level: i32, name: i32, value: &T, len: usize) -> Result<()> {
    // SAFETY: `value` points to `len` readable bytes.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            value as *const T as *const libc::c_void,
            len as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context(format!("setsockopt {name}"));
    }
    Ok(())
}

/// The client's socket for `family`, made inside the client namespace: port 68 / 546,
/// bound to the client veth, receive timestamps on.
pub fn open(ns: &str, family: Family) -> Result<UdpSocket> {
    let _ns = InNetns::enter(ns)?;
    let sock = match family {
        Family::V4 => UdpSocket::bind(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            dhcpv4::CLIENT_PORT,
        )),
        Family::V6 => UdpSocket::bind(SocketAddrV6::new(
            std::net::Ipv6Addr::UNSPECIFIED,
            dhcpv6::CLIENT_PORT,
            0,
            0,
        )),
    }
    .context("binding the DHCP client port in the client namespace")?;
    system::bind_to_device(&sock, CLIENT_IF).context("SO_BINDTODEVICE")?;
    let one: libc::c_int = 1;
    setsockopt(
        &sock,
        libc::SOL_SOCKET,
        libc::SO_TIMESTAMPNS,
        &one,
        std::mem::size_of::<libc::c_int>(),
    )?;
    if family == Family::V4 {
        sock.set_broadcast(true)?;
    }
    Ok(sock)
}

fn destination(family: Family, client: &LinkEnd) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, dhcpv4::SERVER_PORT)),
        Family::V6 => SocketAddr::V6(SocketAddrV6::new(
            frames::ALL_DHCP_SERVERS,
            dhcpv6::SERVER_PORT,
            0,
            client.ifindex,
        )),
    }
}

fn payload(family: Family, xid: u32, client: &LinkEnd) -> Vec<u8> {
    match family {
        Family::V4 => frames::inform_payload(xid, client),
        Family::V6 => frames::information_request_payload(xid, client),
    }
}

/// The transaction id of a reply (DHCPv4: 32 bits; DHCPv6: 24).
fn reply_xid(family: Family, msg: &[u8]) -> Option<u32> {
    match family {
        Family::V4 => Some(u32::from_be_bytes(msg.get(4..8)?.try_into().ok()?)),
        Family::V6 => Some(u32::from_be_bytes([
            0,
            *msg.get(1)?,
            *msg.get(2)?,
            *msg.get(3)?,
        ])),
    }
}

/// The URI and certificate of a reply to `xid`, decoded as a device would.
fn decode(family: Family, format: WireFormat, msg: &[u8], xid: u32) -> Result<client::Bootstrap> {
    Ok(match family {
        Family::V4 => {
            client::decode_v4_reply(format, V4_CODES[0], V4_CODES[1], msg, xid)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .1
        }
        Family::V6 => {
            let id = frames::transaction_id(xid);
            client::decode_v6_reply(format, V6_CODES[0], V6_CODES[1], msg, id)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .1
        }
    })
}

/// recvmsg with the SO_TIMESTAMPNS control message: (length, kernel receive time).
fn recv_timestamped(sock: &UdpSocket, buf: &mut [u8]) -> std::io::Result<(usize, SystemTime)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: a zeroed msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg describes valid buffers.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut when = SystemTime::now();
    // SAFETY: walking the control buffer the kernel filled, with the CMSG macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::timespec);
                when = UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, when))
}

fn nanos_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
}

/// How a latency run paces its requests, and where its threads run.
pub struct Pace {
    pub rate: u32,
    pub duration: Duration,
    pub cpu: usize,
}

/// `pace.rate` requests per second for `pace.duration`, each a new transaction; every reply
/// is decoded and checked against `expect`.
pub fn measure(
    ns: &str,
    family: Family,
    client: &LinkEnd,
    pace: &Pace,
    expect: &Expect,
    stop: &AtomicBool,
) -> Result<Latency> {
    let Pace {
        rate,
        duration,
        cpu,
    } = *pace;
    let sock = open(ns, family)?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let count = (u64::from(rate) * duration.as_millis() as u64 / 1000) as usize;
    let period = Duration::from_secs(1) / rate;
    let xid_base: u32 = 0x00b0_0000;
    let sent_at: Vec<AtomicU64> = (0..count).map(|_| AtomicU64::new(0)).collect();
    let sending = AtomicBool::new(true);
    let dst = destination(family, client);
    let result = std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            pin_thread(cpu);
            let mut out = Latency::default();
            let mut seen = vec![false; count];
            let mut buf = vec![0u8; 65536];
            let mut quiet_since: Option<Instant> = None;
            // Bounded: the sender's time plus a grace period, and never past 4x the run.
            let hard_stop = Instant::now() + duration * 4 + Duration::from_secs(2);
            while Instant::now() < hard_stop {
                if sending.load(Ordering::Relaxed) {
                    quiet_since = None;
                } else if quiet_since.get_or_insert_with(Instant::now).elapsed()
                    > Duration::from_millis(300)
                {
                    break;
                }
                let (n, at) = match recv_timestamped(&sock, &mut buf) {
                    Ok(r) => r,
                    Err(_) => continue,
                };
                let msg = &buf[..n];
                let Some(xid) = reply_xid(family, msg) else {
                    continue;
                };
                let seq = xid.wrapping_sub(xid_base) as usize;
                if seq >= count || seen[seq] {
                    continue;
                }
                let t0 = sent_at[seq].load(Ordering::Acquire);
                if t0 == 0 {
                    continue;
                }
                seen[seq] = true;
                out.received += 1;
                out.samples_us
                    .push(nanos_since_epoch(at).saturating_sub(t0) as f64 / 1000.0);
                match decode(family, expect.format, msg, xid) {
                    Ok(b)
                        if b.uri.as_deref() == Some(expect.uri.as_str())
                            && b.certificate.as_deref() == Some(expect.certificate.as_slice()) =>
                    {
                        out.valid += 1
                    }
                    Ok(b) => {
                        out.first_error.get_or_insert(format!(
                            "reply carried URI {:?} and a {}-octet certificate",
                            b.uri,
                            b.certificate.map_or(0, |c| c.len())
                        ));
                    }
                    Err(e) => {
                        out.first_error.get_or_insert(e.to_string());
                    }
                }
            }
            out
        });
        let sender = s.spawn(|| {
            pin_thread(cpu);
            let start = Instant::now();
            let mut sent = 0u64;
            for (seq, slot) in sent_at.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let due = start + period * seq as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let xid = xid_base + seq as u32;
                let request = payload(family, xid, client);
                slot.store(nanos_since_epoch(SystemTime::now()), Ordering::Release);
                if sock.send_to(&request, dst).is_ok() {
                    sent += 1;
                }
            }
            sending.store(false, Ordering::Relaxed);
            sent
        });
        let sent = sender.join().expect("latency sender");
        let mut out = receiver.join().expect("latency receiver");
        out.sent = sent;
        out
    });
    let mut result = result;
    result.samples_us.sort_by(f64::total_cmp);
    Ok(result)
}

/// A DHCPv4 client asking in a tight loop (one request in flight, 5 ms timeout), noting the
/// time each time the URI it is served changes.
pub struct Poller {
    stop: Arc<AtomicBool>,
    changes: Arc<Mutex<Vec<(Instant, String)>>>,
    polls: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// The poller gives up by itself after this long.
const POLLER_LIMIT: Duration = Duration::from_secs(120);

impl Poller {
    /// Starts the poller on `cpu` (away from the server's CPU).
    pub fn start(ns: &str, client: LinkEnd, format: WireFormat, cpu: usize) -> Result<Poller> {
        let sock = open(ns, Family::V4)?;
        sock.set_read_timeout(Some(Duration::from_millis(5)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let polls = Arc::new(AtomicU64::new(0));
        let (s, c, p) = (stop.clone(), changes.clone(), polls.clone());
        let handle = std::thread::spawn(move || {
            pin_thread(cpu);
            let dst = destination(Family::V4, &client);
            let mut buf = vec![0u8; 65536];
            let mut last: Option<String> = None;
            let begin = Instant::now();
            let mut xid: u32 = 0x00c0_0000;
            while !s.load(Ordering::Relaxed) && begin.elapsed() < POLLER_LIMIT {
                xid = xid.wrapping_add(1);
                if sock
                    .send_to(&frames::inform_payload(xid, &client), dst)
                    .is_err()
                {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                p.fetch_add(1, Ordering::Relaxed);
                let Ok((n, _)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let at = Instant::now();
                if reply_xid(Family::V4, &buf[..n]) != Some(xid) {
                    continue;
                }
                let Ok(b) = decode(Family::V4, format, &buf[..n], xid) else {
                    continue;
                };
                let uri = b.uri.unwrap_or_default();
                if last.as_deref() != Some(uri.as_str()) {
                    c.lock().expect("poller lock").push((at, uri.clone()));
                    last = Some(uri);
                }
            }
        });
        Ok(Poller {
            stop,
            changes,
            polls,
            handle: Some(handle),
        })
    }

    /// When a reply first carried `uri` at or after `after`, waiting at most `limit`.
    pub fn first_reply_with(&self, uri: &str, after: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some((at, _)) = self
                .changes
                .lock()
                .expect("poller lock")
                .iter()
                .find(|(at, u)| *at >= after && u == uri)
            {
                return Some(*at);
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        None
    }

    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Asks every 200 ms until a reply decodes with the expected URI and certificate, or `limit`
/// passes: whether a server is up and serving the right thing.
pub fn wait_for_answer(
    ns: &str,
    family: Family,
    client: &LinkEnd,
    expect: &Expect,
    limit: Duration,
) -> Result<Duration> {
    let sock = open(ns, family)?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let dst = destination(family, client);
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut last_error = String::from("no reply");
    let mut xid: u32 = 0x00a0_0000;
    while start.elapsed() < limit {
        xid += 1;
        sock.send_to(&payload(family, xid, client), dst)?;
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_millis(200) {
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                break;
            };
            if reply_xid(family, &buf[..n]) != Some(xid) {
                continue;
            }
            match decode(family, expect.format, &buf[..n], xid) {
                Ok(b)
                    if b.uri.as_deref() == Some(expect.uri.as_str())
                        && b.certificate.as_deref() == Some(expect.certificate.as_slice()) =>
                {
                    return Ok(start.elapsed());
                }
                Ok(b) => {
                    last_error = format!(
                        "a reply carried URI {:?} and a {}-octet certificate",
                        b.uri,
                        b.certificate.map_or(0, |c| c.len())
                    )
                }
                Err(e) => last_error = format!("a reply did not decode: {e:#}"),
            }
        }
    }
    anyhow::bail!(
        "no valid {} answer within {limit:?} ({last_error})",
        family.name()
    )
}
