//! An executable protocol.md: for any frame, whether the fast path may answer it and, if so,
//! what a correct reply must hold. Written from the contract, apart from the program: its own
//! frame walk, its own checksums (RFC 1071), dhcproto as the decoder of replies.

pub mod v4;
pub mod v6;

use xdp_common::wire::{eth, ipv4, ipv6};

use crate::served::{Iface, Served};

/// What the model says about a request.
pub enum Expect {
    /// Must come back XDP_PASS, byte for byte unchanged; the rule that says so.
    Pass(&'static str),
    /// May be answered (XDP_TX) only with a reply that `check` accepts; passing it is a miss.
    AnswerV4(v4::Answer),
    AnswerV6(v6::Answer),
}

impl From<&'static str> for Expect {
    fn from(why: &'static str) -> Expect {
        Expect::Pass(why)
    }
}

/// Layer 2 of a frame, as far as the program looks (two tags at most).
pub struct L2<'a> {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// The tag octets (TPID + TCI), as they appear.
    pub tags: &'a [u8],
    pub vlans: (u16, u16),
    pub ethertype: u16,
    pub l3_off: usize,
}

/// The IP version, the high nibble of the first octet of either header.
pub const IP_VERSION_4: u8 = ipv4::VER_IHL_NO_OPTIONS >> 4;
pub const IP_VERSION_6: u8 = ipv6::VERSION;

/// ietf-00's certificate-encoding octet before the DER: X.509 (protocol.md "Wire formats").
pub const CERT_ENCODING_X509: u8 = 4;

fn is_tag(ethertype: u16) -> bool {
    ethertype == eth::ETHERTYPE_VLAN || ethertype == eth::ETHERTYPE_QINQ
}

pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub fn parse_l2(frame: &[u8]) -> Option<L2<'_>> {
    if frame.len() < eth::HDR_LEN {
        return None;
    }
    // `at`: where the ethertype (or a tag's TPID, in its place) stands.
    let mut at = eth::field::ETHERTYPE.start;
    let mut ids = [0u16; eth::MAX_VLAN_TAGS];
    let mut n = 0;
    loop {
        if frame.len() < at + eth::field::ETHERTYPE.len() {
            return None;
        }
        let ethertype = be16(frame, at);
        if !is_tag(ethertype) {
            return Some(L2 {
                dst: frame[eth::field::DESTINATION].try_into().ok()?,
                src: frame[eth::field::SOURCE].try_into().ok()?,
                tags: &frame[eth::field::ETHERTYPE.start..at],
                vlans: (ids[0], ids[1]),
                ethertype,
                l3_off: at + eth::field::ETHERTYPE.len(),
            });
        }
        if n == eth::MAX_VLAN_TAGS || frame.len() < at + eth::VLAN_TAG_LEN {
            return None; // a third tag: not looked through
        }
        ids[n] = be16(frame, at + eth::tag::TCI.start) & eth::VLAN_ID_MASK;
        n += 1;
        at += eth::VLAN_TAG_LEN;
    }
}

