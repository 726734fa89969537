//! Shared helpers for the kernel tests (kernel_v4.rs, kernel_v6.rs): load the program, fill its
//! maps from a config built in the test, run frames through it with BPF_PROG_TEST_RUN, build
//! request frames, and check replies with code written apart from the program's own
//! (checksums, header walks).
//!
//! BPF_PROG_TEST_RUN runs the program as if the frame arrived on the loopback device of the
//! current network namespace (ifindex 1), so the fake system interface below has ifindex 1.

use std::net::{Ipv4Addr, Ipv6Addr};

use aya::{
    programs::{TestRun, TestRunOptions},
    TestRunResult,
};
use lwm2m_xdp::{
    config::WireFormat,
    datapath::{Datapath, Generation},
    system::SystemInterface,
};
use lwm2m_xdp_tests::generation;
pub use lwm2m_xdp_tests::skip_unless_root;
use xdp_common::{
    counters::{reason_index, seen_index, Reason, Seen, XDP_REASON_END},
    maps::Family,
    wire::{dhcpv4, dhcpv6, eth, Field},
};

/// `return Err(format!(...))` unless the condition holds: reply checkers return a
/// description of the first thing wrong, so property tests can report it and shrink.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

pub mod checks;
pub mod protocol;

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;

/// The fake interface the program answers on.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const SERVER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// The fake interface's global address: the source of Relay-replies to a global relay.
pub const SERVER_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// `[[interface.vlan]] id = 42` and `id = 100, inner_id = 42` addresses.
pub const VLAN42_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 42, 1);
pub const VLAN42_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x42, 1);
pub const QINQ_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 43, 1);
pub const QINQ_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x43, 1);
/// The tags of those two VLANs, outermost first.
pub const VLAN42_TAGS: [Tag; 1] = [(eth::ETHERTYPE_VLAN, 42)];
pub const QINQ_TAGS: [Tag; 2] = [(eth::ETHERTYPE_QINQ, 100), (eth::ETHERTYPE_VLAN, 42)];
/// The device asking.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

pub const URI: &str = "coaps://bootstrap.example.net:5684";
pub const V4_URI_CODE: u8 = dhcpv4::DEFAULT_URI_OPTION;
pub const V4_CERT_CODE: u8 = dhcpv4::DEFAULT_CERTIFICATE_OPTION;
/// `[[dhcpv4.extra_option]]`: Domain Name Server 198.18.0.53.
pub const V4_EXTRA_CODE: u8 = 6;
pub const V6_URI_CODE: u16 = dhcpv6::DEFAULT_URI_OPTION;
pub const V6_CERT_CODE: u16 = dhcpv6::DEFAULT_CERTIFICATE_OPTION;
/// `[[dhcpv6.extra_option]]`: DNS Recursive Name Server 2001:db8::53.
pub const V6_EXTRA_CODE: u16 = dhcpv6::OPT_DNS_SERVERS;
pub const IRT_SECONDS: u32 = 86400;

/// The DER bytes of examples/certs/bootstrap-`size`.der.
pub fn certificate(size: usize) -> Vec<u8> {
    generation::certificate_der(size).unwrap_or_else(|e| panic!("{e:#}"))
}

/// What the test config serves and how; `toml` turns it into a config file.
#[derive(Clone, Debug)]
pub struct Setup {
    pub format: WireFormat,
    pub cert_size: usize,
    /// "complete" or "lwm2m-only".
    pub policy: &'static str,
    /// MTU of the fake interface.
    pub mtu: u16,
    /// `[rate_limit]` per_client_rate and burst; None: unlimited.
    pub rate_limit: Option<(u32, u32)>,
    /// More `[rate_limit]` lines (per_interface_rate, over_limit).
    pub rate_limit_keys: &'static str,
}

impl Setup {
    pub fn new(format: WireFormat, cert_size: usize) -> Setup {
        Setup {
            format,
            cert_size,
            policy: "complete",
            mtu: 1500,
            rate_limit: None,
            rate_limit_keys: "",
        }
    }

    pub fn rate_limit(mut self, per_client_rate: u32, burst: u32) -> Setup {
        self.rate_limit = Some((per_client_rate, burst));
        self
    }

