//! DHCPINFORM -> DHCPACK, run in the kernel with BPF_PROG_TEST_RUN (protocol.md, issue 3
//! "Must show"). Every reply is checked field by field by `check_ack`, which derives what a
//! correct ACK looks like from the request frame alone; every request the fast path must not
//! answer comes back XDP_PASS, byte for byte unchanged, counted under the right reason.

#[macro_use]
mod kernel_common;

use std::net::Ipv4Addr;

use dhcproto::{v4 as d4, Decodable, Decoder};
use kernel_common::{checks::*, protocol::*, *};
use lwm2m_xdp::{client, config::WireFormat, csum};
use lwm2m_xdp_test_support::frame::ipv4_udp_packet;
use proptest::prelude::*;
use xdp_common::{
    counters::Reason,
    maps::Family,
    wire::{dhcpv4 as dhcp, eth, ipv4, udp, Field},
};

const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const RELAY_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 5, 1);
const RELAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x05, 0x01];
const XID: u32 = 0x1a2b_3c4d;
/// A device asks for both LwM2M options and the extra option the config serves.
const PRL: [u8; 3] = [V4_URI_CODE, V4_CERT_CODE, V4_EXTRA_CODE];
const SIZES: [usize; 3] = [300, 1000, 1400];
/// Option 82 as a relay adds it: circuit id "eth7", remote id 02:00:00:00:05:01.
const RELAY_AGENT_INFO: [u8; 16] = [
    dhcp::OPT_RELAY_AGENT_INFO,
    14,
    1,
    4,
    b'e',
    b't',
    b'h',
    b'7',
    2,
    6,
    0x02,
    0,
    0,
    0,
    0x05,
    0x01,
];

/// `[[dhcpv4.extra_option]]` data: 198.18.0.53.
const V4_EXTRA_DATA: [u8; 4] = [198, 18, 0, 53];

/// DHCPv4's rules for the family-generic helpers of kernel_common.
struct V4;

impl Protocol for V4 {
    const FAMILY: Family = Family::V4;
    const ETHERTYPE: u16 = eth::ETHERTYPE_IPV4;
    const IP_UDP_LEN: usize = BOOTP_AT;

    fn check(h: &Harness, request: &[u8], reply: &[u8]) -> Result<(), String> {
        check_ack(&h.setup, &h.cert, request, reply)
    }

    fn refresh_checksums(packet: &mut [u8]) {
        refresh_ipv4_checksums(packet);
    }
}

// ---- IPv4 packets and checksums ----------------------------------------------------------

/// Where the UDP header and the BOOTP message start in the packets built here (no IP options).
const UDP_AT: usize = ipv4::HDR_LEN;
const BOOTP_AT: usize = UDP_AT + udp::HDR_LEN;
/// The UDP checksum's place in such a packet.
const UDP_CHECKSUM: Field = UDP_AT + udp::field::CHECKSUM.start..UDP_AT + udp::field::CHECKSUM.end;

/// Recompute the IPv4 header checksum and (when the header and UDP length allow) the UDP
/// checksum of `packet` as it now stands.
fn refresh_ipv4_checksums(packet: &mut [u8]) {
    if packet.len() < ipv4::HDR_LEN {
        return;
    }
    let ihl = usize::from(packet[ipv4::field::VER_IHL] & ipv4::IHL_MASK) * ipv4::IHL_WORD_LEN;
    if ihl < ipv4::HDR_LEN || packet.len() < ihl {
        return;
    }
    refresh_ipv4_header_checksum(&mut packet[..ihl]);
    if packet.len() < ihl + udp::HDR_LEN || packet[ipv4::field::PROTOCOL] != ipv4::PROTO_UDP {
        return;
    }
    let udp_len = usize::from(be16(&packet[ihl..], udp::field::LENGTH));
    if udp_len < udp::HDR_LEN || packet.len() < ihl + udp_len {
        return;
    }
    let src: [u8; 4] = packet[ipv4::field::SRC_ADDR].try_into().expect("4");
    let dst: [u8; 4] = packet[ipv4::field::DST_ADDR].try_into().expect("4");
    let seg = &mut packet[ihl..ihl + udp_len];
    seg[udp::field::CHECKSUM].fill(0);
    let sum = csum::ipv4_udp_checksum(src, dst, seg);
    set_be16(seg, udp::field::CHECKSUM, sum);
}

/// Recompute the checksum of an IPv4 header (its options included).
fn refresh_ipv4_header_checksum(header: &mut [u8]) {
    header[ipv4::field::CHECKSUM].fill(0);
    let sum = csum::ipv4_header_checksum(header);
    set_be16(header, ipv4::field::CHECKSUM, sum);
}

/// An IPv4 header whose checksum is right sums to 0xffff.
fn ipv4_header_checksum_ok(header: &[u8]) -> bool {
    rfc1071_sum(&[header]) == 0xffff
}

/// UDP over IPv4: pseudo-header (src, dst, 0, 17, UDP length) + segment sums to 0xffff.
fn udp4_checksum_ok(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> bool {
    let len = (segment.len() as u16).to_be_bytes();
    let pseudo = [&src[..], &dst[..], &[0, ipv4::PROTO_UDP], &len[..]].concat();
    rfc1071_sum(&[&pseudo, segment]) == 0xffff
}

// ---- Requests ---------------------------------------------------------------------------

/// A DHCPINFORM and the frame around it.
#[derive(Clone)]
struct Inform {
    l2: L2,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    bootp: Vec<u8>,
}

impl Inform {
    /// Broadcast by the client at CLIENT_V4, asking for `prl`, with option 57 = `max_size`.
    fn new(prl: &[u8], max_size: Option<u16>) -> Inform {
        Inform {
            l2: L2::new(eth::BROADCAST, CLIENT_MAC),
            src: CLIENT_V4,
            dst: Ipv4Addr::BROADCAST,
            sport: dhcp::CLIENT_PORT,
            bootp: client::build_inform(XID, CLIENT_MAC, CLIENT_V4, prl, max_size),
        }
    }

    /// The usual request: PRL, option 57 = 1500.
    fn standard() -> Inform {
        Inform::new(&PRL, Some(1500))
    }

    /// As a relay agent forwards it (RFC 3046): giaddr, hops 1, option 82 last, unicast from
    /// the relay's address and port 67 to the untagged server address.
    fn relayed(self) -> Inform {
        self.relayed_to(SERVER_V4)
    }

    fn relayed_to(mut self, server: Ipv4Addr) -> Inform {
        self.bootp[dhcp::field::GIADDR].copy_from_slice(&RELAY_V4.octets());
        self.bootp[dhcp::field::HOPS] = 1;
        insert_before_end(&mut self.bootp, &RELAY_AGENT_INFO);
        self.l2 = L2::new(SERVER_MAC, RELAY_MAC);
        self.src = RELAY_V4;
        self.dst = server;
        self.sport = dhcp::SERVER_PORT;
        self
    }
}

impl Request for Inform {
    type Protocol = V4;

    fn from_client(mac: [u8; 6]) -> Inform {
        Inform {
            l2: L2::new(eth::BROADCAST, mac),
            bootp: client::build_inform(XID, mac, CLIENT_V4, &PRL, Some(1500)),
            ..Inform::standard()
        }
    }

    fn l2(&self) -> &L2 {
        &self.l2
    }

    fn l2_mut(&mut self) -> &mut L2 {
        &mut self.l2
    }

    fn packet(&self) -> Vec<u8> {
        // No options, DF clear, TTL 64 (building requests may use the project's helpers).
        let ports = (self.sport, dhcp::SERVER_PORT);
        ipv4_udp_packet(self.src, self.dst, ports, &self.bootp)
    }
}

/// One DHCPv4 option instance: `at` is an offset into the options field.
type V4Option<'a> = DhcpOption<'a, u8>;

/// Every option instance of a BOOTP options field up to End, pads left out, and the offset
/// of End. Independent of the program's parser and of lwm2m_xdp::client.
fn walk_options(options: &[u8]) -> Result<(Vec<V4Option<'_>>, usize), String> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        match options.get(at) {
            None => return Err("no End option".into()),
            Some(&dhcp::OPT_END) => return Ok((out, at)),
            Some(&dhcp::OPT_PAD) => at += 1,
            Some(&code) => {
                let len = usize::from(
                    *options
                        .get(at + dhcp::option::LENGTH)
                        .ok_or("no length octet")?,
                );
                let data_at = at + dhcp::option::DATA.start;
                let data = options
                    .get(data_at..data_at + len)
                    .ok_or_else(|| format!("option {code} (len {len}) runs past the end"))?;
                out.push(V4Option { at, code, data });
                at = data_at + len;
            }
        }
    }
}

