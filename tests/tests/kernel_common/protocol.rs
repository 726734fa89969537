//! What kernel_v4.rs and kernel_v6.rs test the same way, given a family's `Protocol`: a
//! request answered and its answer checked, a request passed, the checker's own teeth, every
//! truncation of a request, frames of VLANs not configured, group source MACs, the rate
//! limits, and the two mutation properties.

use std::{cell::Cell, cell::RefCell, ops::Range};

use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestCaseError, TestRunner},
};
use xdp_common::{
    counters::{Reason, Seen},
    maps::Family,
    wire::eth,
};

use lwm2m_xdp::config::WireFormat;

use super::{hex, parse_l2, Harness, Setup, Tag, L2, XDP_DROP, XDP_PASS, XDP_TX};

/// A family's rules, as its test file writes them apart from the program.
pub trait Protocol {
    /// Where the counters of this family's requests are kept.
    const FAMILY: Family;
    /// The ethertype of this family's frames.
    const ETHERTYPE: u16;
    /// Octets of the IP and UDP headers in front of the DHCP message (no IP options or
    /// extension headers: the requests built here have none).
    const IP_UDP_LEN: usize;

    /// Ok when `reply` is the answer protocol.md prescribes for `request` under the
    /// harness's setup and `request` was one the fast path may answer at all; otherwise the
    /// first thing wrong.
    fn check(h: &Harness, request: &[u8], reply: &[u8]) -> Result<(), String>;

    /// Recompute the checksums of an IP packet (from its IP header on) as it now stands.
    fn refresh_checksums(packet: &mut [u8]);
}

/// A request of a family and the frame around it, as the family's test file builds it.
pub trait Request: Sized {
    type Protocol: Protocol;

    fn l2(&self) -> &L2;

    fn l2_mut(&mut self) -> &mut L2;

    /// The IP packet, checksums computed.
    fn packet(&self) -> Vec<u8>;

    fn frame(&self) -> Vec<u8> {
        self.frame_with_packet(|_| {})
    }

    /// The frame with the IP packet changed by `edit` (checksums left as `edit` leaves them).
    fn frame_with_packet(&self, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut packet = self.packet();
        edit(&mut packet);
        self.l2().frame(Self::Protocol::ETHERTYPE, &packet)
    }

    /// The family's standard request, sent by the client whose MAC is `mac` (and, where the
    /// message names its client, naming that one).
    fn from_client(mac: [u8; 6]) -> Self;

    /// The same request with these VLAN tags, outermost first.
    fn tagged(mut self, tags: &[Tag]) -> Self {
        let l2 = self.l2_mut();
        *l2 = l2.clone().tagged(tags);
        self
    }
}

/// Requests (`request()`, untagged, one the harness answers) tagged for VLANs the harness's
/// config does not name are passed as not for us: a tag alone, QinQ without its inner tag or
/// with an unknown one, the configured pair reversed. Three tags are more than the program
/// looks through: passed before IP, counted as other.
pub fn unconfigured_vlans_are_passed<R: Request>(h: &mut Harness, request: impl Fn() -> R) {
    let cases: [(&str, Vec<Tag>); 4] = [
        ("802.1Q 43", vec![(eth::ETHERTYPE_VLAN, 43)]),
        (
            "802.1Q 100 without the inner tag",
            vec![(eth::ETHERTYPE_QINQ, 100)],
        ),
        (
            "QinQ 100/43",
            vec![(eth::ETHERTYPE_QINQ, 100), (eth::ETHERTYPE_VLAN, 43)],
        ),
        (
            "QinQ 42/100 (reversed)",
            vec![(eth::ETHERTYPE_QINQ, 42), (eth::ETHERTYPE_VLAN, 100)],
        ),
    ];
    for (what, tags) in cases {
        let frame = request().tagged(&tags).frame();
        expect_pass::<R::Protocol>(h, &frame, Reason::NotForUs, what);
    }
    let three = request()
        .tagged(&[
            (eth::ETHERTYPE_QINQ, 100),
            (eth::ETHERTYPE_VLAN, 42),
            (eth::ETHERTYPE_VLAN, 42),
        ])
        .frame();
    let run = h.run(&three);
    run.assert_passed_unchanged(&three, "three tags");
    assert_eq!(run.seen(Seen::Other), 1, "three tags counted as other");
    let family = R::Protocol::FAMILY;
    assert_eq!(run.reason(family, Reason::Received), 0, "three tags");
}

