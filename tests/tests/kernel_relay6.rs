//! Relayed DHCPv6 (RFC 8415 §19; protocol.md "Relayed"), run in the kernel with
//! BPF_PROG_TEST_RUN: a Relay-forward holding an INFORMATION-REQUEST the direct rules answer
//! gets one Relay-reply per layer around the very REPLY a direct request with the same
//! message gets; anything else in a Relay-forward, and every broken encapsulation, comes back
//! XDP_PASS, byte for byte unchanged, counted.

#[expect(
    dead_code,
    reason = "the helpers shared with kernel_v4/v6 this file does not use"
)]
mod kernel_common;

use std::net::Ipv6Addr;

use dhcproto::{v6 as d6, Decodable, Decoder};
use kernel_common::*;
use lwm2m_xdp::{client, config::WireFormat, ifaces::duid_ll};
use lwm2m_xdp_test_support::frame::ipv6_udp_packet;
use xdp_common::{
    counters::Reason,
    maps::Family,
    wire::{dhcpv6 as dhcp, eth, ipv6, udp, Field},
};

const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x11, 0x22ff, 0xfe33, 0x4455);
/// ff02::1:2 at layer 2 (RFC 2464), where a direct client sends.
const MULTICAST_MAC: [u8; 6] = [0x33, 0x33, 0, 0x01, 0, 0x02];
/// The relay agent's MAC, and its addresses as ISC dhcrelay uses them: it sends from its
/// upper interface's global address (or its link-local one), and names the client's link
/// by the lower interface's global address.
const RELAY_MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x01];
const RELAY_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);
const RELAY_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x77, 1);
const LINK_ADDRESS: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// A second relay (an LDRA under the first one, RFC 6221): link-address unspecified.
const LDRA_PEER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x88, 1);
const XID: [u8; 3] = [0x12, 0x34, 0x56];
const ORO: [u16; 3] = [
    V6_URI_CODE,
    V6_CERT_CODE,
    dhcp::OPT_INFORMATION_REFRESH_TIME,
];

fn information_request() -> Vec<u8> {
    client::build_information_request(XID, &duid_ll(CLIENT_MAC), &ORO)
}

fn option(code: u16, data: &[u8]) -> Vec<u8> {
    [
        &code.to_be_bytes()[..],
        &(data.len() as u16).to_be_bytes(),
        data,
    ]
    .concat()
}

/// One Relay-forward layer (RFC 8415 §9) around `inner`, with `options` before its Relay
/// Message option.
fn relay_forward(
    hop_count: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    options: &[u8],
    inner: &[u8],
) -> Vec<u8> {
    let mut m = vec![dhcp::MSG_RELAY_FORW, hop_count];
    m.extend(link.octets());
    m.extend(peer.octets());
    m.extend(options);
    m.extend(option(dhcp::OPT_RELAY_MSG, inner));
    m
}

/// Hop limit 32, as dhcrelay sends.
const RELAY_HOP_LIMIT: u8 = 32;
/// Where the UDP header and the DHCPv6 message start in the packets built here.
const UDP_AT: usize = ipv6::HDR_LEN;
const MSG_AT: usize = UDP_AT + udp::HDR_LEN;

/// A UDP datagram to port 547 in an IPv6 packet, its checksum computed.
fn ipv6_udp(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, hop_limit: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_udp_packet(src, dst, hop_limit, (sport, dhcp::SERVER_PORT), payload)
}

/// A relayed frame from the relay's MAC to ours.
struct Relayed {
    l2: L2,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    msg: Vec<u8>,
}

impl Relayed {
    fn new(msg: Vec<u8>) -> Relayed {
        Relayed {
            l2: L2::new(SERVER_MAC, RELAY_MAC),
            src: RELAY_GLOBAL,
            dst: Ipv6Addr::from(ipv6::ALL_DHCP_SERVERS),
            msg,
        }
    }

    fn one_hop(inner: &[u8]) -> Relayed {
        Relayed::new(relay_forward(0, LINK_ADDRESS, CLIENT_LL, &[], inner))
    }

