//! Peers on the client end of a [`NetnsPair`]: a raw-socket client that builds and reads
//! whole Ethernet frames itself (so a test controls every octet, VLAN tags included), and
//! dhcpcd run so that it leaves nothing on the host.
//!
//! Frames are built with `lwm2m_xdp_test_support::frame` (re-exported here) and checked on the way back
//! with `lwm2m_xdp::csum`, the same
//! functions used the other way round: a reply with a wrong IPv4 header or UDP checksum is
//! rejected by [`parse_udp_frame`], not silently accepted.

use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lwm2m_xdp::csum;
use xdp_common::wire::{dhcpv4, dhcpv6, eth, ipv4, ipv6, udp};

pub use crate::netns::in_netns;
use crate::netns::{NetnsPair, Side};

/// Turns off TX checksum offload on the client end: otherwise UDP sent from a socket there
/// leaves with a *partial* checksum, which the fast path verifies and passes as malformed
/// (ARCHITECTURE.md, "Traps"). [`NetnsPair`] does not do this itself.
pub fn client_tx_checksums_off(pair: &NetnsPair) -> Result<()> {
    let out = pair.exec_within(
        Side::Client,
        Duration::from_secs(10),
        &["ethtool", "-K", &pair.client_if, "tx", "off"],
    );
    ensure!(
        out.status.success(),
        "ethtool -K {} tx off: {}",
        pair.client_if,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

pub use lwm2m_xdp_test_support::frame::{ipv4_udp_frame, ipv6_udp_frame, Ethernet};

/// A transaction id that differs between runs and tests (`salt` tells a test's requests
/// apart).
pub fn xid(salt: u32) -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(12) ^ salt.rotate_left(24)
}

/// A DHCPv4 message as a client on `pair`'s client end broadcasts it: from its MAC to
/// ff:ff:ff:ff:ff:ff (tagged `vlans`), `src` -> 255.255.255.255, UDP `src_port` -> 67.
pub fn client_v4_broadcast(
    pair: &NetnsPair,
    vlans: Vec<u16>,
    src: Ipv4Addr,
    src_port: u16,
    bootp: &[u8],
) -> Vec<u8> {
    ipv4_udp_frame(
        &Ethernet {
            dst: Ethernet::BROADCAST,
            src: pair.mac(Side::Client),
            vlans,
        },
        src,
        Ipv4Addr::BROADCAST,
        (src_port, dhcpv4::SERVER_PORT),
        bootp,
    )
}

/// A DHCPv6 message as a client on `pair`'s client end sends it: from its link-local address
/// to All_DHCP_Relay_Agents_and_Servers (ff02::1:2), hop limit 1, UDP 546 -> 547.
pub fn client_v6_multicast(pair: &NetnsPair, msg: &[u8]) -> Vec<u8> {
    let group = ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS.into();
    ipv6_udp_frame(
        &Ethernet {
            dst: Ethernet::ipv6_multicast(group),
            src: pair.mac(Side::Client),
            vlans: vec![],
        },
        pair.ipv6_link_local(Side::Client),
        group,
        1,
        (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
        msg,
    )
}

/// A received UDP datagram with everything around it, checksums verified.
#[derive(Clone, Debug)]
pub struct UdpFrame {
    pub l2: Ethernet,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP checksum field as sent (never 0 here: a zero checksum is rejected).
    pub udp_checksum: u16,
    pub payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Parses Ethernet (any number of 802.1Q / 802.1ad tags) / IPv4 or IPv6 / UDP. Rejects what
/// a careful receiver would: truncation, inconsistent lengths, IPv4 options or fragments,
/// IPv6 extension headers, a wrong IPv4 header checksum, a missing or wrong UDP checksum.
pub fn parse_udp_frame(frame: &[u8]) -> Result<UdpFrame, String> {
    if frame.len() < eth::HDR_LEN {
        return Err(format!("{} octets: no Ethernet header", frame.len()));
    }
    let mut l2 = Ethernet {
        dst: frame[eth::field::DESTINATION].try_into().expect("6"),
        src: frame[eth::field::SOURCE].try_into().expect("6"),
        vlans: Vec::new(),
    };
    // Each tag stands where the ethertype would: its TPID, then its TCI.
    let mut at = eth::field::ETHERTYPE.start;
    let mut ethertype = be16(frame, at);
    while ethertype == eth::ETHERTYPE_VLAN || ethertype == eth::ETHERTYPE_QINQ {
        if frame.len() < at + eth::VLAN_TAG_LEN + eth::field::ETHERTYPE.len() {
            return Err("truncated VLAN tag".into());
        }
        l2.vlans
            .push(be16(frame, at + eth::tag::TCI.start) & eth::VLAN_ID_MASK);
        at += eth::VLAN_TAG_LEN;
        ethertype = be16(frame, at);
    }
    let l3 = &frame[at + eth::field::ETHERTYPE.len()..];
    let (src, dst, ttl, seg, pseudo_ok) = match ethertype {
        eth::ETHERTYPE_IPV4 => {
            if l3.len() < ipv4::HDR_LEN || l3[ipv4::field::VER_IHL] != ipv4::VER_IHL_NO_OPTIONS {
                return Err(format!(
                    "not a plain IPv4 header (first octet {:#x})",
                    l3.first().copied().unwrap_or(0)
                ));
            }
            let total = usize::from(be16(l3, ipv4::field::LENGTH.start));
            if total < ipv4::HDR_LEN + udp::HDR_LEN || total > l3.len() {
                return Err(format!("IPv4 total length {total}, {} octets", l3.len()));
            }
            // More-fragments or an offset: the flag bits below DF.
            if be16(l3, ipv4::field::FLG_OFF.start) & ipv4::FRAGMENT_BITS != 0 {
                return Err("IPv4 fragment".into());
            }
            if l3[ipv4::field::PROTOCOL] != ipv4::PROTO_UDP {
                return Err(format!("IPv4 protocol {}", l3[ipv4::field::PROTOCOL]));
            }
            if csum::ipv4_header_checksum(&l3[..ipv4::HDR_LEN]) != 0 {
                return Err("bad IPv4 header checksum".into());
            }
            let src: [u8; 4] = l3[ipv4::field::SRC_ADDR].try_into().expect("4");
            let dst: [u8; 4] = l3[ipv4::field::DST_ADDR].try_into().expect("4");
            let seg = &l3[ipv4::HDR_LEN..total];
            let ok = csum::ipv4_udp_checksum(src, dst, seg) == 0xFFFF;
            (
                IpAddr::from(src),
                IpAddr::from(dst),
                l3[ipv4::field::TTL],
                seg,
                ok,
            )
        }
        eth::ETHERTYPE_IPV6 => {
            if l3.len() < ipv6::HDR_LEN
                || l3[ipv6::field::VER_TC_FLOW.start] >> 4 != ipv6::VER_TC_FLOW_DEFAULT[0] >> 4
            {
                return Err("not an IPv6 header".into());
            }
            if l3[ipv6::field::NXT_HDR] != ipv6::NEXT_HDR_UDP {
                return Err(format!("IPv6 next header {}", l3[ipv6::field::NXT_HDR]));
            }
            let payload_len = usize::from(be16(l3, ipv6::field::LENGTH.start));
            if ipv6::HDR_LEN + payload_len > l3.len() {
                return Err(format!(
                    "IPv6 payload length {payload_len}, {} octets",
                    l3.len()
                ));
            }
            let src: [u8; 16] = l3[ipv6::field::SRC_ADDR].try_into().expect("16");
            let dst: [u8; 16] = l3[ipv6::field::DST_ADDR].try_into().expect("16");
            let seg = &l3[ipv6::HDR_LEN..ipv6::HDR_LEN + payload_len];
            let ok = seg.len() >= udp::HDR_LEN && csum::ipv6_udp_checksum(src, dst, seg) == 0xFFFF;
            (
                IpAddr::from(src),
                IpAddr::from(dst),
                l3[ipv6::field::HOP_LIMIT],
                seg,
                ok,
            )
        }
        other => return Err(format!("ethertype {other:#06x}")),
    };
    let udp_len = udp::field::LENGTH;
    if seg.len() < udp::HDR_LEN || usize::from(be16(seg, udp_len.start)) != seg.len() {
        return Err(format!(
            "UDP length field {} for a {}-octet segment",
            if seg.len() >= udp_len.end {
                be16(seg, udp_len.start)
            } else {
                0
            },
            seg.len()
        ));
    }
    let udp_checksum = be16(seg, udp::field::CHECKSUM.start);
    if udp_checksum == 0 {
        return Err("UDP checksum 0 (none)".into());
    }
    if !pseudo_ok {
        return Err(format!("bad UDP checksum {udp_checksum:#06x}"));
    }
    Ok(UdpFrame {
        l2,
        src,
        dst,
        ttl,
        src_port: be16(seg, udp::field::SRC_PORT.start),
        dst_port: be16(seg, udp::field::DST_PORT.start),
        udp_checksum,
        payload: seg[udp::HDR_LEN..].to_vec(),
    })
}

/// `struct tpacket_auxdata` (linux/if_packet.h).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct AuxData {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}
const PACKET_AUXDATA: libc::c_int = 8;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const PACKET_OUTGOING: u8 = 4;

/// An AF_PACKET socket bound to one interface of one namespace: sends whole frames, and
/// receives whole frames with the VLAN tag the kernel took off put back in (PACKET_AUXDATA),
/// so a test sees what was on the wire.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
}

impl RawSocket {
    /// Opens the socket in `ns`, bound to `ifindex` (an index inside `ns`).
    pub fn open(ns: &str, ifindex: u32) -> Result<RawSocket> {
        in_netns(ns, || {
            let proto = (libc::ETH_P_ALL as u16).to_be();
            // SAFETY: plain socket(2); the fd is owned right below.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error()).context("socket(AF_PACKET)");
            }
            // SAFETY: fd is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let on: libc::c_int = 1;
            // SAFETY: setsockopt with an int of the given size.
            let rc = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_PACKET,
                    PACKET_AUXDATA,
                    (&on as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error()).context("PACKET_AUXDATA");
            }
            // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
            let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = proto;
            addr.sll_ifindex = i32::try_from(ifindex).context("ifindex")?;
            // SAFETY: bind with a sockaddr_ll of its size.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&addr as *const libc::sockaddr_ll).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error()).context("bind(AF_PACKET)");
            }
            Ok(RawSocket { fd })
        })
    }

    /// Sends one whole frame out of the bound interface.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: send from a live buffer of the given length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("send(AF_PACKET)");
        }
        ensure!(
            n as usize == frame.len(),
            "sent {n} of {} octets",
            frame.len()
        );
        Ok(())
    }

    /// The next frame that arrives (not one this host sends) within `left`; `None` on timeout.
    fn recv_one(&self, left: Duration) -> Result<Option<Vec<u8>>> {
        let tv = libc::timeval {
            tv_sec: left.as_secs() as libc::time_t,
            tv_usec: libc::suseconds_t::from(left.subsec_micros().max(1000)),
        };
        // SAFETY: setsockopt with a timeval of its size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).context("SO_RCVTIMEO");
        }
        let mut buf = vec![0u8; 65536];
        let mut control = [0u64; 16];
        // SAFETY: all-zero sockaddr_ll / msghdr are valid; pointers set below outlive the call.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: msg points at live buffers of the lengths given.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            return match err.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Ok(None),
                std::io::ErrorKind::Interrupted => Ok(Some(Vec::new())),
                _ => Err(err).context("recvmsg(AF_PACKET)"),
            };
        }
        if from.sll_pkttype == PACKET_OUTGOING {
            return Ok(Some(Vec::new()));
        }
        buf.truncate(n as usize);
        let mut aux = AuxData::default();
        // SAFETY: walking the control buffer the kernel just filled, with the CMSG macros.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_PACKET && (*cmsg).cmsg_type == PACKET_AUXDATA {
                    aux = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<AuxData>());
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        if aux.tp_status & TP_STATUS_VLAN_VALID != 0 && buf.len() >= 12 {
            let tpid = if aux.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 {
                aux.tp_vlan_tpid
            } else {
                eth::ETHERTYPE_VLAN
            };
            let tag = [tpid.to_be_bytes(), aux.tp_vlan_tci.to_be_bytes()].concat();
            buf.splice(12..12, tag);
        }
        Ok(Some(buf))
    }

    /// Receives frames for at most `limit` until `accept` returns `Some`; `None` when none
    /// did. Frames this host sent are skipped. At most 10 000 frames are looked at.
    pub fn receive<T>(
        &self,
        limit: Duration,
        mut accept: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<Option<T>> {
        let deadline = Instant::now() + limit;
        for _ in 0..10_000 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.recv_one(left)? {
                None => return Ok(None),
                Some(frame) if frame.is_empty() => continue,
                Some(frame) => {
                    if let Some(found) = accept(&frame) {
                        return Ok(Some(found));
                    }
                }
            }
        }
        bail!("10 000 frames in {limit:?} and none was the one expected")
    }

    /// Sends `frame` up to `attempts` times, each time waiting `each` for a reply to a DHCP
    /// client port that `decode` accepts; panics with the last reason a reply was refused
    /// when none was.
    pub fn exchange<T>(
        &self,
        frame: &[u8],
        what: &str,
        (attempts, each): (usize, Duration),
        mut decode: impl FnMut(&UdpFrame) -> Result<T, String>,
    ) -> (UdpFrame, T) {
        let mut refused = None;
        for _ in 0..attempts {
            self.send(frame).expect("send the request");
            let got = self
                .receive(each, |bytes| {
                    let reply = match dhcp_client_reply(bytes) {
                        Ok(reply) => reply?,
                        Err(why) => {
                            refused = Some(why);
                            return None;
                        }
                    };
                    match decode(&reply) {
                        Ok(value) => Some((reply, value)),
                        Err(why) => {
                            refused = Some(why);
                            None
                        }
                    }
                })
                .expect("receive");
            if let Some(found) = got {
                return found;
            }
        }
        panic!(
            "no {what} after {attempts} requests ({each:?} each); last refused: {}",
            refused.as_deref().unwrap_or("none came")
        );
    }
}

