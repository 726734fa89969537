//! DHCPv6 INFORMATION-REQUEST -> REPLY, run in the kernel with BPF_PROG_TEST_RUN
//! (protocol.md, issue 4 "Must show"). Every reply is checked field by field by
//! `check_reply`, which derives what a correct REPLY looks like from the request frame alone;
//! every request the fast path must not answer comes back XDP_PASS, byte for byte unchanged,
//! counted under the right reason.

#[macro_use]
mod kernel_common;

use std::net::Ipv6Addr;

use dhcproto::{v6 as d6, Decodable, Decoder};
use kernel_common::{checks::*, protocol::*, *};
use lwm2m_xdp::{client, config::WireFormat, csum};
use lwm2m_xdp_test_support::frame::ipv6_udp_packet;
use proptest::prelude::*;
use xdp_common::{
    counters::Reason,
    maps::Family,
    wire::{dhcpv6 as dhcp, eth, ipv6, udp, Field},
};

const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x11, 0x22ff, 0xfe33, 0x4455);
/// ff02::1:2 at layer 2 (RFC 2464).
const MULTICAST_MAC: [u8; 6] = [0x33, 0x33, 0, 0x01, 0, 0x02];
const XID: [u8; 3] = [0xab, 0xcd, 0xef];
/// Both LwM2M options, the extra option, and the Information Refresh Time.
const ORO: [u16; 4] = [
    V6_URI_CODE,
    V6_CERT_CODE,
    V6_EXTRA_CODE,
    dhcp::OPT_INFORMATION_REFRESH_TIME,
];
const SIZES: [usize; 3] = [300, 1000, 1150];

/// DUID-LL (RFC 8415 §11.4): type 3, hardware type 1, the MAC.
fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    [
        &dhcp::DUID_TYPE_LL.to_be_bytes()[..],
        &dhcp::HW_TYPE_ETHERNET.to_be_bytes(),
        &mac,
    ]
    .concat()
}

/// `[[dhcpv6.extra_option]]` data: 2001:db8::53.
const V6_EXTRA_DATA: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
];

/// The IP version of a packet, the high nibble of its first octet.
fn version(packet: &[u8]) -> u8 {
    packet[ipv6::field::VER_TC_FLOW.start] >> 4
}

/// DHCPv6's rules for the family-generic helpers of kernel_common.
struct V6;

impl Protocol for V6 {
    const FAMILY: Family = Family::V6;
    const ETHERTYPE: u16 = eth::ETHERTYPE_IPV6;
    const IP_UDP_LEN: usize = MSG_AT;

    fn check(h: &Harness, request: &[u8], reply: &[u8]) -> Result<(), String> {
        check_reply(&h.setup, &h.cert, request, reply)
    }

    fn refresh_checksums(packet: &mut [u8]) {
        refresh_ipv6_checksum(packet);
    }
}

// ---- IPv6 packets and checksums ----------------------------------------------------------

/// Where the UDP header and the DHCPv6 message start in the packets built here (no extension
/// headers).
const UDP_AT: usize = ipv6::HDR_LEN;
const MSG_AT: usize = UDP_AT + udp::HDR_LEN;
/// These UDP header fields' places in such a packet.
const UDP_LENGTH: Field = UDP_AT + udp::field::LENGTH.start..UDP_AT + udp::field::LENGTH.end;
const UDP_CHECKSUM: Field = UDP_AT + udp::field::CHECKSUM.start..UDP_AT + udp::field::CHECKSUM.end;

/// Recompute the UDP checksum of `packet` (IPv6, UDP right after the fixed header) from its
/// current addresses and UDP length, when those allow.
fn refresh_ipv6_checksum(packet: &mut [u8]) {
    if packet.len() < MSG_AT || packet[ipv6::field::NXT_HDR] != ipv6::NEXT_HDR_UDP {
        return;
    }
    let udp_len = usize::from(be16(packet, UDP_LENGTH));
    if udp_len < udp::HDR_LEN || packet.len() < UDP_AT + udp_len {
        return;
    }
    let src: [u8; 16] = packet[ipv6::field::SRC_ADDR].try_into().expect("16");
    let dst: [u8; 16] = packet[ipv6::field::DST_ADDR].try_into().expect("16");
    let seg = &mut packet[UDP_AT..UDP_AT + udp_len];
    seg[udp::field::CHECKSUM].fill(0);
    let sum = csum::ipv6_udp_checksum(src, dst, seg);
    set_be16(seg, udp::field::CHECKSUM, sum);
}

/// UDP over IPv6 (RFC 8200 §8.1): pseudo-header (src, dst, 32-bit length, 3 zeros, 17).
fn udp6_checksum_ok(src: [u8; 16], dst: [u8; 16], segment: &[u8]) -> bool {
    let len = (segment.len() as u32).to_be_bytes();
    let pseudo = [&src[..], &dst[..], &len[..], &[0, 0, 0, ipv6::NEXT_HDR_UDP]].concat();
    rfc1071_sum(&[&pseudo, segment]) == 0xffff
}

// ---- Requests ---------------------------------------------------------------------------

/// An INFORMATION-REQUEST and the frame around it.
#[derive(Clone)]
struct InfoRequest {
    l2: L2,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    sport: u16,
    msg: Vec<u8>,
}

