//! Request frames: generated with every variation the in-kernel tests know (VLAN tags,
//! relay fields, options 57/61/82/54/52, PRL/ORO shapes, PADs, Relay-forward, IPv6 extension
//! headers, fragments, group addresses), then often mutated (octets changed, lengths lying,
//! checksums left wrong or refreshed, truncated, extended).

use std::net::{Ipv4Addr, Ipv6Addr};

use rand::{rngs::StdRng, seq::SliceRandom, Rng};
use xdp_common::wire::{
    dhcpv4::{self as d4, field as bootp_field},
    dhcpv6::{self as d6, relay},
    eth,
    ipv4::{self, field as ip4},
    ipv6::{self, field as ip6},
    udp::{self, field as u},
};

use crate::{
    model::{be16, sum, IP_VERSION_4, IP_VERSION_6},
    served::{
        duid_ll, Iface, IFACES, SERVER_MAC, V4_CERT, V4_EXTRA, V4_URI, V6_CERT, V6_EXTRA, V6_IRT,
        V6_URI,
    },
};

const CLIENT_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const GROUP_MACS: [[u8; 6]; 4] = [
    eth::BROADCAST,
    [0x01, 0x00, 0x5e, 0, 0, 1],
    [0x33, 0x33, 0, 1, 0, 2],
    [0; 6],
];

thread_local! {
    /// This frame may break rules (about half of them); the others take the path of a
    /// well-formed request at every choice, so the answering path is exercised as much.
    static CHAOS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A rule-breaking choice: with probability 1/n, in a chaotic frame only.
fn odd(rng: &mut StdRng, n: u32) -> bool {
    CHAOS.with(|c| c.get()) && rng.gen_ratio(1, n)
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items.choose(rng).expect("not empty")
}

fn bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.gen()).collect()
}

/// A source MAC: mostly a client's, sometimes random unicast, rarely a group or zero.
fn source_mac(rng: &mut StdRng) -> [u8; 6] {
    if odd(rng, 10) {
        return pick(rng, &GROUP_MACS);
    }
    match rng.gen_range(0..20) {
        1..=4 => {
            let mut m: [u8; 6] = rng.gen();
            m[0] &= 0xfe;
            m
        }
        _ => CLIENT_MAC,
    }
}

/// VLAN tags: none, or those of a configured VLAN, or some other.
fn tags(rng: &mut StdRng) -> Vec<u8> {
    let tpid = |rng: &mut StdRng| pick(rng, &[eth::ETHERTYPE_VLAN, eth::ETHERTYPE_QINQ]);
    let tag = |rng: &mut StdRng, id: u16| {
        let tci = (rng.gen_range(0..8u16) << 13) | id;
        [tpid(rng).to_be_bytes(), tci.to_be_bytes()].concat()
    };
    if !odd(rng, 4) {
        return match rng.gen_range(0..4) {
            0 | 1 => Vec::new(),
            2 => tag(rng, 42),
            _ => [tag(rng, 100), tag(rng, 42)].concat(),
        };
    }
    match rng.gen_range(8..10) {
        8 => {
            let id = rng.gen_range(0..4096);
            tag(rng, id)
        }
        _ => {
            let n = rng.gen_range(1..4);
            let mut out = Vec::new();
            for _ in 0..n {
                let id = rng.gen_range(0..4096);
                out.extend(tag(rng, id));
            }
            out
        }
    }
}

fn l2(rng: &mut StdRng, dst: [u8; 6], tags: &[u8], ethertype: u16) -> Vec<u8> {
    let dst = if rng.gen_ratio(1, 10) {
        SERVER_MAC
    } else {
        dst
    };
    [&dst[..], &source_mac(rng), tags, &ethertype.to_be_bytes()].concat()
}

/// The configured interface entry the tags select (any, for tags nothing answers on).
fn iface_of(rng: &mut StdRng, tags: &[u8]) -> &'static Iface {
    let id = |i: usize| {
        let at = eth::VLAN_TAG_LEN * i;
        tags.get(at + eth::tag::TCI.start..at + eth::tag::TCI.end)
            .map_or(0, |t| u16::from_be_bytes([t[0], t[1]]) & eth::VLAN_ID_MASK)
    };
    IFACES
        .iter()
        .find(|f| f.vlans == (id(0), id(1)))
        .unwrap_or_else(|| pick(rng, &IFACES.each_ref()))
}