/// The whole of option `o` of `bootp` (a message): code, length and data.
fn whole_option<'a>(bootp: &'a [u8], o: &V4Option) -> &'a [u8] {
    let at = dhcp::field::OPTIONS.start + o.at;
    &bootp[at..at + dhcp::option::DATA.start + o.data.len()]
}

fn insert_before_end(bootp: &mut Vec<u8>, option: &[u8]) {
    let (_, end) = walk_options(&bootp[dhcp::field::OPTIONS.start..]).expect("well-formed options");
    let at = dhcp::field::OPTIONS.start + end;
    bootp.splice(at..at, option.iter().copied());
}

/// Remove every instance of `code` (the message stays padded to 300 octets).
fn remove_option(bootp: &mut Vec<u8>, code: u8) {
    let (options, _) =
        walk_options(&bootp[dhcp::field::OPTIONS.start..]).expect("well-formed options");
    let cuts: Vec<(usize, usize)> = options
        .iter()
        .filter(|o| o.code == code)
        .map(|o| {
            (
                dhcp::field::OPTIONS.start + o.at,
                dhcp::option::DATA.start + o.data.len(),
            )
        })
        .collect();
    for (at, len) in cuts.into_iter().rev() {
        bootp.drain(at..at + len);
    }
    bootp.resize(bootp.len().max(dhcp::MIN_MESSAGE_LEN), dhcp::OPT_PAD);
}

/// Set the data of the first instance of `code` (same length).
fn set_option(bootp: &mut [u8], code: u8, data: &[u8]) {
    let (options, _) =
        walk_options(&bootp[dhcp::field::OPTIONS.start..]).expect("well-formed options");
    let o = options
        .iter()
        .find(|o| o.code == code)
        .expect("option present");
    assert_eq!(o.data.len(), data.len());
    let at = dhcp::field::OPTIONS.start + o.at + dhcp::option::DATA.start;
    bootp[at..at + data.len()].copy_from_slice(data);
}

// ---- What a correct ACK is ----------------------------------------------------------------

/// Octets of the certificate option(s) for a `len`-octet certificate, and how many
/// instances: the minimum number of fragments (protocol.md, "Wire formats").
fn certificate_encoding(format: WireFormat, len: usize) -> (usize, usize) {
    match format {
        WireFormat::Draft00 => {
            let n = len.div_ceil(253);
            (len + 4 * n, n)
        }
        WireFormat::Rfc3396 => {
            let n = len.div_ceil(255);
            (len + 2 * n, n)
        }
        WireFormat::Ietf00 => {
            let n = (len + 1).div_ceil(255);
            (len + 1 + 2 * n, n)
        }
    }
}

/// IP datagram length of the ACK to `Inform::standard()` (PRL = URI, certificate, extra;
/// option 61 of 7 octets echoed), from the wire formats alone.
fn standard_ack_ip_len(format: WireFormat, cert_len: usize) -> usize {
    let uri = match format {
        WireFormat::Draft00 => 2 + 2 + URI.len(),
        WireFormat::Rfc3396 | WireFormat::Ietf00 => 2 + URI.len(),
    };
    // Options 53 and 54, the URI, the certificate, the extra (4 octets), 61 (7), End.
    let options = dhcp::ACK_HEAD_LEN
        + uri
        + certificate_encoding(format, cert_len).0
        + (dhcp::option::DATA.start + V4_EXTRA_DATA.len())
        + (dhcp::option::DATA.start + 7)
        + dhcp::END_LEN;
    BOOTP_AT + (dhcp::field::OPTIONS.start + options).max(dhcp::MIN_MESSAGE_LEN)
}

/// Codes a PRL may list without stopping a `complete` answer though the ACK leaves them out.
const IGNORABLE: [u8; 7] = [
    dhcp::OPT_PAD,
    dhcp::OPT_END,
    dhcp::OPT_MESSAGE_TYPE,
    dhcp::OPT_SERVER_ID,
    dhcp::OPT_LEASE_TIME,
    dhcp::OPT_RENEWAL_TIME,
    dhcp::OPT_REBINDING_TIME,
];
const SERVED: [u8; 3] = [V4_URI_CODE, V4_CERT_CODE, V4_EXTRA_CODE];
/// Never in an ACK to INFORM (protocol.md).
const NEVER_IN_ACK: [u8; 5] = [
    dhcp::OPT_REQUESTED_ADDRESS,
    dhcp::OPT_LEASE_TIME,
    dhcp::OPT_OVERLOAD,
    dhcp::OPT_PARAMETER_REQUEST_LIST,
    dhcp::OPT_MAX_MESSAGE_SIZE,
];