    fn frame(&self) -> Vec<u8> {
        let packet = ipv6_udp(
            self.src,
            self.dst,
            dhcp::SERVER_PORT,
            RELAY_HOP_LIMIT,
            &self.msg,
        );
        self.l2.frame(eth::ETHERTYPE_IPV6, &packet)
    }
}

/// The DHCPv6 message (UDP payload) of the REPLY a direct client gets for `inner`.
fn direct_reply(h: &mut Harness, inner: &[u8]) -> Vec<u8> {
    // Hop limit 1, as link-local DHCPv6 is sent.
    let packet = ipv6_udp(
        CLIENT_LL,
        Ipv6Addr::from(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
        dhcp::CLIENT_PORT,
        1,
        inner,
    );
    let frame = L2::new(MULTICAST_MAC, CLIENT_MAC).frame(eth::ETHERTYPE_IPV6, &packet);
    let run = h.run(&frame);
    run.assert_answered(Family::V6, "the direct request");
    run.out[eth::HDR_LEN + MSG_AT..].to_vec()
}

/// One Relay-reply layer as read back: its header fields and options.
#[derive(Debug)]
struct ReplyLayer {
    hop_count: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    /// (code, data) in order.
    options: Vec<(u16, Vec<u8>)>,
}

fn walk(options: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < options.len() {
        let option = &options[at..];
        if option.len() < dhcp::OPT_HDR_LEN {
            return Err(format!("{} stray octets", option.len()));
        }
        let code = be16(option, dhcp::option::CODE);
        let len = usize::from(be16(option, dhcp::option::LENGTH));
        let data = option[dhcp::option::DATA]
            .get(..len)
            .ok_or_else(|| format!("option {code} (len {len}) runs past the end"))?;
        out.push((code, data.to_vec()));
        at += dhcp::OPT_HDR_LEN + len;
    }
    Ok(out)
}

/// The reply frame's headers checked against the relayed `request` (Ethernet back to the
/// relay's MAC from ours with the request's tags; from `source` to the relay's address;
/// UDP 547 -> 547 with a correct checksum); returns the Relay-reply layers, outermost first,
/// and the REPLY inside them.
fn read_relay_reply(
    request: &Relayed,
    source: Ipv6Addr,
    reply: &[u8],
) -> Result<(Vec<ReplyLayer>, Vec<u8>), String> {
    let parsed = parse_l2(reply).ok_or("reply: no layer 2")?;
    let want_l2 = L2::new(RELAY_MAC, SERVER_MAC).tagged(&request.l2.tags);
    if parsed.l2.dst != want_l2.dst
        || parsed.l2.src != want_l2.src
        || parsed.l2.tags != want_l2.tags
    {
        return Err(format!(
            "layer 2 {:?}",
            (parsed.l2.dst, parsed.l2.src, &parsed.l2.tags)
        ));
    }
    if parsed.ethertype != eth::ETHERTYPE_IPV6 {
        return Err("ethertype".into());
    }
    let ip = parsed.l3;
    let addr = |field: Field| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[field]).unwrap());
    if ip[ipv6::field::VER_TC_FLOW.start] != ipv6::VER_TC_FLOW_DEFAULT[0]
        || ip[ipv6::field::NXT_HDR] != ipv6::NEXT_HDR_UDP
        || ip[ipv6::field::HOP_LIMIT] != ipv6::HOP_LIMIT
    {
        return Err(format!(
            "IPv6 header {:02x?}",
            &ip[..ipv6::field::SRC_ADDR.start]
        ));
    }
    let (src, dst) = (addr(ipv6::field::SRC_ADDR), addr(ipv6::field::DST_ADDR));
    if (src, dst) != (source, request.src) {
        return Err(format!("addresses {src} -> {dst}"));
    }
    let plen = usize::from(be16(ip, ipv6::field::LENGTH));
    if ipv6::HDR_LEN + plen != ip.len() {
        return Err(format!(
            "payload length {plen} of {}",
            ip.len() - ipv6::HDR_LEN
        ));
    }
    let udp = &ip[UDP_AT..];
    let ports = (
        be16(udp, udp::field::SRC_PORT),
        be16(udp, udp::field::DST_PORT),
    );
    if ports != (dhcp::SERVER_PORT, dhcp::SERVER_PORT)
        || usize::from(be16(udp, udp::field::LENGTH)) != udp.len()
    {
        return Err(format!("UDP header {:02x?}", &udp[..udp::HDR_LEN]));
    }
    let len = (udp.len() as u32).to_be_bytes();
    let pseudo = [
        &source.octets()[..],
        &request.src.octets(),
        &len,
        &[0, 0, 0, ipv6::NEXT_HDR_UDP],
    ]
    .concat();
    if rfc1071_sum(&[&pseudo, udp]) != 0xffff {
        return Err("UDP checksum".into());
    }
    let mut layers = Vec::new();
    let mut msg = udp[udp::HDR_LEN..].to_vec();
    while msg.first() == Some(&dhcp::MSG_RELAY_REPL) {
        if msg.len() < dhcp::RELAY_HDR_LEN {
            return Err("short Relay-reply".into());
        }
        let a = |field: Field| Ipv6Addr::from(<[u8; 16]>::try_from(&msg[field]).unwrap());
        let layer = ReplyLayer {
            hop_count: msg[dhcp::relay::HOP_COUNT],
            link: a(dhcp::relay::LINK_ADDRESS),
            peer: a(dhcp::relay::PEER_ADDRESS),
            options: walk(&msg[dhcp::RELAY_HDR_LEN..])?,
        };
        let inner = layer
            .options
            .iter()
            .find(|(c, _)| *c == dhcp::OPT_RELAY_MSG)
            .ok_or("Relay-reply without Relay Message")?
            .1
            .clone();
        layers.push(layer);
        msg = inner;
    }
    Ok((layers, msg))
}