/// One frame, generated then (often) mutated.
pub fn frame(rng: &mut StdRng) -> Vec<u8> {
    let chaotic = rng.gen_ratio(1, 2);
    CHAOS.with(|c| c.set(chaotic));
    let mut f = match rng.gen_range(0..20) {
        0..=8 => v4_frame(rng),
        9..=17 => v6_frame(rng),
        _ => other_frame(rng),
    };
    if chaotic && rng.gen_ratio(2, 3) {
        mutate(rng, &mut f);
    }
    f
}

fn other_frame(rng: &mut StdRng) -> Vec<u8> {
    // ARP, LLDP, a bare tag, IPv4 and IPv6 with random contents.
    let ethertype = pick(
        rng,
        &[
            0x0806u16,
            0x88cc,
            eth::ETHERTYPE_VLAN,
            eth::ETHERTYPE_IPV4,
            eth::ETHERTYPE_IPV6,
        ],
    );
    let len = rng.gen_range(0..200);
    let tags = tags(rng);
    [l2(rng, eth::BROADCAST, &tags, ethertype), bytes(rng, len)].concat()
}

// ---- DHCPv4 ------------------------------------------------------------------------------

fn v4_addr(rng: &mut StdRng) -> Ipv4Addr {
    match rng.gen_range(0..12) {
        0 => Ipv4Addr::BROADCAST,
        1 => Ipv4Addr::new(127, 0, 0, rng.gen()),
        2 => Ipv4Addr::new(rng.gen_range(224..240), rng.gen(), rng.gen(), rng.gen()),
        3 => Ipv4Addr::new(rng.gen_range(240..=255), rng.gen(), rng.gen(), rng.gen()),
        4 => Ipv4Addr::new(0, rng.gen(), rng.gen(), rng.gen()),
        5 => Ipv4Addr::from(rng.gen::<u32>()),
        _ => Ipv4Addr::new(198, 18, rng.gen_range(0..8), rng.gen_range(1..255)),
    }
}

/// An option: code, length, data (RFC 2132 §2).
fn v4_option(code: u8, data: &[u8]) -> Vec<u8> {
    [&[code, data.len() as u8][..], data].concat()
}

fn prl(rng: &mut StdRng) -> Vec<u8> {
    use d4::{
        OPT_END as END, OPT_LEASE_TIME as LEASE, OPT_MESSAGE_TYPE as MSG_TYPE, OPT_PAD as PAD,
        OPT_REBINDING_TIME as REBIND, OPT_RENEWAL_TIME as RENEW, OPT_SERVER_ID as SERVER_ID,
    };
    // Not served: Subnet Mask, Router, Domain Name and an unconfigured site-specific code.
    const CODES: [u8; 14] = [
        V4_URI, V4_CERT, V4_EXTRA, 1, 3, LEASE, RENEW, REBIND, PAD, END, MSG_TYPE, SERVER_ID, 15,
        226,
    ];
    const CLEAN: [u8; 10] = [
        V4_URI, V4_CERT, V4_EXTRA, LEASE, RENEW, REBIND, PAD, END, MSG_TYPE, SERVER_ID,
    ];
    if odd(rng, 4) {
        return match rng.gen_range(0..3) {
            0 => Vec::new(),
            1 => (0..rng.gen_range(1..=255)).map(|_| rng.gen()).collect(),
            _ => (0..rng.gen_range(1..8))
                .map(|_| pick(rng, &CODES))
                .collect(),
        };
    }
    match rng.gen_range(0..4) {
        0 => vec![V4_URI],
        1 => vec![V4_CERT],
        // Servable and ignorable codes only.
        _ => (0..rng.gen_range(0..8))
            .map(|_| pick(rng, &CLEAN))
            .chain([V4_URI])
            .collect(),
    }
}