/// Checks that `reply` is the ACK protocol.md prescribes for `request` under `setup`, and
/// that `request` was one the fast path may answer at all.
fn check_ack(setup: &Setup, cert: &[u8], request: &[u8], reply: &[u8]) -> Result<(), String> {
    // The request, taken apart independently of the program.
    let req = parse_request(request, eth::ETHERTYPE_IPV4)?;
    let rip = req.l3;
    ensure!(
        rip.len() >= BOOTP_AT && rip[ipv4::field::VER_IHL] == ipv4::VER_IHL_NO_OPTIONS,
        "answered a request with IP options"
    );
    ensure!(
        ipv4_header_checksum_ok(&rip[..ipv4::HDR_LEN]),
        "answered a request with a bad IP checksum"
    );
    ensure!(
        be16(rip, ipv4::field::FLG_OFF) & ipv4::FRAGMENT_BITS == 0,
        "answered an IP fragment"
    );
    ensure!(
        rip[ipv4::field::PROTOCOL] == ipv4::PROTO_UDP,
        "answered a non-UDP packet"
    );
    let total = usize::from(be16(rip, ipv4::field::LENGTH));
    let udp_len = usize::from(be16(&rip[UDP_AT..], udp::field::LENGTH));
    ensure!(
        total <= rip.len() && udp_len + ipv4::HDR_LEN == total,
        "answered inconsistent lengths"
    );
    ensure!(
        udp_len > udp::HDR_LEN + dhcp::field::OPTIONS.start,
        "answered a short BOOTP message"
    );
    let rsrc: [u8; 4] = rip[ipv4::field::SRC_ADDR].try_into().unwrap();
    let rdst: [u8; 4] = rip[ipv4::field::DST_ADDR].try_into().unwrap();
    let seg = &rip[UDP_AT..total];
    ensure!(
        seg[udp::field::CHECKSUM] == [0, 0] || udp4_checksum_ok(rsrc, rdst, seg),
        "answered a request with a bad UDP checksum"
    );
    ensure!(
        be16(seg, udp::field::DST_PORT) == dhcp::SERVER_PORT,
        "answered a datagram not to port 67"
    );
    let rb = &seg[udp::HDR_LEN..];
    ensure!(
        rb[dhcp::field::OP] == dhcp::OP_BOOTREQUEST,
        "answered op {}",
        rb[dhcp::field::OP]
    );
    ensure!(
        rb[dhcp::field::MAGIC_COOKIE] == dhcp::MAGIC_COOKIE,
        "answered without the cookie"
    );
    let (req_opts, _) = walk_options(&rb[dhcp::field::OPTIONS.start..])
        .map_err(|e| format!("answered malformed options: {e}"))?;
    let instances = |code: u8| req_opts.iter().filter(move |o| o.code == code);
    let single = |code: u8| single(&req_opts, code);
    let msg_type = single(dhcp::OPT_MESSAGE_TYPE)?.ok_or("answered without option 53")?;
    ensure!(
        msg_type.data == [dhcp::MSG_INFORM],
        "answered message type {:?}",
        msg_type.data
    );
    ensure!(
        instances(dhcp::OPT_OVERLOAD).next().is_none(),
        "answered a request with option 52"
    );
    let (outer, inner) = req.l2.vlan_ids();
    let (server_v4, _) =
        server_addresses(outer, inner).ok_or("answered on an unconfigured VLAN")?;
    ensure!(
        rdst == Ipv4Addr::BROADCAST.octets() || rdst == server_v4.octets(),
        "answered a request to {rdst:?}, neither broadcast nor {server_v4}"
    );
    if let Some(sid) = single(dhcp::OPT_SERVER_ID)? {
        ensure!(
            sid.data == server_v4.octets(),
            "answered a request for server {:?}",
            sid.data
        );
    }
    let prl: &[u8] = single(dhcp::OPT_PARAMETER_REQUEST_LIST)?.map_or(&[], |o| o.data);
    check_asked(
        "PRL",
        prl,
        [V4_URI_CODE, V4_CERT_CODE],
        setup.policy,
        &SERVED,
        &IGNORABLE,
    )?;
    let max_size = match single(dhcp::OPT_MAX_MESSAGE_SIZE)? {
        Some(o) => {
            ensure!(
                o.data.len() == 2,
                "answered a request whose option 57 has {} octets",
                o.data.len()
            );
            usize::from(u16::from_be_bytes([o.data[0], o.data[1]]))
        }
        None => 0,
    };
    let raw_option = |o: Option<&V4Option>| o.map(|o| whole_option(rb, o).to_vec());
    let client_id = raw_option(single(dhcp::OPT_CLIENT_ID)?);
    let relay_info = raw_option(single(dhcp::OPT_RELAY_AGENT_INFO)?);
    let ciaddr: [u8; 4] = rb[dhcp::field::CIADDR].try_into().unwrap();
    let giaddr: [u8; 4] = rb[dhcp::field::GIADDR].try_into().unwrap();
    let (to, to_port) = match (giaddr, ciaddr) {
        (g, _) if g != [0; 4] => (g, dhcp::SERVER_PORT),
        (_, c) if c != [0; 4] => (c, dhcp::CLIENT_PORT),
        _ => return Err("answered with ciaddr = giaddr = 0".into()),
    };

    // Layer 2: to the request's source, from our MAC, the same tags.
    let rep = parse_reply(&req, reply)?;

    // IPv4 and UDP headers.
    let ip = rep.l3;
    ensure!(ip.len() >= BOOTP_AT, "reply of {} octets", ip.len());
    ensure!(
        ip[ipv4::field::VER_IHL] == ipv4::VER_IHL_NO_OPTIONS,
        "reply version/IHL {:#04x}",
        ip[ipv4::field::VER_IHL]
    );
    let ip_len = usize::from(be16(ip, ipv4::field::LENGTH));
    ensure!(
        ip_len == ip.len(),
        "IP total length {ip_len}, frame carries {}",
        ip.len()
    );
    ensure!(
        be16(ip, ipv4::field::FLG_OFF) & ipv4::FRAGMENT_BITS == 0,
        "reply is a fragment"
    );
    ensure!(
        ip[ipv4::field::TTL] > 0 && ip[ipv4::field::PROTOCOL] == ipv4::PROTO_UDP,
        "TTL {} protocol {}",
        ip[ipv4::field::TTL],
        ip[ipv4::field::PROTOCOL]
    );
    ensure!(
        ipv4_header_checksum_ok(&ip[..ipv4::HDR_LEN]),
        "reply IPv4 header checksum wrong"
    );
    ensure!(
        ip[ipv4::field::SRC_ADDR] == server_v4.octets(),
        "reply from {:?}, expected {server_v4}",
        &ip[ipv4::field::SRC_ADDR]
    );
    ensure!(
        ip[ipv4::field::DST_ADDR] == to,
        "reply to {:?}, expected {to:?}",
        &ip[ipv4::field::DST_ADDR]
    );
    let udp = &ip[UDP_AT..];
    ensure!(
        be16(udp, udp::field::SRC_PORT) == dhcp::SERVER_PORT,
        "reply source port"
    );
    ensure!(
        be16(udp, udp::field::DST_PORT) == to_port,
        "reply to port {}, expected {to_port}",
        be16(udp, udp::field::DST_PORT)
    );
    ensure!(
        usize::from(be16(udp, udp::field::LENGTH)) == udp.len(),
        "UDP length"
    );
    ensure!(
        udp[udp::field::CHECKSUM] != [0, 0],
        "reply UDP checksum not computed"
    );
    let ip_src: [u8; 4] = ip[ipv4::field::SRC_ADDR].try_into().unwrap();
    ensure!(
        udp4_checksum_ok(ip_src, to, udp),
        "reply UDP checksum wrong"
    );
    let limit = max_size
        .max(ipv4::MIN_MAX_DATAGRAM)
        .min(usize::from(setup.mtu));
    ensure!(
        ip_len <= limit,
        "reply of {ip_len} octets exceeds {limit} (576 / option 57 {max_size} / MTU)"
    );

    // The BOOTP header, through dhcproto and then raw.
    let bootp = &udp[udp::HDR_LEN..];
    ensure!(
        bootp.len() >= dhcp::MIN_MESSAGE_LEN,
        "BOOTP message of {} octets",
        bootp.len()
    );
    let msg =
        d4::Message::decode(&mut Decoder::new(bootp)).map_err(|e| format!("dhcproto: {e}"))?;
    ensure!(
        msg.opcode() == d4::Opcode::BootReply,
        "op {:?}",
        msg.opcode()
    );
    ensure!(u8::from(msg.htype()) == rb[dhcp::field::HTYPE], "htype");
    ensure!(msg.hlen() == rb[dhcp::field::HLEN], "hlen");
    ensure!(msg.hops() == 0, "hops {}", msg.hops());
    ensure!(msg.xid().to_be_bytes() == rb[dhcp::field::XID], "xid");
    ensure!(msg.secs() == 0, "secs {}", msg.secs());
    ensure!(
        u16::from(msg.flags()).to_be_bytes() == rb[dhcp::field::FLAGS],
        "flags"
    );
    ensure!(msg.ciaddr().octets() == ciaddr, "ciaddr");
    ensure!(
        msg.yiaddr().is_unspecified() && msg.siaddr().is_unspecified(),
        "yiaddr/siaddr not 0"
    );
    ensure!(msg.giaddr().octets() == giaddr, "giaddr");
    ensure!(
        bootp[dhcp::field::CHADDR.start..dhcp::field::SNAME.start]
            == rb[dhcp::field::CHADDR.start..dhcp::field::SNAME.start],
        "chaddr"
    );
    if msg.hlen() <= dhcp::MAX_HLEN {
        // (dhcproto slices chaddr by hlen: only when that is in range.)
        let hlen = usize::from(msg.hlen());
        ensure!(
            msg.chaddr() == &rb[dhcp::field::CHADDR.start..dhcp::field::CHADDR.start + hlen],
            "dhcproto: chaddr"
        );
    }
    ensure!(
        bootp[dhcp::field::SNAME.start..dhcp::field::MAGIC_COOKIE.start]
            .iter()
            .all(|&b| b == 0),
        "sname/file not zero"
    );
    ensure!(
        bootp[dhcp::field::MAGIC_COOKIE] == dhcp::MAGIC_COOKIE,
        "magic cookie"
    );
    ensure!(
        msg.opts().msg_type() == Some(d4::MessageType::Ack),
        "dhcproto: message type {:?}",
        msg.opts().msg_type()
    );
    ensure!(
        matches!(msg.opts().get(d4::OptionCode::ServerIdentifier), Some(d4::DhcpOption::ServerIdentifier(a)) if *a == server_v4),
        "dhcproto: server identifier {:?}",
        msg.opts().get(d4::OptionCode::ServerIdentifier)
    );
    if let Some(id) = &client_id {
        ensure!(
            matches!(msg.opts().get(d4::OptionCode::ClientIdentifier), Some(d4::DhcpOption::ClientIdentifier(c)) if c[..] == id[dhcp::option::DATA]),
            "dhcproto: client identifier"
        );
    }

    // The options, raw: 53 = 5 first, 54, requested, 61, 82 last, End, zero padding.
    let (opts, end) = walk_options(&bootp[dhcp::field::OPTIONS.start..])
        .map_err(|e| format!("reply options: {e}"))?;
    ensure!(
        bootp[dhcp::field::OPTIONS.start + end + 1..]
            .iter()
            .all(|&b| b == 0),
        "non-zero octets after End"
    );
    ensure!(opts.len() >= 2, "reply has {} options", opts.len());
    ensure!(
        opts[0].code == dhcp::OPT_MESSAGE_TYPE && opts[0].data == [dhcp::MSG_ACK],
        "first option {} {:?}",
        opts[0].code,
        opts[0].data
    );
    ensure!(
        opts[1].code == dhcp::OPT_SERVER_ID && opts[1].data == server_v4.octets(),
        "second option {} {:?}",
        opts[1].code,
        opts[1].data
    );
    let count = |code: u8| opts.iter().filter(|o| o.code == code).count();
    ensure!(
        count(dhcp::OPT_MESSAGE_TYPE) == 1 && count(dhcp::OPT_SERVER_ID) == 1,
        "53/54 repeated"
    );
    for o in &opts {
        ensure!(
            !NEVER_IN_ACK.contains(&o.code),
            "reply carries option {}",
            o.code
        );
        ensure!(
            [
                dhcp::OPT_MESSAGE_TYPE,
                dhcp::OPT_SERVER_ID,
                dhcp::OPT_CLIENT_ID,
                dhcp::OPT_RELAY_AGENT_INFO
            ]
            .contains(&o.code)
                || SERVED.contains(&o.code),
            "reply carries option {} nobody configured",
            o.code
        );
    }
    let raw_reply = |o: &V4Option| whole_option(bootp, o).to_vec();
    match &client_id {
        Some(id) => {
            let echoed: Vec<Vec<u8>> = opts
                .iter()
                .filter(|o| o.code == dhcp::OPT_CLIENT_ID)
                .map(raw_reply)
                .collect();
            ensure!(
                echoed == [id.clone()],
                "option 61 {echoed:02x?}, request had {id:02x?}"
            );
        }
        None => ensure!(
            count(dhcp::OPT_CLIENT_ID) == 0,
            "option 61 the request did not have"
        ),
    }
    match &relay_info {
        Some(info) => {
            let last = opts.last().expect("two at least");
            ensure!(
                count(dhcp::OPT_RELAY_AGENT_INFO) == 1 && last.code == dhcp::OPT_RELAY_AGENT_INFO,
                "option 82 not last"
            );
            ensure!(raw_reply(last) == *info, "option 82 altered");
        }
        None => ensure!(
            count(dhcp::OPT_RELAY_AGENT_INFO) == 0,
            "option 82 the request did not have"
        ),
    }
    for code in SERVED {
        let asked = prl.contains(&code);
        ensure!(
            asked == (count(code) > 0),
            "option {code}: requested {asked}, present {}",
            count(code)
        );
    }
    let positions: Vec<usize> = opts
        .iter()
        .enumerate()
        .filter(|(_, o)| o.code == V4_CERT_CODE)
        .map(|(i, _)| i)
        .collect();
    if let (Some(first), Some(last)) = (positions.first(), positions.last()) {
        ensure!(
            last - first + 1 == positions.len(),
            "certificate fragments not consecutive"
        );
        let (_, fragments) = certificate_encoding(setup.format, cert.len());
        ensure!(
            positions.len() == fragments,
            "{} certificate options, the minimum is {fragments}",
            positions.len()
        );
        if setup.format == WireFormat::Draft00 {
            for (seq, &i) in positions.iter().enumerate() {
                ensure!(
                    opts[i].data[..2] == (seq as u16).to_be_bytes(),
                    "fragment {seq} has seq {:?}",
                    &opts[i].data[..2]
                );
            }
        } else {
            // dhcproto concatenates RFC 3396 splits itself: a second, independent decoder.
            let expect = match setup.format {
                WireFormat::Ietf00 => [&[4u8][..], cert].concat(),
                _ => cert.to_vec(),
            };
            ensure!(
                matches!(msg.opts().get(d4::OptionCode::Unknown(V4_CERT_CODE)), Some(d4::DhcpOption::Unknown(u)) if u.data() == expect),
                "dhcproto: certificate option data differs"
            );
        }
    }
    let uris: Vec<&V4Option> = opts.iter().filter(|o| o.code == V4_URI_CODE).collect();
    ensure!(uris.len() <= 1, "{} URI options", uris.len());
    if let (Some(uri), WireFormat::Draft00) = (uris.first(), setup.format) {
        ensure!(
            uri.data.starts_with(&[0, 0]),
            "draft-00 URI reserved field {:02x?}",
            &uri.data[..2.min(uri.data.len())]
        );
    }
    if let Some(extra) = opts.iter().find(|o| o.code == V4_EXTRA_CODE) {
        ensure!(
            extra.data == V4_EXTRA_DATA && count(V4_EXTRA_CODE) == 1,
            "extra option {:?}",
            extra.data
        );
    }
    let xid = u32::from_be_bytes(rb[dhcp::field::XID].try_into().unwrap());
    let (_, bootstrap) =
        client::decode_v4_reply(setup.format, V4_URI_CODE, V4_CERT_CODE, bootp, xid)
            .map_err(|e| format!("decode_v4_reply: {e}"))?;
    check_bootstrap(
        &bootstrap,
        cert,
        prl.contains(&V4_CERT_CODE),
        prl.contains(&V4_URI_CODE),
    )
}

