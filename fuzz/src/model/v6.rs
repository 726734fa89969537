//! INFORMATION-REQUEST -> REPLY as protocol.md states it (RFC 8415 §16, §18.3.6, §21), plus
//! the program's documented limits (payload <= 2048 octets, ORO <= 128 codes), and relayed
//! DHCPv6 (RFC 8415 §19): up to 4 Relay-forward layers, answered with Relay-replies.

use std::net::Ipv6Addr;

use dhcproto::{v6 as d6, Decodable, Decoder};
use xdp_common::maps::MAX_REQUEST_PAYLOAD;

use super::{be16, check_l2, iface, sum, unicast_mac, Expect, ETHERTYPE_IPV6, L2};
use crate::{
    ensure,
    served::{Format, Iface, Served, V6_CERT, V6_EXTRA, V6_EXTRA_DATA, V6_IRT, V6_URI},
};

const ALL_DHCP_AGENTS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);
const MAX_RELAY_HOPS: usize = 4;
const MAX_INTERFACE_ID_OPT_LEN: usize = 256;
const MAX_ORO_CODES: usize = 128;
/// SOL_MAX_RT and INF_MAX_RT: a reply may leave them out (RFC 8415 §21.24/25).
const MAY_OMIT: [u16; 2] = [82, 83];

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
        if msg.len() < 34 {
            return Err("relay: header cut");
        }
        let (mut inner, mut interface_id) = (None, None);
        let mut at = 34;
        while at < msg.len() {
            if at + 4 > msg.len() {
                return Err("relay: stray octets");
            }
            let code = be16(msg, at);
            let len = usize::from(be16(msg, at + 2));
            let data = msg.get(at + 4..at + 4 + len).ok_or("relay: past the end")?;
            match code {
                9 if inner.is_some() => return Err("relay: two Relay Messages"),
                9 => inner = Some(data),
                18 if interface_id.is_some() => return Err("relay: two Interface-IDs"),
                18 if 4 + len > MAX_INTERFACE_ID_OPT_LEN => return Err("relay: long Interface-ID"),
                18 => interface_id = Some(msg[at..at + 4 + len].to_vec()),
                _ => {}
            }
            at += 4 + len;
        }
        let inner = inner.ok_or("relay: no Relay Message")?;
        if inner.len() < 4 {
            return Err("relay: Relay Message under 4 octets");
        }
        layers.push(Layer {
            hop_count: msg[1],
            addresses: msg[2..34].try_into().expect("32"),
            interface_id,
        });
        if inner[0] != 12 {
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
        V6_URI => 4 + served.uri.len(),
        V6_CERT if served.format == Format::Ietf00 => 5 + served.cert.len(),
        V6_CERT => 4 + served.cert.len(),
        V6_EXTRA => 4 + 16,
        V6_IRT => 4 + 4,
        _ => unreachable!("not a served code"),
    }
}

pub fn expect(served: &Served, frame: &[u8], l2: &L2) -> Expect {
    match decide(served, frame, l2) {
        Ok(answer) => Expect::AnswerV6(answer),
        Err(why) => Expect::Pass(why),
    }
}

fn addr_at(b: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&b[at..at + 16]).expect("16"))
}

