//! DHCPINFORM -> DHCPACK as protocol.md states it (RFC 2131 §4.3.5, RFC 2132, RFC 6842,
//! RFC 3046), plus the program's documented limits (request payload <= 2048 octets, no IP
//! options, no fragments).

use std::net::Ipv4Addr;

use dhcproto::{v4 as d4, Decodable, Decoder};
use xdp_common::{
    maps::MAX_REQUEST_PAYLOAD,
    wire::dhcpv4::{field, MAGIC_COOKIE},
};

use super::{be16, check_l2, iface, sum, unicast_mac, Expect, ETHERTYPE_IPV4, L2};
use crate::{
    ensure,
    served::{Format, Iface, Served, V4_CERT, V4_EXTRA, V4_EXTRA_DATA, V4_URI},
};

const OFF_CIADDR: usize = field::CIADDR.start;
const OFF_GIADDR: usize = field::GIADDR.start;
const OFF_SNAME: usize = field::SNAME.start;
const OFF_COOKIE: usize = field::MAGIC_COOKIE.start;
const OFF_OPTIONS: usize = field::OPTIONS.start;
/// Codes a PRL may list without stopping a complete answer: no options (0, 255), what every
/// ACK carries (53, 54), what an ACK to INFORM never carries (51, 58, 59).
const IGNORABLE: [u8; 7] = [0, 255, 53, 54, 51, 58, 59];

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
        (V4_URI, Format::Draft00) => 4 + uri,
        (V4_URI, _) => 2 + uri,
        (V4_CERT, Format::Draft00) => cert + 4 * cert.div_ceil(253),
        (V4_CERT, Format::Rfc3396) => cert + 2 * cert.div_ceil(255),
        (V4_CERT, Format::Ietf00) => 1 + cert + 2 * (1 + cert).div_ceil(255),
        (V4_EXTRA, _) => 6,
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
    if ip.len() < 20 {
        return Err("ipv4: short header");
    }
    if ip[0] != 0x45 {
        return Err("ipv4: version / options");
    }
    if be16(ip, 6) & 0x3fff != 0 {
        return Err("ipv4: fragment");
    }
    if ip[9] != 17 {
        return Err("ipv4: not UDP");
    }
    if ip.len() < 28 || be16(ip, 22) != 67 {
        return Err("not to port 67");
    }
    if sum(&[&ip[..20]]) != 0xffff {
        return Err("ipv4: header checksum");
    }
    let total = usize::from(be16(ip, 2));
    if total < 28 || total > ip.len() {
        return Err("ipv4: total length");
    }
    let udp = &ip[20..total];
    if usize::from(be16(udp, 4)) != udp.len() {
        return Err("udp: length");
    }
    if be16(udp, 6) != 0 {
        let len = (udp.len() as u16).to_be_bytes();
        if sum(&[&ip[12..20], &[0, 17], &len, udp]) != 0xffff {
            return Err("udp: checksum");
        }
    }
    let bootp = &udp[8..];
    if bootp.len() <= OFF_OPTIONS {
        return Err("bootp: short");
    }
    if bootp.len() > MAX_REQUEST_PAYLOAD {
        return Err("request over 2048 octets");
    }
    if !unicast_mac(l2.src) {
        return Err("group source MAC");
    }
    let iface = iface(served, l2).ok_or("VLAN not configured")?;
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if dst != Ipv4Addr::BROADCAST && dst != iface.v4 {
        return Err("not to us");
    }
    if bootp[0] != 1 || bootp[OFF_COOKIE..OFF_OPTIONS] != MAGIC_COOKIE {
        return Err("not a BOOTREQUEST with the DHCP cookie");
    }
    let opts = walk(bootp)?;
    if opts.msg_type != Some(8) {
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
    let giaddr = addr_at(bootp, OFF_GIADDR);
    let ciaddr = addr_at(bootp, OFF_CIADDR);
    let (dst, dst_port) = if !giaddr.is_unspecified() {
        (giaddr, 67)
    } else if !ciaddr.is_unspecified() {
        (ciaddr, 68)
    } else {
        return Err("no giaddr, no ciaddr");
    };
    if !unicast(dst) {
        return Err("giaddr/ciaddr not unicast");
    }
    let block: usize = codes.iter().map(|&c| option_len(served, c)).sum();
    let echo =
        opts.client_id.as_ref().map_or(0, Vec::len) + opts.relay.as_ref().map_or(0, Vec::len);
    let used = OFF_OPTIONS + 3 + 6 + block + echo + 1;
    let msg_len = used.max(300);
    let limit = opts.max_size.max(576).min(usize::from(served.mtu));
    if 28 + msg_len > limit {
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

fn addr_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
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
    let mut at = OFF_OPTIONS;
    loop {
        let code = *bootp.get(at).ok_or("options: no End")?;
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => return Ok(o),
            _ => {}
        }
        let len = usize::from(*bootp.get(at + 1).ok_or("options: no length")?);
        let data = bootp
            .get(at + 2..at + 2 + len)
            .ok_or("options: past the end")?;
        let whole = bootp[at..at + 2 + len].to_vec();
        match code {
            53 if len != 1 || o.msg_type.is_some() => return Err("option 53 malformed / twice"),
            53 => o.msg_type = Some(data[0]),
            // A second instance would be concatenated (RFC 3396): the normal server's.
            55 if seen_prl => return Err("PRL twice"),
            55 => {
                seen_prl = true;
                o.prl = data.to_vec();
            }
            57 if len != 2 => return Err("option 57 malformed"),
            57 => o.max_size = usize::from(be16(data, 0)),
            61 if o.client_id.is_some() => return Err("option 61 twice"),
            61 => o.client_id = Some(whole),
            82 if o.relay.is_some() => return Err("option 82 twice"),
            82 => o.relay = Some(whole),
            54 if len != 4 => return Err("option 54 malformed"),
            54 => o.server_id = Some(data.try_into().expect("4")),
            52 => return Err("option 52: options in sname/file"),
            _ => {}
        }
        at += 2 + len;
    }
}