/// A UDP datagram to a DHCP client port: `Ok(None)` for other traffic on the link, `Err`
/// for a UDP frame that is broken (bad checksum, inconsistent lengths): a finding to report.
pub fn dhcp_client_reply(bytes: &[u8]) -> Result<Option<UdpFrame>, String> {
    match parse_udp_frame(bytes) {
        Ok(f) if f.dst_port == dhcpv4::CLIENT_PORT || f.dst_port == dhcpv6::CLIENT_PORT => {
            Ok(Some(f))
        }
        Ok(_) => Ok(None),
        Err(why) if why.contains("checksum") || why.contains("length") => Err(why),
        Err(_) => Ok(None),
    }
}

/// Where dhcpcd keeps its state: hidden behind tmpfs mounts for each run (see [`dhcpcd`]).
const DHCPCD_DBDIR: &str = "/var/lib/dhcpcd";

/// Runs `dhcpcd args...` in the client namespace, killed after `limit`, so that it leaves
/// nothing behind and cannot collide with another dhcpcd on this host: even in test mode
/// (`-T`) dhcpcd 9.4 writes and locks `/var/run/.pid` and writes its DUID to
/// `/var/lib/dhcpcd/duid`. `ip netns exec` runs the command in a private mount namespace, so
/// tmpfs mounted over `/run` and `/var/lib/dhcpcd` here are seen by this dhcpcd only.
pub fn dhcpcd(pair: &NetnsPair, limit: Duration, args: &[&str]) -> Output {
    let script = format!(
        "mount -t tmpfs lwx-dhcpcd /run && mount -t tmpfs lwx-dhcpcd {DHCPCD_DBDIR} \
         && exec \"$@\""
    );
    let mut cmd = vec!["sh", "-c", &script, "lwx-dhcpcd", "dhcpcd"];
    cmd.extend(args);
    pair.exec_within(Side::Client, limit, &cmd)
}

