//! The TC fallback on veth (issue 10): where generic XDP cannot grow the frame enough (a bare
//! INFORMATION-REQUEST leaves too little room for a REPLY with a 1000-octet certificate), the
//! classifier on the same interface's ingress answers it: an unpadded `probe --v6` gets the
//! URI, `stats` counts it no_tailroom (XDP) and answered_tc; with `fallback = "none"` the same
//! request goes unanswered; after exit nothing answers. The probe's UDP sockets send with the
//! client's TX checksum offload off: a partial checksum is passed as malformed by both hooks.
//! A request tagged 42 answered by TC leaves with its tag. On native veth both families are
//! answered in the kernel (by XDP where the head gave room, else by TC).

use std::time::Duration;

use lwm2m_xdp::client;
use lwm2m_xdp_test_support::frame::{ipv6_udp_frame, Ethernet};
use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::{
    example_certificate, lwm2m_xdp_bin, pair_and_scratch,
    peers::{client_tx_checksums_off, ClientXdpPass, RawSocket},
    running::{self, count, Running},
    skip_unless_root, text, NetnsPair, ScratchDir, Side,
};
use xdp_common::wire::{dhcpv6, ipv6};

const URI: &str = "coaps://198.18.0.1:5684";
/// Bounds one probe (it gives up after its own --timeout).
const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// The link-local address `[[interface.vlan]] id = 42` answers from.
const VLAN42_LL: &str = "fe80::42:1";

fn config(server_if: &str, mode: &str, fallback: &str, extra: &str) -> String {
    // The 1000-octet certificate: its REPLY outgrows what generic XDP on veth can add to a
    // bare request's buffer.
    config_with(server_if, mode, fallback, extra, &example_certificate(1000))
}

fn config_with(
    server_if: &str,
    mode: &str,
    fallback: &str,
    extra: &str,
    certificate: &std::path::Path,
) -> String {
    ConfigFile::new(URI, server_if)
        .lwm2m("certificate", &certificate.display().to_string())
        .lwm2m("policy", "lwm2m-only")
        .mode(mode)
        .interface_key("fallback", fallback)
        .then(&format!(
            "[[interface.vlan]]\nid = 42\nipv6_link_local = \"{VLAN42_LL}\"\n{extra}"
        ))
        .text()
}

/// `probe --v6` without --pad: the bare INFORMATION-REQUEST a client sends.
fn probe_v6_uri(pair: &NetnsPair, bin: &str) -> Result<String, String> {
    probe_uri(pair, bin, &["--v6"])
}

/// `probe` (a DHCPINFORM, or with `--v6` an INFORMATION-REQUEST): the URI it decoded.
fn probe_uri(pair: &NetnsPair, bin: &str, family: &[&str]) -> Result<String, String> {
    running::probe_uri_with(pair, bin, PROBE_LIMIT, family)
}

/// The server interface's entry in `status --json`.
fn interface_status(pair: &NetnsPair, bin: &str, run: &Running) -> serde_json::Value {
    let instance = run.instance();
    let out = pair.exec(
        Side::Server,
        &[bin, "status", "--json", "--instance", &instance],
    );
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    status["interfaces"][0].clone()
}

/// The hooks `status --json` says the server interface is attached with.
fn hooks(pair: &NetnsPair, bin: &str, run: &Running) -> String {
    interface_status(pair, bin, run)["hooks"].to_string()
}

fn start<'a>(
    pair: &'a NetnsPair,
    scratch: &ScratchDir,
    tag: &str,
    fallback: &str,
    extra: &str,
) -> Running<'a> {
    start_in(pair, scratch, tag, "generic", fallback, extra)
}

fn start_in<'a>(
    pair: &'a NetnsPair,
    scratch: &ScratchDir,
    tag: &str,
    mode: &str,
    fallback: &str,
    extra: &str,
) -> Running<'a> {
    start_config(
        pair,
        scratch,
        tag,
        &config(&pair.server_if, mode, fallback, extra),
    )
}

fn start_config<'a>(
    pair: &'a NetnsPair,
    scratch: &ScratchDir,
    tag: &str,
    config: &str,
) -> Running<'a> {
    // The probe sends from UDP sockets: full checksums, not veth's partial ones
    // (ARCHITECTURE.md, "Traps"; the TC fallback verifies them as XDP does).
    client_tx_checksums_off(pair).expect("client tx checksums off");
    let cfg = scratch.write("lwm2m-xdp.toml", config).unwrap();
    Running::start(pair, cfg, tag, &[])
}

