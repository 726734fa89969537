//! DHCPINFORM -> DHCPACK as protocol.md states it (RFC 2131 §4.3.5, RFC 2132, RFC 6842,
//! RFC 3046), plus the program's documented limits (request payload <= 2048 octets, no IP
//! options, no fragments).

use std::net::Ipv4Addr;

use dhcproto::{v4 as d4, Decodable, Decoder};
use xdp_common::{
    maps::MAX_REQUEST_PAYLOAD,
    wire::{
        dhcpv4::{self as dhcp, field, option},
        eth,
        ipv4::{self, field as ip4},
        udp::{self, field as u},
        Field,
    },
};

use super::{be16, check_l2, iface, sum, unicast_mac, Expect, CERT_ENCODING_X509, L2};
use crate::{
    ensure,
    served::{Format, Iface, Served, V4_CERT, V4_EXTRA, V4_EXTRA_DATA, V4_URI},
};

/// Where the BOOTP message starts in the IP datagram (no IP options).
const BOOTP_AT: usize = ipv4::HDR_LEN + udp::HDR_LEN;
/// Codes a PRL may list without stopping a complete answer: no options (Pad, End), what
/// every ACK carries (53, 54), what an ACK to INFORM never carries (51, 58, 59).
const IGNORABLE: [u8; 7] = [
    dhcp::OPT_PAD,
    dhcp::OPT_END,
    dhcp::OPT_MESSAGE_TYPE,
    dhcp::OPT_SERVER_ID,
    dhcp::NEVER_IN_INFORM_ACK[0],
    dhcp::NEVER_IN_INFORM_ACK[1],
    dhcp::NEVER_IN_INFORM_ACK[2],
];
/// An option's code and length octets.
const OPT_HDR: usize = option::DATA.start;
/// draft-00's URI option opens with two reserved octets; each certificate fragment with a
/// two-octet sequence number, so it carries at most 253 octets (protocol.md "Wire formats").
const DRAFT00_URI_RESERVED: usize = 2;
const DRAFT00_SEQ: usize = 2;
/// The most data one option holds: its length is one octet.
const MAX_DATA: usize = u8::MAX as usize;

/// An answer the model allows, and what it must look like.
pub struct Answer {
    iface: &'static Iface,
    dst: Ipv4Addr,
    dst_port: u16,
    /// Served codes the reply must carry.
    codes: Vec<u8>,
    /// Whole options 61 and 82 of the request, to be echoed.
    client_id: Option<Vec<u8>>,
    relay: Option<Vec<u8>>,
    msg_len: usize,
}

/// A DHCPv4 destination must be unicast: not 0/8, 127/8, 224/4, 240/4.
fn unicast(a: Ipv4Addr) -> bool {
    let o = a.octets()[0];
    o != 0 && o != 127 && o < 224
}

/// Encoded length of a served option (protocol.md "Wire formats").
fn option_len(served: &Served, code: u8) -> usize {
    let uri = served.uri.len();
    let cert = served.cert.len();
    match (code, served.format) {
        (V4_URI, Format::Draft00) => OPT_HDR + DRAFT00_URI_RESERVED + uri,
        (V4_URI, _) => OPT_HDR + uri,
        (V4_CERT, Format::Draft00) => {
            cert + (OPT_HDR + DRAFT00_SEQ) * cert.div_ceil(MAX_DATA - DRAFT00_SEQ)
        }
        (V4_CERT, Format::Rfc3396) => cert + OPT_HDR * cert.div_ceil(MAX_DATA),
        // The certificate-encoding octet before the DER.
        (V4_CERT, Format::Ietf00) => 1 + cert + OPT_HDR * (1 + cert).div_ceil(MAX_DATA),
        (V4_EXTRA, _) => OPT_HDR + V4_EXTRA_DATA.len(),
        _ => unreachable!("not a served code"),
    }
}

pub fn expect(served: &Served, frame: &[u8], l2: &L2) -> Expect {
    match decide(served, frame, l2) {
        Ok(answer) => Expect::AnswerV4(answer),
        Err(why) => Expect::Pass(why),
    }
}