/// The reply against the request and the config: every field of protocol.md's DHCPACK.
pub fn check(served: &Served, a: &Answer, request: &[u8], reply: &[u8]) -> Result<(), String> {
    let l2 = super::parse_l2(request).expect("the model parsed it");
    check_l2(&l2, reply, ETHERTYPE_IPV4)?;
    let req_bootp = &request[l2.l3_off + 28..];
    let ip = &reply[l2.l3_off..];
    let ip_len = 28 + a.msg_len;
    ensure!(
        ip.len() == ip_len,
        "IP datagram of {} octets, want {ip_len}",
        ip.len()
    );
    ensure!(ip[0] == 0x45, "version/IHL {:#x}", ip[0]);
    ensure!(
        usize::from(be16(ip, 2)) == ip_len,
        "total length {}",
        be16(ip, 2)
    );
    ensure!(be16(ip, 6) & 0x3fff == 0, "fragment bits");
    ensure!(
        ip[8] > 0 && ip[9] == 17,
        "TTL {} / protocol {}",
        ip[8],
        ip[9]
    );
    ensure!(sum(&[&ip[..20]]) == 0xffff, "IP header checksum");
    ensure!(addr_at(ip, 12) == a.iface.v4, "source {}", addr_at(ip, 12));
    ensure!(
        addr_at(ip, 16) == a.dst,
        "destination {} want {}",
        addr_at(ip, 16),
        a.dst
    );
    let udp = &ip[20..];
    ensure!(
        be16(udp, 0) == 67 && be16(udp, 2) == a.dst_port,
        "ports {} -> {}",
        be16(udp, 0),
        be16(udp, 2)
    );
    ensure!(
        usize::from(be16(udp, 4)) == udp.len(),
        "UDP length {}",
        be16(udp, 4)
    );
    let len = (udp.len() as u16).to_be_bytes();
    ensure!(
        be16(udp, 6) != 0 && sum(&[&ip[12..20], &[0, 17], &len, udp]) == 0xffff,
        "UDP checksum"
    );
    let b = &udp[8..];
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
    ensure!(b[1..3] == req_bootp[1..3], "htype/hlen changed");
    ensure!(b[3] == 0, "hops {}", b[3]);
    ensure!(b[4..8] == req_bootp[4..8], "xid changed");
    ensure!(b[8..10] == [0, 0], "secs");
    ensure!(b[10..12] == req_bootp[10..12], "flags changed");
    ensure!(
        b[OFF_CIADDR..OFF_CIADDR + 4] == req_bootp[OFF_CIADDR..OFF_CIADDR + 4],
        "ciaddr changed"
    );
    ensure!(b[16..24] == [0; 8], "yiaddr/siaddr not zero");
    ensure!(
        b[OFF_GIADDR..OFF_SNAME] == req_bootp[OFF_GIADDR..OFF_SNAME],
        "giaddr/chaddr changed"
    );
    ensure!(
        b[OFF_SNAME..OFF_COOKIE].iter().all(|&x| x == 0),
        "sname/file not zero"
    );
    ensure!(b[OFF_COOKIE..OFF_OPTIONS] == MAGIC_COOKIE, "cookie");
    check_options(served, a, &b[OFF_OPTIONS..])
}