#[test]
fn generic_veth_bare_information_request_is_answered_by_tc() {
    skip_unless_root!("netns_tc::generic_veth_bare_information_request_is_answered_by_tc");
    let tag = "tc-generic";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    let run = start(&pair, &scratch, tag, "tc", "");
    assert_eq!(
        hooks(&pair, &bin, &run),
        r#"["xdp","tc"]"#,
        "hooks in status"
    );
    assert_eq!(
        probe_v6_uri(&pair, &bin).as_deref(),
        Ok(URI),
        "an unpadded INFORMATION-REQUEST is answered\n{}\n{}",
        run.log(),
        run.stats()
    );
    let stats = run.stats();
    let by_tc = count(&stats, "v6", "answered_tc");
    assert!(by_tc >= 1, "answered by TC: {stats}");
    assert!(
        count(&stats, "v6", "no_tailroom") >= by_tc,
        "what TC answered XDP passed for room: {stats}"
    );
    assert_eq!(count(&stats, "v6", "answered"), 0, "not by XDP: {stats}");
    assert_eq!(count(&stats, "v6", "aborted"), 0, "{stats}");
    run.stop();
    // A classifier left on the interface would still hold the program and its maps, and
    // answer: nothing does once `run` has exited.
    assert!(
        probe_v6_uri(&pair, &bin).is_err(),
        "answered after exit: the TC fallback was left attached"
    );
}

/// Native XDP on veth: a bare INFORMATION-REQUEST and a DHCPINFORM are both answered in the
/// kernel, each by XDP where the frame could grow (at the head too) and by TC where it could
/// not (veth's native frames leave little tailroom). XDP_TX on veth reaches the peer only
/// while the peer runs an XDP program (ARCHITECTURE.md, "Traps"): the client end gets one.
#[test]
fn native_veth_answers_both_families_by_xdp_or_tc() {
    skip_unless_root!("netns_tc::native_veth_answers_both_families_by_xdp_or_tc");
    let tag = "tc-native";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    let _pass = ClientXdpPass::attach(&pair).expect("XDP_PASS on the client end");
    let run = start_in(&pair, &scratch, tag, "native", "tc", "");
    for (family, args) in [("v4", &[][..]), ("v6", &["--v6"][..])] {
        assert_eq!(
            probe_uri(&pair, &bin, args).as_deref(),
            Ok(URI),
            "{family}: answered on native veth\n{}\n{}",
            run.log(),
            run.stats()
        );
        let stats = run.stats();
        let (xdp, tc) = (
            count(&stats, family, "answered"),
            count(&stats, family, "answered_tc"),
        );
        assert!(xdp + tc >= 1, "{family}: answered in the kernel: {stats}");
        assert!(
            count(&stats, family, "no_tailroom") >= tc,
            "{family}: TC answered only what XDP passed for room: {stats}"
        );
        assert_eq!(count(&stats, family, "aborted"), 0, "{stats}");
        eprintln!("netns_tc native veth {family}: answered by XDP {xdp}, by TC {tc}");
    }
    run.stop();
}

/// A 1400-octet certificate over a path whose XDP frame cannot grow that far (generic veth,
/// as an Intel 2K-buffer driver caps a frame at ~1536 octets): both families are answered by
/// TC, counted answered_tc after XDP's no_tailroom. The link's MTU is 2000 on both ends so
/// that the replies (about 1.6 KB) fit it.
#[test]
fn a_1400_octet_certificate_beyond_xdp_room_is_answered_by_tc() {
    skip_unless_root!("netns_tc::a_1400_octet_certificate_beyond_xdp_room_is_answered_by_tc");
    let tag = "tc-1400";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    pair.set_mtu(2000).expect("MTU 2000 on both ends");
    let cfg = config_with(
        &pair.server_if,
        "generic",
        "tc",
        "",
        &example_certificate(1400),
    );
    let run = start_config(&pair, &scratch, tag, &cfg);
    for (family, args) in [("v4", &[][..]), ("v6", &["--v6"][..])] {
        assert_eq!(
            probe_uri(&pair, &bin, args).as_deref(),
            Ok(URI),
            "{family}: a 1400-octet certificate answered\n{}\n{}",
            run.log(),
            run.stats()
        );
        let stats = run.stats();
        assert_eq!(count(&stats, family, "answered_tc"), 1, "{family}: {stats}");
        assert_eq!(count(&stats, family, "no_tailroom"), 1, "{family}: {stats}");
        assert_eq!(count(&stats, family, "answered"), 0, "{family}: {stats}");
    }
    run.stop();
}

#[test]
fn without_the_fallback_the_bare_request_goes_unanswered() {
    skip_unless_root!("netns_tc::without_the_fallback_the_bare_request_goes_unanswered");
    let tag = "tc-none";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    let run = start(&pair, &scratch, tag, "none", "");
    assert_eq!(
        hooks(&pair, &bin, &run),
        r#"["xdp"]"#,
        "fallback = \"none\" attaches no classifier"
    );
    assert!(
        probe_v6_uri(&pair, &bin).is_err(),
        "without the fallback nothing answers"
    );
    let stats = run.stats();
    assert!(count(&stats, "v6", "no_tailroom") >= 1, "{stats}");
    assert_eq!(count(&stats, "v6", "answered_tc"), 0, "{stats}");
    run.stop();
}