fn decide(served: &Served, frame: &[u8], l2: &L2) -> Result<Answer, &'static str> {
    let ip = &frame[l2.l3_off..];
    if ip.len() < ipv4::HDR_LEN {
        return Err("ipv4: short header");
    }
    if ip[ip4::VER_IHL] != ipv4::VER_IHL_NO_OPTIONS {
        return Err("ipv4: version / options");
    }
    if be16(ip, ip4::FLG_OFF.start) & ipv4::FRAGMENT_BITS != 0 {
        return Err("ipv4: fragment");
    }
    if ip[ip4::PROTOCOL] != ipv4::PROTO_UDP {
        return Err("ipv4: not UDP");
    }
    if ip.len() < BOOTP_AT || be16(ip, ipv4::HDR_LEN + u::DST_PORT.start) != dhcp::SERVER_PORT {
        return Err("not to port 67");
    }
    if sum(&[&ip[..ipv4::HDR_LEN]]) != 0xffff {
        return Err("ipv4: header checksum");
    }
    let total = usize::from(be16(ip, ip4::LENGTH.start));
    if total < BOOTP_AT || total > ip.len() {
        return Err("ipv4: total length");
    }
    let udp = &ip[ipv4::HDR_LEN..total];
    if usize::from(be16(udp, u::LENGTH.start)) != udp.len() {
        return Err("udp: length");
    }
    if be16(udp, u::CHECKSUM.start) != 0 && udp_sum(ip, udp) != 0xffff {
        return Err("udp: checksum");
    }
    let bootp = &udp[udp::HDR_LEN..];
    if bootp.len() <= field::OPTIONS.start {
        return Err("bootp: short");
    }
    if bootp.len() > MAX_REQUEST_PAYLOAD {
        return Err("request over 2048 octets");
    }
    if !unicast_mac(l2.src) {
        return Err("group source MAC");
    }
    let iface = iface(served, l2).ok_or("VLAN not configured")?;
    let dst = addr(ip, ip4::DST_ADDR);
    if dst != Ipv4Addr::BROADCAST && dst != iface.v4 {
        return Err("not to us");
    }
    if bootp[field::OP] != dhcp::OP_BOOTREQUEST || bootp[field::MAGIC_COOKIE] != dhcp::MAGIC_COOKIE
    {
        return Err("not a BOOTREQUEST with the DHCP cookie");
    }
    let opts = walk(bootp)?;
    if opts.msg_type != Some(dhcp::MSG_INFORM) {
        return Err("not DHCPINFORM");
    }
    if opts.server_id.is_some_and(|s| s != iface.v4.octets()) {
        return Err("option 54 names another server");
    }
    let mut codes = Vec::new();
    let mut unservable = false;
    for &code in &opts.prl {
        if [V4_URI, V4_CERT, V4_EXTRA].contains(&code) {
            if !codes.contains(&code) {
                codes.push(code);
            }
        } else if !IGNORABLE.contains(&code) {
            unservable = true;
        }
    }
    if !codes.contains(&V4_URI) && !codes.contains(&V4_CERT) {
        return Err("PRL without an LwM2M code");
    }
    if unservable && served.complete {
        return Err("complete: PRL asks for what the fast path cannot serve");
    }
    let giaddr = addr(bootp, field::GIADDR);
    let ciaddr = addr(bootp, field::CIADDR);
    let (dst, dst_port) = if !giaddr.is_unspecified() {
        (giaddr, dhcp::SERVER_PORT)
    } else if !ciaddr.is_unspecified() {
        (ciaddr, dhcp::CLIENT_PORT)
    } else {
        return Err("no giaddr, no ciaddr");
    };
    if !unicast(dst) {
        return Err("giaddr/ciaddr not unicast");
    }
    let block: usize = codes.iter().map(|&c| option_len(served, c)).sum();
    let echo =
        opts.client_id.as_ref().map_or(0, Vec::len) + opts.relay.as_ref().map_or(0, Vec::len);
    let used = field::OPTIONS.start + dhcp::ACK_HEAD_LEN + block + echo + dhcp::END_LEN;
    let msg_len = used.max(dhcp::MIN_MESSAGE_LEN);
    let limit = opts
        .max_size
        .max(ipv4::MIN_MAX_DATAGRAM)
        .min(usize::from(served.mtu));
    if BOOTP_AT + msg_len > limit {
        return Err("reply over 576 / option 57 / MTU");
    }
    Ok(Answer {
        iface,
        dst,
        dst_port,
        codes,
        client_id: opts.client_id,
        relay: opts.relay,
        msg_len,
    })
}