fn v4_options(rng: &mut StdRng) -> Vec<u8> {
    let mut opts: Vec<Vec<u8>> = Vec::new();
    let msg_type = if odd(rng, 5) {
        rng.gen_range(0..10)
    } else {
        d4::MSG_INFORM
    };
    if !odd(rng, 20) {
        opts.push(v4_option(d4::OPT_MESSAGE_TYPE, &[msg_type]));
    }
    if !odd(rng, 10) {
        opts.push(v4_option(d4::OPT_PARAMETER_REQUEST_LIST, &prl(rng)));
    }
    if rng.gen_ratio(1, 2) {
        let any: u16 = rng.gen();
        let size: u16 = pick(rng, &[0, 576, 1000, 1500, 2000, 9000, any]);
        if !odd(rng, 5) {
            opts.push(v4_option(d4::OPT_MAX_MESSAGE_SIZE, &size.to_be_bytes()));
        } else {
            let len = rng.gen_range(0..4);
            opts.push(v4_option(d4::OPT_MAX_MESSAGE_SIZE, &bytes(rng, len)));
        }
    }
    if rng.gen_ratio(1, 3) {
        let len = rng.gen_range(1..64);
        opts.push(v4_option(d4::OPT_CLIENT_ID, &bytes(rng, len)));
    }
    if rng.gen_ratio(1, 3) {
        let len = rng.gen_range(0..80);
        opts.push(v4_option(d4::OPT_RELAY_AGENT_INFO, &bytes(rng, len)));
    }
    if rng.gen_ratio(1, 8) {
        let ours = pick(rng, &IFACES).v4.octets();
        let len = rng.gen_range(3..6);
        let sid = if odd(rng, 2) {
            bytes(rng, len)
        } else {
            ours.to_vec()
        };
        opts.push(v4_option(d4::OPT_SERVER_ID, &sid));
    }
    if odd(rng, 20) {
        opts.push(v4_option(d4::OPT_OVERLOAD, &[rng.gen_range(1..4)]));
    }
    if rng.gen_ratio(1, 4) {
        let len = rng.gen_range(0..40);
        // Host Name, Vendor Class, User Class, Vendor-Specific, a site-specific code.
        let code = pick(rng, &[12, d4::OPT_VENDOR_CLASS_ID, 77, 43, 250]);
        opts.push(v4_option(code, &bytes(rng, len)));
    }
    if odd(rng, 8) {
        // A second instance of something the walker must notice.
        let again = opts.choose(rng).cloned().unwrap_or_default();
        opts.push(again);
    }
    opts.shuffle(rng);
    let mut out = Vec::new();
    for o in opts {
        if rng.gen_ratio(1, 6) {
            out.extend(std::iter::repeat_n(d4::OPT_PAD, rng.gen_range(1..200)));
        }
        out.extend(o);
    }
    if rng.gen_ratio(1, 6) {
        out.extend(std::iter::repeat_n(d4::OPT_PAD, rng.gen_range(1..1400)));
    }
    if !odd(rng, 20) {
        out.push(d4::OPT_END);
    }
    out
}

fn bootp(rng: &mut StdRng) -> Vec<u8> {
    use bootp_field as f;
    let mut b = vec![0u8; f::OPTIONS.start];
    b[f::OP] = if odd(rng, 20) {
        rng.gen()
    } else {
        d4::OP_BOOTREQUEST
    };
    b[f::HTYPE] = d4::HTYPE_ETHERNET;
    b[f::HLEN] = d4::HLEN_ETHERNET;
    let relayed = rng.gen_ratio(1, 3);
    b[f::HOPS] = if relayed { rng.gen_range(1..4) } else { 0 };
    b[f::XID].copy_from_slice(&rng.gen::<[u8; 4]>());
    b[f::SECS].copy_from_slice(&rng.gen::<[u8; 2]>());
    let flags = if rng.gen() { d4::FLAG_BROADCAST } else { 0 };
    b[f::FLAGS].copy_from_slice(&flags.to_be_bytes());
    let ciaddr = if odd(rng, 4) {
        let bad = v4_addr(rng);
        pick(rng, &[Ipv4Addr::UNSPECIFIED, bad])
    } else {
        Ipv4Addr::new(198, 18, 0, 10)
    };
    b[f::CIADDR].copy_from_slice(&ciaddr.octets());
    if relayed {
        let giaddr = if odd(rng, 4) {
            v4_addr(rng)
        } else {
            Ipv4Addr::new(198, 18, 5, 1)
        };
        b[f::GIADDR].copy_from_slice(&giaddr.octets());
    }
    let mac_end = f::CHADDR.start + CLIENT_MAC.len();
    b[f::CHADDR.start..mac_end].copy_from_slice(&CLIENT_MAC);
    if rng.gen_ratio(1, 10) {
        // Junk after the MAC, in chaddr's padding, sname and file.
        let n = rng.gen_range(0..=f::MAGIC_COOKIE.start - mac_end);
        let junk = bytes(rng, n);
        b[mac_end..mac_end + n].copy_from_slice(&junk);
    }
    b[f::MAGIC_COOKIE].copy_from_slice(&d4::MAGIC_COOKIE);
    b.extend(v4_options(rng));
    if rng.gen_ratio(3, 4) && b.len() < d4::MIN_MESSAGE_LEN {
        b.resize(d4::MIN_MESSAGE_LEN, 0);
    }
    b
}