/// The REPLY decodes (dhcproto, through the client's decoder) to the URI and certificate.
fn check_reply_content(h: &Harness, msg: &[u8]) {
    let decoded = d6::Message::decode(&mut Decoder::new(msg)).expect("dhcproto decodes the REPLY");
    assert_eq!(decoded.msg_type(), d6::MessageType::Reply);
    let (_, bootstrap) =
        client::decode_v6_reply(h.setup.format, V6_URI_CODE, V6_CERT_CODE, msg, XID)
            .expect("decode_v6_reply");
    assert_eq!(bootstrap.uri.as_deref(), Some(URI));
    assert_eq!(bootstrap.certificate.as_deref(), Some(&h.cert[..]));
}

fn answered(
    h: &mut Harness,
    request: &Relayed,
    source: Ipv6Addr,
    what: &str,
) -> (Vec<ReplyLayer>, Vec<u8>) {
    let frame = request.frame();
    let run = h.run(&frame);
    run.assert_answered(Family::V6, what);
    read_relay_reply(request, source, &run.out).unwrap_or_else(|e| {
        panic!(
            "{what}: {e}\nrequest {}\nreply   {}",
            hex(&frame),
            hex(&run.out)
        )
    })
}

fn expect_pass(h: &mut Harness, frame: &[u8], reason: Reason, what: &str) {
    h.run(frame).assert_passed(frame, Family::V6, reason, what);
}

// ---- Answered ----------------------------------------------------------------------------

#[test]
fn one_hop_is_answered_with_the_direct_reply_inside() {
    skip_unless_root!("one_hop_is_answered_with_the_direct_reply_inside");
    for format in [WireFormat::Draft00, WireFormat::Ietf00] {
        let mut h = Harness::new(Setup::new(format, 1000));
        let inner = information_request();
        let direct = direct_reply(&mut h, &inner);
        let request = Relayed::one_hop(&inner);
        let (layers, reply) = answered(&mut h, &request, SERVER_GLOBAL, "one hop");
        assert_eq!(layers.len(), 1, "{layers:?}");
        let l = &layers[0];
        assert_eq!((l.hop_count, l.link, l.peer), (0, LINK_ADDRESS, CLIENT_LL));
        let codes: Vec<u16> = l.options.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes,
            [dhcp::OPT_RELAY_MSG],
            "no Interface-ID asked, none sent"
        );
        assert!(
            reply == direct,
            "the relayed REPLY differs from the direct one"
        );
        check_reply_content(&h, &reply);
    }
}

