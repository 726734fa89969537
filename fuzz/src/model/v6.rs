//! INFORMATION-REQUEST -> REPLY as protocol.md states it (RFC 8415 §16, §18.3.6, §21), plus
//! the program's documented limits (payload <= 2048 octets, ORO <= 128 codes), and relayed
//! DHCPv6 (RFC 8415 §19): up to 4 Relay-forward layers, answered with Relay-replies.

use std::net::Ipv6Addr;

use dhcproto::{v6 as d6, Decodable, Decoder};
use xdp_common::{
    maps::MAX_REQUEST_PAYLOAD,
    wire::{
        dhcpv6::{
            self as dhcp, field, option, relay, MAX_INTERFACE_ID_OPT_LEN, MAX_RELAY_HOPS, MAY_OMIT,
            OPT_HDR_LEN, RELAY_HDR_LEN,
        },
        eth,
        ipv6::{self, field as ip6},
        udp::{self, field as u},
        Field,
    },
};

use super::{
    be16, check_l2, iface, sum, unicast_mac, Expect, CERT_ENCODING_X509, IP_VERSION_6, L2,
};
use crate::{
    ensure,
    served::{Format, Iface, Served, V6_CERT, V6_EXTRA, V6_EXTRA_DATA, V6_IRT, V6_URI},
};

const ALL_DHCP_AGENTS: Ipv6Addr = Ipv6Addr::from_octets(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::from_octets(ipv6::ALL_DHCP_SERVERS);
/// The program's documented limit (protocol.md).
const MAX_ORO_CODES: usize = 128;
/// Where the DHCPv6 message starts in the IPv6 packet (no extension headers).
const MSG_AT: usize = ipv6::HDR_LEN + udp::HDR_LEN;

pub struct Answer {
    peer: Ipv6Addr,
    codes: Vec<u16>,
    /// The whole Client Identifier option, to be echoed.
    client_id: Option<Vec<u8>>,
    udp_len: usize,
    /// The reply's source address.
    source: Ipv6Addr,
    /// Relay-forward layers, outermost first (none: a direct request).
    layers: Vec<Layer>,
    /// The innermost request message's transaction-id.
    xid: [u8; 3],
}

/// What a Relay-reply copies from its Relay-forward.
struct Layer {
    hop_count: u8,
    addresses: [u8; 32],
    /// The whole Interface-ID option.
    interface_id: Option<Vec<u8>>,
}

/// A relay sends from a unicast address to a DHCP servers' group or to us; the reply comes
/// from our address of its scope.
fn relay_source(src: Ipv6Addr, dst: Ipv6Addr, iface: &Iface) -> Result<Ipv6Addr, &'static str> {
    if src.is_multicast() || src.is_unspecified() || src.is_loopback() {
        return Err("relay source not unicast");
    }
    let ours = dst == iface.ll || iface.global == Some(dst);
    if !ours && dst != ALL_DHCP_SERVERS && dst != ALL_DHCP_AGENTS {
        return Err("relayed: not to a servers' group or to us");
    }
    if src.is_unicast_link_local() {
        return Ok(iface.ll);
    }
    iface.global.ok_or("global relay, no global address")
}