impl InfoRequest {
    /// From the client's link-local address to ff02::1:2, asking for `oro`.
    fn new(oro: &[u16]) -> InfoRequest {
        InfoRequest {
            l2: L2::new(MULTICAST_MAC, CLIENT_MAC),
            src: CLIENT_LL,
            dst: Ipv6Addr::from(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
            sport: dhcp::CLIENT_PORT,
            msg: client::build_information_request(XID, &duid_ll(CLIENT_MAC), oro),
        }
    }

    fn standard() -> InfoRequest {
        InfoRequest::new(&ORO)
    }

    /// With one more option at the end.
    fn with_option(mut self, code: u16, data: &[u8]) -> InfoRequest {
        self.msg.extend(code.to_be_bytes());
        self.msg.extend((data.len() as u16).to_be_bytes());
        self.msg.extend(data);
        self
    }

    /// Without any instance of `code`.
    fn without_option(mut self, code: u16) -> InfoRequest {
        let (options, _) = walk_options(&self.msg[dhcp::HDR_LEN..]).expect("well-formed");
        let cuts: Vec<(usize, usize)> = options
            .iter()
            .filter(|o| o.code == code)
            .map(|o| (dhcp::HDR_LEN + o.at, dhcp::OPT_HDR_LEN + o.data.len()))
            .collect();
        for (at, len) in cuts.into_iter().rev() {
            self.msg.drain(at..at + len);
        }
        self
    }
}

impl Request for InfoRequest {
    type Protocol = V6;

    fn from_client(mac: [u8; 6]) -> InfoRequest {
        InfoRequest {
            l2: L2::new(MULTICAST_MAC, mac),
            msg: client::build_information_request(XID, &duid_ll(mac), &ORO),
            ..InfoRequest::standard()
        }
    }

    fn l2(&self) -> &L2 {
        &self.l2
    }

    fn l2_mut(&mut self) -> &mut L2 {
        &mut self.l2
    }

    fn packet(&self) -> Vec<u8> {
        // Hop limit 1, as link-local DHCPv6 is sent.
        let ports = (self.sport, dhcp::SERVER_PORT);
        ipv6_udp_packet(self.src, self.dst, 1, ports, &self.msg)
    }
}

/// One DHCPv6 option: `at` is an offset after msg-type and transaction-id.
type V6Option<'a> = DhcpOption<'a, u16>;

/// The top-level options, which must fill `options` exactly; the second value is the number of
/// stray octets at the end (0 for a well-formed message). Err when an option runs past the end.
fn walk_options(options: &[u8]) -> Result<(Vec<V6Option<'_>>, usize), String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + dhcp::OPT_HDR_LEN <= options.len() {
        let option = &options[at..];
        let code = be16(option, dhcp::option::CODE);
        let len = usize::from(be16(option, dhcp::option::LENGTH));
        let data = option[dhcp::option::DATA]
            .get(..len)
            .ok_or_else(|| format!("option {code} (len {len}) runs past the end"))?;
        out.push(V6Option { at, code, data });
        at += dhcp::OPT_HDR_LEN + len;
    }
    Ok((out, options.len() - at))
}

// ---- What a correct REPLY is --------------------------------------------------------------

const SERVED: [u16; 4] = [
    V6_URI_CODE,
    V6_CERT_CODE,
    V6_EXTRA_CODE,
    dhcp::OPT_INFORMATION_REFRESH_TIME,
];
/// Codes an ORO may list that the REPLY may leave out without being incomplete.
const MAY_OMIT: [u16; 2] = [dhcp::OPT_SOL_MAX_RT, dhcp::OPT_INF_MAX_RT];

/// UDP length of the REPLY to `InfoRequest::new(oro)` from the wire formats alone.
fn reply_udp_len(format: WireFormat, cert_len: usize, oro: &[u16]) -> usize {
    let option = |data_len: usize| dhcp::OPT_HDR_LEN + data_len;
    let cert = option(cert_len + usize::from(format == WireFormat::Ietf00));
    let asked = |code| oro.contains(&code);
    let duid_len = duid_ll(SERVER_MAC).len();
    udp::HDR_LEN + dhcp::HDR_LEN
        + option(duid_len) // Server Identifier: DUID-LL
        + if asked(V6_URI_CODE) { option(URI.len()) } else { 0 }
        + if asked(V6_CERT_CODE) { cert } else { 0 }
        + if asked(V6_EXTRA_CODE) { option(V6_EXTRA_DATA.len()) } else { 0 }
        + if asked(dhcp::OPT_INFORMATION_REFRESH_TIME) { option(4) } else { 0 }
        + option(duid_len) // Client Identifier echoed
}