/// Run `inform`, expect an ACK, check it, and return the reply frame.
fn expect_ack(h: &mut Harness, inform: &Inform, what: &str) -> Vec<u8> {
    expect_answer::<V4>(h, &inform.frame(), what)
}

fn reply_ip(frame: &[u8]) -> (Ipv4Addr, Ipv4Addr, u16) {
    let p = parse_l2(frame).expect("reply");
    let ip = p.l3;
    let addr = |field: Field| Ipv4Addr::from(<[u8; 4]>::try_from(&ip[field]).unwrap());
    (
        addr(ipv4::field::SRC_ADDR),
        addr(ipv4::field::DST_ADDR),
        be16(&ip[UDP_AT..], udp::field::DST_PORT),
    )
}

/// The reply's option codes in order.
fn reply_codes(frame: &[u8]) -> Vec<u8> {
    let bootp = &parse_l2(frame).expect("reply").l3[BOOTP_AT..];
    walk_options(&bootp[dhcp::field::OPTIONS.start..])
        .unwrap()
        .0
        .iter()
        .map(|o| o.code)
        .collect()
}

// ---- Answered ---------------------------------------------------------------------------

#[test]
fn inform_is_answered_in_every_wire_format_and_certificate_size() {
    skip_unless_root!("inform_is_answered_in_every_wire_format_and_certificate_size");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    for size in SIZES {
        h.each_format(&Setup::new(WireFormat::Draft00, size), |h, format| {
            let what = format!("{format}, {size}-octet certificate");
            let ip_len = standard_ack_ip_len(format, size);
            // Octets of a 1400-octet certificate alone plus IP/UDP/BOOTP headers exceed 1500
            // in every format: those requests must go to the normal server.
            assert_eq!(ip_len <= 1500, size != 1400, "{what}: {ip_len} octets");
            if size == 1400 {
                expect_pass::<V4>(h, &Inform::standard().frame(), Reason::TooBig, &what);
                return;
            }
            let reply = expect_ack(h, &Inform::standard(), &what);
            assert_eq!(
                parse_l2(&reply).unwrap().l3.len(),
                ip_len,
                "{what}: reply size"
            );
            let (src, dst, port) = reply_ip(&reply);
            assert_eq!(
                (src, dst, port),
                (SERVER_V4, CLIENT_V4, dhcp::CLIENT_PORT),
                "{what}"
            );
        });
    }
}

#[test]
fn a_1400_octet_certificate_is_answered_on_a_jumbo_link() {
    skip_unless_root!("a_1400_octet_certificate_is_answered_on_a_jumbo_link");
    let setup = Setup::new(WireFormat::Draft00, 1400).mtu(9000);
    Harness::new(setup.clone()).each_format(&setup, |h, format| {
        let jumbo = Inform::new(&PRL, Some(9000));
        let reply = expect_ack(h, &jumbo, &format!("{format}, jumbo"));
        assert_eq!(
            parse_l2(&reply).unwrap().l3.len(),
            standard_ack_ip_len(format, 1400)
        );
    });
}

#[test]
fn unicast_unpadded_and_trailer_carrying_informs_are_answered() {
    skip_unless_root!("unicast_unpadded_and_trailer_carrying_informs_are_answered");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 1000));
    let mut unicast = Inform::standard();
    unicast.dst = SERVER_V4;
    unicast.l2 = L2::new(SERVER_MAC, CLIENT_MAC);
    expect_ack(&mut h, &unicast, "unicast to the server identifier");

    // Not padded to 300 octets (RFC 1542 asks it of clients; the fast path need not insist).
    let mut unpadded = Inform::standard();
    let (_, end) = walk_options(&unpadded.bootp[dhcp::field::OPTIONS.start..]).unwrap();
    unpadded
        .bootp
        .truncate(dhcp::field::OPTIONS.start + end + 1);
    assert!(unpadded.bootp.len() < dhcp::MIN_MESSAGE_LEN);
    expect_ack(&mut h, &unpadded, "INFORM not padded to 300 octets");

    // Octets after the IP datagram (Ethernet padding / trailer) are not part of it.
    let mut frame = Inform::standard().frame();
    frame.extend([0xee; 6]);
    expect_answer::<V4>(&mut h, &frame, "trailer");
}

