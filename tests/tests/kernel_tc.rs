//! The TC fallback (`lwm2m_tc`) builds its reply with the same code as the XDP program: run
//! with BPF_PROG_TEST_RUN on an skb, it answers a DHCPINFORM and an INFORMATION-REQUEST with
//! exactly the bytes XDP sends for the same request, redirects them (TC_ACT_REDIRECT), and
//! counts only what it did (answered_tc); what XDP passes, TC leaves to the stack untouched
//! and uncounted.

#[expect(
    dead_code,
    reason = "the helpers shared with kernel_v4/v6 this file does not use"
)]
mod kernel_common;

use std::net::{Ipv4Addr, Ipv6Addr};

use kernel_common::*;
use lwm2m_xdp::{client, config::WireFormat, datapath::Datapath, ifaces::duid_ll};
use lwm2m_xdp_test_support::frame::{ipv4_udp_frame, ipv6_udp_frame, Ethernet};
use xdp_common::{
    counters::{reason_index, Reason, COUNTERS_LEN},
    maps::Family,
    wire::{dhcpv4, dhcpv6, eth, ipv4, ipv6, udp},
};

const TC_ACT_OK: u32 = 0;
const TC_ACT_REDIRECT: u32 = 7;

const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x11, 0x22ff, 0xfe33, 0x4455);
const PRL: [u8; 3] = [V4_URI_CODE, V4_CERT_CODE, V4_EXTRA_CODE];
const ORO: [u16; 3] = [V6_URI_CODE, V6_CERT_CODE, V6_EXTRA_CODE];

/// A broadcast DHCPINFORM from CLIENT_V4 asking for PRL: 342 octets (the encoder pads BOOTP
/// to 300).
fn inform() -> Vec<u8> {
    inform_asking(0x1a2b_3c4d, &PRL, Some(1500))
}

/// A broadcast DHCPINFORM from CLIENT_V4 with this xid, PRL and option 57.
fn inform_asking(xid: u32, prl: &[u8], max_size: Option<u16>) -> Vec<u8> {
    let bootp = client::build_inform(xid, CLIENT_MAC, CLIENT_V4, prl, max_size);
    let l2 = Ethernet {
        dst: Ethernet::BROADCAST,
        src: CLIENT_MAC,
        vlans: vec![],
    };
    ipv4_udp_frame(
        &l2,
        CLIENT_V4,
        Ipv4Addr::BROADCAST,
        (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT),
        &bootp,
    )
}

/// A bare INFORMATION-REQUEST (no padding) from CLIENT_LL to ff02::1:2.
fn information_request() -> Vec<u8> {
    let msg = client::build_information_request([0xab, 0xcd, 0xef], &duid_ll(CLIENT_MAC), &ORO);
    let group = Ipv6Addr::from(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
    let l2 = Ethernet {
        dst: Ethernet::ipv6_multicast(group),
        src: CLIENT_MAC,
        vlans: vec![],
    };
    ipv6_udp_frame(
        &l2,
        CLIENT_LL,
        group,
        1,
        (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
        &msg,
    )
}

/// Only `index` moved, by one.
fn assert_counted_only(counted: &[u64], index: u32, what: &str) {
    assert_eq!(counted.len(), COUNTERS_LEN as usize);
    for (i, n) in counted.iter().enumerate() {
        let expected = u64::from(i == index as usize);
        assert_eq!(*n, expected, "{what}: counter {i} moved by {n}");
    }
}

/// With a 300- and a 1000-octet certificate: XDP answers `frame`; TC answers it with the same
/// bytes, redirected, counted answered_tc.
fn tc_answers_as_xdp(family: Family, frame: &[u8], what: &str) {
    for cert_size in [300, 1000] {
        let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, cert_size));
        let what = format!("{what}, {cert_size}-octet certificate");
        let xdp = h.run(frame);
        assert_eq!(xdp.verdict, XDP_TX, "{what}: XDP answers");
        let (verdict, reply, counted) = h.test_run(Datapath::tc_program, frame);
        assert_eq!(verdict, TC_ACT_REDIRECT, "{what}: TC redirects its answer");
        assert!(
            reply == xdp.out,
            "{what}: TC's reply differs from XDP's\n tc:  {}\n xdp: {}",
            hex(&reply),
            hex(&xdp.out)
        );
        assert_counted_only(
            &counted,
            reason_index(family, Reason::AnsweredTc),
            &format!("{what}: TC counts its answer, nothing else"),
        );
    }
}