fn addr(b: &[u8], f: Field) -> Ipv4Addr {
    Ipv4Addr::from(<[u8; 4]>::try_from(&b[f]).expect("4"))
}

/// The RFC 768 sum over the pseudo-header (from the IP header `ip`) and `udp`.
fn udp_sum(ip: &[u8], udp: &[u8]) -> u16 {
    let len = (udp.len() as u16).to_be_bytes();
    let addresses = &ip[ip4::SRC_ADDR.start..ip4::DST_ADDR.end];
    sum(&[addresses, &[0, ipv4::PROTO_UDP], &len, udp])
}

#[derive(Default)]
struct Options {
    msg_type: Option<u8>,
    prl: Vec<u8>,
    max_size: usize,
    client_id: Option<Vec<u8>>,
    relay: Option<Vec<u8>>,
    server_id: Option<[u8; 4]>,
}

/// The options up to End (RFC 2132 §2): PADs skipped wherever they are, End required.
fn walk(bootp: &[u8]) -> Result<Options, &'static str> {
    let mut o = Options::default();
    let mut seen_prl = false;
    let mut at = field::OPTIONS.start;
    loop {
        let code = *bootp.get(at + option::CODE).ok_or("options: no End")?;
        match code {
            dhcp::OPT_PAD => {
                at += 1;
                continue;
            }
            dhcp::OPT_END => return Ok(o),
            _ => {}
        }
        let len = usize::from(*bootp.get(at + option::LENGTH).ok_or("options: no length")?);
        let data = bootp
            .get(at + OPT_HDR..at + OPT_HDR + len)
            .ok_or("options: past the end")?;
        let whole = bootp[at..at + OPT_HDR + len].to_vec();
        match code {
            dhcp::OPT_MESSAGE_TYPE if len != 1 || o.msg_type.is_some() => {
                return Err("option 53 malformed / twice")
            }
            dhcp::OPT_MESSAGE_TYPE => o.msg_type = Some(data[0]),
            // A second instance would be concatenated (RFC 3396): the normal server's.
            dhcp::OPT_PARAMETER_REQUEST_LIST if seen_prl => return Err("PRL twice"),
            dhcp::OPT_PARAMETER_REQUEST_LIST => {
                seen_prl = true;
                o.prl = data.to_vec();
            }
            dhcp::OPT_MAX_MESSAGE_SIZE if len != 2 => return Err("option 57 malformed"),
            dhcp::OPT_MAX_MESSAGE_SIZE => o.max_size = usize::from(be16(data, 0)),
            dhcp::OPT_CLIENT_ID if o.client_id.is_some() => return Err("option 61 twice"),
            dhcp::OPT_CLIENT_ID => o.client_id = Some(whole),
            dhcp::OPT_RELAY_AGENT_INFO if o.relay.is_some() => return Err("option 82 twice"),
            dhcp::OPT_RELAY_AGENT_INFO => o.relay = Some(whole),
            dhcp::OPT_SERVER_ID if len != 4 => return Err("option 54 malformed"),
            dhcp::OPT_SERVER_ID => o.server_id = Some(data.try_into().expect("4")),
            dhcp::OPT_OVERLOAD => return Err("option 52: options in sname/file"),
            _ => {}
        }
        at += OPT_HDR + len;
    }
}