/// The `name='value'` lines dhcpcd's test hook (`-T`, reason TEST) prints, unquoted.
pub fn dhcpcd_variables(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once('=')?;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// A dhcpcd `array byte` value ("48 130 3 ...") as octets.
pub fn decimal_octets(value: &str) -> Result<Vec<u8>> {
    value
        .split_whitespace()
        .map(|n| {
            n.parse::<u8>()
                .with_context(|| format!("{n:?} is not an octet"))
        })
        .collect()
}

/// Lower-case hex, as dhcpcd prints `binhex` values and DUIDs.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// An XDP_PASS program (the bench object's `bench_empty`) in native mode on the client end
/// of a pair, detached when dropped. veth hands an XDP_TX frame to its peer only when the
/// peer runs an XDP program (only then does it kick the peer's NAPI), so a server attached
/// in native mode is heard by the client only with this in place (ARCHITECTURE.md, "Traps").
pub struct ClientXdpPass {
    _object: aya::Ebpf,
}

impl ClientXdpPass {
    pub fn attach(pair: &NetnsPair) -> Result<ClientXdpPass> {
        let mut object = aya::EbpfLoader::new()
            .load(lwm2m_xdp_test_support::bench::BENCH_OBJECT)
            .context("loading the bench object")?;
        let program: &mut aya::programs::Xdp = object
            .program_mut("bench_empty")
            .context("bench_empty")?
            .try_into()?;
        program.load().context("verifier: bench_empty")?;
        in_netns(&pair.client_ns, || {
            program
                .attach(&pair.client_if, aya::programs::XdpMode::Driver)
                .context("attaching bench_empty natively on the client end")
        })?;
        Ok(ClientXdpPass { _object: object })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

    #[test]
    fn frames_round_trip_through_the_parser() {
        let l2 = Ethernet {
            dst: MAC_B,
            src: MAC_A,
            vlans: vec![42],
        };
        let src = Ipv4Addr::new(198, 18, 0, 2);
        let frame = ipv4_udp_frame(
            &l2,
            src,
            Ipv4Addr::BROADCAST,
            (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT),
            b"hello",
        );
        let got = parse_udp_frame(&frame).unwrap();
        assert_eq!(got.l2, l2);
        assert_eq!((got.src, got.dst), (src.into(), Ipv4Addr::BROADCAST.into()));
        assert_eq!((got.src_port, got.dst_port, got.ttl), (68, 67, 64));
        assert_eq!(got.payload, b"hello");

        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(parse_udp_frame(&bad).unwrap_err().contains("UDP checksum"));
        let mut bad = frame.clone();
        bad[18 + 8] ^= 1; // TTL
        assert!(parse_udp_frame(&bad)
            .unwrap_err()
            .contains("header checksum"));

        let group: Ipv6Addr = "ff02::1:2".parse().unwrap();
        let l2 = Ethernet {
            dst: Ethernet::ipv6_multicast(group),
            src: MAC_A,
            vlans: vec![],
        };
        assert_eq!(l2.dst, [0x33, 0x33, 0, 1, 0, 2]);
        let src: Ipv6Addr = "fe80::2".parse().unwrap();
        let frame = ipv6_udp_frame(
            &l2,
            src,
            group,
            1,
            (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
            b"odd",
        );
        let got = parse_udp_frame(&frame).unwrap();
        assert_eq!((got.src, got.dst, got.ttl), (src.into(), group.into(), 1));
        assert_eq!(got.payload, b"odd");
        let mut bad = frame;
        bad[14 + 8] ^= 1; // source address
        assert!(parse_udp_frame(&bad).unwrap_err().contains("UDP checksum"));
    }

    #[test]
    fn dhcpcd_output_is_read() {
        let out = "interface='x'\nreason='TEST'\nnew_lwm2m_uri='coaps://a:1'\n\
                   new_lwm2m_cert='48 130 3'\nxc: some log line\n";
        let vars = dhcpcd_variables(out);
        assert!(vars.contains(&("new_lwm2m_uri".into(), "coaps://a:1".into())));
        let cert = &vars.iter().find(|(n, _)| n == "new_lwm2m_cert").unwrap().1;
        assert_eq!(decimal_octets(cert).unwrap(), [48, 130, 3]);
        assert!(decimal_octets("1 256").is_err());
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