pub fn v4_frame(rng: &mut StdRng) -> Vec<u8> {
    let payload = bootp(rng);
    let relayed = payload[bootp_field::GIADDR] != [0; 4];
    let tags = tags(rng);
    let iface = iface_of(rng, &tags);
    let src = if relayed {
        Ipv4Addr::new(198, 18, 5, 1)
    } else {
        Ipv4Addr::new(198, 18, 0, 10)
    };
    let dst = if odd(rng, 6) {
        v4_addr(rng)
    } else if rng.gen() {
        iface.v4
    } else {
        Ipv4Addr::BROADCAST
    };
    let sport = if relayed {
        d4::SERVER_PORT
    } else {
        d4::CLIENT_PORT
    };
    let dport: u16 = if odd(rng, 20) {
        rng.gen()
    } else {
        d4::SERVER_PORT
    };
    let udp_len = udp::HDR_LEN + payload.len();
    let mut ip = vec![0u8; ipv4::HDR_LEN];
    ip[ip4::VER_IHL] = ipv4::VER_IHL_NO_OPTIONS;
    ip[ip4::LENGTH].copy_from_slice(&((ipv4::HDR_LEN + udp_len) as u16).to_be_bytes());
    ip[ip4::IDENT].copy_from_slice(&rng.gen::<[u8; 2]>());
    // The flags octet of flags/offset.
    ip[ip4::FLG_OFF.start] = if odd(rng, 8) {
        let offset = rng.gen_range(0..0x20);
        pick(rng, &[0x20, offset, 0x80]) // More Fragments, an offset, reserved
    } else {
        pick(rng, &[0x40, 0]) // DF or not
    };
    ip[ip4::TTL] = pick(rng, &[ipv4::DEFAULT_TTL, 1, 255]);
    // TCP, rarely.
    ip[ip4::PROTOCOL] = if odd(rng, 30) { 6 } else { ipv4::PROTO_UDP };
    ip[ip4::SRC_ADDR].copy_from_slice(&src.octets());
    ip[ip4::DST_ADDR].copy_from_slice(&dst.octets());
    if odd(rng, 20) {
        // IP options: NOP NOP NOP EOL, one more word of header.
        let options = [1, 1, 1, 0];
        ip.extend(options);
        ip[ip4::VER_IHL] = ipv4::VER_IHL_NO_OPTIONS + 1;
        let total = ipv4::HDR_LEN + options.len() + udp_len;
        ip[ip4::LENGTH].copy_from_slice(&(total as u16).to_be_bytes());
    }
    let mut udp = [
        &sport.to_be_bytes()[..],
        &dport.to_be_bytes(),
        &(udp_len as u16).to_be_bytes(),
        &[0, 0],
    ]
    .concat();
    udp.extend(&payload);
    let mut packet = [ip, udp].concat();
    refresh_v4(&mut packet);
    if rng.gen_ratio(1, 10) {
        let ihl = ihl(&packet);
        packet[ihl + u::CHECKSUM.start..ihl + u::CHECKSUM.end].fill(0); // legal over IPv4
    }
    let dst_mac = if relayed { SERVER_MAC } else { eth::BROADCAST };
    let mut f = [l2(rng, dst_mac, &tags, eth::ETHERTYPE_IPV4), packet].concat();
    if rng.gen_ratio(1, 10) {
        let n = rng.gen_range(1..40);
        f.extend(bytes(rng, n)); // an Ethernet trailer after the IP packet
    }
    f
}