/// A bare INFORMATION-REQUEST tagged 42 (a raw socket's frame): the tag reaches TC ingress
/// in the skb, not in the frame; TC answers from the VLAN's address and the REPLY leaves with
/// the tag (the skb keeps it, the egress puts it back).
#[test]
fn a_tagged_request_answered_by_tc_keeps_its_tag() {
    skip_unless_root!("netns_tc::a_tagged_request_answered_by_tc_keeps_its_tag");
    let tag = "tc-vlan";
    let (pair, scratch) = pair_and_scratch(tag);
    let run = start(&pair, &scratch, tag, "tc", "");
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let xid = [0x42, 0x7c, 0x01];
    let duid = lwm2m_xdp::ifaces::duid_ll(pair.mac(Side::Client));
    let msg = client::build_information_request(
        xid,
        &duid,
        &[
            dhcpv6::DEFAULT_URI_OPTION,
            dhcpv6::DEFAULT_CERTIFICATE_OPTION,
        ],
    );
    let group = ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS.into();
    let frame = ipv6_udp_frame(
        &Ethernet {
            dst: Ethernet::ipv6_multicast(group),
            src: pair.mac(Side::Client),
            vlans: vec![42],
        },
        pair.ipv6_link_local(Side::Client),
        group,
        1,
        (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
        &msg,
    );
    let (reply, ()) = socket.exchange(
        &frame,
        "REPLY on VLAN 42",
        (3, Duration::from_secs(1)),
        |reply| {
            let p = &reply.payload;
            if p.len() > 4 && p[0] == dhcpv6::MSG_REPLY && p[1..4] == xid {
                Ok(())
            } else {
                Err(format!("not our REPLY: {}", lwm2m_xdp_tests::peers::hex(p)))
            }
        },
    );
    assert_eq!(reply.l2.vlans, [42], "the REPLY keeps the request's tag");
    assert_eq!(reply.src.to_string(), VLAN42_LL, "from the VLAN's address");
    let stats = run.stats();
    assert!(
        count(&stats, "v6", "answered_tc") >= 1,
        "answered by TC: {stats}"
    );
    assert_eq!(count(&stats, "v6", "answered"), 0, "not by XDP: {stats}");
    run.stop();
}

/// One answer costs one credit although both hooks admit it: XDP gives back what it spent on
/// a request it passes for room. With a burst of 1 the first request is answered by TC (were
/// the credit spent twice, TC would find the bucket empty and drop it), the second, at once,
/// is over the limit.
#[test]
fn an_answer_by_tc_costs_one_rate_limit_credit() {
    skip_unless_root!("netns_tc::an_answer_by_tc_costs_one_rate_limit_credit");
    let tag = "tc-rate";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    let limit = "[rate_limit]\nper_client_rate = 1\nburst = 1\n";
    let run = start(&pair, &scratch, tag, "tc", limit);
    assert_eq!(
        probe_v6_uri(&pair, &bin).as_deref(),
        Ok(URI),
        "the first request is within the burst\n{}",
        run.stats()
    );
    let stats = run.stats();
    assert_eq!(count(&stats, "v6", "answered_tc"), 1, "{stats}");
    assert_eq!(count(&stats, "v6", "rate_limited"), 0, "{stats}");
    assert!(
        probe_v6_uri(&pair, &bin).is_err(),
        "the second request, at once, is over the limit"
    );
    let stats = run.stats();
    assert!(count(&stats, "v6", "rate_limited") >= 1, "{stats}");
    assert_eq!(count(&stats, "v6", "answered_tc"), 1, "{stats}");
    run.stop();
}

/// `mode = "auto"` attaches a veth in generic mode, and says why: native XDP's answers would
/// reach the peer only while the peer runs an XDP program. The answers still come (here TC's
/// and XDP's in generic mode), as the demo relies on.
#[test]
fn auto_mode_attaches_a_veth_in_generic_mode() {
    skip_unless_root!("netns_tc::auto_mode_attaches_a_veth_in_generic_mode");
    let tag = "tc-auto";
    let (pair, scratch) = pair_and_scratch(tag);
    let bin = lwm2m_xdp_bin();
    let run = start_in(&pair, &scratch, tag, "auto", "tc", "");
    let status = interface_status(&pair, &bin, &run);
    assert_eq!(
        (status["mode"].as_str(), status["requested_mode"].as_str()),
        (Some("generic"), Some("auto")),
        "{status}"
    );
    assert!(
        run.log().contains("is a veth"),
        "the log says why: {}",
        run.log()
    );
    for args in [&[][..], &["--v6"][..]] {
        assert_eq!(probe_uri(&pair, &bin, args).as_deref(), Ok(URI), "{args:?}");
    }
    run.stop();
}