/// Checks that `reply` is the REPLY protocol.md prescribes for `request` under `setup`, and
/// that `request` was one the fast path may answer at all.
fn check_reply(setup: &Setup, cert: &[u8], request: &[u8], reply: &[u8]) -> Result<(), String> {
    // The request, taken apart independently of the program.
    let req = parse_request(request, eth::ETHERTYPE_IPV6)?;
    let rip = req.l3;
    ensure!(
        rip.len() >= MSG_AT && version(rip) == ipv6::VERSION,
        "answered a non-IPv6 packet"
    );
    ensure!(
        rip[ipv6::field::NXT_HDR] == ipv6::NEXT_HDR_UDP,
        "answered next header {}",
        rip[ipv6::field::NXT_HDR]
    );
    let payload_len = usize::from(be16(rip, ipv6::field::LENGTH));
    let udp_len = usize::from(be16(rip, UDP_LENGTH));
    ensure!(
        ipv6::HDR_LEN + payload_len <= rip.len() && udp_len == payload_len,
        "answered bad lengths"
    );
    ensure!(
        udp_len >= udp::HDR_LEN + dhcp::HDR_LEN,
        "answered a short message"
    );
    let rsrc: [u8; 16] = rip[ipv6::field::SRC_ADDR].try_into().unwrap();
    let rdst: [u8; 16] = rip[ipv6::field::DST_ADDR].try_into().unwrap();
    ensure!(
        rdst == ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        "answered a request to {:?}",
        Ipv6Addr::from(rdst)
    );
    let seg = &rip[UDP_AT..UDP_AT + udp_len];
    ensure!(
        seg[udp::field::CHECKSUM] != [0, 0],
        "answered a zero UDP checksum"
    );
    ensure!(
        udp6_checksum_ok(rsrc, rdst, seg),
        "answered a bad UDP checksum"
    );
    ensure!(
        be16(seg, udp::field::SRC_PORT) == dhcp::CLIENT_PORT,
        "answered from port {}",
        be16(seg, udp::field::SRC_PORT)
    );
    ensure!(
        be16(seg, udp::field::DST_PORT) == dhcp::SERVER_PORT,
        "answered a datagram not to 547"
    );
    let rmsg = &seg[udp::HDR_LEN..];
    ensure!(
        rmsg[dhcp::field::MSG_TYPE] == dhcp::MSG_INFORMATION_REQUEST,
        "answered msg-type {}",
        rmsg[dhcp::field::MSG_TYPE]
    );
    let (req_opts, stray) = walk_options(&rmsg[dhcp::HDR_LEN..])
        .map_err(|e| format!("answered malformed options: {e}"))?;
    ensure!(
        stray == 0,
        "answered with {stray} stray octets after the options"
    );
    let instances = |code: u16| req_opts.iter().filter(move |o| o.code == code);
    for code in [dhcp::OPT_IA_NA, dhcp::OPT_IA_TA, dhcp::OPT_IA_PD] {
        ensure!(
            instances(code).next().is_none(),
            "answered a request with option {code}"
        );
    }
    let single = |code: u16| single(&req_opts, code);
    let our_duid = duid_ll(SERVER_MAC);
    if let Some(sid) = single(dhcp::OPT_SERVERID)? {
        ensure!(
            sid.data == our_duid,
            "answered a request for server {:02x?}",
            sid.data
        );
    }
    let oro_data: &[u8] = single(dhcp::OPT_ORO)?.map_or(&[], |o| o.data);
    ensure!(
        oro_data.len().is_multiple_of(2),
        "answered an ORO of odd length"
    );
    let oro: Vec<u16> = oro_data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    check_asked(
        "ORO",
        &oro,
        [V6_URI_CODE, V6_CERT_CODE],
        setup.policy,
        &SERVED,
        &MAY_OMIT,
    )?;
    let client_id = single(dhcp::OPT_CLIENTID)?.map(|o| o.data.to_vec());
    let (outer, inner) = req.l2.vlan_ids();
    let (_, server_ll) =
        server_addresses(outer, inner).ok_or("answered on an unconfigured VLAN")?;

    // Layer 2.
    let rep = parse_reply(&req, reply)?;

    // IPv6 and UDP.
    let ip = rep.l3;
    ensure!(
        ip.len() >= MSG_AT + dhcp::HDR_LEN,
        "reply of {} octets",
        ip.len()
    );
    ensure!(
        version(ip) == ipv6::VERSION,
        "reply version {}",
        version(ip)
    );
    let plen = usize::from(be16(ip, ipv6::field::LENGTH));
    ensure!(
        ipv6::HDR_LEN + plen == ip.len(),
        "payload length {plen}, frame carries {}",
        ip.len() - ipv6::HDR_LEN
    );
    ensure!(
        ip[ipv6::field::NXT_HDR] == ipv6::NEXT_HDR_UDP && ip[ipv6::field::HOP_LIMIT] > 0,
        "next header {} hop limit {}",
        ip[ipv6::field::NXT_HDR],
        ip[ipv6::field::HOP_LIMIT]
    );
    let addr = |field: Field| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[field]).unwrap());
    ensure!(
        ip[ipv6::field::SRC_ADDR] == server_ll.octets(),
        "reply from {}, expected {server_ll}",
        addr(ipv6::field::SRC_ADDR)
    );
    ensure!(
        ip[ipv6::field::DST_ADDR] == rsrc,
        "reply to {}, request came from {}",
        addr(ipv6::field::DST_ADDR),
        Ipv6Addr::from(rsrc)
    );
    ensure!(
        ip.len() <= usize::from(setup.mtu),
        "reply of {} octets over the MTU {}",
        ip.len(),
        setup.mtu
    );
    let udp = &ip[UDP_AT..];
    ensure!(
        be16(udp, udp::field::SRC_PORT) == dhcp::SERVER_PORT
            && be16(udp, udp::field::DST_PORT) == dhcp::CLIENT_PORT,
        "reply ports"
    );
    ensure!(
        usize::from(be16(udp, udp::field::LENGTH)) == udp.len(),
        "UDP length"
    );
    ensure!(udp[udp::field::CHECKSUM] != [0, 0], "reply UDP checksum 0");
    ensure!(
        udp6_checksum_ok(server_ll.octets(), rsrc, udp),
        "reply UDP checksum wrong"
    );

    // The message through dhcproto, then raw.
    let msg = &udp[udp::HDR_LEN..];
    let decoded =
        d6::Message::decode(&mut Decoder::new(msg)).map_err(|e| format!("dhcproto: {e}"))?;
    ensure!(
        decoded.msg_type() == d6::MessageType::Reply,
        "msg-type {:?}",
        decoded.msg_type()
    );
    ensure!(
        decoded.xid() == rmsg[dhcp::field::TRANSACTION_ID],
        "transaction-id {:02x?}",
        decoded.xid()
    );
    let opts6 = decoded.opts();
    ensure!(
        matches!(opts6.get(d6::OptionCode::ServerId), Some(d6::DhcpOption::ServerId(d)) if *d == our_duid),
        "dhcproto: server identifier {:?}",
        opts6.get(d6::OptionCode::ServerId)
    );
    match &client_id {
        Some(id) => ensure!(
            matches!(opts6.get(d6::OptionCode::ClientId), Some(d6::DhcpOption::ClientId(d)) if d == id),
            "dhcproto: client identifier {:?}",
            opts6.get(d6::OptionCode::ClientId)
        ),
        None => ensure!(
            opts6.get(d6::OptionCode::ClientId).is_none(),
            "client identifier the request did not have"
        ),
    }
    let irt = opts6.get(d6::OptionCode::InformationRefreshTime);
    if oro.contains(&dhcp::OPT_INFORMATION_REFRESH_TIME) {
        ensure!(
            // (dhcproto 0.12 decodes option 32 as an unknown option.)
            match irt {
                Some(d6::DhcpOption::InformationRefreshTime(t)) => *t == IRT_SECONDS,
                Some(d6::DhcpOption::Unknown(u)) => u.data() == IRT_SECONDS.to_be_bytes(),
                _ => false,
            },
            "dhcproto: information refresh time {irt:?}"
        );
    } else {
        ensure!(
            irt.is_none(),
            "information refresh time not requested but sent"
        );
    }
    let (opts, stray) =
        walk_options(&msg[dhcp::HDR_LEN..]).map_err(|e| format!("reply options: {e}"))?;
    ensure!(stray == 0, "{stray} stray octets at the end of the reply");
    let count = |code: u16| opts.iter().filter(|o| o.code == code).count();
    for o in &opts {
        ensure!(
            o.code == dhcp::OPT_SERVERID
                || o.code == dhcp::OPT_CLIENTID
                || SERVED.contains(&o.code),
            "reply carries option {} nobody configured",
            o.code
        );
        ensure!(
            count(o.code) == 1,
            "option {} appears {} times",
            o.code,
            count(o.code)
        );
        ensure!(
            o.code != dhcp::OPT_STATUS_CODE,
            "status code in a fast-path reply"
        );
    }
    ensure!(count(dhcp::OPT_SERVERID) == 1, "no server identifier");
    for code in SERVED {
        let asked = oro.contains(&code);
        ensure!(
            asked == (count(code) == 1),
            "option {code}: requested {asked}, present {}",
            count(code)
        );
    }
    if let Some(extra) = opts.iter().find(|o| o.code == V6_EXTRA_CODE) {
        ensure!(
            extra.data == V6_EXTRA_DATA,
            "extra option {:02x?}",
            extra.data
        );
    }
    let xid: [u8; 3] = rmsg[dhcp::field::TRANSACTION_ID].try_into().unwrap();
    let (info, bootstrap) =
        client::decode_v6_reply(setup.format, V6_URI_CODE, V6_CERT_CODE, msg, xid)
            .map_err(|e| format!("decode_v6_reply: {e}"))?;
    ensure!(
        info.server_duid == our_duid,
        "server DUID {:02x?}",
        info.server_duid
    );
    if oro.contains(&V6_CERT_CODE) {
        let data = opts.iter().find(|o| o.code == V6_CERT_CODE).unwrap().data;
        let expect = match setup.format {
            WireFormat::Ietf00 => [&[4u8][..], cert].concat(),
            _ => cert.to_vec(),
        };
        ensure!(data == expect, "certificate option data");
    }
    check_bootstrap(
        &bootstrap,
        cert,
        oro.contains(&V6_CERT_CODE),
        oro.contains(&V6_URI_CODE),
    )
}