#[test]
fn two_hops_with_interface_ids_are_answered_through_both() {
    skip_unless_root!("two_hops_with_interface_ids_are_answered_through_both");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 1000));
    let inner = information_request();
    let direct = direct_reply(&mut h, &inner);
    // The LDRA's Interface-ID (odd length: the offsets after it are odd) and a Remote-ID
    // (37), which is not echoed; the outer relay's own Interface-ID.
    let ldra_iid = b"port-7".to_vec();
    let outer_iid = b"eth1.105".to_vec();
    let ldra = relay_forward(
        0,
        Ipv6Addr::UNSPECIFIED,
        CLIENT_LL,
        &[
            option(dhcp::OPT_REMOTE_ID, &[0, 0, 0, 9, 1, 2, 3]),
            option(dhcp::OPT_INTERFACE_ID, &ldra_iid),
        ]
        .concat(),
        &inner,
    );
    let outer = relay_forward(
        1,
        LINK_ADDRESS,
        LDRA_PEER,
        &option(dhcp::OPT_INTERFACE_ID, &outer_iid),
        &ldra,
    );
    let request = Relayed::new(outer);
    let (layers, reply) = answered(&mut h, &request, SERVER_GLOBAL, "two hops");
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert_eq!(
        (layers[0].hop_count, layers[0].link, layers[0].peer),
        (1, LINK_ADDRESS, LDRA_PEER)
    );
    assert_eq!(
        (layers[1].hop_count, layers[1].link, layers[1].peer),
        (0, Ipv6Addr::UNSPECIFIED, CLIENT_LL)
    );
    let codes = |l: &ReplyLayer| l.options.iter().map(|(c, _)| *c).collect::<Vec<_>>();
    assert_eq!(
        codes(&layers[0]),
        [dhcp::OPT_INTERFACE_ID, dhcp::OPT_RELAY_MSG]
    );
    assert_eq!(
        codes(&layers[1]),
        [dhcp::OPT_INTERFACE_ID, dhcp::OPT_RELAY_MSG]
    );
    assert_eq!(
        layers[0].options[0].1, outer_iid,
        "outer Interface-ID echoed"
    );
    assert_eq!(
        layers[1].options[0].1, ldra_iid,
        "LDRA's Interface-ID echoed"
    );
    assert!(
        reply == direct,
        "the relayed REPLY differs from the direct one"
    );
    check_reply_content(&h, &reply);
    // As many layers as the limit still answer.
    let mut msg = inner.clone();
    for hop in 0..dhcp::MAX_RELAY_HOPS as u8 {
        msg = relay_forward(hop, LINK_ADDRESS, CLIENT_LL, &[], &msg);
    }
    let (layers, reply) = answered(&mut h, &Relayed::new(msg), SERVER_GLOBAL, "at the limit");
    assert_eq!(layers.len(), dhcp::MAX_RELAY_HOPS);
    assert!(reply == direct, "at the limit: the REPLY differs");
}