/// The reply against the request and the config: every field of protocol.md's DHCPACK.
pub fn check(served: &Served, a: &Answer, request: &[u8], reply: &[u8]) -> Result<(), String> {
    let l2 = super::parse_l2(request).expect("the model parsed it");
    check_l2(&l2, reply, eth::ETHERTYPE_IPV4)?;
    let req_bootp = &request[l2.l3_off + BOOTP_AT..];
    let ip = &reply[l2.l3_off..];
    let ip_len = BOOTP_AT + a.msg_len;
    ensure!(
        ip.len() == ip_len,
        "IP datagram of {} octets, want {ip_len}",
        ip.len()
    );
    ensure!(
        ip[ip4::VER_IHL] == ipv4::VER_IHL_NO_OPTIONS,
        "version/IHL {:#x}",
        ip[ip4::VER_IHL]
    );
    let total = be16(ip, ip4::LENGTH.start);
    ensure!(usize::from(total) == ip_len, "total length {total}");
    ensure!(
        be16(ip, ip4::FLG_OFF.start) & ipv4::FRAGMENT_BITS == 0,
        "fragment bits"
    );
    ensure!(
        ip[ip4::TTL] > 0 && ip[ip4::PROTOCOL] == ipv4::PROTO_UDP,
        "TTL {} / protocol {}",
        ip[ip4::TTL],
        ip[ip4::PROTOCOL]
    );
    ensure!(sum(&[&ip[..ipv4::HDR_LEN]]) == 0xffff, "IP header checksum");
    let (src, dst) = (addr(ip, ip4::SRC_ADDR), addr(ip, ip4::DST_ADDR));
    ensure!(src == a.iface.v4, "source {src}");
    ensure!(dst == a.dst, "destination {dst} want {}", a.dst);
    let udp = &ip[ipv4::HDR_LEN..];
    let (sport, dport) = (be16(udp, u::SRC_PORT.start), be16(udp, u::DST_PORT.start));
    ensure!(
        sport == dhcp::SERVER_PORT && dport == a.dst_port,
        "ports {sport} -> {dport}"
    );
    let udp_len = be16(udp, u::LENGTH.start);
    ensure!(usize::from(udp_len) == udp.len(), "UDP length {udp_len}");
    ensure!(
        be16(udp, u::CHECKSUM.start) != 0 && udp_sum(ip, udp) == 0xffff,
        "UDP checksum"
    );
    let b = &udp[udp::HDR_LEN..];
    let msg = d4::Message::decode(&mut Decoder::new(b)).map_err(|e| format!("dhcproto: {e}"))?;
    ensure!(
        msg.opcode() == d4::Opcode::BootReply,
        "op {:?}",
        msg.opcode()
    );
    ensure!(
        msg.opts().msg_type() == Some(d4::MessageType::Ack),
        "message type {:?}",
        msg.opts().msg_type()
    );
    let htype_hlen = field::HTYPE..field::HLEN + 1;
    ensure!(
        b[htype_hlen.clone()] == req_bootp[htype_hlen],
        "htype/hlen changed"
    );
    ensure!(b[field::HOPS] == 0, "hops {}", b[field::HOPS]);
    ensure!(b[field::XID] == req_bootp[field::XID], "xid changed");
    ensure!(b[field::SECS] == [0, 0], "secs");
    ensure!(b[field::FLAGS] == req_bootp[field::FLAGS], "flags changed");
    ensure!(
        b[field::CIADDR] == req_bootp[field::CIADDR],
        "ciaddr changed"
    );
    ensure!(
        b[field::YIADDR.start..field::SIADDR.end] == [0; 8],
        "yiaddr/siaddr not zero"
    );
    let giaddr_chaddr = field::GIADDR.start..field::CHADDR.end;
    ensure!(
        b[giaddr_chaddr.clone()] == req_bootp[giaddr_chaddr],
        "giaddr/chaddr changed"
    );
    ensure!(
        b[field::SNAME.start..field::FILE.end]
            .iter()
            .all(|&x| x == 0),
        "sname/file not zero"
    );
    ensure!(b[field::MAGIC_COOKIE] == dhcp::MAGIC_COOKIE, "cookie");
    check_options(served, a, &b[field::OPTIONS])
}

