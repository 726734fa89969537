//! The requests of the stream: what the generator sends as whole frames and the latency
//! clients send through sockets. Same payloads both ways.

use std::net::{Ipv4Addr, Ipv6Addr};

use lwm2m_xdp::{client, ifaces};
use lwm2m_xdp_test_support::frame::{self, Ethernet};
use xdp_common::wire::{dhcpv4, dhcpv6, ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS};

use crate::topo::LinkEnd;

pub const V4_CODES: [u8; 2] = [
    dhcpv4::DEFAULT_URI_OPTION,
    dhcpv4::DEFAULT_CERTIFICATE_OPTION,
];
pub const V6_CODES: [u16; 2] = [
    dhcpv6::DEFAULT_URI_OPTION,
    dhcpv6::DEFAULT_CERTIFICATE_OPTION,
];
/// Vendor Class data octets added to INFORMATION-REQUEST: on veth a generic-mode reply can
/// only grow into the request's skb slack (ARCHITECTURE.md), as `probe --v6 --pad 256`.
pub const V6_PAD: u16 = 256;
pub const ALL_DHCP_SERVERS: Ipv6Addr =
    Ipv6Addr::from_bits(u128::from_be_bytes(ALL_DHCP_RELAY_AGENTS_AND_SERVERS));

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
pub fn inform_payload(xid: u32, client: &LinkEnd) -> Vec<u8> {
    client::build_inform(
        xid,
        client.mac,
        crate::topo::CLIENT_V4,
        &V4_CODES,
        Some(1500),
    )
}

/// The low 24 bits of `xid`: a DHCPv6 transaction id.
pub fn transaction_id(xid: u32) -> [u8; 3] {
    let [_, id @ ..] = xid.to_be_bytes();
    id
}

/// INFORMATION-REQUEST: DUID-LL, ORO 65001 + 65002, Elapsed Time, Vendor Class padding.
pub fn information_request_payload(xid: u32, client: &LinkEnd) -> Vec<u8> {
    let mut msg = client::build_information_request(
        transaction_id(xid),
        &ifaces::duid_ll(client.mac),
        &V6_CODES,
    );
    client::pad_with_vendor_class(&mut msg, V6_PAD);
    msg
}

/// The whole DHCPINFORM frame: broadcast, from the client's MAC and address, both checksums.
pub fn inform_frame(xid: u32, client: &LinkEnd) -> Vec<u8> {
    frame::ipv4_udp_frame(
        &Ethernet {
            dst: Ethernet::BROADCAST,
            src: client.mac,
            vlans: vec![],
        },
        crate::topo::CLIENT_V4,
        Ipv4Addr::BROADCAST,
        (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT),
        &inform_payload(xid, client),
    )
}

/// The whole INFORMATION-REQUEST frame: from the client's link-local address to ff02::1:2.
pub fn information_request_frame(xid: u32, client: &LinkEnd) -> Vec<u8> {
    frame::ipv6_udp_frame(
        &Ethernet {
            dst: Ethernet::ipv6_multicast(ALL_DHCP_SERVERS),
            src: client.mac,
            vlans: vec![],
        },
        client.link_local,
        ALL_DHCP_SERVERS,
        1,
        (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
        &information_request_payload(xid, client),
    )
}

pub fn frame(family: Family, xid: u32, client: &LinkEnd) -> Vec<u8> {
    match family {
        Family::V4 => inform_frame(xid, client),
        Family::V6 => information_request_frame(xid, client),
    }
}
