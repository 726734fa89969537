//! Head growth (issue 10): where the driver leaves too little room after a request for its
//! reply, XDP grows the frame at its head as well (bpf_xdp_adjust_head) and answers itself,
//! counted `answered` and `grown_at_head`. The TC fallback is off here: every answer is XDP's,
//! and what neither end of the frame can hold is passed, counted `no_tailroom`.
//!
//! Each case sends one request (one xid) at a range of lengths (PAD options after End, a
//! Vendor Class option): the short ones need the head, the longest is longer than its reply
//! (the frame shrinks, nothing grows). Every answer must be the same frame, octet for octet,
//! and at least one of them must have been grown at the head. Where the room ends depends on
//! the driver's buffers (veth native: a page-pool fragment as long as the request; generic:
//! the skb's allocation), so the lengths are a sweep, not one size.

use std::time::Duration;

use lwm2m_xdp::client;
use lwm2m_xdp_tests::{
    config_file::ConfigFile,
    pair_and_scratch,
    peers::{self, client_v4_broadcast, client_v6_multicast, ClientXdpPass, RawSocket},
    running::{count, Running},
    skip_unless_root, NetnsPair, Side,
};
use serde_json::Value;
use xdp_common::wire::{dhcpv4, dhcpv6};

const URI: &str = "coaps://198.18.0.1:5684";
/// How long one request waits for its answer (a passed one gets none).
const PATIENCE: Duration = Duration::from_millis(800);