/// The request's Ethernet source is a unicast MAC (protocol.md "Who may be answered").
pub fn unicast_mac(mac: [u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac != [0; 6]
}

/// RFC 1071 sum of the concatenation of `parts`, folded.
pub fn sum(parts: &[&[u8]]) -> u16 {
    let mut acc: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => acc += u64::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        acc += u64::from(hi) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// What the model decided for a frame: which config entry answers and how.
pub fn expect(served: &Served, frame: &[u8]) -> Expect {
    let Some(l2) = parse_l2(frame) else {
        return "layer 2: short or more than two tags".into();
    };
    match l2.ethertype {
        eth::ETHERTYPE_IPV4 => v4::expect(served, frame, &l2),
        eth::ETHERTYPE_IPV6 => v6::expect(served, frame, &l2),
        _ => "not IP".into(),
    }
}

/// The entry for the frame's VLAN ids, if the config has one.
pub fn iface(served: &Served, l2: &L2) -> Option<&'static Iface> {
    served.iface(l2.vlans)
}

/// `return Err(format!(...))` unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Layer 2 of a reply: to the request's source, from our MAC, the request's tags kept.
pub fn check_l2(request: &L2, reply: &[u8], ethertype: u16) -> Result<(), String> {
    let r = parse_l2(reply).ok_or("reply: no layer 2")?;
    ensure!(
        r.dst == request.src,
        "reply to {:02x?}, not the request's source",
        r.dst
    );
    ensure!(
        r.src == crate::served::SERVER_MAC,
        "reply from {:02x?}",
        r.src
    );
    ensure!(
        r.tags == request.tags,
        "tags {:02x?} != {:02x?}",
        r.tags,
        request.tags
    );
    ensure!(r.ethertype == ethertype, "ethertype {:#06x}", r.ethertype);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use lwm2m_xdp::client;
    use lwm2m_xdp_test_support::frame;
    use xdp_common::wire::{dhcpv4, dhcpv6};

    use super::*;
    use crate::served::{duid_ll, V4_CERT, V4_URI, V6_URI};

    const CLIENT_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    fn served() -> Served {
        Served::all().expect("fuzz configs").remove(0)
    }

    fn inform(src_mac: [u8; 6], ciaddr: Ipv4Addr, prl: &[u8]) -> Vec<u8> {
        let bootp = client::build_inform(7, CLIENT_MAC, ciaddr, prl, Some(1500));
        let l2 = frame::Ethernet {
            dst: eth::BROADCAST,
            src: src_mac,
            vlans: vec![],
        };
        let ports = (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT);
        frame::ipv4_udp_frame(&l2, ciaddr, Ipv4Addr::BROADCAST, ports, &bootp)
    }

    fn information_request(src: Ipv6Addr, oro: &[u16]) -> Vec<u8> {
        let duid = duid_ll(CLIENT_MAC);
        let msg = client::build_information_request([1, 2, 3], &duid, oro);
        let dst = Ipv6Addr::from_octets(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
        let l2 = frame::Ethernet {
            dst: frame::Ethernet::ipv6_multicast(dst),
            src: CLIENT_MAC,
            vlans: vec![],
        };
        let ports = (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT);
        frame::ipv6_udp_frame(&l2, src, dst, 1, ports, &msg)
    }

    fn why(e: Expect) -> Option<&'static str> {
        match e {
            Expect::Pass(why) => Some(why),
            _ => None,
        }
    }

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to dd f2.
        assert_eq!(
            sum(&[&[0x00, 0x01, 0xf2, 0x03], &[0xf4, 0xf5, 0xf6, 0xf7]]),
            0xddf2
        );
        // Parts join as one byte string: 01 02 03 is 0102 + 0300.
        assert_eq!(sum(&[&[0x01], &[0x02, 0x03]]), 0x0402);
    }

    #[test]
    fn three_tags_are_not_looked_through() {
        let mut f = vec![0xff; 12];
        for id in [100u16, 42, 7] {
            f.extend([0x81, 0x00]);
            f.extend(id.to_be_bytes());
        }
        f.extend([0x08, 0x00]);
        assert!(parse_l2(&f).is_none());
        f.drain(20..24);
        assert_eq!(parse_l2(&f).unwrap().vlans, (100, 42));
    }

    #[test]
    fn an_inform_is_answerable_and_each_rule_of_who_may_be_answered_passes_it() {
        let s = served();
        let ciaddr = Ipv4Addr::new(198, 18, 0, 10);
        assert!(matches!(
            expect(&s, &inform(CLIENT_MAC, ciaddr, &[V4_URI, V4_CERT])),
            Expect::AnswerV4(_)
        ));
        assert_eq!(
            why(expect(&s, &inform(eth::BROADCAST, ciaddr, &[V4_URI]))),
            Some("group source MAC")
        );
        assert_eq!(
            why(expect(&s, &inform([0; 6], ciaddr, &[V4_URI]))),
            Some("group source MAC")
        );
        for bad in [
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(127, 0, 0, 1),
            Ipv4Addr::new(224, 0, 0, 1),
        ] {
            assert_eq!(
                why(expect(&s, &inform(CLIENT_MAC, bad, &[V4_URI]))),
                Some("giaddr/ciaddr not unicast")
            );
        }
        assert_eq!(
            why(expect(&s, &inform(CLIENT_MAC, ciaddr, &[1, 3]))),
            Some("PRL without an LwM2M code")
        );
    }

    #[test]
    fn an_information_request_is_answerable_only_from_a_link_local_source() {
        let s = served();
        let ll: Ipv6Addr = "fe80::1122:33ff:fe44:5566".parse().unwrap();
        assert!(matches!(
            expect(&s, &information_request(ll, &[V6_URI])),
            Expect::AnswerV6(_)
        ));
        for src in ["ff02::1", "::", "2001:db8::10"] {
            let f = information_request(src.parse().unwrap(), &[V6_URI]);
            assert_eq!(
                why(expect(&s, &f)),
                Some("source not link-local unicast"),
                "{src}"
            );
        }
    }
}