#[test]
fn zero_udp_checksum_is_accepted_and_the_reply_has_one() {
    skip_unless_root!("zero_udp_checksum_is_accepted_and_the_reply_has_one");
    let mut h = Harness::new(Setup::new(WireFormat::Ietf00, 300));
    // RFC 768: 0 means the sender computed none; the reply's is computed (check_ack).
    let frame = Inform::standard().frame_with_packet(|p| p[UDP_CHECKSUM].fill(0));
    expect_answer::<V4>(&mut h, &frame, "UDP checksum 0");
}

#[test]
fn vlan_tagged_inform_is_answered_from_the_vlan_address_with_its_tags() {
    skip_unless_root!("vlan_tagged_inform_is_answered_from_the_vlan_address_with_its_tags");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    // PCP 5 and DEI set on the tag: the VLAN id is the low 12 bits; the TCI comes back as is.
    let cases: [(&str, Vec<Tag>, Ipv4Addr); 3] = [
        ("802.1Q 42", vec![(eth::ETHERTYPE_VLAN, 42)], VLAN42_V4),
        (
            "802.1Q 42 with PCP/DEI",
            vec![(eth::ETHERTYPE_VLAN, 0xb000 | 42)],
            VLAN42_V4,
        ),
        ("QinQ 100/42", QINQ_TAGS.to_vec(), QINQ_V4),
    ];
    for (what, tags, address) in cases {
        let reply = expect_ack(&mut h, &Inform::standard().tagged(&tags), what);
        let parsed = parse_l2(&reply).unwrap();
        assert_eq!(parsed.l2.tags, tags, "{what}");
        assert_eq!(reply_ip(&reply).0, address, "{what}");
        let bootp = &parsed.l3[BOOTP_AT..];
        // The head's option 54, after option 53 (one octet of data).
        let option_54 = dhcp::option::DATA.start + 1..dhcp::ACK_HEAD_LEN;
        assert_eq!(
            bootp[dhcp::field::OPTIONS.start..][option_54.clone()],
            dhcp::ack_head(address.octets())[option_54],
            "{what}: option 54"
        );
    }
    // The same relayed, through the QinQ VLAN.
    let relayed = Inform::standard().relayed_to(QINQ_V4).tagged(&QINQ_TAGS);
    let reply = expect_ack(&mut h, &relayed, "relayed on QinQ 100/42");
    assert_eq!(reply_ip(&reply), (QINQ_V4, RELAY_V4, dhcp::SERVER_PORT));
}

#[test]
fn frames_of_unconfigured_vlans_are_passed_untouched() {
    skip_unless_root!("frames_of_unconfigured_vlans_are_passed_untouched");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    unconfigured_vlans_are_passed(&mut h, Inform::standard);
}

#[test]
fn relayed_inform_goes_to_the_relay_with_option_82_echoed_last() {
    skip_unless_root!("relayed_inform_goes_to_the_relay_with_option_82_echoed_last");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 1000));
    let relayed = Inform::standard().relayed();
    let reply = expect_ack(&mut h, &relayed, "relayed");
    assert_eq!(reply_ip(&reply), (SERVER_V4, RELAY_V4, dhcp::SERVER_PORT));
    assert_eq!(parse_l2(&reply).unwrap().l2.dst, RELAY_MAC);
    let bootp = &parse_l2(&reply).unwrap().l3[BOOTP_AT..];
    let (opts, end) = walk_options(&bootp[dhcp::field::OPTIONS.start..]).unwrap();
    let last = opts.last().unwrap();
    assert_eq!(last.code, dhcp::OPT_RELAY_AGENT_INFO);
    assert_eq!(
        &bootp[dhcp::field::OPTIONS.start + last.at..dhcp::field::OPTIONS.start + end],
        RELAY_AGENT_INFO
    );
    assert_eq!(bootp[dhcp::field::HOPS], 0, "hops");

    // A relayed request without a ciaddr is answered the same way (giaddr decides).
    let mut no_ciaddr = Inform::standard().relayed();
    no_ciaddr.bootp[dhcp::field::CIADDR].fill(0);
    let reply = expect_ack(&mut h, &no_ciaddr, "relayed, ciaddr 0");
    assert_eq!(reply_ip(&reply).1, RELAY_V4);
}

#[test]
fn option_57_sets_the_size_limit_to_the_octet() {
    skip_unless_root!("option_57_sets_the_size_limit_to_the_octet");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    let ip_len = standard_ack_ip_len(WireFormat::Draft00, 1000) as u16;
    expect_ack(
        &mut h,
        &Inform::new(&PRL, Some(ip_len)),
        "option 57 = reply size",
    );
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&PRL, Some(ip_len - 1)).frame(),
        Reason::TooBig,
        "option 57 = reply size - 1",
    );
    // Without option 57 the limit is 576.
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&PRL, None).frame(),
        Reason::TooBig,
        "no option 57, reply over 576",
    );
    // Only the URI fits 576: answered without option 57.
    let reply = expect_ack(
        &mut h,
        &Inform::new(&[V4_URI_CODE], None),
        "no option 57, reply under 576",
    );
    assert!(parse_l2(&reply).unwrap().l3.len() <= 576);
    // Option 57 never raises the limit above the MTU.
    h.install(Setup::new(WireFormat::Draft00, 1000).mtu(1300));
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&PRL, Some(9000)).frame(),
        Reason::TooBig,
        "over the MTU",
    );
}

#[test]
fn echoed_options_of_any_length_and_parity_come_back_unaltered() {
    skip_unless_root!("echoed_options_of_any_length_and_parity_come_back_unaltered");
    // Options 61 and 82 are copied from the request and shift everything after them; their
    // lengths decide whether what follows (and the checksum words) start at odd offsets.
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let option = |code: u8, len: u8| -> Vec<u8> {
        let mut o = vec![code, len];
        o.extend((0..len).map(|i| i.wrapping_mul(37) ^ code));
        o
    };
    for (id_len, relay_len) in [(0, 1), (1, 2), (254, 255), (255, 254), (255, 255), (16, 0)] {
        let mut inform = Inform::standard().relayed();
        remove_option(&mut inform.bootp, dhcp::OPT_CLIENT_ID);
        remove_option(&mut inform.bootp, dhcp::OPT_RELAY_AGENT_INFO);
        insert_before_end(&mut inform.bootp, &option(dhcp::OPT_CLIENT_ID, id_len));
        if relay_len > 0 {
            insert_before_end(
                &mut inform.bootp,
                &option(dhcp::OPT_RELAY_AGENT_INFO, relay_len),
            );
        }
        let what = format!("option 61 of {id_len}, option 82 of {relay_len} octets");
        let reply = expect_ack(&mut h, &inform, &what);
        let bootp = &parse_l2(&reply).unwrap().l3[BOOTP_AT..];
        let (opts, _) = walk_options(&bootp[dhcp::field::OPTIONS.start..]).unwrap();
        let id = opts.iter().find(|o| o.code == dhcp::OPT_CLIENT_ID).unwrap();
        assert_eq!(
            id.data,
            &option(dhcp::OPT_CLIENT_ID, id_len)[dhcp::option::DATA],
            "{what}"
        );
    }
}

#[test]
fn inform_with_df_set_and_a_full_prl_is_answered() {
    skip_unless_root!("inform_with_df_set_and_a_full_prl_is_answered");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 300).policy("lwm2m-only"));
    // Don't Fragment (most clients set it) and a TOS octet are no reason to pass.
    let inform = Inform::standard();
    let frame = inform.frame_with_packet(|p| {
        p[ipv4::field::DSCP_ECN] = 0x10;
        let flags = be16(p, ipv4::field::FLG_OFF) | ipv4::FLAG_DONT_FRAGMENT;
        set_be16(p, ipv4::field::FLG_OFF, flags);
        refresh_ipv4_checksums(p);
    });
    expect_answer::<V4>(&mut h, &frame, "DF set");
    // A PRL naming all 255 codes: lwm2m-only answers with everything it has.
    let all: Vec<u8> = (1..=255).collect();
    let reply = expect_ack(&mut h, &Inform::new(&all, Some(1500)), "PRL of 255 codes");
    let codes = reply_codes(&reply);
    for code in [V4_URI_CODE, V4_CERT_CODE, V4_EXTRA_CODE] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

#[test]
fn largest_accepted_request_payload_is_answered() {
    skip_unless_root!("largest_accepted_request_payload_is_answered");
    // The program takes UDP payloads up to 2048 octets (REQ_MAX) and passes longer ones as
    // too big. An INFORM padded to exactly 2048 octets is a valid request (jumbo link).
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000).mtu(9000));
    let mut largest = Inform::standard();
    largest.bootp.resize(2048, dhcp::OPT_PAD);
    expect_ack(&mut h, &largest, "INFORM of 2048 octets");
    let mut over = Inform::standard();
    over.bootp.resize(2049, dhcp::OPT_PAD);
    expect_pass::<V4>(
        &mut h,
        &over.frame(),
        Reason::TooBig,
        "INFORM of 2049 octets",
    );
}