    /// With more `[rate_limit]` lines, e.g. `over_limit = "pass"`.
    pub fn rate_limit_keys(mut self, keys: &'static str) -> Setup {
        self.rate_limit_keys = keys;
        self
    }

    pub fn policy(mut self, policy: &'static str) -> Setup {
        self.policy = policy;
        self
    }

    pub fn mtu(mut self, mtu: u16) -> Setup {
        self.mtu = mtu;
        self
    }

    /// Both families on, the URI and the certificate, one extra option each, an Information
    /// Refresh Time, two VLANs (one 802.1Q, one QinQ), and the rate limit if one is set.
    pub fn toml(&self) -> String {
        let rate_limit = match self.rate_limit {
            Some((rate, burst)) => {
                format!(
                    "\n[rate_limit]\nper_client_rate = {rate}\nburst = {burst}\n{}\n",
                    self.rate_limit_keys
                )
            }
            None => String::new(),
        };
        let toml = format!(
            r#"
[lwm2m]
bootstrap_uri = "{URI}"
certificate = "certs/bootstrap-{size}.der"
wire_format = "{format}"
policy = "{policy}"

[dhcpv4]
enabled = true
uri_option = {V4_URI_CODE}
certificate_option = {V4_CERT_CODE}

[[dhcpv4.extra_option]]
code = {V4_EXTRA_CODE}
ipv4 = ["198.18.0.53"]

[dhcpv6]
enabled = true
uri_option = {V6_URI_CODE}
certificate_option = {V6_CERT_CODE}
information_refresh_time = {IRT_SECONDS}

[[dhcpv6.extra_option]]
code = {V6_EXTRA_CODE}
ipv6 = ["2001:db8::53"]

[[interface]]
name = "xdptest0"
mode = "generic"

[[interface.vlan]]
id = 42
ipv4 = "{VLAN42_V4}"
ipv6_link_local = "{VLAN42_LL}"

[[interface.vlan]]
id = 100
inner_id = 42
ipv4 = "{QINQ_V4}"
ipv6_link_local = "{QINQ_LL}"
"#,
            size = self.cert_size,
            format = self.format.name(),
            policy = self.policy,
        );
        toml + &rate_limit
    }
}

/// The IPv4 address and IPv6 link-local address replies to frames with these VLAN ids
/// (outer, inner; 0 = none) come from, per the test config; None: not configured.
pub fn server_addresses(outer: u16, inner: u16) -> Option<(Ipv4Addr, Ipv6Addr)> {
    match (outer, inner) {
        (0, 0) => Some((SERVER_V4, SERVER_LL)),
        (42, 0) => Some((VLAN42_V4, VLAN42_LL)),
        (100, 42) => Some((QINQ_V4, QINQ_LL)),
        _ => None,
    }
}

/// One program run: verdict, output frame, and how each counter moved.
pub struct Run {
    pub verdict: u32,
    pub out: Vec<u8>,
    counted: Vec<u64>,
}

impl Run {
    pub fn reason(&self, family: Family, reason: Reason) -> u64 {
        self.counted[reason_index(family, reason) as usize]
    }

    pub fn seen(&self, what: Seen) -> u64 {
        self.counted[seen_index(what) as usize]
    }

    /// XDP_PASS with the frame byte for byte as it came in.
    pub fn assert_passed_unchanged(&self, frame: &[u8], what: &str) {
        assert_eq!(self.verdict, XDP_PASS, "{what}: verdict");
        assert!(self.out == frame, "{what}: a passed frame was changed");
    }

    /// XDP_PASS, unchanged, and counted as one `family` request passed for `reason`.
    pub fn assert_passed(&self, frame: &[u8], family: Family, reason: Reason, what: &str) {
        self.assert_passed_unchanged(frame, what);
        assert_eq!(self.reason(family, Reason::Received), 1, "{what}: received");
        assert_eq!(self.reason(family, reason), 1, "{what}: counter {reason:?}");
    }

    /// XDP_TX, counted as answered.
    pub fn assert_answered(&self, family: Family, what: &str) {
        assert_eq!(self.verdict, XDP_TX, "{what}: verdict");
        assert_eq!(self.reason(family, Reason::Answered), 1, "{what}: answered");
    }
}