/// The IPv4 header's length in octets: IHL, the low nibble of its first octet, in words.
fn ihl(p: &[u8]) -> usize {
    usize::from(p[ip4::VER_IHL] & ipv4::IHL_MASK) * ipv4::IHL_WORD_LEN
}

/// Recompute the IPv4 header and UDP checksums of `packet` as far as its lengths allow.
fn refresh_v4(p: &mut [u8]) {
    if p.len() < ipv4::HDR_LEN {
        return;
    }
    let ihl = ihl(p);
    if ihl < ipv4::HDR_LEN || p.len() < ihl + udp::HDR_LEN {
        return;
    }
    p[ip4::CHECKSUM].fill(0);
    let s = !sum(&[&p[..ihl]]);
    p[ip4::CHECKSUM].copy_from_slice(&s.to_be_bytes());
    refresh_udp(p, ihl, |ip, udp_len| {
        let len = (udp_len as u16).to_be_bytes();
        let addresses = &ip[ip4::SRC_ADDR.start..ip4::DST_ADDR.end];
        [addresses, &[0, ipv4::PROTO_UDP], &len].concat()
    });
}

/// The UDP checksum of the datagram at `udp_at`, when its length fits the packet: over the
/// pseudo-header `pseudo` makes from the IP header and the UDP length, and the segment.
fn refresh_udp(p: &mut [u8], udp_at: usize, pseudo: impl Fn(&[u8], usize) -> Vec<u8>) {
    let udp_len = usize::from(be16(p, udp_at + u::LENGTH.start));
    if udp_len < udp::HDR_LEN || p.len() < udp_at + udp_len {
        return;
    }
    let (head, rest) = p.split_at_mut(udp_at);
    let seg = &mut rest[..udp_len];
    seg[u::CHECKSUM].fill(0);
    let s = match !sum(&[&pseudo(head, udp_len), seg]) {
        0 => 0xffff,
        s => s,
    };
    seg[u::CHECKSUM].copy_from_slice(&s.to_be_bytes());
}

// ---- DHCPv6 ------------------------------------------------------------------------------

/// An option: code, length, data (RFC 8415 §21.1).
fn v6_option(code: u16, data: &[u8]) -> Vec<u8> {
    [
        &code.to_be_bytes()[..],
        &(data.len() as u16).to_be_bytes(),
        data,
    ]
    .concat()
}

fn oro(rng: &mut StdRng) -> Vec<u8> {
    // Ignorable (SOL/INF_MAX_RT), then not served: SIP domains and an unconfigured code.
    const CODES: [u16; 12] = [
        V6_URI,
        V6_CERT,
        V6_EXTRA,
        V6_IRT,
        d6::OPT_SOL_MAX_RT,
        d6::OPT_INF_MAX_RT,
        d6::OPT_DOMAIN_LIST,
        d6::OPT_STATUS_CODE,
        d6::OPT_CLIENTID,
        d6::OPT_SERVERID,
        21,
        65003,
    ];
    let codes: Vec<u16> = if odd(rng, 4) {
        match rng.gen_range(0..3) {
            0 => Vec::new(),
            1 => (0..rng.gen_range(100..140))
                .map(|_| pick(rng, &CODES))
                .collect(),
            _ => (0..rng.gen_range(1..8))
                .map(|_| pick(rng, &CODES))
                .collect(),
        }
    } else {
        match rng.gen_range(0..4) {
            0 => vec![V6_URI],
            1 => vec![V6_CERT, V6_IRT],
            // Servable and ignorable codes only.
            _ => (0..rng.gen_range(0..8))
                .map(|_| pick(rng, &CODES[..6]))
                .chain([V6_CERT])
                .collect(),
        }
    };
    let mut data: Vec<u8> = codes.iter().flat_map(|c| c.to_be_bytes()).collect();
    if odd(rng, 20) {
        data.push(rng.gen()); // odd length
    }
    data
}