#[test]
fn options_past_the_walk_in_the_frame_are_found_in_the_copy() {
    skip_unless_root!("options_past_the_walk_in_the_frame_are_found_in_the_copy");
    // The walk takes its first options in the frame and goes on in the saved copy after
    // that many steps: the PRL, 61 and 82 behind runs of PADs and empty options of every
    // length around that bound (and far past it) are found, echoed and answered alike.
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).mtu(9000));
    for before in (40..=90).chain([300, 1000]) {
        let mut inform = Inform::standard().relayed();
        for code in [
            dhcp::OPT_PARAMETER_REQUEST_LIST,
            dhcp::OPT_CLIENT_ID,
            dhcp::OPT_RELAY_AGENT_INFO,
        ] {
            remove_option(&mut inform.bootp, code);
        }
        let filler: Vec<u8> = (0..before)
            .flat_map(|i| {
                if i % 2 == 0 {
                    vec![dhcp::OPT_PAD]
                } else {
                    vec![254, 0]
                }
            })
            .collect();
        insert_before_end(&mut inform.bootp, &filler);
        let mut prl = vec![dhcp::OPT_PARAMETER_REQUEST_LIST, PRL.len() as u8];
        prl.extend(PRL);
        insert_before_end(&mut inform.bootp, &prl);
        insert_before_end(&mut inform.bootp, &[dhcp::OPT_CLIENT_ID, 3, 1, 2, 3]);
        insert_before_end(&mut inform.bootp, &RELAY_AGENT_INFO);
        expect_ack(
            &mut h,
            &inform,
            &format!("PRL, 61, 82 after {before} items"),
        );
    }
}

#[test]
fn the_ack_checker_rejects_any_changed_octet_of_a_correct_ack() {
    skip_unless_root!("the_ack_checker_rejects_any_changed_octet_of_a_correct_ack");
    // check_ack has teeth: change any one octet of the BOOTP message of a correct ACK (or a
    // MAC / VLAN tag octet), fix the checksums, and it must say what is wrong.
    let setup = Setup::new(WireFormat::Draft00, 300);
    let relayed_on_vlan42 = Inform::standard()
        .relayed_to(VLAN42_V4)
        .tagged(&VLAN42_TAGS)
        .frame();
    Harness::new(setup.clone()).each_format(&setup, |h, format| {
        let what = format!("{format}, relayed on VLAN 42");
        assert_every_changed_octet_rejected::<V4>(h, &relayed_on_vlan42, &what);
    });
}

// ---- Not answered -------------------------------------------------------------------------

#[test]
fn requests_that_are_not_informs_are_passed() {
    skip_unless_root!("requests_that_are_not_informs_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let mut discover = Inform::standard();
    set_option(
        &mut discover.bootp,
        dhcp::OPT_MESSAGE_TYPE,
        &[dhcp::MSG_DISCOVER],
    );
    expect_pass::<V4>(
        &mut h,
        &discover.frame(),
        Reason::NotInfoRequest,
        "DISCOVER",
    );
    let mut no_type = Inform::standard();
    remove_option(&mut no_type.bootp, dhcp::OPT_MESSAGE_TYPE);
    expect_pass::<V4>(
        &mut h,
        &no_type.frame(),
        Reason::NotInfoRequest,
        "no option 53",
    );
    let mut bad_cookie = Inform::standard();
    bad_cookie.bootp[dhcp::field::MAGIC_COOKIE.end - 1] = 0x64;
    expect_pass::<V4>(
        &mut h,
        &bad_cookie.frame(),
        Reason::NotInfoRequest,
        "bad magic cookie",
    );
    // Not UDP to port 67 at all: not even counted as a request.
    let tcp = Inform::standard().frame_with_packet(|p| {
        p[ipv4::field::PROTOCOL] = 6; // TCP
        refresh_ipv4_checksums(p);
    });
    let run = h.run(&tcp);
    run.assert_passed_unchanged(&tcp, "TCP to port 67");
    assert_eq!(run.reason(Family::V4, Reason::Received), 0, "TCP");
    let later_fragment = Inform::standard().frame_with_packet(|p| {
        set_be16(p, ipv4::field::FLG_OFF, 32); // fragment offset 32 (x 8 octets)
        refresh_ipv4_checksums(p);
    });
    let run = h.run(&later_fragment);
    run.assert_passed_unchanged(&later_fragment, "a later fragment");
    assert_eq!(
        run.reason(Family::V4, Reason::Received),
        0,
        "later fragment"
    );
    let mut bootreply = Inform::standard();
    bootreply.bootp[dhcp::field::OP] = dhcp::OP_BOOTREPLY;
    expect_pass::<V4>(
        &mut h,
        &bootreply.frame(),
        Reason::NotInfoRequest,
        "op BOOTREPLY",
    );
}

/// The program rejects most non-INFORMs from the frame before it copies or checksums
/// anything (op, cookie, option 53 when it comes first), and walks the options when 53 does
/// not come first: both paths must reach the same verdicts.
#[test]
fn message_type_is_found_whether_or_not_option_53_comes_first() {
    skip_unless_root!("message_type_is_found_whether_or_not_option_53_comes_first");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    // A PAD before option 53: the glance cannot see it, the walk does.
    let pad_first = |msg_type: u8| {
        let mut inform = Inform::standard();
        set_option(&mut inform.bootp, dhcp::OPT_MESSAGE_TYPE, &[msg_type]);
        inform
            .bootp
            .insert(dhcp::field::OPTIONS.start, dhcp::OPT_PAD);
        inform
    };
    expect_ack(
        &mut h,
        &pad_first(dhcp::MSG_INFORM),
        "INFORM, PAD before 53",
    );
    for (msg_type, what) in [
        (dhcp::MSG_DISCOVER, "DISCOVER, PAD before 53"),
        (dhcp::MSG_REQUEST, "REQUEST, PAD before 53"),
    ] {
        expect_pass::<V4>(
            &mut h,
            &pad_first(msg_type).frame(),
            Reason::NotInfoRequest,
            what,
        );
    }
    // Option 53 first but of length 2: not a type the glance trusts; the walk calls it
    // malformed.
    let mut long_53 = Inform::standard();
    let o = dhcp::field::OPTIONS.start;
    long_53.bootp[o + dhcp::option::LENGTH] = 2;
    long_53.bootp.insert(o + dhcp::option::DATA.start + 1, 0);
    expect_pass::<V4>(
        &mut h,
        &long_53.frame(),
        Reason::Malformed,
        "option 53 of length 2",
    );
    // A DISCOVER with a bad UDP checksum is still the normal server's (it never reaches the
    // checksum), and so is a bad cookie.
    let mut discover = Inform::standard();
    set_option(
        &mut discover.bootp,
        dhcp::OPT_MESSAGE_TYPE,
        &[dhcp::MSG_DISCOVER],
    );
    let bad_sum = discover.frame_with_packet(|p| p[UDP_CHECKSUM.end - 1] ^= 0x01);
    expect_pass::<V4>(
        &mut h,
        &bad_sum,
        Reason::NotInfoRequest,
        "DISCOVER, bad UDP checksum",
    );
    // An INFORM with a bad checksum that asks for nothing of ours is passed before its
    // checksum too; one that would be answered is malformed.
    let no_lwm2m =
        Inform::new(&[1, 3, 6], Some(1500)).frame_with_packet(|p| p[UDP_CHECKSUM.end - 1] ^= 0x01);
    expect_pass::<V4>(
        &mut h,
        &no_lwm2m,
        Reason::NoLwm2m,
        "PRL without LwM2M, bad UDP checksum",
    );
    let ours = Inform::standard().frame_with_packet(|p| p[UDP_CHECKSUM.end - 1] ^= 0x01);
    expect_pass::<V4>(&mut h, &ours, Reason::Malformed, "INFORM, bad UDP checksum");
}

#[test]
fn requests_without_lwm2m_codes_are_passed() {
    skip_unless_root!("requests_without_lwm2m_codes_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&[1, 3, 6], Some(1500)).frame(),
        Reason::NoLwm2m,
        "PRL without LwM2M codes",
    );
    let mut no_prl = Inform::standard();
    remove_option(&mut no_prl.bootp, dhcp::OPT_PARAMETER_REQUEST_LIST);
    expect_pass::<V4>(&mut h, &no_prl.frame(), Reason::NoLwm2m, "no PRL");
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&[], Some(1500)).frame(),
        Reason::NoLwm2m,
        "empty PRL",
    );
}