/// The program loaded, with its maps filled from a `Setup`.
pub struct Harness {
    /// The loaded program and its maps (tests that drive a reload step by step use it).
    pub dp: Datapath,
    pub setup: Setup,
    /// The DER bytes of the configured certificate.
    pub cert: Vec<u8>,
}

impl Harness {
    pub fn new(setup: Setup) -> Harness {
        let dp = Datapath::load().expect("loading the XDP program");
        let mut harness = Harness {
            dp,
            cert: Vec::new(),
            setup: setup.clone(),
        };
        harness.install(setup);
        harness
    }

    /// Replace the config in the maps (a new generation, as a reload does).
    pub fn install(&mut self, setup: Setup) {
        let generation = self.generation(&setup.toml(), setup.mtu);
        self.dp
            .install_generation(&generation)
            .expect("config generation");
        self.cert = certificate(setup.cert_size);
        self.setup = setup;
    }

    /// `test` under `setup` in each wire format in turn, each installed as a reload does.
    pub fn each_format(&mut self, setup: &Setup, mut test: impl FnMut(&mut Harness, WireFormat)) {
        for format in WireFormat::ALL {
            self.install(Setup {
                format,
                ..setup.clone()
            });
            test(self, format);
        }
    }

    /// The generation (policy, blocks, interface entries) of a config file's text, with the
    /// fake interface of these tests at `mtu`.
    pub fn generation(&self, toml: &str, mtu: u16) -> Generation {
        generation::generation_of(toml, "kernel-test.toml", |name| SystemInterface {
            name: name.to_string(),
            ifindex: generation::LOOPBACK_IFINDEX,
            mac: SERVER_MAC,
            mtu,
            ipv4: Some(SERVER_V4),
            ipv6_link_local: Some(SERVER_LL),
            ipv6_global: Some(SERVER_GLOBAL),
        })
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Run `frame` through the program once. Checks what holds for every run: the verdict
    /// is PASS or TX, or DROP counted as rate_limited (ABORTED means a half-built reply),
    /// every request received is counted under exactly one outcome, and nothing aborted.
    pub fn run(&mut self, frame: &[u8]) -> Run {
        assert!(
            frame.len() >= eth::HDR_LEN,
            "BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header"
        );
        let (verdict, out, counted) = self.test_run(Datapath::program, frame);
        let run = Run {
            verdict,
            out,
            counted,
        };
        let rate_limited = run.reason(Family::V4, Reason::RateLimited)
            + run.reason(Family::V6, Reason::RateLimited);
        assert_eq!(
            rate_limited,
            u64::from(run.verdict == XDP_DROP),
            "DROP if and only if rate limited"
        );
        assert!(
            run.verdict == XDP_PASS || run.verdict == XDP_TX || run.verdict == XDP_DROP,
            "verdict {} (ABORTED = {XDP_ABORTED}) for frame {}",
            run.verdict,
            hex(frame)
        );
        // Frames and Received are derived (counters::derive): one frame is of one kind, and
        // has at most one outcome over both families.
        assert_eq!(run.seen(Seen::Frames), 1, "frames counter");
        let mut outcomes = 0;
        for family in [Family::V4, Family::V6] {
            assert_eq!(run.reason(family, Reason::Aborted), 0, "{family:?} aborted");
            outcomes += (1..XDP_REASON_END)
                .map(|r| run.counted[reason_index(family, Reason::Received) as usize + r as usize])
                .sum::<u64>();
        }
        assert!(outcomes <= 1, "{outcomes} outcomes for one frame");
        let answered =
            run.reason(Family::V4, Reason::Answered) + run.reason(Family::V6, Reason::Answered);
        assert_eq!(
            answered,
            u64::from(run.verdict == XDP_TX),
            "answered counter vs verdict"
        );
        run
    }
}

impl Harness {
    /// One BPF_PROG_TEST_RUN of `program` (`Datapath::program` for XDP, `tc_program` for the
    /// TC fallback) on `frame`, nothing checked: its return value, the frame after, and how
    /// each counter moved.
    pub fn test_run<P>(
        &mut self,
        program: impl FnOnce(&mut Datapath) -> &mut P,
        frame: &[u8],
    ) -> (u32, Vec<u8>, Vec<u64>)
    where
        P: for<'a> TestRun<Opts<'a> = TestRunOptions<'a>, Result = TestRunResult>,
    {
        let before = self.dp.counters().expect("counters");
        let mut out = vec![0u8; 8192];
        let result = program(&mut self.dp)
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(result.data_size_out as usize);
        let after = self.dp.counters().expect("counters");
        let counted = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        (result.return_value, out, counted)
    }
}

/// Lower-case hex, for messages.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

// ---- Frames ---------------------------------------------------------------------------------

/// A VLAN tag: (TPID, TCI).
pub type Tag = (u16, u16);

/// Layer 2 of a frame: addresses and VLAN tags, outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2 {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub tags: Vec<Tag>,
}