/// Ethernet sources that are no client (protocol.md, "Who may be answered"): broadcast, IPv4
/// and IPv6 multicast, all-zero.
pub const NOT_UNICAST_MACS: [[u8; 6]; 4] = [
    [0xff; 6],
    [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
    [0x33, 0x33, 0x00, 0x01, 0x00, 0x02],
    [0; 6],
];

/// Each of `requests()` (ones the harness answers) from a group or all-zero source MAC is
/// passed and counted; from a locally administered unicast MAC, answered like any other.
pub fn group_source_macs_are_passed<R: Request>(h: &mut Harness, requests: impl Fn() -> Vec<R>) {
    for mac in NOT_UNICAST_MACS {
        for mut request in requests() {
            request.l2_mut().src = mac;
            let what = format!("source MAC {}", hex(&mac));
            expect_pass::<R::Protocol>(h, &request.frame(), Reason::GroupSource, &what);
        }
    }
    for mut request in requests() {
        request.l2_mut().src = [0x06, 0, 0, 0, 0, 1];
        let what = "locally administered unicast source";
        expect_answer::<R::Protocol>(h, &request.frame(), what);
    }
}

/// At 1 answer a second with a burst of 3, a client sending 10 at once gets 3 answers and
/// the other 7 are dropped (the only drop the fast path makes, protocol.md), each counted;
/// another client, with its own bucket, is answered.
pub fn a_flooding_client_is_limited_alone<R: Request>() {
    let mut h = Harness::new(Setup::new(WireFormat::Draft00, 300).rate_limit(1, 3));
    let flood = R::from_client([0x02, 0x98, 0, 0, 0, 1]).frame();
    let verdicts: Vec<u32> = (0..10).map(|_| h.run(&flood).verdict).collect();
    assert_eq!(
        verdicts.iter().filter(|&&v| v == XDP_TX).count(),
        3,
        "answers within the burst: {verdicts:?}"
    );
    assert!(
        verdicts[3..].iter().all(|&v| v == XDP_DROP),
        "after the burst every request is dropped: {verdicts:?}"
    );
    let family = R::Protocol::FAMILY;
    let other = h.run(&R::from_client([0x02, 0x99, 0, 0, 0, 1]).frame());
    assert_eq!(other.verdict, XDP_TX, "a second client is answered");
    other.assert_answered(family, "a second client");
}

/// `over_limit = "pass"` at 1 a second, burst 1: the first request is answered, the next
/// three are passed untouched to the normal server and counted as passed over the limit.
pub fn over_limit_pass_hands_requests_on<R: Request>() {
    let setup = Setup::new(WireFormat::Draft00, 300)
        .rate_limit(1, 1)
        .rate_limit_keys("over_limit = \"pass\"");
    let mut h = Harness::new(setup);
    let frame = R::from_client([0x02, 0x97, 0, 0, 0, 1]).frame();
    h.run(&frame)
        .assert_answered(R::Protocol::FAMILY, "within the burst");
    for _ in 0..3 {
        let what = "over the limit, pass";
        expect_pass::<R::Protocol>(&mut h, &frame, Reason::PassedRateLimited, what);
    }
}

/// `per_interface_rate = 3` with clients allowed 100 each: of six clients asking once each,
/// three are answered, the rest dropped (`over_limit = "drop"`) or passed (`"pass"`), each
/// counted as such.
pub fn the_interface_rate_bounds_all_clients<R: Request>() {
    let family = R::Protocol::FAMILY;
    for (over_limit, verdict, reason) in [
        ("drop", XDP_DROP, Reason::RateLimited),
        ("pass", XDP_PASS, Reason::PassedRateLimited),
    ] {
        let keys = match over_limit {
            "drop" => "per_interface_rate = 3\nover_limit = \"drop\"",
            _ => "per_interface_rate = 3\nover_limit = \"pass\"",
        };
        let setup = Setup::new(WireFormat::Draft00, 300)
            .rate_limit(100, 100)
            .rate_limit_keys(keys);
        let mut h = Harness::new(setup);
        let verdicts: Vec<u32> = (0..6u8)
            .map(|i| {
                let run = h.run(&R::from_client([0x02, 0x70, 0, 0, 0, i]).frame());
                if run.verdict != XDP_TX {
                    let counted = run.reason(family, reason);
                    assert_eq!(counted, 1, "{over_limit}: counted {reason:?}");
                }
                run.verdict
            })
            .collect();
        assert_eq!(
            verdicts,
            [XDP_TX, XDP_TX, XDP_TX, verdict, verdict, verdict],
            "{over_limit}"
        );
    }
}

/// Run `frame`, expect it answered and the answer correct, and return the reply frame.
pub fn expect_answer<P: Protocol>(h: &mut Harness, frame: &[u8], what: &str) -> Vec<u8> {
    let run = h.run(frame);
    run.assert_answered(P::FAMILY, what);
    if let Err(e) = P::check(h, frame, &run.out) {
        panic!(
            "{what}: {e}\nrequest {}\nreply   {}",
            hex(frame),
            hex(&run.out)
        );
    }
    run.out
}

/// Run `frame`, expect it passed unchanged and counted as one request passed for `reason`.
pub fn expect_pass<P: Protocol>(h: &mut Harness, frame: &[u8], reason: Reason, what: &str) {
    h.run(frame).assert_passed(frame, P::FAMILY, reason, what);
}

/// The checker has teeth: `request` is answered correctly, and that answer with any one
/// octet of layer 2 or of the DHCP message changed (and the checksums fixed) is wrong to it.
pub fn assert_every_changed_octet_rejected<P: Protocol>(
    h: &mut Harness,
    request: &[u8],
    what: &str,
) {
    let reply = expect_answer::<P>(h, request, what);
    let l3 = parse_l2(&reply).expect("reply").l3_off;
    for at in (0..l3).chain(l3 + P::IP_UDP_LEN..reply.len()) {
        let mut changed = reply.clone();
        changed[at] ^= 0x01;
        P::refresh_checksums(&mut changed[l3..]);
        assert!(
            P::check(h, request, &changed).is_err(),
            "{what}: octet {at} changed, the checker did not notice"
        );
    }
}

/// `frame` is answered whole, so every cut of it is passed untouched for its cut alone.
pub fn assert_every_truncation_passed<P: Protocol>(h: &mut Harness, frame: &[u8], what: &str) {
    expect_answer::<P>(h, frame, what);
    // BPF_PROG_TEST_RUN itself refuses frames shorter than an Ethernet header.
    for len in eth::HDR_LEN..frame.len() {
        let cut = &frame[..len];
        h.run(cut)
            .assert_passed_unchanged(cut, &format!("{what} cut to {len} octets"));
    }
}

/// PASS with the frame unchanged, or an answer correct for the frame as mutated. Returns
/// whether it was answered.
fn check_mutated<P: Protocol>(h: &mut Harness, frame: &[u8]) -> Result<bool, TestCaseError> {
    let run = h.run(frame);
    if run.verdict == XDP_PASS {
        prop_assert!(run.out == frame, "passed frame changed");
        return Ok(false);
    }
    P::check(h, frame, &run.out).map_err(|e| {
        TestCaseError::fail(format!(
            "{e}\nrequest {}\nreply   {}",
            hex(frame),
            hex(&run.out)
        ))
    })?;
    Ok(true)
}

/// Any few octets of any of `bases` (each answered as it is) changed: every result is
/// passed untouched or answered correctly.
pub fn random_mutations_are_passed_or_answered<R: Request>(h: Harness, bases: &[R]) {
    let bases: Vec<Vec<u8>> = bases.iter().map(R::frame).collect();
    let h = RefCell::new(h);
    for base in &bases {
        h.borrow_mut()
            .run(base)
            .assert_answered(R::Protocol::FAMILY, "property base");
    }
    check_property(2000, (0..bases.len(), mutations()), |(which, changes)| {
        let base = &bases[which];
        let frame = mutate(base, 0..base.len(), &changes);
        check_mutated::<R::Protocol>(&mut h.borrow_mut(), &frame).map(drop)
    });
}

/// Octets in the part of a base that `region` picks (drawn from `regions`) changed, then
/// the checksums recomputed so the request gets past them: every result is passed untouched
/// or answered correctly, and more than 200 of the 2000 are answered (the property reaches
/// the answering path, not only the early exits).
pub fn random_mutations_with_checksums_fixed_are_passed_or_answered<R: Request, T>(
    h: Harness,
    bases: &[R],
    regions: impl Strategy<Value = T>,
    region: impl Fn(&[u8], T) -> Range<usize>,
) where
    T: std::fmt::Debug,
{
    type P<R> = <R as Request>::Protocol;
    let bases: Vec<Vec<u8>> = bases.iter().map(R::frame).collect();
    let h = RefCell::new(h);
    let answered = Cell::new(0u32);
    check_property(
        2000,
        (0..bases.len(), regions, mutations()),
        |(which, picked, changes)| {
            let base = &bases[which];
            let mut frame = mutate(base, region(base, picked), &changes);
            if let Some(l3) = parse_l2(&frame)
                .filter(|p| p.ethertype == P::<R>::ETHERTYPE)
                .map(|p| p.l3_off)
            {
                P::<R>::refresh_checksums(&mut frame[l3..]);
            }
            if check_mutated::<P<R>>(&mut h.borrow_mut(), &frame)? {
                answered.set(answered.get() + 1);
            }
            Ok(())
        },
    );
    let answered = answered.get();
    assert!(
        answered > 200,
        "only {answered} mutated requests were answered"
    );
}

// ---- Property runner ----------------------------------------------------------------------

/// Byte changes to a frame: (where, as a fraction of the region, new value).
pub type Mutations = Vec<(prop::sample::Index, u8)>;

pub fn mutations() -> impl Strategy<Value = Mutations> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
}

/// Apply `mutations` to `frame[region]`.
pub fn mutate(frame: &[u8], region: Range<usize>, mutations: &Mutations) -> Vec<u8> {
    let mut f = frame.to_vec();
    for (index, value) in mutations {
        let at = region.start + index.index(region.len());
        f[at] = *value;
    }
    f
}

/// Run `cases` cases of `strategy` through `test`; no persistence file (the inputs are
/// generated from the fixed frames of the test, and the seed is printed on failure).
pub fn check_property<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        // Every case runs the program; shrinking a failure needs only a few hundred more.
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}