/// One request at several lengths, the last longer than its reply.
enum Request {
    /// A DHCPINFORM padded to each length (octets of the BOOTP message).
    V4 { xid: u32, lengths: &'static [usize] },
    /// An INFORMATION-REQUEST with a Vendor Class of each length (0: none, a bare request).
    V6 { xid: [u8; 3], pads: &'static [u16] },
}

impl Request {
    fn family(&self) -> &'static str {
        match self {
            Request::V4 { .. } => "v4",
            Request::V6 { .. } => "v6",
        }
    }

    /// The request's frames, shortest first.
    fn frames(&self, pair: &NetnsPair) -> Vec<Vec<u8>> {
        match self {
            Request::V4 { xid, lengths } => lengths
                .iter()
                .map(|&len| {
                    let mut inform = client::build_inform(
                        *xid,
                        pair.mac(Side::Client),
                        pair.ipv4(Side::Client),
                        &[
                            dhcpv4::DEFAULT_URI_OPTION,
                            dhcpv4::DEFAULT_CERTIFICATE_OPTION,
                        ],
                        Some(1500),
                    );
                    assert!(inform.len() <= len, "an INFORM of {} octets", inform.len());
                    inform.resize(len, dhcpv4::OPT_PAD);
                    client_v4_broadcast(
                        pair,
                        vec![],
                        pair.ipv4(Side::Client),
                        dhcpv4::CLIENT_PORT,
                        &inform,
                    )
                })
                .collect(),
            Request::V6 { xid, pads } => pads
                .iter()
                .map(|&pad| {
                    let duid = lwm2m_xdp::ifaces::duid_ll(pair.mac(Side::Client));
                    let mut ir = client::build_information_request(
                        *xid,
                        &duid,
                        &[
                            dhcpv6::DEFAULT_URI_OPTION,
                            dhcpv6::DEFAULT_CERTIFICATE_OPTION,
                        ],
                    );
                    client::pad_with_vendor_class(&mut ir, pad);
                    client_v6_multicast(pair, &ir)
                })
                .collect(),
        }
    }

    /// Whether a DHCP reply (UDP payload, to a client port) carries this request's xid.
    fn answers(&self, payload: &[u8]) -> bool {
        match self {
            Request::V4 { xid, .. } => {
                payload.len() >= dhcpv4::field::XID.end
                    && payload[dhcpv4::field::XID] == xid.to_be_bytes()
            }
            Request::V6 { xid, .. } => payload.len() >= 4 && payload[1..4] == *xid,
        }
    }
}

/// What one request of the sweep got: its answer's frame (if any) and what it moved in the
/// counters.
struct Outcome {
    request_len: usize,
    reply: Option<Vec<u8>>,
    answered: u64,
    grown: u64,
    no_tailroom: u64,
}

fn moved(before: &Value, after: &Value, family: &str, name: &str) -> u64 {
    count(after, family, name) - count(before, family, name)
}

fn sweep(pair: &NetnsPair, run: &Running, request: &Request) -> Vec<Outcome> {
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let family = request.family();
    request
        .frames(pair)
        .into_iter()
        .map(|frame| {
            let before = run.stats();
            socket.send(&frame).expect("send the request");
            let reply = socket
                .receive(PATIENCE, |bytes| {
                    let reply = peers::dhcp_client_reply(bytes)
                        .unwrap_or_else(|why| panic!("{family}: a malformed reply: {why}"))?;
                    request.answers(&reply.payload).then(|| bytes.to_vec())
                })
                .expect("receive");
            let after = run.stats();
            Outcome {
                request_len: frame.len(),
                reply,
                answered: moved(&before, &after, family, "answered"),
                grown: moved(&before, &after, family, "grown_at_head"),
                no_tailroom: moved(&before, &after, family, "no_tailroom"),
            }
        })
        .collect()
}

/// The sweep's rules: each request either answered by XDP (its reply the same frame as the
/// longest request's, which needed no growth) or passed for room, and at least one answered
/// by growing the head.
fn check(family: &str, outcomes: &[Outcome]) {
    let report: Vec<String> = outcomes
        .iter()
        .map(|o| {
            format!(
                "request {}: reply {:?}, answered {}, grown_at_head {}, no_tailroom {}",
                o.request_len,
                o.reply.as_ref().map(Vec::len),
                o.answered,
                o.grown,
                o.no_tailroom
            )
        })
        .collect();
    let report = report.join("\n");
    eprintln!("netns_head {family}:\n{report}");
    let reference = outcomes.last().expect("a sweep");
    let expected = reference
        .reply
        .as_ref()
        .unwrap_or_else(|| panic!("{family}: the longest request is answered\n{report}"));
    assert!(
        reference.request_len > expected.len() && reference.grown == 0,
        "{family}: the reference request is longer than its reply\n{report}"
    );
    for o in outcomes {
        match &o.reply {
            Some(reply) => {
                assert_eq!(
                    (o.answered, o.no_tailroom),
                    (1, 0),
                    "{family}: counted\n{report}"
                );
                assert!(
                    reply == expected,
                    "{family}: the reply to {} octets differs from the reference\n{report}",
                    o.request_len
                );
            }
            None => assert_eq!(
                (o.answered, o.grown, o.no_tailroom),
                (0, 0, 1),
                "{family}: an unanswered request is passed for room\n{report}"
            ),
        }
    }
    assert!(
        outcomes.iter().any(|o| o.reply.is_some() && o.grown == 1),
        "{family}: some request is answered by growing the head\n{report}"
    );
}

fn config(pair: &NetnsPair, mode: &str, certificate: usize) -> String {
    ConfigFile::new(URI, &pair.server_if)
        .certificate(certificate)
        .mode(mode)
        .interface_key("fallback", "none")
        .text()
}

/// Native veth hands XDP a page-pool fragment as long as the request: the tail has a few
/// octets, the head XDP_PACKET_HEADROOM. A 300-octet certificate's answers (636 / 425
/// octets) outgrow short requests by more than the tail gives.
#[test]
fn native_veth_answers_by_growing_the_head() {
    skip_unless_root!("netns_head::native_veth_answers_by_growing_the_head");
    let tag = "head-native";
    let (pair, scratch) = pair_and_scratch(tag);
    let _pass = ClientXdpPass::attach(&pair).expect("XDP_PASS on the client end");
    let cfg = scratch
        .write("lwm2m-xdp.toml", &config(&pair, "native", 300))
        .expect("config");
    let run = Running::start(&pair, cfg, tag, &[]);
    let v4 = Request::V4 {
        xid: peers::xid(41),
        lengths: &[384, 434, 484, 534, 584, 700],
    };
    let v6 = Request::V6 {
        xid: [0x4e, 0xad, 0x06],
        pads: &[0, 50, 100, 150, 200, 450],
    };
    for request in [v4, v6] {
        check(request.family(), &sweep(&pair, &run, &request));
    }
    run.stop();
}

/// Generic XDP on veth with an MTU of 2000: the skb's allocation leaves room for a 1000-octet
/// certificate's answer but not for a 1150-octet one's (DHCPv4, 1498 octets) or a 1400-octet
/// one's (DHCPv6, 1525): with the head, XDP answers them.
#[test]
fn generic_veth_answers_large_certificates_by_growing_the_head() {
    skip_unless_root!("netns_head::generic_veth_answers_large_certificates_by_growing_the_head");
    let tag = "head-generic";
    let (pair, scratch) = pair_and_scratch(tag);
    pair.set_mtu(2000).expect("MTU 2000 on both ends");
    let cases = [
        (
            1150,
            Request::V4 {
                xid: peers::xid(42),
                lengths: &[384, 484, 584, 684, 1600],
            },
        ),
        (
            1400,
            Request::V6 {
                xid: [0x4e, 0xad, 0x16],
                pads: &[0, 100, 200, 300, 1600],
            },
        ),
    ];
    for (certificate, request) in cases {
        let cfg = scratch
            .write("lwm2m-xdp.toml", &config(&pair, "generic", certificate))
            .expect("config");
        let run = Running::start(&pair, cfg, tag, &[]);
        check(request.family(), &sweep(&pair, &run, &request));
        run.stop();
    }
}