fn decide(served: &Served, frame: &[u8], l2: &L2) -> Result<Answer, &'static str> {
    let ip = &frame[l2.l3_off..];
    if ip.len() < 48 {
        return Err("ipv6: short");
    }
    if ip[0] >> 4 != 6 {
        return Err("ipv6: version");
    }
    if ip[6] != 17 {
        return Err("ipv6: extension header or not UDP");
    }
    if be16(ip, 42) != 547 {
        return Err("not to port 547");
    }
    let src = addr_at(ip, 8);
    let dst = addr_at(ip, 24);
    let sport = be16(ip, 40);
    let relayed = sport == 547;
    let source = if relayed {
        let iface = iface(served, l2).ok_or("VLAN not configured")?;
        relay_source(src, dst, iface)?
    } else {
        if dst != ALL_DHCP_AGENTS || sport != 546 {
            return Err("not to ff02::1:2 from port 546");
        }
        if !src.is_unicast_link_local() {
            return Err("source not link-local unicast");
        }
        iface(served, l2).map_or(Ipv6Addr::UNSPECIFIED, |i| i.ll)
    };
    let payload_len = usize::from(be16(ip, 4));
    if 40 + payload_len > ip.len() {
        return Err("ipv6: payload length");
    }
    let udp = &ip[40..40 + payload_len];
    if udp.len() < 12 || usize::from(be16(udp, 4)) != udp.len() {
        return Err("udp: length");
    }
    if udp.len() - 8 > MAX_REQUEST_PAYLOAD {
        return Err("request over 2048 octets");
    }
    let len = (udp.len() as u32).to_be_bytes();
    if be16(udp, 6) == 0 || sum(&[&ip[8..40], &len, &[0, 0, 0, 17], udp]) != 0xffff {
        return Err("udp: checksum");
    }
    if !unicast_mac(l2.src) {
        return Err("group source MAC");
    }
    iface(served, l2).ok_or("VLAN not configured")?;
    let msg = &udp[8..];
    if relayed != (msg[0] == 12) {
        return Err("Relay-forward not from a relay, or a relay's other message");
    }
    let (layers, msg) = if relayed {
        unwrap(msg)?
    } else {
        (Vec::new(), msg)
    };
    if msg[0] != 11 {
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
    let prefix: usize = layers
        .iter()
        .map(|l| 34 + 4 + l.interface_id.as_ref().map_or(0, Vec::len))
        .sum();
    let udp_len = 8
        + prefix
        + 4
        + 4
        + served.duid().len()
        + block
        + opts.client_id.as_ref().map_or(0, Vec::len);
    if 40 + udp_len > usize::from(served.mtu) {
        return Err("reply over the MTU");
    }
    Ok(Answer {
        peer: src,
        codes,
        client_id: opts.client_id,
        udp_len,
        source,
        layers,
        xid: msg[1..4].try_into().expect("3"),
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
    let mut at = 4;
    while at < msg.len() {
        if at + 4 > msg.len() {
            return Err("options: stray octets");
        }
        let code = be16(msg, at);
        let len = usize::from(be16(msg, at + 2));
        let data = msg
            .get(at + 4..at + 4 + len)
            .ok_or("options: past the end")?;
        match code {
            3 | 4 | 25 => return Err("IA option: not information-only"),
            1 if o.client_id.is_some() || len > 255 => {
                return Err("Client Identifier twice / long")
            }
            1 => o.client_id = Some(msg[at..at + 4 + len].to_vec()),
            2 if o.server_id.is_some() || len == 0 => {
                return Err("Server Identifier twice / empty")
            }
            2 => o.server_id = Some(data.to_vec()),
            6 if len % 2 != 0 => return Err("ORO of odd length"),
            6 if seen_oro => return Err("ORO twice"),
            6 => {
                seen_oro = true;
                o.oro = data.chunks(2).map(|c| be16(c, 0)).collect();
            }
            _ => {}
        }
        at += 4 + len;
    }
    Ok(o)
}

pub fn check(served: &Served, a: &Answer, request: &[u8], reply: &[u8]) -> Result<(), String> {
    let l2 = super::parse_l2(request).expect("the model parsed it");
    check_l2(&l2, reply, ETHERTYPE_IPV6)?;
    let ip = &reply[l2.l3_off..];
    ensure!(
        ip.len() == 40 + a.udp_len,
        "IPv6 packet of {} octets, want {}",
        ip.len(),
        40 + a.udp_len
    );
    ensure!(ip[0] >> 4 == 6, "version");
    ensure!(
        usize::from(be16(ip, 4)) == a.udp_len,
        "payload length {}",
        be16(ip, 4)
    );
    ensure!(
        ip[6] == 17 && ip[7] > 0,
        "next header {} / hop limit {}",
        ip[6],
        ip[7]
    );
    ensure!(addr_at(ip, 8) == a.source, "source {}", addr_at(ip, 8));
    ensure!(addr_at(ip, 24) == a.peer, "destination {}", addr_at(ip, 24));
    let udp = &ip[40..];
    let dport = if a.layers.is_empty() { 546 } else { 547 };
    ensure!(
        be16(udp, 0) == 547 && be16(udp, 2) == dport,
        "ports {} -> {}",
        be16(udp, 0),
        be16(udp, 2)
    );
    ensure!(usize::from(be16(udp, 4)) == udp.len(), "UDP length");
    let len = (udp.len() as u32).to_be_bytes();
    ensure!(
        be16(udp, 6) != 0 && sum(&[&ip[8..40], &len, &[0, 0, 0, 17], udp]) == 0xffff,
        "UDP checksum"
    );
    let mut msg = &udp[8..];
    for (k, layer) in a.layers.iter().enumerate() {
        ensure!(
            msg.len() >= 34 && msg[0] == 13,
            "layer {k}: not a Relay-reply"
        );
        ensure!(
            msg[1] == layer.hop_count && msg[2..34] == layer.addresses,
            "layer {k}: hop-count or addresses changed"
        );
        let mut at = 34;
        let mut inner = None;
        let mut others = Vec::new();
        while at < msg.len() {
            ensure!(at + 4 <= msg.len(), "layer {k}: stray octets");
            let code = be16(msg, at);
            let len = usize::from(be16(msg, at + 2));
            let whole = msg
                .get(at..at + 4 + len)
                .ok_or("relay option past the end")?;
            if code == 9 {
                inner = Some(&whole[4..]);
            } else {
                others.push(whole.to_vec());
            }
            at += 4 + len;
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
    ensure!(msg[1..4] == a.xid, "transaction-id changed");
    let mut list: Vec<(u16, &[u8])> = Vec::new();
    let mut at = 4;
    while at < msg.len() {
        ensure!(at + 4 <= msg.len(), "stray octets");
        let code = be16(msg, at);
        let len = usize::from(be16(msg, at + 2));
        let whole = msg.get(at..at + 4 + len).ok_or("option past the end")?;
        list.push((code, whole));
        at += 4 + len;
    }
    let count = |code: u16| list.iter().filter(|o| o.0 == code).count();
    let data = |code: u16| list.iter().find(|o| o.0 == code).map(|o| &o.1[4..]);
    ensure!(
        count(2) == 1 && data(2) == Some(&served.duid()[..]),
        "Server Identifier"
    );
    match &a.client_id {
        Some(id) => ensure!(
            count(1) == 1 && list.iter().any(|o| o.0 == 1 && o.1 == &id[..]),
            "Client Identifier not echoed as sent"
        ),
        None => ensure!(count(1) == 0, "Client Identifier not asked for"),
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
            V6_CERT if served.format == Format::Ietf00 => [&[4][..], &served.cert].concat(),
            V6_CERT => served.cert.clone(),
            V6_EXTRA => V6_EXTRA_DATA.to_vec(),
            _ => served.irt.expect("served").to_be_bytes().to_vec(),
        };
        ensure!(d == want, "option {code} data differs");
    }
    let stray: Vec<u16> = list
        .iter()
        .map(|o| o.0)
        .filter(|c| ![1, 2, V6_URI, V6_CERT, V6_EXTRA, V6_IRT].contains(c))
        .collect();
    ensure!(stray.is_empty(), "options {stray:?} in the REPLY");
    Ok(())
}