#[test]
fn inform_without_ciaddr_or_giaddr_is_passed() {
    skip_unless_root!("inform_without_ciaddr_or_giaddr_is_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let mut inform = Inform::standard();
    inform.bootp[dhcp::field::CIADDR].fill(0);
    inform.src = Ipv4Addr::UNSPECIFIED;
    expect_pass::<V4>(
        &mut h,
        &inform.frame(),
        Reason::NoDestination,
        "ciaddr = giaddr = 0",
    );
}

#[test]
fn request_policy_decides_about_codes_the_fast_path_cannot_serve() {
    skip_unless_root!("request_policy_decides_about_codes_the_fast_path_cannot_serve");
    let prl = [1, V4_URI_CODE, 3, V4_CERT_CODE, 51, 58, 59];
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&prl, Some(1500)).frame(),
        Reason::Unservable,
        "complete, codes 1 and 3",
    );
    // 51/58/59 never go in an ACK to INFORM: asking for them does not stop a complete answer.
    let reply = expect_ack(
        &mut h,
        &Inform::new(&[V4_CERT_CODE, 51, 58, 59], Some(1500)),
        "complete, 51/58/59",
    );
    let opts = reply_codes(&reply);
    assert!(
        !opts.contains(&V4_URI_CODE),
        "URI not requested, not sent: {opts:?}"
    );

    let mut overload = Inform::standard();
    insert_before_end(&mut overload.bootp, &[dhcp::OPT_OVERLOAD, 1, 3]);
    expect_pass::<V4>(
        &mut h,
        &overload.frame(),
        Reason::Unservable,
        "option 52 (overload)",
    );
    let mut two_prls = Inform::standard();
    insert_before_end(
        &mut two_prls.bootp,
        &[dhcp::OPT_PARAMETER_REQUEST_LIST, 1, 1],
    );
    expect_pass::<V4>(
        &mut h,
        &two_prls.frame(),
        Reason::Unservable,
        "PRL split in two (RFC 3396)",
    );

    h.install(Setup::new(WireFormat::Draft00, 1000).policy("lwm2m-only"));
    let reply = expect_ack(
        &mut h,
        &Inform::new(&prl, Some(1500)),
        "lwm2m-only, codes 1 and 3",
    );
    let codes = reply_codes(&reply);
    assert!(
        !codes.contains(&1) && !codes.contains(&3),
        "lwm2m-only left 1 and 3 out: {codes:?}"
    );
    expect_pass::<V4>(
        &mut h,
        &Inform::new(&[1, 3], Some(1500)).frame(),
        Reason::NoLwm2m,
        "lwm2m-only, no LwM2M code",
    );
}

#[test]
fn requests_not_addressed_to_us_are_passed() {
    skip_unless_root!("requests_not_addressed_to_us_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let mut elsewhere = Inform::standard();
    elsewhere.dst = Ipv4Addr::new(198, 18, 0, 2);
    expect_pass::<V4>(
        &mut h,
        &elsewhere.frame(),
        Reason::NotForUs,
        "to another server's address",
    );
    let mut subnet_broadcast = Inform::standard();
    subnet_broadcast.dst = Ipv4Addr::new(198, 18, 0, 255);
    expect_pass::<V4>(
        &mut h,
        &subnet_broadcast.frame(),
        Reason::NotForUs,
        "to a subnet broadcast address",
    );
    let mut other_server = Inform::standard();
    insert_before_end(
        &mut other_server.bootp,
        &[dhcp::OPT_SERVER_ID, 4, 198, 18, 0, 2],
    );
    expect_pass::<V4>(
        &mut h,
        &other_server.frame(),
        Reason::NotForUs,
        "option 54 names another server",
    );
    // Option 54 naming us is fine.
    let mut ours = Inform::standard();
    insert_before_end(&mut ours.bootp, &[dhcp::OPT_SERVER_ID, 4, 198, 18, 0, 1]);
    expect_ack(&mut h, &ours, "option 54 names us");
}

#[test]
fn requests_from_group_or_zero_source_macs_are_passed() {
    skip_unless_root!("requests_from_group_or_zero_source_macs_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    group_source_macs_are_passed(&mut h, || {
        vec![Inform::standard(), Inform::standard().relayed()]
    });
}

/// Addresses an ACK may never be sent to (protocol.md, DHCPv4 "Destination").
const NOT_UNICAST_V4: [Ipv4Addr; 7] = [
    Ipv4Addr::BROADCAST,
    Ipv4Addr::new(127, 0, 0, 1),
    Ipv4Addr::new(127, 255, 0, 9),
    Ipv4Addr::new(224, 0, 0, 1),
    Ipv4Addr::new(239, 255, 255, 250),
    Ipv4Addr::new(240, 0, 0, 1),
    Ipv4Addr::new(0, 18, 0, 10),
];

#[test]
fn acks_go_only_to_a_unicast_giaddr_or_ciaddr() {
    skip_unless_root!("acks_go_only_to_a_unicast_giaddr_or_ciaddr");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    for addr in NOT_UNICAST_V4 {
        let mut direct = Inform::standard();
        direct.bootp[dhcp::field::CIADDR].copy_from_slice(&addr.octets());
        expect_pass::<V4>(
            &mut h,
            &direct.frame(),
            Reason::BadDestination,
            &format!("ciaddr {addr}"),
        );
        let mut relayed = Inform::standard().relayed();
        relayed.bootp[dhcp::field::GIADDR].copy_from_slice(&addr.octets());
        expect_pass::<V4>(
            &mut h,
            &relayed.frame(),
            Reason::BadDestination,
            &format!("giaddr {addr}"),
        );
    }
    // With a unicast giaddr, ciaddr is not the destination: whatever it holds, the ACK goes
    // to the relay.
    let mut relayed = Inform::standard().relayed();
    relayed.bootp[dhcp::field::CIADDR].fill(255);
    let reply = expect_ack(&mut h, &relayed, "giaddr unicast, ciaddr broadcast");
    assert_eq!(reply_ip(&reply), (SERVER_V4, RELAY_V4, dhcp::SERVER_PORT));
}

/// `count` PAD octets inserted at `at` (an offset into the options field).
fn with_pads(mut inform: Inform, at: usize, count: usize) -> Inform {
    let at = dhcp::field::OPTIONS.start + at;
    inform
        .bootp
        .splice(at..at, std::iter::repeat_n(dhcp::OPT_PAD, count));
    inform
}

#[test]
fn pads_anywhere_before_end_are_walked() {
    skip_unless_root!("pads_anywhere_before_end_are_walked");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).mtu(9000));
    let standard = Inform::standard();
    let (options, end) = walk_options(&standard.bootp[dhcp::field::OPTIONS.start..]).unwrap();
    // The whole options field may be PADs: up to 2048 octets of payload (REQ_MAX) in all.
    let room = 2048 - standard.bootp.len();
    for count in [1, 95, 96, 97, 255, 256, 1000, room] {
        for (what, at) in [
            ("first", 0),
            ("after option 53", options[1].at),
            ("before End", end),
        ] {
            let inform = with_pads(standard.clone(), at, count);
            expect_ack(&mut h, &inform, &format!("{count} PADs {what}"));
        }
    }
    // PADs between every option at once.
    let mut everywhere = standard.clone();
    for o in options.iter().rev() {
        everywhere = with_pads(everywhere, o.at, 7);
    }
    expect_ack(&mut h, &everywhere, "7 PADs before every option");
    // PADs are walked, not trusted: a PAD run that leaves no End is still malformed.
    let mut no_end = standard.clone();
    no_end.bootp.truncate(dhcp::field::OPTIONS.start + end);
    let no_end = with_pads(no_end.clone(), end, room);
    expect_pass::<V4>(&mut h, &no_end.frame(), Reason::Malformed, "PADs, no End");
}

