//! Whole request frames as a client puts them on the wire: Ethernet (with 802.1Q tags), IPv4
//! or IPv6, UDP, checksums computed (and the IP packets alone). Used where a client must
//! control every octet: the namespace tests' raw-socket client, the kernel tests' requests
//! and the benches' traffic generators.

use std::net::{Ipv4Addr, Ipv6Addr};

use xdp_common::wire::{eth, ipv4, ipv6, udp};

use lwm2m_xdp::csum;

/// The Ethernet part of a frame: addresses and 802.1Q tags (outermost first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ethernet {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// VLAN ids of 0x8100 tags, outermost first (priority bits zero on send).
    pub vlans: Vec<u16>,
}

impl Ethernet {
    pub const BROADCAST: [u8; 6] = eth::BROADCAST;

    /// The MAC of an IPv6 multicast group (RFC 2464 §7).
    pub fn ipv6_multicast(group: Ipv6Addr) -> [u8; 6] {
        let mut mac = [0; 6];
        let (prefix, tail) = mac.split_at_mut(eth::IPV6_MULTICAST_PREFIX.len());
        prefix.copy_from_slice(&eth::IPV6_MULTICAST_PREFIX);
        tail.copy_from_slice(&group.octets()[16 - tail.len()..]);
        mac
    }

    /// Addresses, tags and `ethertype`: the first octets of a frame.
    pub fn header(&self, ethertype: u16) -> Vec<u8> {
        let mut frame = Vec::with_capacity(eth::HDR_LEN + eth::VLAN_TAG_LEN * self.vlans.len());
        frame.extend(self.dst);
        frame.extend(self.src);
        for vlan in &self.vlans {
            frame.extend(eth::ETHERTYPE_VLAN.to_be_bytes());
            frame.extend(vlan.to_be_bytes());
        }
        frame.extend(ethertype.to_be_bytes());
        frame
    }
}

/// UDP header + `payload`, its checksum field set to what `checksum` computes over the
/// segment with that field zero.
fn udp_segment(ports: (u16, u16), payload: &[u8], checksum: impl Fn(&[u8]) -> u16) -> Vec<u8> {
    let len = u16::try_from(udp::HDR_LEN + payload.len()).expect("datagram fits UDP");
    let mut seg = Vec::with_capacity(usize::from(len));
    seg.extend(ports.0.to_be_bytes());
    seg.extend(ports.1.to_be_bytes());
    seg.extend(len.to_be_bytes());
    seg.extend([0, 0]);
    seg.extend(payload);
    let sum = checksum(&seg);
    seg[udp::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// Ethernet (+ tags) / IPv4 (TTL 64, no options, DF clear) / UDP, both checksums computed.
pub fn ipv4_udp_frame(
    l2: &Ethernet,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = l2.header(eth::ETHERTYPE_IPV4);
    frame.extend(ipv4_udp_packet(src, dst, ports, payload));
    frame
}

/// IPv4 (TTL 64, no options, DF clear) / UDP, both checksums computed.
pub fn ipv4_udp_packet(src: Ipv4Addr, dst: Ipv4Addr, ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let seg = udp_segment(ports, payload, |seg| {
        csum::ipv4_udp_checksum(src.octets(), dst.octets(), seg)
    });
    let total = u16::try_from(ipv4::HDR_LEN + seg.len()).expect("datagram fits IPv4");
    let mut ip = vec![0; ipv4::HDR_LEN];
    ip[ipv4::field::VER_IHL] = ipv4::VER_IHL_NO_OPTIONS;
    ip[ipv4::field::LENGTH].copy_from_slice(&total.to_be_bytes());
    // Any identification will do: the datagram is never fragmented.
    ip[ipv4::field::IDENT].copy_from_slice(&[0x4c, 0x57]);
    ip[ipv4::field::TTL] = ipv4::DEFAULT_TTL;
    ip[ipv4::field::PROTOCOL] = ipv4::PROTO_UDP;
    ip[ipv4::field::SRC_ADDR].copy_from_slice(&src.octets());
    ip[ipv4::field::DST_ADDR].copy_from_slice(&dst.octets());
    let sum = csum::ipv4_header_checksum(&ip);
    ip[ipv4::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    ip.extend(seg);
    ip
}

/// Ethernet (+ tags) / IPv6 (no extension headers) / UDP, checksum computed.
pub fn ipv6_udp_frame(
    l2: &Ethernet,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = l2.header(eth::ETHERTYPE_IPV6);
    frame.extend(ipv6_udp_packet(src, dst, hop_limit, ports, payload));
    frame
}

/// IPv6 (no extension headers) / UDP, checksum computed.
pub fn ipv6_udp_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let seg = udp_segment(ports, payload, |seg| {
        csum::ipv6_udp_checksum(src.octets(), dst.octets(), seg)
    });
    let mut ip = vec![0; ipv6::HDR_LEN];
    ip[ipv6::field::VER_TC_FLOW].copy_from_slice(&ipv6::VER_TC_FLOW_DEFAULT);
    ip[ipv6::field::LENGTH].copy_from_slice(&u16::try_from(seg.len()).expect("fits").to_be_bytes());
    ip[ipv6::field::NXT_HDR] = ipv6::NEXT_HDR_UDP;
    ip[ipv6::field::HOP_LIMIT] = hop_limit;
    ip[ipv6::field::SRC_ADDR].copy_from_slice(&src.octets());
    ip[ipv6::field::DST_ADDR].copy_from_slice(&dst.octets());
    ip.extend(seg);
    ip
}