/// Run `request`, expect a REPLY, check it, and return the reply frame.
fn expect_reply(h: &mut Harness, request: &InfoRequest, what: &str) -> Vec<u8> {
    expect_answer::<V6>(h, &request.frame(), what)
}

/// Source and destination of a reply frame.
fn reply_addresses(frame: &[u8]) -> (Ipv6Addr, Ipv6Addr) {
    let ip = parse_l2(frame).expect("reply").l3;
    let addr = |field: Field| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[field]).unwrap());
    (addr(ipv6::field::SRC_ADDR), addr(ipv6::field::DST_ADDR))
}

/// The reply's option codes in order.
fn reply_codes(frame: &[u8]) -> Vec<u16> {
    let ip = parse_l2(frame).expect("reply").l3;
    walk_options(&ip[MSG_AT + dhcp::HDR_LEN..])
        .unwrap()
        .0
        .iter()
        .map(|o| o.code)
        .collect()
}

// ---- Answered ---------------------------------------------------------------------------

#[test]
fn information_request_is_answered_in_every_wire_format_and_certificate_size() {
    skip_unless_root!("information_request_is_answered_in_every_wire_format_and_certificate_size");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let duid = duid_ll(SERVER_MAC);
    let server_id = [
        &dhcp::OPT_SERVERID.to_be_bytes()[..],
        &(duid.len() as u16).to_be_bytes(),
        &duid,
    ]
    .concat();
    for size in SIZES {
        h.each_format(&Setup::new(WireFormat::Draft00, size), |h, format| {
            let what = format!("{format}, {size}-octet certificate");
            let reply = expect_reply(h, &InfoRequest::standard(), &what);
            let ip = parse_l2(&reply).unwrap().l3;
            assert_eq!(
                ip.len(),
                ipv6::HDR_LEN + reply_udp_len(format, size, &ORO),
                "{what}: size"
            );
            assert_eq!(reply_addresses(&reply), (SERVER_LL, CLIENT_LL), "{what}");
            assert_eq!(
                ip[MSG_AT + dhcp::HDR_LEN..][..server_id.len()],
                server_id[..],
                "{what}: Server Identifier first"
            );
        });
    }
}

#[test]
fn a_1150_octet_certificate_fits_the_ipv6_minimum_mtu() {
    skip_unless_root!("a_1150_octet_certificate_fits_the_ipv6_minimum_mtu");
    let oro = [V6_URI_CODE, V6_CERT_CODE];
    let setup = Setup::new(WireFormat::Draft00, 1150).mtu(1280);
    Harness::new(setup.clone()).each_format(&setup, |h, format| {
        let reply = expect_reply(h, &InfoRequest::new(&oro), &format!("{format}, MTU 1280"));
        assert!(parse_l2(&reply).unwrap().l3.len() <= ipv6::MIN_MTU);
    });
}

#[test]
fn information_refresh_time_is_sent_only_when_requested() {
    skip_unless_root!("information_refresh_time_is_sent_only_when_requested");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 300));
    let with = expect_reply(&mut h, &InfoRequest::standard(), "ORO with 32");
    assert!(reply_codes(&with).contains(&dhcp::OPT_INFORMATION_REFRESH_TIME));
    let without = expect_reply(&mut h, &InfoRequest::new(&[V6_CERT_CODE]), "ORO without 32");
    assert_eq!(
        reply_codes(&without),
        [dhcp::OPT_SERVERID, V6_CERT_CODE, dhcp::OPT_CLIENTID]
    );
    // No Client Identifier in the request: none in the reply.
    let anonymous = InfoRequest::standard().without_option(dhcp::OPT_CLIENTID);
    let reply = expect_reply(&mut h, &anonymous, "no Client Identifier");
    assert!(!reply_codes(&reply).contains(&dhcp::OPT_CLIENTID));
}