#[test]
fn tc_answers_an_inform_with_xdps_bytes() {
    skip_unless_root!("tc_answers_an_inform_with_xdps_bytes");
    let frame = inform();
    assert_eq!(frame.len(), 342);
    tc_answers_as_xdp(Family::V4, &frame, "INFORM");
}

#[test]
fn tc_answers_a_bare_information_request_with_xdps_bytes() {
    skip_unless_root!("tc_answers_a_bare_information_request_with_xdps_bytes");
    tc_answers_as_xdp(Family::V6, &information_request(), "INFORMATION-REQUEST");
}

#[test]
fn tc_leaves_what_xdp_passes_to_the_stack_uncounted() {
    skip_unless_root!("tc_leaves_what_xdp_passes_to_the_stack_uncounted");
    let mut h = Harness::new(Setup::new(WireFormat::Rfc3396, 300));
    // Not asking for an LwM2M option; a bad UDP checksum; not DHCP at all.
    let no_lwm2m = inform_asking(7, &[1, 3], None);
    let mut bad_checksum = information_request();
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 0x40;
    let mut not_dhcp = inform();
    let udp_header = &mut not_dhcp[eth::HDR_LEN + ipv4::HDR_LEN..];
    set_be16(udp_header, udp::field::DST_PORT, 53); // DNS
    for (frame, what) in [
        (no_lwm2m, "INFORM without LwM2M codes"),
        (bad_checksum, "INFORMATION-REQUEST with a bad checksum"),
        (not_dhcp, "UDP to port 53"),
    ] {
        assert_eq!(h.run(&frame).verdict, XDP_PASS, "{what}: XDP passes");
        let (verdict, out, counted) = h.test_run(Datapath::tc_program, &frame);
        assert_eq!(verdict, TC_ACT_OK, "{what}: TC lets it through");
        assert!(out == frame, "{what}: unchanged");
        assert!(
            counted.iter().all(|n| *n == 0),
            "{what}: TC counts nothing XDP counted already: {counted:?}"
        );
    }
}

/// TC charges the rate limit again (XDP gave its credit back when it passed for room): over
/// the limit it drops (`over_limit = "drop"`) or passes (`"pass"`) the request, and counts
/// rate_limited_tc either way: TC never drops what it does not count.
#[test]
fn tc_over_the_rate_limit_counts_what_it_drops_or_passes() {
    skip_unless_root!("tc_over_the_rate_limit_counts_what_it_drops_or_passes");
    const TC_ACT_SHOT: u32 = 2;
    for (keys, verdict) in [
        ("over_limit = \"drop\"\n", TC_ACT_SHOT),
        ("over_limit = \"pass\"\n", TC_ACT_OK),
    ] {
        // Burst 1 at 1 per second: XDP's answer takes the only credit.
        let mut h = Harness::new(
            Setup::new(WireFormat::Rfc3396, 300)
                .rate_limit(1, 1)
                .rate_limit_keys(keys),
        );
        let frame = information_request();
        assert_eq!(h.run(&frame).verdict, XDP_TX, "{keys}: XDP answers first");
        let (tc, out, counted) = h.test_run(Datapath::tc_program, &frame);
        assert_eq!(tc, verdict, "{keys}: TC over the limit");
        if verdict == TC_ACT_OK {
            assert_eq!(out, frame, "{keys}: passed untouched");
        }
        assert_counted_only(
            &counted,
            reason_index(Family::V6, Reason::RateLimitedTc),
            &format!("{keys}: TC counts its rate-limit stop"),
        );
    }
}