/// The layers of a Relay-forward and its innermost message.
fn unwrap(mut msg: &[u8]) -> Result<(Vec<Layer>, &[u8]), &'static str> {
    let mut layers = Vec::new();
    loop {
        if msg.len() < RELAY_HDR_LEN {
            return Err("relay: header cut");
        }
        let (mut inner, mut interface_id) = (None, None);
        let cuts = ["relay: stray octets", "relay: past the end"];
        for opt in options(msg, relay::OPTIONS.start, cuts) {
            let opt = opt?;
            match opt.code {
                dhcp::OPT_RELAY_MSG if inner.is_some() => return Err("relay: two Relay Messages"),
                dhcp::OPT_RELAY_MSG => inner = Some(opt.data()),
                dhcp::OPT_INTERFACE_ID if interface_id.is_some() => {
                    return Err("relay: two Interface-IDs")
                }
                dhcp::OPT_INTERFACE_ID if opt.whole.len() > MAX_INTERFACE_ID_OPT_LEN => {
                    return Err("relay: long Interface-ID")
                }
                dhcp::OPT_INTERFACE_ID => interface_id = Some(opt.whole.to_vec()),
                _ => {}
            }
        }
        let inner = inner.ok_or("relay: no Relay Message")?;
        if inner.len() < dhcp::HDR_LEN {
            return Err("relay: Relay Message under 4 octets");
        }
        layers.push(Layer {
            hop_count: msg[relay::HOP_COUNT],
            addresses: msg[relay::LINK_ADDRESS.start..relay::PEER_ADDRESS.end]
                .try_into()
                .expect("32"),
            interface_id,
        });
        if inner[field::MSG_TYPE] != dhcp::MSG_RELAY_FORW {
            return Ok((layers, inner));
        }
        if layers.len() >= MAX_RELAY_HOPS {
            return Err("relay: too deep");
        }
        msg = inner;
    }
}

fn option_len(served: &Served, code: u16) -> usize {
    match code {
        V6_URI => OPT_HDR_LEN + served.uri.len(),
        // The certificate-encoding octet before the DER.
        V6_CERT if served.format == Format::Ietf00 => OPT_HDR_LEN + 1 + served.cert.len(),
        V6_CERT => OPT_HDR_LEN + served.cert.len(),
        V6_EXTRA => OPT_HDR_LEN + V6_EXTRA_DATA.len(),
        // Seconds, a 32-bit number.
        V6_IRT => OPT_HDR_LEN + 4,
        _ => unreachable!("not a served code"),
    }
}

pub fn expect(served: &Served, frame: &[u8], l2: &L2) -> Expect {
    match decide(served, frame, l2) {
        Ok(answer) => Expect::AnswerV6(answer),
        Err(why) => Expect::Pass(why),
    }
}

fn addr(b: &[u8], f: Field) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&b[f]).expect("16"))
}

/// One option of a walk (`options`).
struct Opt<'a> {
    code: u16,
    /// The whole option: code, length and data.
    whole: &'a [u8],
}

impl<'a> Opt<'a> {
    fn data(&self) -> &'a [u8] {
        &self.whole[option::DATA]
    }
}