#[test]
fn vlan_tagged_request_is_answered_from_the_vlan_link_local_address_with_its_tags() {
    skip_unless_root!(
        "vlan_tagged_request_is_answered_from_the_vlan_link_local_address_with_its_tags"
    );
    let mut h = Harness::new(Setup::new(WireFormat::Ietf00, 1000));
    let cases: [(&str, Vec<Tag>, Ipv6Addr); 3] = [
        ("802.1Q 42", vec![(eth::ETHERTYPE_VLAN, 42)], VLAN42_LL),
        (
            "802.1Q 42 with PCP",
            vec![(eth::ETHERTYPE_VLAN, 0x6000 | 42)],
            VLAN42_LL,
        ),
        ("QinQ 100/42", QINQ_TAGS.to_vec(), QINQ_LL),
    ];
    for (what, tags, address) in cases {
        let reply = expect_reply(&mut h, &InfoRequest::standard().tagged(&tags), what);
        assert_eq!(parse_l2(&reply).unwrap().l2.tags, tags, "{what}");
        assert_eq!(reply_addresses(&reply), (address, CLIENT_LL), "{what}");
    }
    unconfigured_vlans_are_passed(&mut h, InfoRequest::standard);
}

#[test]
fn server_identifier_naming_us_is_answered_and_any_other_is_passed() {
    skip_unless_root!("server_identifier_naming_us_is_answered_and_any_other_is_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let ours = duid_ll(SERVER_MAC);
    expect_reply(
        &mut h,
        &InfoRequest::standard().with_option(dhcp::OPT_SERVERID, &ours),
        "our DUID",
    );
    let mut last_differs = ours.clone();
    *last_differs.last_mut().unwrap() ^= 1;
    let mut first_differs = ours.clone();
    first_differs[0] = 0x80;
    let longer = [&ours[..], &[0]].concat();
    for (what, duid) in [
        ("DUID differing in its last octet", last_differs),
        ("DUID differing in its first octet", first_differs),
        ("our DUID and one more octet", longer),
        ("a prefix of our DUID", ours[..9].to_vec()),
    ] {
        let frame = InfoRequest::standard()
            .with_option(dhcp::OPT_SERVERID, &duid)
            .frame();
        expect_pass::<V6>(&mut h, &frame, Reason::NotForUs, what);
    }
}

/// A configured 128-octet DUID (the longest, RFC 8415 §11.1), compared word by word in
/// place: equal is answered, a difference in any word (first, last, the partial ones) passed.
#[test]
fn a_longest_server_duid_is_compared_in_every_octet() {
    skip_unless_root!("a_longest_server_duid_is_compared_in_every_octet");
    let setup = Setup::new(WireFormat::Draft00, 300);
    let mut h = Harness::new(setup.clone());
    let ours: Vec<u8> = [0, 2, 0, 0, 0x7e, 0xd9]
        .into_iter()
        .chain((0..122).map(|i: u8| i.wrapping_mul(37) ^ 0x5a))
        .collect();
    assert_eq!(ours.len(), dhcp::MAX_DUID_LEN);
    let toml = setup.toml().replace(
        "[dhcpv6]\nenabled = true\n",
        &format!(
            "[dhcpv6]\nenabled = true\nserver_duid = \"{}\"\n",
            hex(&ours)
        ),
    );
    let generation = h.generation(&toml, setup.mtu);
    h.dp.install_generation(&generation).expect("install");
    let frame = InfoRequest::standard()
        .with_option(dhcp::OPT_SERVERID, &ours)
        .frame();
    let run = h.run(&frame);
    assert_eq!(run.verdict, XDP_TX, "our 128-octet DUID");
    run.assert_answered(Family::V6, "our 128-octet DUID");
    for at in [0, 7, 8, 9, 63, 120, 126, 127] {
        let mut other = ours.clone();
        other[at] ^= 0x10;
        let frame = InfoRequest::standard()
            .with_option(dhcp::OPT_SERVERID, &other)
            .frame();
        expect_pass::<V6>(
            &mut h,
            &frame,
            Reason::NotForUs,
            &format!("octet {at} differs"),
        );
    }
    let frame = InfoRequest::standard()
        .with_option(dhcp::OPT_SERVERID, &ours[..127])
        .frame();
    expect_pass::<V6>(&mut h, &frame, Reason::NotForUs, "127 octets of it");
}

#[test]
fn client_identifiers_of_any_length_come_back_unaltered() {
    skip_unless_root!("client_identifiers_of_any_length_come_back_unaltered");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 300));
    for len in [1, 2, 3, 127, 128, dhcp::MAX_ECHOED_CLIENT_ID_LEN] {
        let id: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(29) ^ 0xa5)
            .collect();
        let request = InfoRequest::standard()
            .without_option(dhcp::OPT_CLIENTID)
            .with_option(dhcp::OPT_CLIENTID, &id);
        let reply = expect_reply(
            &mut h,
            &request,
            &format!("Client Identifier of {len} octets"),
        );
        let ip = parse_l2(&reply).unwrap().l3;
        assert!(
            ip.ends_with(&id),
            "{len}: the Client Identifier is the last option"
        );
    }
    // Longer than any DUID (RFC 8415 §11.1 allows 128): passed on.
    let long = InfoRequest::standard()
        .without_option(dhcp::OPT_CLIENTID)
        .with_option(dhcp::OPT_CLIENTID, &[7; 256])
        .frame();
    let run = h.run(&long);
    run.assert_passed_unchanged(&long, "Client Identifier of 256 octets");
    assert_eq!(run.reason(Family::V6, Reason::Received), 1);
}