fn duid(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..4) {
        0 => {
            let len = rng.gen_range(1..130);
            bytes(rng, len)
        }
        _ => duid_ll(CLIENT_MAC),
    }
}

fn v6_options(rng: &mut StdRng) -> Vec<u8> {
    let mut opts: Vec<Vec<u8>> = Vec::new();
    if rng.gen_ratio(4, 5) {
        let id = if odd(rng, 20) {
            let len = rng.gen_range(250..270);
            bytes(rng, len)
        } else {
            duid(rng)
        };
        opts.push(v6_option(d6::OPT_CLIENTID, &id));
    }
    if !odd(rng, 10) {
        opts.push(v6_option(d6::OPT_ORO, &oro(rng)));
    }
    if rng.gen_ratio(1, 2) {
        opts.push(v6_option(d6::OPT_ELAPSED_TIME, &rng.gen::<[u8; 2]>()));
    }
    if rng.gen_ratio(1, 6) {
        let sid = if odd(rng, 2) {
            pick(rng, &[0, 1])
                .eq(&0)
                .then(Vec::new)
                .unwrap_or_else(|| duid(rng))
        } else {
            duid_ll(SERVER_MAC)
        };
        opts.push(v6_option(d6::OPT_SERVERID, &sid));
    }
    if odd(rng, 10) {
        let ia = pick(rng, &[d6::OPT_IA_NA, d6::OPT_IA_TA, d6::OPT_IA_PD]);
        opts.push(v6_option(ia, &[0; 12]));
    }
    if rng.gen_ratio(1, 4) {
        let len = rng.gen_range(0..300);
        // Vendor Class, User Class, Client FQDN, an unconfigured code.
        let code = pick(rng, &[d6::OPT_VENDOR_CLASS, 15, 39, 65000]);
        opts.push(v6_option(code, &bytes(rng, len)));
    }
    if odd(rng, 8) {
        let again = opts.choose(rng).cloned().unwrap_or_default();
        opts.push(again);
    }
    if rng.gen_ratio(1, 20) {
        for _ in 0..rng.gen_range(60..300) {
            opts.push(v6_option(65000, &[]));
        }
    }
    opts.shuffle(rng);
    opts.concat()
}

fn v6_message(rng: &mut StdRng) -> Vec<u8> {
    let msg_type = if odd(rng, 5) {
        let any = rng.gen();
        // SOLICIT, a bare Relay-forward header, anything.
        pick(rng, &[d6::MSG_SOLICIT, d6::MSG_RELAY_FORW, any])
    } else {
        d6::MSG_INFORMATION_REQUEST
    };
    let mut m = vec![msg_type];
    m.extend(rng.gen::<[u8; 3]>());
    m.extend(v6_options(rng));
    m
}

/// A Relay-forward (RFC 8415 §9) around `inner`, with an Interface-ID.
fn relay_forward(rng: &mut StdRng, inner: &[u8], hops: u8) -> Vec<u8> {
    let mut m = vec![0; relay::OPTIONS.start];
    m[relay::MSG_TYPE] = d6::MSG_RELAY_FORW;
    m[relay::HOP_COUNT] = hops;
    m[relay::LINK_ADDRESS]
        .copy_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 5, 0, 0, 0, 1).octets());
    let peer = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x11, 0x22ff, 0xfe33, 0x4455);
    m[relay::PEER_ADDRESS].copy_from_slice(&peer.octets());
    if rng.gen() {
        m.extend(v6_option(d6::OPT_INTERFACE_ID, b"eth7"));
    }
    m.extend(v6_option(d6::OPT_RELAY_MSG, inner));
    m
}