/// What a walk says when the options do not fill the message: a tail too short for an
/// option head, an option running past the end.
type Cuts = [&'static str; 2];
const CUTS: Cuts = ["stray octets", "option past the end"];

/// The one option walk: the options of `msg` from `at` on, which must fill it exactly; one of
/// `cuts` ends it where they do not.
fn options(
    msg: &[u8],
    mut at: usize,
    cuts: Cuts,
) -> impl Iterator<Item = Result<Opt<'_>, &'static str>> {
    std::iter::from_fn(move || {
        if at >= msg.len() {
            return None;
        }
        let Some(head) = msg.get(at..at + OPT_HDR_LEN) else {
            at = msg.len();
            return Some(Err(cuts[0]));
        };
        let len = usize::from(be16(head, option::LENGTH.start));
        let Some(whole) = msg.get(at..at + OPT_HDR_LEN + len) else {
            at = msg.len();
            return Some(Err(cuts[1]));
        };
        at += whole.len();
        let code = be16(head, option::CODE.start);
        Some(Ok(Opt { code, whole }))
    })
}

/// The RFC 8200 §8.1 sum over the pseudo-header (from the IPv6 header `ip`) and `udp`.
fn udp_sum(ip: &[u8], udp: &[u8]) -> u16 {
    let len = (udp.len() as u32).to_be_bytes();
    let addresses = &ip[ip6::SRC_ADDR.start..ip6::DST_ADDR.end];
    sum(&[addresses, &len, &[0, 0, 0, ipv6::NEXT_HDR_UDP], udp])
}

fn decide(served: &Served, frame: &[u8], l2: &L2) -> Result<Answer, &'static str> {
    let ip = &frame[l2.l3_off..];
    if ip.len() < MSG_AT {
        return Err("ipv6: short");
    }
    if ip[ip6::VER_TC_FLOW.start] >> 4 != IP_VERSION_6 {
        return Err("ipv6: version");
    }
    if ip[ip6::NXT_HDR] != ipv6::NEXT_HDR_UDP {
        return Err("ipv6: extension header or not UDP");
    }
    if be16(ip, ipv6::HDR_LEN + u::DST_PORT.start) != dhcp::SERVER_PORT {
        return Err("not to port 547");
    }
    let src = addr(ip, ip6::SRC_ADDR);
    let dst = addr(ip, ip6::DST_ADDR);
    let sport = be16(ip, ipv6::HDR_LEN + u::SRC_PORT.start);
    let relayed = sport == dhcp::SERVER_PORT;
    let source = if relayed {
        let iface = iface(served, l2).ok_or("VLAN not configured")?;
        relay_source(src, dst, iface)?
    } else {
        if dst != ALL_DHCP_AGENTS || sport != dhcp::CLIENT_PORT {
            return Err("not to ff02::1:2 from port 546");
        }
        if !src.is_unicast_link_local() {
            return Err("source not link-local unicast");
        }
        iface(served, l2).map_or(Ipv6Addr::UNSPECIFIED, |i| i.ll)
    };
    let payload_len = usize::from(be16(ip, ip6::LENGTH.start));
    if ipv6::HDR_LEN + payload_len > ip.len() {
        return Err("ipv6: payload length");
    }
    let udp = &ip[ipv6::HDR_LEN..ipv6::HDR_LEN + payload_len];
    if udp.len() < udp::HDR_LEN + dhcp::HDR_LEN
        || usize::from(be16(udp, u::LENGTH.start)) != udp.len()
    {
        return Err("udp: length");
    }
    if udp.len() - udp::HDR_LEN > MAX_REQUEST_PAYLOAD {
        return Err("request over 2048 octets");
    }
    if be16(udp, u::CHECKSUM.start) == 0 || udp_sum(ip, udp) != 0xffff {
        return Err("udp: checksum");
    }
    if !unicast_mac(l2.src) {
        return Err("group source MAC");
    }
    iface(served, l2).ok_or("VLAN not configured")?;
    let msg = &udp[udp::HDR_LEN..];
    if relayed != (msg[field::MSG_TYPE] == dhcp::MSG_RELAY_FORW) {
        return Err("Relay-forward not from a relay, or a relay's other message");
    }
    let (layers, msg) = if relayed {
        unwrap(msg)?
    } else {
        (Vec::new(), msg)
    };
    if msg[field::MSG_TYPE] != dhcp::MSG_INFORMATION_REQUEST {
        return Err("not INFORMATION-REQUEST");
    }
    let opts = walk(msg)?;
    if opts.server_id.as_ref().is_some_and(|d| *d != served.duid()) {
        return Err("Server Identifier not ours");
    }
    if opts.oro.len() > MAX_ORO_CODES {
        return Err("ORO over 128 codes");
    }
    let mut codes = Vec::new();
    let mut unservable = false;
    for &code in &opts.oro {
        let served_code =
            [V6_URI, V6_CERT, V6_EXTRA].contains(&code) || (code == V6_IRT && served.irt.is_some());
        if served_code {
            if !codes.contains(&code) {
                codes.push(code);
            }
        } else if !MAY_OMIT.contains(&code) && code != V6_IRT {
            unservable = true;
        }
    }
    if !codes.contains(&V6_URI) && !codes.contains(&V6_CERT) {
        return Err("ORO without an LwM2M code");
    }
    if unservable && served.complete {
        return Err("complete: ORO asks for what the fast path cannot serve");
    }
    let block: usize = codes.iter().map(|&c| option_len(served, c)).sum();
    // Each Relay-reply: its header, the Relay Message option's head, the Interface-ID.
    let prefix: usize = layers
        .iter()
        .map(|l| RELAY_HDR_LEN + OPT_HDR_LEN + l.interface_id.as_ref().map_or(0, Vec::len))
        .sum();
    let udp_len = udp::HDR_LEN
        + prefix
        + dhcp::HDR_LEN
        + OPT_HDR_LEN
        + served.duid().len()
        + block
        + opts.client_id.as_ref().map_or(0, Vec::len);
    if ipv6::HDR_LEN + udp_len > usize::from(served.mtu) {
        return Err("reply over the MTU");
    }
    Ok(Answer {
        peer: src,
        codes,
        client_id: opts.client_id,
        udp_len,
        source,
        layers,
        xid: msg[field::TRANSACTION_ID].try_into().expect("3"),
    })
}