impl L2 {
    pub fn new(dst: [u8; 6], src: [u8; 6]) -> L2 {
        L2 {
            dst,
            src,
            tags: Vec::new(),
        }
    }

    pub fn tagged(mut self, tags: &[Tag]) -> L2 {
        self.tags = tags.to_vec();
        self
    }

    /// VLAN ids (outer, inner), 0 where there is no tag.
    pub fn vlan_ids(&self) -> (u16, u16) {
        let id = |i: usize| self.tags.get(i).map_or(0, |t| t.1 & eth::VLAN_ID_MASK);
        (id(0), id(1))
    }

    pub fn frame(&self, ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f =
            Vec::with_capacity(eth::HDR_LEN + eth::MAX_VLAN_TAGS * eth::VLAN_TAG_LEN + l3.len());
        f.extend(self.dst);
        f.extend(self.src);
        for (tpid, tci) in &self.tags {
            f.extend(tpid.to_be_bytes());
            f.extend(tci.to_be_bytes());
        }
        f.extend(ethertype.to_be_bytes());
        f.extend(l3);
        f
    }
}

/// A frame taken apart at layer 2 (at most `MAX_VLAN_TAGS + 1` tags looked at).
pub struct Parsed<'a> {
    pub l2: L2,
    pub ethertype: u16,
    pub l3_off: usize,
    pub l3: &'a [u8],
}

pub fn parse_l2(frame: &[u8]) -> Option<Parsed<'_>> {
    let mac = |field: Field| -> [u8; 6] { frame[field].try_into().expect("6 octets") };
    if frame.len() < eth::HDR_LEN {
        return None;
    }
    let mut l2 = L2::new(mac(eth::field::DESTINATION), mac(eth::field::SOURCE));
    // Each tag stands where the ethertype would: its TPID is in the ethertype's place.
    let mut at = eth::field::ETHERTYPE.start;
    loop {
        let tag = &frame[at..];
        let word = |f: Field| tag.get(f.clone()).map(|_| be16(tag, f));
        let ethertype = word(eth::tag::TPID)?;
        if ethertype == eth::ETHERTYPE_VLAN || ethertype == eth::ETHERTYPE_QINQ {
            l2.tags.push((ethertype, word(eth::tag::TCI)?));
            at += eth::VLAN_TAG_LEN;
            continue;
        }
        let l3_off = at + eth::tag::TPID.end;
        return Some(Parsed {
            l2,
            ethertype,
            l3_off,
            l3: &frame[l3_off..],
        });
    }
}

/// The big-endian 16-bit header field `field` of `header`.
pub fn be16(header: &[u8], field: Field) -> u16 {
    u16::from_be_bytes(header[field].try_into().expect("a 16-bit field"))
}

/// Write `value` big-endian into the 16-bit header field `field` of `header`.
pub fn set_be16(header: &mut [u8], field: Field, value: u16) {
    header[field].copy_from_slice(&value.to_be_bytes());
}

// ---- Independent checksum verification (RFC 1071) ------------------------------------------

/// The one's-complement sum of the concatenation of `parts`, 16-bit big-endian words, an odd
/// last octet padded with zero, carries folded as they happen. Deliberately not
/// lwm2m_xdp::csum: this checks the program and that module alike.
pub fn rfc1071_sum(parts: &[&[u8]]) -> u16 {
    let bytes = parts.concat();
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = (u32::from(pair[0]) << 8) | u32::from(pair.get(1).copied().unwrap_or(0));
        sum += word;
        if sum > 0xffff {
            sum -= 0xffff;
        }
    }
    sum as u16
}