fn check_options(served: &Served, a: &Answer, opts: &[u8]) -> Result<(), String> {
    // (code, whole option) in order, up to End.
    let mut list: Vec<(u8, &[u8])> = Vec::new();
    let mut at = 0;
    let end = loop {
        let code = *opts.get(at + option::CODE).ok_or("no End")?;
        if code == dhcp::OPT_END {
            break at;
        }
        ensure!(code != dhcp::OPT_PAD, "PAD inside the reply's options");
        let len = usize::from(*opts.get(at + option::LENGTH).ok_or("no length")?);
        let whole = opts
            .get(at..at + OPT_HDR + len)
            .ok_or("option past the end")?;
        list.push((code, whole));
        at += OPT_HDR + len;
    };
    ensure!(
        opts[end + dhcp::END_LEN..].iter().all(|&x| x == 0),
        "padding after End not zero"
    );
    let ack = [dhcp::OPT_MESSAGE_TYPE, 1, dhcp::MSG_ACK];
    ensure!(
        list.first().map(|o| o.1) == Some(&ack[..]),
        "53 = ACK first"
    );
    let sid = [&[dhcp::OPT_SERVER_ID, 4][..], &a.iface.v4.octets()].concat();
    ensure!(
        list.get(1).map(|o| o.1) == Some(&sid[..]),
        "54 = {} second",
        a.iface.v4
    );
    let rest = &list[2..];
    let (echoes, served_part): (Vec<_>, Vec<_>) = rest
        .iter()
        .partition(|o| o.0 == dhcp::OPT_CLIENT_ID || o.0 == dhcp::OPT_RELAY_AGENT_INFO);
    // Echoes: exactly as sent, 82 last (RFC 3046), nothing else echoed.
    let want_echo: Vec<&[u8]> = a
        .client_id
        .iter()
        .chain(&a.relay)
        .map(Vec::as_slice)
        .collect();
    let got_echo: Vec<&[u8]> = echoes.iter().map(|o: &&(u8, &[u8])| o.1).collect();
    ensure!(
        got_echo == want_echo,
        "echoed {:02x?} want {:02x?}",
        got_echo,
        want_echo
    );
    if a.relay.is_some() {
        ensure!(
            list.last().map(|o| o.0) == Some(dhcp::OPT_RELAY_AGENT_INFO),
            "82 not last"
        );
    }
    for code in [V4_URI, V4_CERT, V4_EXTRA] {
        let data: Vec<&[u8]> = served_part
            .iter()
            .filter(|o| o.0 == code)
            .map(|o| &o.1[option::DATA])
            .collect();
        if !a.codes.contains(&code) {
            ensure!(data.is_empty(), "option {code} not requested but sent");
            continue;
        }
        check_served(served, code, &data)?;
    }
    let stray: Vec<u8> = served_part
        .iter()
        .map(|o| o.0)
        .filter(|c| ![V4_URI, V4_CERT, V4_EXTRA].contains(c))
        .collect();
    ensure!(stray.is_empty(), "options {stray:?} in the ACK");
    // Instances of one code are consecutive (fragments in order, RFC 3396 splits).
    let mut runs: Vec<u8> = served_part.iter().map(|o| o.0).collect();
    runs.dedup();
    let mut sorted = runs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    ensure!(
        runs.len() == sorted.len(),
        "instances of one option not consecutive: {runs:?}"
    );
    Ok(())
}

/// The data of every instance of a served option, against the config (byte for byte).
fn check_served(served: &Served, code: u8, data: &[&[u8]]) -> Result<(), String> {
    let uri = served.uri.as_bytes();
    let cert = &served.cert[..];
    match (code, served.format) {
        (V4_URI, Format::Draft00) => {
            ensure!(
                data.len() == 1 && data[0] == [&[0; DRAFT00_URI_RESERVED][..], uri].concat(),
                "draft-00 URI"
            );
        }
        (V4_URI, _) => ensure!(data.len() == 1 && data[0] == uri, "URI"),
        (V4_CERT, Format::Draft00) => {
            ensure!(
                data.len() == cert.len().div_ceil(MAX_DATA - DRAFT00_SEQ),
                "{} fragments",
                data.len()
            );
            let mut whole: Vec<u8> = Vec::new();
            for (i, d) in data.iter().enumerate() {
                ensure!(
                    d.len() > DRAFT00_SEQ && be16(d, 0) == i as u16,
                    "fragment {i} sequence"
                );
                whole.extend(&d[DRAFT00_SEQ..]);
            }
            ensure!(whole == cert, "reassembled certificate differs");
        }
        (V4_CERT, format) => {
            let want = if format == Format::Ietf00 {
                [&[CERT_ENCODING_X509][..], cert].concat()
            } else {
                cert.to_vec()
            };
            ensure!(
                data.len() == want.len().div_ceil(MAX_DATA),
                "{} RFC 3396 parts",
                data.len()
            );
            ensure!(data.concat() == want, "concatenated certificate differs");
        }
        (V4_EXTRA, _) => ensure!(data.len() == 1 && data[0] == V4_EXTRA_DATA, "option 6"),
        _ => unreachable!(),
    }
    Ok(())
}