#[derive(Default)]
struct Options {
    client_id: Option<Vec<u8>>,
    server_id: Option<Vec<u8>>,
    oro: Vec<u16>,
}

/// Top-level options after msg-type and transaction-id; they must fill the message exactly.
fn walk(msg: &[u8]) -> Result<Options, &'static str> {
    let mut o = Options::default();
    let mut seen_oro = false;
    let cuts = ["options: stray octets", "options: past the end"];
    for opt in options(msg, field::OPTIONS.start, cuts) {
        let opt = opt?;
        let (data, len) = (opt.data(), opt.data().len());
        match opt.code {
            dhcp::OPT_IA_NA | dhcp::OPT_IA_TA | dhcp::OPT_IA_PD => {
                return Err("IA option: not information-only")
            }
            // The program's limit on the Client Identifier it echoes (protocol.md).
            dhcp::OPT_CLIENTID if o.client_id.is_some() || len > dhcp::MAX_ECHOED_CLIENT_ID_LEN => {
                return Err("Client Identifier twice / long")
            }
            dhcp::OPT_CLIENTID => o.client_id = Some(opt.whole.to_vec()),
            dhcp::OPT_SERVERID if o.server_id.is_some() || len == 0 => {
                return Err("Server Identifier twice / empty")
            }
            dhcp::OPT_SERVERID => o.server_id = Some(data.to_vec()),
            dhcp::OPT_ORO if len % 2 != 0 => return Err("ORO of odd length"),
            dhcp::OPT_ORO if seen_oro => return Err("ORO twice"),
            dhcp::OPT_ORO => {
                seen_oro = true;
                o.oro = data.chunks(2).map(|c| be16(c, 0)).collect();
            }
            _ => {}
        }
    }
    Ok(o)
}