#[test]
fn largest_accepted_request_payload_is_answered() {
    skip_unless_root!("largest_accepted_request_payload_is_answered");
    // The program takes UDP payloads up to 2048 octets (REQ_MAX) and passes longer ones as
    // too big. A request of exactly 2048 octets is valid (a long Vendor Class, say).
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).mtu(9000));
    let base = InfoRequest::standard();
    let filler = |total: usize| vec![0x5a; total - base.msg.len() - 4];
    let largest = base
        .clone()
        .with_option(dhcp::OPT_VENDOR_CLASS, &filler(2048));
    assert_eq!(largest.msg.len(), 2048);
    expect_reply(&mut h, &largest, "request of 2048 octets");
    let over = base
        .clone()
        .with_option(dhcp::OPT_VENDOR_CLASS, &filler(2049));
    expect_pass::<V6>(
        &mut h,
        &over.frame(),
        Reason::TooBig,
        "request of 2049 octets",
    );
}

#[test]
fn the_reply_checker_rejects_any_changed_octet_of_a_correct_reply() {
    skip_unless_root!("the_reply_checker_rejects_any_changed_octet_of_a_correct_reply");
    // check_reply has teeth: change any one octet of the layer 2 header or of the DHCPv6
    // message of a correct REPLY, fix the checksum, and it must say what is wrong.
    let setup = Setup::new(WireFormat::Draft00, 300);
    let on_vlan42 = InfoRequest::standard().tagged(&VLAN42_TAGS).frame();
    Harness::new(setup.clone()).each_format(&setup, |h, format| {
        let what = format!("{format}, VLAN 42");
        assert_every_changed_octet_rejected::<V6>(h, &on_vlan42, &what);
    });
}

// ---- Not answered -------------------------------------------------------------------------

#[test]
fn discard_rules_pass_the_request() {
    skip_unless_root!("discard_rules_pass_the_request");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let ia = [0u8; 12];
    for (what, code) in [
        ("IA_NA", dhcp::OPT_IA_NA),
        ("IA_TA", dhcp::OPT_IA_TA),
        ("IA_PD", dhcp::OPT_IA_PD),
    ] {
        let data = if code == dhcp::OPT_IA_TA {
            &ia[..4]
        } else {
            &ia[..]
        };
        let frame = InfoRequest::standard().with_option(code, data).frame();
        expect_pass::<V6>(&mut h, &frame, Reason::NotForUs, what);
    }
    let mut unicast = InfoRequest::standard();
    unicast.dst = SERVER_LL;
    unicast.l2 = L2::new(SERVER_MAC, CLIENT_MAC);
    expect_pass::<V6>(
        &mut h,
        &unicast.frame(),
        Reason::NotForUs,
        "unicast destination",
    );
    let mut all_nodes = InfoRequest::standard();
    all_nodes.dst = "ff02::1".parse().unwrap();
    expect_pass::<V6>(&mut h, &all_nodes.frame(), Reason::NotForUs, "to ff02::1");
    let mut relay_forward = InfoRequest::standard();
    relay_forward.msg[dhcp::field::MSG_TYPE] = dhcp::MSG_RELAY_FORW;
    expect_pass::<V6>(
        &mut h,
        &relay_forward.frame(),
        Reason::NotForUs,
        "Relay-forward",
    );
    let mut from_relay_port = InfoRequest::standard();
    from_relay_port.sport = dhcp::SERVER_PORT;
    expect_pass::<V6>(
        &mut h,
        &from_relay_port.frame(),
        Reason::NotForUs,
        "from port 547",
    );
    let mut solicit = InfoRequest::standard();
    solicit.msg[dhcp::field::MSG_TYPE] = dhcp::MSG_SOLICIT;
    expect_pass::<V6>(&mut h, &solicit.frame(), Reason::NotInfoRequest, "SOLICIT");
    let mut reply = InfoRequest::standard();
    reply.msg[dhcp::field::MSG_TYPE] = dhcp::MSG_REPLY;
    expect_pass::<V6>(
        &mut h,
        &reply.frame(),
        Reason::NotInfoRequest,
        "REPLY to port 547",
    );
    // An extension header before UDP: not a request the fast path looks into.
    let hop_by_hop = InfoRequest::standard().frame_with_packet(|p| {
        // Next header UDP, PadN.
        p.splice(UDP_AT..UDP_AT, [ipv6::NEXT_HDR_UDP, 0, 1, 4, 0, 0, 0, 0]);
        p[ipv6::field::NXT_HDR] = ipv6::NEXT_HDR_HOP_BY_HOP;
        let plen = (p.len() - ipv6::HDR_LEN) as u16;
        set_be16(p, ipv6::field::LENGTH, plen);
    });
    let run = h.run(&hop_by_hop);
    run.assert_passed_unchanged(&hop_by_hop, "hop-by-hop options header");
    assert_eq!(run.reason(Family::V6, Reason::Received), 0, "hop-by-hop");
}

#[test]
fn requests_from_group_or_zero_source_macs_are_passed() {
    skip_unless_root!("requests_from_group_or_zero_source_macs_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    group_source_macs_are_passed(&mut h, || vec![InfoRequest::standard()]);
}

#[test]
fn requests_from_where_no_client_can_be_are_passed() {
    skip_unless_root!("requests_from_where_no_client_can_be_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    // A direct client asks from its link-local unicast address, nothing else.
    for src in [
        "ff02::1",
        "ff02::1:2",
        "::",
        "::1",
        "2001:db8::10",
        "fec0::1",
    ] {
        let mut request = InfoRequest::standard();
        request.src = src.parse().unwrap();
        expect_pass::<V6>(
            &mut h,
            &request.frame(),
            Reason::BadSource,
            &format!("direct from {src}"),
        );
    }
    // A relay agent (port 547) asks from a unicast address: from a group or unspecified
    // source the request is counted as such; from a unicast one it is the normal server's.
    for src in ["ff02::1", "ff05::1:3", "::", "::1"] {
        let mut relayed = InfoRequest::standard();
        relayed.sport = dhcp::SERVER_PORT;
        relayed.src = src.parse().unwrap();
        expect_pass::<V6>(
            &mut h,
            &relayed.frame(),
            Reason::BadSource,
            &format!("relayed from {src}"),
        );
    }
    let mut relayed = InfoRequest::standard();
    relayed.sport = dhcp::SERVER_PORT;
    relayed.src = "2001:db8::5:1".parse().unwrap();
    expect_pass::<V6>(
        &mut h,
        &relayed.frame(),
        Reason::NotForUs,
        "relayed from a unicast address",
    );
    // Any link-local unicast source is a client (fe80::/10, not only fe80::/64).
    let mut request = InfoRequest::standard();
    request.src = "febf::1".parse().unwrap();
    expect_reply(&mut h, &request, "from febf::1");
}

#[test]
fn a_request_of_many_small_options_is_walked() {
    skip_unless_root!("a_request_of_many_small_options_is_walked");
    // 200 empty options of an unassigned code: each is walked, and their number alone never
    // makes a request malformed.
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).mtu(9000));
    let mut request = InfoRequest::standard();
    for _ in 0..200 {
        request = request.with_option(65000, &[]);
    }
    expect_reply(&mut h, &request, "200 empty options");
}