fn v6_src(rng: &mut StdRng) -> Ipv6Addr {
    if odd(rng, 4) {
        return match rng.gen_range(0..5) {
            0 => Ipv6Addr::UNSPECIFIED,
            1 => Ipv6Addr::LOCALHOST,
            2 => "ff02::1".parse().expect("address"),
            3 => Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10),
            _ => Ipv6Addr::from(rng.gen::<u128>()),
        };
    }
    if rng.gen_ratio(1, 5) {
        Ipv6Addr::new(0xfebf, 0, 0, 0, 0, 0, 0, rng.gen())
    } else {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0x11, 0x22ff, 0xfe33, 0x4455)
    }
}

pub fn v6_frame(rng: &mut StdRng) -> Vec<u8> {
    let mut msg = v6_message(rng);
    let mut sport = d6::CLIENT_PORT;
    let mut src = v6_src(rng);
    let tags = tags(rng);
    let iface = iface_of(rng, &tags);
    let mut dst: Ipv6Addr = if odd(rng, 5) {
        pick(
            rng,
            &[
                iface.ll,
                "ff02::1".parse().expect("address"),
                Ipv6Addr::from_octets(ipv6::ALL_DHCP_SERVERS),
            ],
        )
    } else {
        Ipv6Addr::from_octets(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS)
    };
    if odd(rng, 5) {
        // Relayed, 1 or 2 hops, from the relay's address (or not).
        msg = relay_forward(rng, &msg, 0);
        for hop in 1..rng.gen_range(1..=5) {
            msg = relay_forward(rng, &msg, hop);
        }
        sport = d6::SERVER_PORT;
        if rng.gen_ratio(3, 4) {
            src = Ipv6Addr::new(0x2001, 0xdb8, 0, 5, 0, 0, 0, 1);
        }
        dst = match rng.gen_range(0..4) {
            0 => IFACES[0].ll,
            1 => IFACES[0].global.expect("the untagged interface has one"),
            _ => dst,
        };
    }
    let udp_len = udp::HDR_LEN + msg.len();
    let mut udp = [
        &sport.to_be_bytes()[..],
        &d6::SERVER_PORT.to_be_bytes(),
        &(udp_len as u16).to_be_bytes(),
        &[0, 0],
    ]
    .concat();
    udp.extend(&msg);
    let mut next = ipv6::NEXT_HDR_UDP;
    let mut ext = Vec::new();
    match rng.gen_range(0..25) {
        _ if !odd(rng, 10) => {}
        0..=12 => {
            // Hop-by-Hop with a PadN, then UDP.
            ext = vec![ipv6::NEXT_HDR_UDP, 0, 1, 4, 0, 0, 0, 0];
            next = ipv6::NEXT_HDR_HOP_BY_HOP;
        }
        _ => {
            // A fragment header (first fragment, More Fragments set).
            ext = vec![ipv6::NEXT_HDR_UDP, 0, 0, 1];
            ext.extend(rng.gen::<[u8; 4]>());
            next = ipv6::NEXT_HDR_FRAGMENT;
        }
    }
    let mut ip = vec![0; ipv6::HDR_LEN];
    ip[ip6::VER_TC_FLOW].copy_from_slice(&ipv6::VER_TC_FLOW_DEFAULT);
    ip[ip6::LENGTH].copy_from_slice(&((ext.len() + udp_len) as u16).to_be_bytes());
    ip[ip6::NXT_HDR] = next;
    ip[ip6::HOP_LIMIT] = pick(rng, &[255, 1, ipv6::HOP_LIMIT]);
    ip[ip6::SRC_ADDR].copy_from_slice(&src.octets());
    ip[ip6::DST_ADDR].copy_from_slice(&dst.octets());
    let mut packet = [ip, ext, udp].concat();
    refresh_v6(&mut packet);
    let dst_mac = if dst.is_multicast() {
        let [a, b] = eth::IPV6_MULTICAST_PREFIX;
        let o = dst.octets();
        [a, b, o[12], o[13], o[14], o[15]]
    } else {
        SERVER_MAC
    };
    let mut f = [l2(rng, dst_mac, &tags, eth::ETHERTYPE_IPV6), packet].concat();
    if rng.gen_ratio(1, 10) {
        let n = rng.gen_range(1..40);
        f.extend(bytes(rng, n));
    }
    f
}