#[test]
fn the_reply_source_follows_the_relay_source_scope_and_tags_are_kept() {
    skip_unless_root!("the_reply_source_follows_the_relay_source_scope_and_tags_are_kept");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let inner = information_request();
    let mut from_ll = Relayed::one_hop(&inner);
    from_ll.src = RELAY_LL;
    answered(
        &mut h,
        &from_ll,
        SERVER_LL,
        "from the relay's link-local address",
    );
    // To our own addresses and to ff02::1:2 too, and on a VLAN (its entry has no global
    // address: a link-local relay is answered from the VLAN's link-local address).
    for dst in [
        SERVER_LL,
        SERVER_GLOBAL,
        Ipv6Addr::from(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
    ] {
        let mut r = Relayed::one_hop(&inner);
        r.dst = dst;
        answered(&mut h, &r, SERVER_GLOBAL, &format!("to {dst}"));
    }
    let mut tagged = Relayed::one_hop(&inner);
    tagged.src = RELAY_LL;
    tagged.l2 = tagged.l2.tagged(&VLAN42_TAGS);
    answered(&mut h, &tagged, VLAN42_LL, "VLAN 42");
    let mut global_on_vlan = Relayed::one_hop(&inner);
    global_on_vlan.l2 = global_on_vlan.l2.tagged(&VLAN42_TAGS);
    expect_pass(
        &mut h,
        &global_on_vlan.frame(),
        Reason::NoGlobalAddress,
        "from a global relay on a VLAN without a global address",
    );
}

// ---- Passed ------------------------------------------------------------------------------

#[test]
fn what_the_direct_rules_would_not_answer_is_passed_inside_a_relay_forward() {
    skip_unless_root!("what_the_direct_rules_would_not_answer_is_passed_inside_a_relay_forward");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let mut solicit = information_request();
    solicit[dhcp::field::MSG_TYPE] = dhcp::MSG_SOLICIT;
    let f = Relayed::one_hop(&solicit).frame();
    expect_pass(&mut h, &f, Reason::NotInfoRequest, "SOLICIT inside");
    let with_ia = [information_request(), option(dhcp::OPT_IA_NA, &[0; 12])].concat();
    let f = Relayed::one_hop(&with_ia).frame();
    expect_pass(
        &mut h,
        &f,
        Reason::NotForUs,
        "INFORMATION-REQUEST with IA_NA inside",
    );
    let no_lwm2m =
        client::build_information_request(XID, &duid_ll(CLIENT_MAC), &[dhcp::OPT_DNS_SERVERS]);
    let f = Relayed::one_hop(&no_lwm2m).frame();
    expect_pass(&mut h, &f, Reason::NoLwm2m, "no LwM2M code inside");
    let other_server = [
        information_request(),
        option(dhcp::OPT_SERVERID, &duid_ll([2, 9, 9, 9, 9, 9])),
    ]
    .concat();
    let f = Relayed::one_hop(&other_server).frame();
    expect_pass(
        &mut h,
        &f,
        Reason::NotForUs,
        "another server's identifier inside",
    );
    let ours = [
        information_request(),
        option(dhcp::OPT_SERVERID, &duid_ll(SERVER_MAC)),
    ]
    .concat();
    answered(
        &mut h,
        &Relayed::one_hop(&ours),
        SERVER_GLOBAL,
        "our server identifier inside",
    );
    // A Relay-forward from the client port, and a REPLY from a relay: not relay traffic.
    let mut from_client_port = Relayed::one_hop(&information_request());
    from_client_port.l2 = L2::new(MULTICAST_MAC, CLIENT_MAC);
    from_client_port.src = CLIENT_LL;
    let packet = ipv6_udp(
        CLIENT_LL,
        from_client_port.dst,
        dhcp::CLIENT_PORT,
        RELAY_HOP_LIMIT,
        &from_client_port.msg,
    );
    let f = from_client_port.l2.frame(eth::ETHERTYPE_IPV6, &packet);
    expect_pass(&mut h, &f, Reason::NotForUs, "Relay-forward from port 546");
    let mut relay_reply = Relayed::one_hop(&information_request());
    relay_reply.msg[dhcp::relay::MSG_TYPE] = dhcp::MSG_RELAY_REPL;
    expect_pass(
        &mut h,
        &relay_reply.frame(),
        Reason::NotForUs,
        "Relay-reply from a relay",
    );
    // To a unicast address that is not ours.
    let mut elsewhere = Relayed::one_hop(&information_request());
    elsewhere.dst = "2001:db8::99".parse().unwrap();
    expect_pass(
        &mut h,
        &elsewhere.frame(),
        Reason::NotForUs,
        "to another server",
    );
}

#[test]
fn malformed_encapsulations_are_passed_and_counted() {
    skip_unless_root!("malformed_encapsulations_are_passed_and_counted");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let inner = information_request();
    let good = relay_forward(0, LINK_ADDRESS, CLIENT_LL, &[], &inner);
    let rm = dhcp::RELAY_HDR_LEN; // where the Relay Message option starts in `good`
    let mut past_end = good.clone();
    past_end[rm + dhcp::option::LENGTH.end - 1] += 1;
    let mut short_inner = good.clone();
    set_be16(&mut short_inner[rm..], dhcp::option::LENGTH, 3);
    short_inner.truncate(rm + dhcp::OPT_HDR_LEN + 3);
    let missing = [&good[..rm], &option(dhcp::OPT_INTERFACE_ID, b"x")[..]].concat();
    let two_messages = [&good[..], &option(dhcp::OPT_RELAY_MSG, &inner)[..]].concat();
    let short_header = good[..dhcp::RELAY_HDR_LEN - 1].to_vec();
    let inner_relay_short = relay_forward(
        0,
        LINK_ADDRESS,
        CLIENT_LL,
        &[],
        &[dhcp::MSG_RELAY_FORW, 0, 0, 0, 0, 0],
    );
    let two_iids = relay_forward(
        0,
        LINK_ADDRESS,
        CLIENT_LL,
        &[
            option(dhcp::OPT_INTERFACE_ID, b"a"),
            option(dhcp::OPT_INTERFACE_ID, b"b"),
        ]
        .concat(),
        &inner,
    );
    for (what, msg) in [
        ("Relay Message length past the end", past_end),
        ("Relay Message shorter than a message header", short_inner),
        ("Relay Message missing", missing),
        ("two Relay Messages", two_messages),
        ("Relay-forward header cut", short_header),
        ("inner Relay-forward header cut", inner_relay_short),
        ("two Interface-IDs", two_iids),
    ] {
        expect_pass(&mut h, &Relayed::new(msg).frame(), Reason::Malformed, what);
    }
    let mut deep = inner.clone();
    for hop in 0..=dhcp::MAX_RELAY_HOPS as u8 {
        deep = relay_forward(hop, LINK_ADDRESS, CLIENT_LL, &[], &deep);
    }
    expect_pass(
        &mut h,
        &Relayed::new(deep).frame(),
        Reason::RelayTooDeep,
        "one layer past the limit",
    );
    let long_iid = relay_forward(
        0,
        LINK_ADDRESS,
        CLIENT_LL,
        &option(
            dhcp::OPT_INTERFACE_ID,
            // One octet more than the whole option may have.
            &[7; dhcp::MAX_INTERFACE_ID_OPT_LEN - dhcp::OPT_HDR_LEN + 1],
        ),
        &inner,
    );
    expect_pass(
        &mut h,
        &Relayed::new(long_iid).frame(),
        Reason::Unservable,
        "Interface-ID too long to echo",
    );
    for src in ["ff02::1", "ff05::1:3", "::", "::1"] {
        let mut r = Relayed::one_hop(&inner);
        r.src = src.parse().unwrap();
        expect_pass(
            &mut h,
            &r.frame(),
            Reason::BadSource,
            &format!("relay source {src}"),
        );
    }
}

#[test]
fn every_truncation_of_a_relayed_request_is_passed_untouched() {
    skip_unless_root!("every_truncation_of_a_relayed_request_is_passed_untouched");
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300));
    let inner = information_request();
    let ldra = relay_forward(
        0,
        Ipv6Addr::UNSPECIFIED,
        CLIENT_LL,
        &option(dhcp::OPT_INTERFACE_ID, b"p7"),
        &inner,
    );
    let two = Relayed::new(relay_forward(1, LINK_ADDRESS, LDRA_PEER, &[], &ldra));
    let mut tagged = Relayed::one_hop(&inner);
    tagged.src = RELAY_LL;
    tagged.l2 = tagged.l2.tagged(&QINQ_TAGS);
    for (what, request, source) in [
        ("two hops", two, SERVER_GLOBAL),
        ("one hop, QinQ", tagged, QINQ_LL),
    ] {
        answered(&mut h, &request, source, what);
        let frame = request.frame();
        for len in eth::HDR_LEN..frame.len() {
            let cut = &frame[..len];
            h.run(cut)
                .assert_passed_unchanged(cut, &format!("{what} cut to {len} octets"));
        }
    }
}