pub fn check(served: &Served, a: &Answer, request: &[u8], reply: &[u8]) -> Result<(), String> {
    let l2 = super::parse_l2(request).expect("the model parsed it");
    check_l2(&l2, reply, eth::ETHERTYPE_IPV6)?;
    let ip = &reply[l2.l3_off..];
    ensure!(
        ip.len() == ipv6::HDR_LEN + a.udp_len,
        "IPv6 packet of {} octets, want {}",
        ip.len(),
        ipv6::HDR_LEN + a.udp_len
    );
    ensure!(ip[ip6::VER_TC_FLOW.start] >> 4 == IP_VERSION_6, "version");
    let payload_len = be16(ip, ip6::LENGTH.start);
    ensure!(
        usize::from(payload_len) == a.udp_len,
        "payload length {payload_len}"
    );
    ensure!(
        ip[ip6::NXT_HDR] == ipv6::NEXT_HDR_UDP && ip[ip6::HOP_LIMIT] > 0,
        "next header {} / hop limit {}",
        ip[ip6::NXT_HDR],
        ip[ip6::HOP_LIMIT]
    );
    let (src, dst) = (addr(ip, ip6::SRC_ADDR), addr(ip, ip6::DST_ADDR));
    ensure!(src == a.source, "source {src}");
    ensure!(dst == a.peer, "destination {dst}");
    let udp = &ip[ipv6::HDR_LEN..];
    let want_dport = if a.layers.is_empty() {
        dhcp::CLIENT_PORT
    } else {
        dhcp::SERVER_PORT
    };
    let (sport, dport) = (be16(udp, u::SRC_PORT.start), be16(udp, u::DST_PORT.start));
    ensure!(
        sport == dhcp::SERVER_PORT && dport == want_dport,
        "ports {sport} -> {dport}"
    );
    ensure!(
        usize::from(be16(udp, u::LENGTH.start)) == udp.len(),
        "UDP length"
    );
    ensure!(
        be16(udp, u::CHECKSUM.start) != 0 && udp_sum(ip, udp) == 0xffff,
        "UDP checksum"
    );
    let mut msg = &udp[udp::HDR_LEN..];
    for (k, layer) in a.layers.iter().enumerate() {
        ensure!(
            msg.len() >= RELAY_HDR_LEN && msg[relay::MSG_TYPE] == dhcp::MSG_RELAY_REPL,
            "layer {k}: not a Relay-reply"
        );
        ensure!(
            msg[relay::HOP_COUNT] == layer.hop_count
                && msg[relay::LINK_ADDRESS.start..relay::PEER_ADDRESS.end] == layer.addresses,
            "layer {k}: hop-count or addresses changed"
        );
        let mut inner = None;
        let mut others = Vec::new();
        for opt in options(msg, relay::OPTIONS.start, CUTS) {
            let opt = opt.map_err(|cut| format!("layer {k}: {cut}"))?;
            if opt.code == dhcp::OPT_RELAY_MSG {
                inner = Some(opt.data());
            } else {
                others.push(opt.whole.to_vec());
            }
        }
        let want: Vec<Vec<u8>> = layer.interface_id.iter().cloned().collect();
        ensure!(
            others == want,
            "layer {k}: options besides the Relay Message"
        );
        msg = inner.ok_or("no Relay Message")?;
    }
    let decoded =
        d6::Message::decode(&mut Decoder::new(msg)).map_err(|e| format!("dhcproto: {e}"))?;
    ensure!(
        decoded.msg_type() == d6::MessageType::Reply,
        "message type {:?}",
        decoded.msg_type()
    );
    ensure!(
        msg[field::TRANSACTION_ID] == a.xid,
        "transaction-id changed"
    );
    let list = options(msg, field::OPTIONS.start, CUTS)
        .map(|opt| opt.map(|o| (o.code, o.whole)))
        .collect::<Result<Vec<(u16, &[u8])>, _>>()?;
    let count = |code: u16| list.iter().filter(|o| o.0 == code).count();
    let data = |code: u16| {
        list.iter()
            .find(|o| o.0 == code)
            .map(|o| &o.1[option::DATA])
    };
    ensure!(
        count(dhcp::OPT_SERVERID) == 1 && data(dhcp::OPT_SERVERID) == Some(&served.duid()[..]),
        "Server Identifier"
    );
    match &a.client_id {
        Some(id) => ensure!(
            count(dhcp::OPT_CLIENTID) == 1
                && list
                    .iter()
                    .any(|o| o.0 == dhcp::OPT_CLIENTID && o.1 == &id[..]),
            "Client Identifier not echoed as sent"
        ),
        None => ensure!(
            count(dhcp::OPT_CLIENTID) == 0,
            "Client Identifier not asked for"
        ),
    }
    for code in [V6_URI, V6_CERT, V6_EXTRA, V6_IRT] {
        if !a.codes.contains(&code) {
            ensure!(count(code) == 0, "option {code} not requested but sent");
            continue;
        }
        ensure!(count(code) == 1, "option {code} {} times", count(code));
        let d = data(code).expect("counted");
        let want: Vec<u8> = match code {
            V6_URI => served.uri.as_bytes().to_vec(),
            V6_CERT if served.format == Format::Ietf00 => {
                [&[CERT_ENCODING_X509][..], &served.cert].concat()
            }
            V6_CERT => served.cert.clone(),
            V6_EXTRA => V6_EXTRA_DATA.to_vec(),
            _ => served.irt.expect("served").to_be_bytes().to_vec(),
        };
        ensure!(d == want, "option {code} data differs");
    }
    let stray: Vec<u16> = list
        .iter()
        .map(|o| o.0)
        .filter(|c| {
            ![
                dhcp::OPT_CLIENTID,
                dhcp::OPT_SERVERID,
                V6_URI,
                V6_CERT,
                V6_EXTRA,
                V6_IRT,
            ]
            .contains(c)
        })
        .collect();
    ensure!(stray.is_empty(), "options {stray:?} in the REPLY");
    Ok(())
}