/// Recompute the UDP checksum of an IPv6 packet whose next header is UDP (or after one
/// extension header of 8 octets), as far as its lengths allow.
fn refresh_v6(p: &mut [u8]) {
    /// The one extension header the generator adds.
    const EXT_LEN: usize = ipv6::EXT_HDR_MIN_LEN;
    if p.len() < ipv6::HDR_LEN + udp::HDR_LEN {
        return;
    }
    let udp_at = if p[ip6::NXT_HDR] == ipv6::NEXT_HDR_UDP {
        ipv6::HDR_LEN
    } else {
        ipv6::HDR_LEN + EXT_LEN
    };
    if p.len() < udp_at + udp::HDR_LEN {
        return;
    }
    refresh_udp(p, udp_at, |ip, udp_len| {
        let len = (udp_len as u32).to_be_bytes();
        let addresses = &ip[ip6::SRC_ADDR.start..ip6::DST_ADDR.end];
        [addresses, &len, &[0, 0, 0, ipv6::NEXT_HDR_UDP]].concat()
    });
}

// ---- Mutations -----------------------------------------------------------------------------

/// Where layer 3 starts, walking up to three tags (for mutations only: the model has its own).
fn l3_off(f: &[u8]) -> usize {
    const MAX_TAGS: usize = 3;
    let first = eth::field::ETHERTYPE.start;
    let mut at = first;
    while f.len() >= at + eth::field::ETHERTYPE.len()
        && matches!(be16(f, at), eth::ETHERTYPE_VLAN | eth::ETHERTYPE_QINQ)
        && at < first + MAX_TAGS * eth::VLAN_TAG_LEN
    {
        at += eth::VLAN_TAG_LEN;
    }
    (at + eth::field::ETHERTYPE.len()).min(f.len())
}

fn mutate(rng: &mut StdRng, f: &mut Vec<u8>) {
    let l3 = l3_off(f);
    for _ in 0..rng.gen_range(1..4) {
        match rng.gen_range(0..10) {
            0..=3 => {
                // Change octets: anywhere, or in the headers, where most decisions are.
                let region = if rng.gen() {
                    0..f.len()
                } else {
                    0..(l3 + 64).min(f.len())
                };
                if !region.is_empty() {
                    for _ in 0..rng.gen_range(1..6) {
                        let at = rng.gen_range(region.clone());
                        f[at] = if rng.gen() {
                            rng.gen()
                        } else {
                            f[at] ^ (1 << rng.gen_range(0..8))
                        };
                    }
                }
            }
            4 => {
                // A lying length: IPv4 total / IPv6 payload / UDP length.
                let at = pick(
                    rng,
                    &[
                        l3 + ip4::LENGTH.start,
                        l3 + ip6::LENGTH.start,
                        l3 + ipv4::HDR_LEN + u::LENGTH.start,
                        l3 + ipv6::HDR_LEN + u::LENGTH.start,
                    ],
                );
                if at + 2 <= f.len() {
                    let old = u16::from_be_bytes([f[at], f[at + 1]]);
                    let (up, down, any): (u16, u16, u16) =
                        (rng.gen_range(2..600), rng.gen_range(2..600), rng.gen());
                    let new = pick(
                        rng,
                        &[
                            old.wrapping_add(1),
                            old.wrapping_sub(1),
                            old.wrapping_add(up),
                            old.wrapping_sub(down),
                            any,
                        ],
                    );
                    f[at..at + 2].copy_from_slice(&new.to_be_bytes());
                }
            }
            5 => {
                let keep = rng.gen_range(eth::HDR_LEN.min(f.len())..=f.len());
                f.truncate(keep);
            }
            6 => {
                let n = rng.gen_range(1..64);
                f.extend(bytes(rng, n));
            }
            _ => {}
        }
    }
    // Half the time the checksums are made right again, so the change reaches the DHCP rules.
    if rng.gen() && f.len() > l3 {
        let (_, packet) = f.split_at_mut(l3);
        match packet.first().map(|b| b >> 4) {
            Some(IP_VERSION_4) => refresh_v4(packet),
            Some(IP_VERSION_6) => refresh_v6(packet),
            _ => {}
        }
    }
    if f.len() < eth::HDR_LEN {
        f.resize(eth::HDR_LEN, 0);
    }
}