fn check_options(served: &Served, a: &Answer, opts: &[u8]) -> Result<(), String> {
    // (code, whole option) in order, up to End.
    let mut list: Vec<(u8, &[u8])> = Vec::new();
    let mut at = 0;
    let end = loop {
        let code = *opts.get(at).ok_or("no End")?;
        if code == 255 {
            break at;
        }
        ensure!(code != 0, "PAD inside the reply's options");
        let len = usize::from(*opts.get(at + 1).ok_or("no length")?);
        let whole = opts.get(at..at + 2 + len).ok_or("option past the end")?;
        list.push((code, whole));
        at += 2 + len;
    };
    ensure!(
        opts[end + 1..].iter().all(|&x| x == 0),
        "padding after End not zero"
    );
    ensure!(
        list.first().map(|o| o.1) == Some(&[53, 1, 5][..]),
        "53 = ACK first"
    );
    let sid = [&[54, 4][..], &a.iface.v4.octets()].concat();
    ensure!(
        list.get(1).map(|o| o.1) == Some(&sid[..]),
        "54 = {} second",
        a.iface.v4
    );
    let rest = &list[2..];
    let (echoes, served_part): (Vec<_>, Vec<_>) = rest.iter().partition(|o| o.0 == 61 || o.0 == 82);
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
        ensure!(list.last().map(|o| o.0) == Some(82), "82 not last");
    }
    for code in [V4_URI, V4_CERT, V4_EXTRA] {
        let data: Vec<&[u8]> = served_part
            .iter()
            .filter(|o| o.0 == code)
            .map(|o| &o.1[2..])
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
                data.len() == 1 && data[0] == [&[0, 0][..], uri].concat(),
                "draft-00 URI"
            );
        }
        (V4_URI, _) => ensure!(data.len() == 1 && data[0] == uri, "URI"),
        (V4_CERT, Format::Draft00) => {
            ensure!(
                data.len() == cert.len().div_ceil(253),
                "{} fragments",
                data.len()
            );
            let mut whole: Vec<u8> = Vec::new();
            for (i, d) in data.iter().enumerate() {
                ensure!(
                    d.len() > 2 && be16(d, 0) == i as u16,
                    "fragment {i} sequence"
                );
                whole.extend(&d[2..]);
            }
            ensure!(whole == cert, "reassembled certificate differs");
        }
        (V4_CERT, format) => {
            let want = if format == Format::Ietf00 {
                [&[4][..], cert].concat()
            } else {
                cert.to_vec()
            };
            ensure!(
                data.len() == want.len().div_ceil(255),
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