#[test]
fn malformed_ip_and_udp_are_passed() {
    skip_unless_root!("malformed_ip_and_udp_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let inform = Inform::standard();
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        (
            "IP options (IHL 6)",
            inform.frame_with_packet(|p| {
                p.splice(UDP_AT..UDP_AT, [1, 1, 1, 0]); // NOP NOP NOP EOL
                p[ipv4::field::VER_IHL] = ipv4::VER_IHL_NO_OPTIONS + 1;
                let total = p.len() as u16;
                set_be16(p, ipv4::field::LENGTH, total);
                refresh_ipv4_checksums(p);
            }),
        ),
        (
            "More Fragments set",
            inform.frame_with_packet(|p| {
                let flags = be16(p, ipv4::field::FLG_OFF) | ipv4::FLAG_MORE_FRAGMENTS;
                set_be16(p, ipv4::field::FLG_OFF, flags);
                refresh_ipv4_checksums(p);
            }),
        ),
        (
            "bad IPv4 header checksum",
            inform.frame_with_packet(|p| p[ipv4::field::CHECKSUM.start] ^= 0x01),
        ),
        (
            "UDP length 1 short",
            inform.frame_with_packet(|p| {
                let seg = &mut p[UDP_AT..];
                let l = be16(seg, udp::field::LENGTH) - 1;
                set_be16(seg, udp::field::LENGTH, l);
                refresh_ipv4_checksums(p);
            }),
        ),
        (
            "UDP length 1 long",
            inform.frame_with_packet(|p| {
                let seg = &mut p[UDP_AT..];
                let l = be16(seg, udp::field::LENGTH) + 1;
                set_be16(seg, udp::field::LENGTH, l);
                refresh_ipv4_header_checksum(&mut p[..ipv4::HDR_LEN]);
            }),
        ),
        (
            "IP total length past the frame",
            inform.frame_with_packet(|p| {
                let l = be16(p, ipv4::field::LENGTH) + 4;
                set_be16(p, ipv4::field::LENGTH, l);
                let seg = &mut p[UDP_AT..];
                let u = be16(seg, udp::field::LENGTH) + 4;
                set_be16(seg, udp::field::LENGTH, u);
                refresh_ipv4_header_checksum(&mut p[..ipv4::HDR_LEN]);
            }),
        ),
        (
            "bad UDP checksum",
            inform.frame_with_packet(|p| p[UDP_CHECKSUM.end - 1] ^= 0x01),
        ),
        (
            "payload changed under the UDP checksum",
            inform.frame_with_packet(|p| p[BOOTP_AT + dhcp::field::XID.start] ^= 0x80),
        ),
    ];
    for (what, frame) in malformed {
        expect_pass::<V4>(&mut h, &frame, Reason::Malformed, what);
    }
}

#[test]
fn options_running_past_the_end_are_passed() {
    skip_unless_root!("options_running_past_the_end_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    // A hostname option claiming 200 octets where 10 remain, and no End.
    let mut bootp = client::build_inform(XID, CLIENT_MAC, CLIENT_V4, &PRL, Some(1500));
    let (_, end) = walk_options(&bootp[dhcp::field::OPTIONS.start..]).unwrap();
    bootp.truncate(dhcp::field::OPTIONS.start + end);
    bootp.extend([12, 200]);
    bootp.extend([b'x'; 10]);
    let inform = Inform {
        bootp,
        ..Inform::standard()
    };
    expect_pass::<V4>(
        &mut h,
        &inform.frame(),
        Reason::Malformed,
        "option length past the end",
    );
    // Options that stop without End.
    let mut no_end = Inform::standard();
    let (_, end) = walk_options(&no_end.bootp[dhcp::field::OPTIONS.start..]).unwrap();
    no_end.bootp.truncate(dhcp::field::OPTIONS.start + end);
    expect_pass::<V4>(&mut h, &no_end.frame(), Reason::Malformed, "no End option");
    // The length octet of the last option missing.
    let mut no_len = no_end.clone();
    no_len.bootp.push(12);
    expect_pass::<V4>(
        &mut h,
        &no_len.frame(),
        Reason::Malformed,
        "no length octet",
    );
}

#[test]
fn every_truncation_of_an_inform_is_passed_untouched() {
    skip_unless_root!("every_truncation_of_an_inform_is_passed_untouched");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    for (what, inform) in [
        ("plain", Inform::standard()),
        (
            "relayed on QinQ",
            Inform::standard().relayed_to(QINQ_V4).tagged(&QINQ_TAGS),
        ),
    ] {
        assert_every_truncation_passed::<V4>(&mut h, &inform.frame(), what);
    }
}

// ---- Properties -----------------------------------------------------------------------------

/// Frames the properties start from: answered as they are.
fn property_bases() -> Vec<Inform> {
    vec![
        Inform::standard(),
        Inform::standard().relayed_to(QINQ_V4).tagged(&QINQ_TAGS),
        Inform::new(&[V4_CERT_CODE], Some(1500)).tagged(&VLAN42_TAGS),
    ]
}

#[test]
fn random_mutations_are_passed_untouched_or_answered_correctly() {
    skip_unless_root!("random_mutations_are_passed_untouched_or_answered_correctly");
    let h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    random_mutations_are_passed_or_answered(h, &property_bases());
}

#[test]
fn random_mutations_with_checksums_fixed_are_passed_untouched_or_answered_correctly() {
    skip_unless_root!(
        "random_mutations_with_checksums_fixed_are_passed_untouched_or_answered_correctly"
    );
    let h = Harness::new(Setup::new(WireFormat::Rfc3396, 1000));
    // Mostly in the options, sometimes in the fixed BOOTP header, sometimes anywhere in the
    // frame.
    let regions = prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    random_mutations_with_checksums_fixed_are_passed_or_answered(
        h,
        &property_bases(),
        regions,
        |base, region| {
            let bootp = parse_l2(base).unwrap().l3_off + BOOTP_AT;
            match region {
                0 => bootp + dhcp::field::OPTIONS.start..base.len(),
                1 => bootp..bootp + dhcp::field::OPTIONS.start,
                _ => 0..base.len(),
            }
        },
    );
}

// ---- Rate limit -------------------------------------------------------------------------

#[test]
fn the_rate_limit_drops_a_flooding_client_and_only_that_client() {
    skip_unless_root!("the_rate_limit_drops_a_flooding_client_and_only_that_client");
    a_flooding_client_is_limited_alone::<Inform>();
}

/// A relayed INFORM from `giaddr` for the client `chaddr`, through the one relay MAC.
fn relayed_for(giaddr: Ipv4Addr, chaddr: [u8; 6]) -> Vec<u8> {
    let mut inform = Inform::standard().relayed();
    inform.bootp[dhcp::field::GIADDR].copy_from_slice(&giaddr.octets());
    inform.bootp[dhcp::field::CHADDR][..chaddr.len()].copy_from_slice(&chaddr);
    inform.src = giaddr;
    inform.frame()
}

#[test]
fn the_rate_limit_keys_relayed_requests_by_giaddr_and_chaddr_and_direct_ones_by_mac() {
    skip_unless_root!(
        "the_rate_limit_keys_relayed_requests_by_giaddr_and_chaddr_and_direct_ones_by_mac"
    );
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).rate_limit(1, 2));
    let victim = [0x02, 0xaa, 0, 0, 0, 1];
    let flooder = [0x02, 0xbb, 0, 0, 0, 2];
    // A client behind the relay floods: its own bucket empties, and only its own.
    let flood = relayed_for(RELAY_V4, flooder);
    let verdicts: Vec<u32> = (0..4).map(|_| h.run(&flood).verdict).collect();
    assert_eq!(verdicts, [XDP_TX, XDP_TX, XDP_DROP, XDP_DROP], "flooder");
    // Another client behind the same relay (same relay MAC) is answered: not the relay's bucket.
    for _ in 0..2 {
        h.run(&relayed_for(RELAY_V4, victim))
            .assert_answered(Family::V4, "victim behind the relay");
    }
    // The same chaddr through another relay is another key.
    let other_relay = Ipv4Addr::new(198, 18, 6, 1);
    h.run(&relayed_for(other_relay, flooder))
        .assert_answered(Family::V4, "flooder's chaddr through another relay");
    // Direct requests are keyed by their source MAC: the relay's MAC, whose relayed requests
    // filled other buckets, still has its own full bucket when it asks directly.
    let mut direct = Inform::standard();
    direct.l2 = L2::new(eth::BROADCAST, RELAY_MAC);
    h.run(&direct.frame())
        .assert_answered(Family::V4, "direct from the relay's MAC");
    h.run(&direct.frame())
        .assert_answered(Family::V4, "direct from the relay's MAC, 2");
    assert_eq!(
        h.run(&direct.frame()).verdict,
        XDP_DROP,
        "direct, over its burst"
    );
}

#[test]
fn over_limit_pass_hands_the_request_on_untouched_and_counts_it() {
    skip_unless_root!("over_limit_pass_hands_the_request_on_untouched_and_counts_it");
    over_limit_pass_hands_requests_on::<Inform>();
}

#[test]
fn per_interface_rate_bounds_the_answers_of_an_interface_whatever_the_clients() {
    skip_unless_root!("per_interface_rate_bounds_the_answers_of_an_interface_whatever_the_clients");
    the_interface_rate_bounds_all_clients::<Inform>();
}
