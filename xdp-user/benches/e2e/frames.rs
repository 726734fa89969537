//! The requests of the stream: what the generator sends as whole frames and the latency
//! clients send through sockets. Same payloads both ways.

use std::net::{Ipv4Addr, Ipv6Addr};

use lwm2m_xdp::{client, csum, ifaces};

use crate::topo::End;

pub const V4_CODES: [u8; 2] = [224, 225];
pub const V6_CODES: [u16; 2] = [65001, 65002];
/// Vendor Class data octets added to INFORMATION-REQUEST: on veth a generic-mode reply can
/// only grow into the request's skb slack (ARCHITECTURE.md), as `probe --v6 --pad 256`.
pub const V6_PAD: u16 = 256;
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }
}

/// DHCPINFORM: ciaddr = the client's address, PRL 224 + 225, option 57 = 1500.
pub fn inform_payload(xid: u32, client: &End) -> Vec<u8> {
    client::build_inform(
        xid,
        client.mac,
        crate::topo::CLIENT_V4,
        &V4_CODES,
        Some(1500),
    )
}

/// INFORMATION-REQUEST: DUID-LL, ORO 65001 + 65002, Elapsed Time, Vendor Class padding.
pub fn information_request_payload(xid: u32, client: &End) -> Vec<u8> {
    let x = xid.to_be_bytes();
    let mut msg = client::build_information_request(
        [x[1], x[2], x[3]],
        &ifaces::duid_ll(client.mac),
        &V6_CODES,
    );
    client::pad_with_vendor_class(&mut msg, V6_PAD);
    msg
}

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend(src_port.to_be_bytes());
    udp.extend(dst_port.to_be_bytes());
    udp.extend(((8 + payload.len()) as u16).to_be_bytes());
    udp.extend([0, 0]);
    udp.extend(payload);
    udp
}

/// The whole DHCPINFORM frame: broadcast, from the client's MAC and address, both checksums.
pub fn inform_frame(xid: u32, client: &End) -> Vec<u8> {
    let src = crate::topo::CLIENT_V4.octets();
    let dst = Ipv4Addr::BROADCAST.octets();
    let mut udp = udp(68, 67, &inform_payload(xid, client));
    let c = csum::ipv4_udp_checksum(src, dst, &udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
    ip.extend(src);
    ip.extend(dst);
    let c = csum::ipv4_header_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = vec![0xff; 6];
    frame.extend(client.mac);
    frame.extend(0x0800u16.to_be_bytes());
    frame.extend(ip);
    frame.extend(udp);
    frame
}

/// The whole INFORMATION-REQUEST frame: from the client's link-local address to ff02::1:2.
pub fn information_request_frame(xid: u32, client: &End) -> Vec<u8> {
    let src = client.link_local.octets();
    let dst = ALL_DHCP_SERVERS.octets();
    let mut udp = udp(546, 547, &information_request_payload(xid, client));
    let c = csum::ipv6_udp_checksum(src, dst, &udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut frame = vec![0x33, 0x33, 0, 1, 0, 2];
    frame.extend(client.mac);
    frame.extend(0x86DDu16.to_be_bytes());
    frame.extend([0x60, 0, 0, 0]);
    frame.extend((udp.len() as u16).to_be_bytes());
    frame.extend([17, 1]);
    frame.extend(src);
    frame.extend(dst);
    frame.extend(udp);
    frame
}

pub fn frame(family: Family, xid: u32, client: &End) -> Vec<u8> {
    match family {
        Family::V4 => inform_frame(xid, client),
        Family::V6 => information_request_frame(xid, client),
    }
}