#[test]
fn options_past_the_walk_in_the_frame_are_found_in_the_copy() {
    skip_unless_root!("options_past_the_walk_in_the_frame_are_found_in_the_copy");
    // As for DHCPv4: the Client Identifier and the ORO behind runs of empty options of every
    // length around the steps the walk takes in the frame are found and answered alike, and
    // a message that ends right at that bound is complete.
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).mtu(9000));
    for before in 0..=48 {
        let mut request = InfoRequest::standard()
            .without_option(dhcp::OPT_CLIENTID)
            .without_option(dhcp::OPT_ORO);
        for _ in 0..before {
            request = request.with_option(65000, &[]);
        }
        let oro: Vec<u8> = ORO.iter().flat_map(|c| c.to_be_bytes()).collect();
        request = request
            .with_option(dhcp::OPT_CLIENTID, &duid_ll(CLIENT_MAC))
            .with_option(dhcp::OPT_ORO, &oro);
        expect_reply(&mut h, &request, &format!("ORO after {before} options"));
    }
}

#[test]
fn requests_without_lwm2m_codes_are_passed() {
    skip_unless_root!("requests_without_lwm2m_codes_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let no_oro = InfoRequest::standard().without_option(dhcp::OPT_ORO);
    expect_pass::<V6>(&mut h, &no_oro.frame(), Reason::NoLwm2m, "no ORO");
    let other_codes = InfoRequest::new(&[V6_EXTRA_CODE, dhcp::OPT_INFORMATION_REFRESH_TIME]);
    expect_pass::<V6>(
        &mut h,
        &other_codes.frame(),
        Reason::NoLwm2m,
        "ORO without LwM2M codes",
    );
    expect_pass::<V6>(
        &mut h,
        &InfoRequest::new(&[]).frame(),
        Reason::NoLwm2m,
        "empty ORO",
    );
}

#[test]
fn request_policy_decides_about_codes_the_fast_path_cannot_serve() {
    skip_unless_root!("request_policy_decides_about_codes_the_fast_path_cannot_serve");
    let oro = [V6_URI_CODE, V6_CERT_CODE, dhcp::OPT_DOMAIN_LIST];
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    expect_pass::<V6>(
        &mut h,
        &InfoRequest::new(&oro).frame(),
        Reason::Unservable,
        "complete, code 24",
    );
    // SOL_MAX_RT / INF_MAX_RT may be left out: no reason to pass.
    let may_omit = [V6_CERT_CODE, dhcp::OPT_SOL_MAX_RT, dhcp::OPT_INF_MAX_RT];
    let reply = expect_reply(&mut h, &InfoRequest::new(&may_omit), "complete, 82 and 83");
    assert_eq!(
        reply_codes(&reply),
        [dhcp::OPT_SERVERID, V6_CERT_CODE, dhcp::OPT_CLIENTID]
    );

    h.install(Setup::new(WireFormat::Draft00, 1000).policy("lwm2m-only"));
    let reply = expect_reply(&mut h, &InfoRequest::new(&oro), "lwm2m-only, code 24");
    assert!(!reply_codes(&reply).contains(&dhcp::OPT_DOMAIN_LIST));
    expect_pass::<V6>(
        &mut h,
        &InfoRequest::new(&[dhcp::OPT_DOMAIN_LIST]).frame(),
        Reason::NoLwm2m,
        "lwm2m-only, no LwM2M code",
    );
}

#[test]
fn reply_over_the_mtu_is_passed() {
    skip_unless_root!("reply_over_the_mtu_is_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1400).mtu(1280));
    expect_pass::<V6>(
        &mut h,
        &InfoRequest::standard().frame(),
        Reason::TooBig,
        "1400-octet certificate, MTU 1280",
    );
    // To the octet: a reply exactly the MTU is sent, one octet more is not.
    let size = (ipv6::HDR_LEN + reply_udp_len(WireFormat::Draft00, 1000, &ORO)) as u16;
    h.install(Setup::new(WireFormat::Draft00, 1000).mtu(size));
    expect_reply(&mut h, &InfoRequest::standard(), "reply = MTU");
    h.install(Setup::new(WireFormat::Draft00, 1000).mtu(size - 1));
    expect_pass::<V6>(
        &mut h,
        &InfoRequest::standard().frame(),
        Reason::TooBig,
        "reply = MTU + 1",
    );
}

#[test]
fn malformed_requests_are_passed() {
    skip_unless_root!("malformed_requests_are_passed");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let request = InfoRequest::standard();
    let set_len = |p: &mut Vec<u8>, field: Field, delta: i32| {
        let l = be16(p, field.clone()) as i32 + delta;
        set_be16(p, field, l as u16);
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "zero UDP checksum",
            request.frame_with_packet(|p| p[UDP_CHECKSUM].fill(0)),
        ),
        (
            "bad UDP checksum",
            request.frame_with_packet(|p| p[UDP_CHECKSUM.end - 1] ^= 1),
        ),
        (
            "payload changed under the checksum",
            request.frame_with_packet(|p| p[MSG_AT + dhcp::field::TRANSACTION_ID.start] ^= 0x40),
        ),
        (
            "UDP length 1 short",
            request.frame_with_packet(|p| {
                set_len(p, UDP_LENGTH, -1);
                refresh_ipv6_checksum(p);
            }),
        ),
        (
            "payload length past the frame",
            request.frame_with_packet(|p| {
                set_len(p, ipv6::field::LENGTH, 2);
                set_len(p, UDP_LENGTH, 2);
                refresh_ipv6_checksum(p);
            }),
        ),
        (
            "option length past the end",
            InfoRequest {
                msg: [
                    &request.msg[..],
                    &dhcp::OPT_VENDOR_CLASS.to_be_bytes(),
                    &200u16.to_be_bytes(),
                    &[1, 2, 3],
                ]
                .concat(),
                ..request.clone()
            }
            .frame(),
        ),
        (
            "stray octets after the last option",
            InfoRequest {
                msg: [
                    &request.msg[..],
                    &dhcp::OPT_VENDOR_CLASS.to_be_bytes(),
                    &[0],
                ]
                .concat(),
                ..request.clone()
            }
            .frame(),
        ),
        (
            "ORO of odd length",
            request
                .clone()
                .without_option(dhcp::OPT_ORO)
                .with_option(dhcp::OPT_ORO, &[0xfd, 0xe9, 0xfd])
                .frame(),
        ),
        (
            "empty Server Identifier",
            request.clone().with_option(dhcp::OPT_SERVERID, &[]).frame(),
        ),
        (
            "not version 6",
            request.frame_with_packet(|p| p[ipv6::field::VER_TC_FLOW.start] = 0x40),
        ),
    ];
    for (what, frame) in cases {
        expect_pass::<V6>(&mut h, &frame, Reason::Malformed, what);
    }
}

#[test]
fn every_truncation_of_a_request_is_passed_untouched() {
    skip_unless_root!("every_truncation_of_a_request_is_passed_untouched");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    for (what, request) in [
        ("plain", InfoRequest::standard()),
        ("QinQ", InfoRequest::standard().tagged(&QINQ_TAGS)),
    ] {
        assert_every_truncation_passed::<V6>(&mut h, &request.frame(), what);
    }
}

// ---- Properties -----------------------------------------------------------------------------

fn property_bases() -> Vec<InfoRequest> {
    vec![
        InfoRequest::standard(),
        InfoRequest::standard()
            .tagged(&QINQ_TAGS)
            .with_option(dhcp::OPT_SERVERID, &duid_ll(SERVER_MAC)),
        InfoRequest::new(&[V6_CERT_CODE, dhcp::OPT_INF_MAX_RT]).tagged(&VLAN42_TAGS),
    ]
}

#[test]
fn random_mutations_are_passed_untouched_or_answered_correctly() {
    skip_unless_root!("random_mutations_are_passed_untouched_or_answered_correctly");
    let h = Harness::new(Setup::new(WireFormat::Ietf00, 1000));
    random_mutations_are_passed_or_answered(h, &property_bases());
}

#[test]
fn random_mutations_with_checksum_fixed_are_passed_untouched_or_answered_correctly() {
    skip_unless_root!(
        "random_mutations_with_checksum_fixed_are_passed_untouched_or_answered_correctly"
    );
    let h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    // Mostly in the DHCPv6 message, sometimes anywhere in the frame.
    random_mutations_with_checksums_fixed_are_passed_or_answered(
        h,
        &property_bases(),
        any::<bool>(),
        |base, anywhere| {
            let msg = parse_l2(base).unwrap().l3_off + MSG_AT;
            if anywhere {
                0..base.len()
            } else {
                msg..base.len()
            }
        },
    );
}

// ---- Rate limit -------------------------------------------------------------------------

#[test]
fn the_rate_limit_drops_a_flooding_client_and_only_that_client() {
    skip_unless_root!("the_rate_limit_drops_a_flooding_client_and_only_that_client");
    a_flooding_client_is_limited_alone::<InfoRequest>();
}

#[test]
fn over_limit_pass_hands_the_request_on_untouched_and_counts_it() {
    skip_unless_root!("over_limit_pass_hands_the_request_on_untouched_and_counts_it");
    over_limit_pass_hands_requests_on::<InfoRequest>();
}

#[test]
fn per_interface_rate_bounds_the_answers_of_an_interface_whatever_the_clients() {
    skip_unless_root!("per_interface_rate_bounds_the_answers_of_an_interface_whatever_the_clients");
    the_interface_rate_bounds_all_clients::<InfoRequest>();
}

#[test]
fn over_limit_pass_and_the_interface_limit_apply_to_dhcpv6() {
    skip_unless_root!("over_limit_pass_and_the_interface_limit_apply_to_dhcpv6");
    let setup = Setup::new(WireFormat::Draft00, 300)
        .rate_limit(1, 1)
        .rate_limit_keys("per_interface_rate = 2\nover_limit = \"pass\"");
    let mut h = Harness::new(setup);
    let frame = InfoRequest::standard().frame();
    h.run(&frame)
        .assert_answered(Family::V6, "within the burst");
    expect_pass::<V6>(
        &mut h,
        &frame,
        Reason::PassedRateLimited,
        "over the client's limit",
    );
    // Another client: its own bucket is full, and the interface has one answer left.
    let mut other = InfoRequest::standard();
    other.l2.src = [0x02, 0x71, 0, 0, 0, 1];
    h.run(&other.frame())
        .assert_answered(Family::V6, "a second client");
    let mut third = InfoRequest::standard();
    third.l2.src = [0x02, 0x71, 0, 0, 0, 2];
    expect_pass::<V6>(
        &mut h,
        &third.frame(),
        Reason::PassedRateLimited,
        "over the interface's limit",
    );
}
