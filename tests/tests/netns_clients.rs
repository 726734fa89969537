//! Real clients against `lwm2m-xdp run` across a veth pair (design.md "Tests", 3: whole hosts):
//! a raw-socket client that builds every octet itself, dhcpcd --inform and --inform6, and a
//! VLAN-tagged INFORM. Each test starts `run` on the server end, asserts what the client got
//! *and* what the counters say, and stops `run` with SIGINT (exit 0).
//!
//! What real peers showed (dhcpcd 9.4.1, kernel 6.18, veth, generic XDP):
//! - dhcpcd's INFORM asks for 1, 3, 28, 33 and 51 besides the LwM2M codes; under the default
//!   `policy = "complete"` it is passed (`passed_unservable`), under `lwm2m-only` answered.
//!   It sends option 57 = 1472 (MTU - 28), so the 1.3 KB ACK with a 1000-octet certificate is
//!   allowed. dhcpcd joins RFC 3396 splits, so with `wire_format = "rfc3396"` it hands the
//!   hook the certificate DER exactly; its `string`/`binhex` types print through a 1 KB buffer
//!   (a 1000-octet certificate fails with "dhcp_envoption 225: No buffer space available"),
//!   so the certificate is defined as `array byte`.
//! - dhcpcd's INFORMATION-REQUEST is 106 octets: on veth its REPLY cannot grow into the
//!   request's buffer and it is passed (`no_tailroom`, ARCHITECTURE.md "Traps"). With
//!   `vendclass 32473 "<256 octets>"` (an RFC 5612 documentation enterprise number) the
//!   request has room and is answered.
//! - dhcpcd runs one-shot and in the foreground as
//!   `dhcpcd -f CONF -4 --nobackground --nodev --test --noipv4ll --timeout 5
//!   --inform=198.18.x.2/24 IF` (`--inform` takes an *optional* argument: `--inform ADDR`
//!   reads ADDR as an interface name) and `dhcpcd -f CONF -6 --nobackground --nodev --test
//!   --timeout 5 --inform6 IF` with `noipv6rs` in CONF; v6 options are named with a
//!   `dhcp6_` prefix in `option` lines. See `peers::dhcpcd` for the files it would leave.
//! - The kernel here has no 802.1Q module (CONFIG_VLAN_8021Q is not set), so the tagged
//!   INFORM is sent from a raw socket; the tag of the ACK is read back from PACKET_AUXDATA.

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::peers::xid;
use lwm2m_xdp_tests::text;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use lwm2m_xdp::client::{self, Bootstrap};
use lwm2m_xdp::config::WireFormat;
use lwm2m_xdp_tests::peers::{self, RawSocket, UdpFrame};
use lwm2m_xdp_tests::running::{count, top, Running};
use lwm2m_xdp_tests::{example_certificate, skip_unless_root, NetnsPair, ScratchDir, Side};
use xdp_common::wire::{dhcpv4, dhcpv6};

/// A reply over veth comes back in well under a millisecond; this only bounds a lost one.
const REPLY_LIMIT: Duration = Duration::from_secs(2);
/// Requests a raw client sends before it gives up, each waiting [`REPLY_LIMIT`].
const ATTEMPTS: usize = 3;
/// dhcpcd's own timeout (`-t`) when an answer is expected, and the hard limit around it.
const DHCPCD_TIMEOUT: &str = "5";
const DHCPCD_LIMIT: Duration = Duration::from_secs(20);
/// dhcpcd's timeout when the request is expected to be passed: it sends at 0 s and ~1 s.
const DHCPCD_PASSED_TIMEOUT: &str = "2";

const V4_CODES: [u8; 2] = [
    dhcpv4::DEFAULT_URI_OPTION,
    dhcpv4::DEFAULT_CERTIFICATE_OPTION,
];
const V6_CODES: [u16; 2] = [65001, 65002];
/// Vendor Class data that gives a DHCPv6 request enough buffer slack on veth (the demo's
/// `probe --v6 --pad 256`).
const V6_PAD: usize = 256;

fn certificate() -> Vec<u8> {
    std::fs::read(example_certificate(1000)).expect("read the example certificate")
}

fn uri(pair: &NetnsPair) -> String {
    format!("coaps://{}:5684", pair.ipv4(Side::Server))
}

/// The config every test starts from: URI and the 1000-octet certificate, both families,
/// the pair's server end in generic mode, `extra` appended (more `[[interface.vlan]]` etc.).
fn config(pair: &NetnsPair, format: &str, policy: &str, extra: &str) -> String {
    ConfigFile::new(&uri(pair), &pair.server_if)
        .certificate(1000)
        .lwm2m("wire_format", format)
        .lwm2m("policy", policy)
        .dhcpv6_line("information_refresh_time = 86400")
        .interface_key("server_id", &pair.ipv4(Side::Server).to_string())
        .then(extra)
        .text()
}

/// The pair, scratch dir and checksum offload set up as every test here needs them.
fn setup(tag: &str) -> (NetnsPair, ScratchDir) {
    let pair = NetnsPair::new(tag).expect("netns pair");
    peers::client_tx_checksums_off(&pair).expect("client checksums");
    let scratch = ScratchDir::new(tag).expect("scratch dir");
    (pair, scratch)
}

/// [`RawSocket::exchange`]'s attempts and wait for each reply, this file's patience.
const PATIENCE: (usize, Duration) = (ATTEMPTS, REPLY_LIMIT);

/// A DHCPINFORM frame from the client end: broadcast (as dhcpcd sends it), ciaddr `ciaddr`,
/// PRL 224 + 225, option 57 = 1500, tagged with `vlans`.
fn inform_frame(pair: &NetnsPair, xid: u32, ciaddr: Ipv4Addr, vlans: Vec<u16>) -> Vec<u8> {
    let bootp = client::build_inform(xid, pair.mac(Side::Client), ciaddr, &V4_CODES, Some(1500));
    peers::client_v4_broadcast(pair, vlans, ciaddr, dhcpv4::CLIENT_PORT, &bootp)
}

fn decode_ack(
    format: WireFormat,
    xid: u32,
) -> impl FnMut(&UdpFrame) -> Result<(client::DhcpV4Info, Bootstrap), String> {
    move |f| {
        if f.dst_port != dhcpv4::CLIENT_PORT {
            return Err(format!("to port {}", f.dst_port));
        }
        client::decode_v4_reply(format, V4_CODES[0], V4_CODES[1], &f.payload, xid)
            .map_err(|e| e.to_string())
    }
}

/// What every ACK to the raw client must be: from `server_id`, to the client, the options.
fn check_ack(
    pair: &NetnsPair,
    reply: &UdpFrame,
    info: &client::DhcpV4Info,
    got: &Bootstrap,
    server_id: Ipv4Addr,
    ciaddr: Ipv4Addr,
) {
    let client_mac = pair.mac(Side::Client);
    assert_eq!(reply.l2.src, pair.mac(Side::Server), "source MAC");
    assert_eq!(reply.l2.dst, client_mac, "destination MAC");
    assert_eq!(reply.src, IpAddr::V4(server_id), "source address");
    assert_eq!(reply.dst, IpAddr::V4(ciaddr), "destination: ciaddr");
    assert_eq!(
        (reply.src_port, reply.dst_port),
        (dhcpv4::SERVER_PORT, dhcpv4::CLIENT_PORT)
    );
    assert_eq!(info.server_id, server_id, "option 54");
    assert_eq!(info.ciaddr, ciaddr);
    assert_eq!(info.giaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(info.chaddr, client_mac);
    let codes: Vec<u8> = info.options.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        &codes[..2],
        [dhcpv4::OPT_MESSAGE_TYPE, dhcpv4::OPT_SERVER_ID],
        "53 first, then 54: {codes:?}"
    );
    let client_id: Vec<&Vec<u8>> = info
        .options
        .iter()
        .filter(|(c, _)| *c == dhcpv4::OPT_CLIENT_ID)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        client_id,
        [&[&[1u8][..], &client_mac].concat()],
        "option 61 echoed unaltered"
    );
    for never in [51, 55, 57, 50] {
        assert!(
            !codes.contains(&never),
            "option {never} in an ACK: {codes:?}"
        );
    }
    assert_eq!(
        got.uri.as_deref(),
        Some(uri(pair).as_str()),
        "bootstrap URI"
    );
    assert!(
        got.certificate.as_deref() == Some(&certificate()[..]),
        "the certificate is not bootstrap-1000.der ({:?} octets)",
        got.certificate.as_ref().map(Vec::len)
    );
}

/// A DHCPINFORM built octet by octet (lwm2m_xdp::client::build_inform + lwm2m_xdp::csum) and
/// sent from an AF_PACKET socket; the DHCPACK is read from the same socket, every checksum
/// verified, decoded with lwm2m_xdp::client::decode_v4_reply.
#[test]
fn raw_socket_client_gets_the_ack() {
    skip_unless_root!("netns_clients::raw_socket_client_gets_the_ack");
    let (pair, scratch) = setup("raw4");
    let config_file = scratch
        .write("lwm2m-xdp.toml", &config(&pair, "draft-00", "complete", ""))
        .unwrap();
    let responder = Running::start(&pair, config_file, "raw4", &[]);
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");

    let xid = xid(4);
    let ciaddr = pair.ipv4(Side::Client);
    let frame = inform_frame(&pair, xid, ciaddr, vec![]);
    let (reply, (info, got)) = socket.exchange(
        &frame,
        "DHCPACK",
        PATIENCE,
        decode_ack(WireFormat::Draft00, xid),
    );
    check_ack(&pair, &reply, &info, &got, pair.ipv4(Side::Server), ciaddr);
    assert!(reply.l2.vlans.is_empty(), "untagged request, tagged reply");
    // 240 BOOTP + 9 (53, 54) + URI + 4 certificate fragments + 61 + End, > 576 octets of IP.
    assert!(
        reply.payload.len() > 1000,
        "{} octets of BOOTP",
        reply.payload.len()
    );

    let stats = responder.wait_stats("v4.answered >= 1", |s| count(s, "v4", "answered") >= 1);
    assert_eq!(count(&stats, "v4", "malformed"), 0, "{stats}");
    assert_eq!(count(&stats, "v4", "aborted"), 0, "{stats}");
    responder.stop();
}

/// A dhcpcd run that must have succeeded, and the hook variables its `-T` output printed.
struct Dhcpcd {
    out: Output,
    vars: Vec<(String, String)>,
}

impl Dhcpcd {
    fn answered(out: Output, what: &str) -> Dhcpcd {
        assert!(
            out.status.success(),
            "{what} (exit {}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        let vars = peers::dhcpcd_variables(&String::from_utf8_lossy(&out.stdout));
        Dhcpcd { out, vars }
    }

    /// The hook variable `name`; a test failure naming it when dhcpcd printed none.
    fn value(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "dhcpcd printed no {name} (exit {}):\nstdout:\n{}\nstderr:\n{}",
                    self.out.status,
                    text(&self.out.stdout),
                    text(&self.out.stderr)
                )
            })
    }

    /// The octets of a binary option dhcpcd printed as decimals.
    fn octets(&self, name: &str) -> Vec<u8> {
        peers::decimal_octets(self.value(name)).unwrap()
    }
}

/// dhcpcd --inform in test mode (-T: the hook prints what the ACK carried, nothing is
/// configured). Under `complete` its INFORM (PRL 1, 3, 28, 33, 51, 224, 225) is the normal
/// server's; after a SIGHUP to `lwm2m-only` it is answered, and with `rfc3396` dhcpcd's own
/// RFC 3396 concatenation yields the certificate's DER.
#[test]
fn dhcpcd_inform_gets_the_lwm2m_options() {
    skip_unless_root!("netns_clients::dhcpcd_inform_gets_the_lwm2m_options");
    let (pair, scratch) = setup("dhcpcd4");
    let config_file = scratch
        .write("lwm2m-xdp.toml", &config(&pair, "rfc3396", "complete", ""))
        .unwrap();
    let responder = Running::start(&pair, config_file, "dhcpcd4", &[]);
    // `string` prints through a 1 KB buffer: fine for the URI. `array byte` has no limit.
    let dhcpcd_conf = scratch
        .write(
            "dhcpcd.conf",
            "define 224 string lwm2m_uri\n\
             define 225 array byte lwm2m_cert\n\
             option lwm2m_uri, lwm2m_cert\n",
        )
        .unwrap();
    let inform = format!("--inform={}/24", pair.ipv4(Side::Client));
    let run_dhcpcd = |timeout: &str| {
        peers::dhcpcd(
            &pair,
            DHCPCD_LIMIT,
            &[
                "-f",
                dhcpcd_conf.to_str().unwrap(),
                "-4",
                "--nobackground",
                "--nodev",
                "--test",
                "--noipv4ll",
                "--timeout",
                timeout,
                // An optional argument: `--inform ADDR` would take ADDR for an interface.
                &inform,
                &pair.client_if,
            ],
        )
    };

    // 1. policy = complete: dhcpcd also asks for options the fast path does not serve.
    let out = run_dhcpcd(DHCPCD_PASSED_TIMEOUT);
    let stats = responder.wait_stats(
        &format!(
            "v4.passed_unservable >= 1 after dhcpcd (exit {}):\nstdout:\n{}\nstderr:\n{}\n",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        ),
        |s| count(s, "v4", "passed_unservable") >= 1,
    );
    assert_eq!(count(&stats, "v4", "answered"), 0, "{stats}");
    assert!(
        !out.status.success() && !text(&out.stdout).contains("lwm2m"),
        "dhcpcd got an answer under policy complete (exit {}):\n{}",
        out.status,
        text(&out.stdout)
    );

    // 2. policy = lwm2m-only: answered with the LwM2M options, the rest left out.
    responder.reload(&config(&pair, "rfc3396", "lwm2m-only", ""));
    let out = run_dhcpcd(DHCPCD_TIMEOUT);
    let dhcpcd = Dhcpcd::answered(out, "dhcpcd --inform");
    assert_eq!(dhcpcd.value("reason"), "TEST");
    assert_eq!(dhcpcd.value("new_dhcp_message_type"), "5");
    assert_eq!(
        dhcpcd.value("new_dhcp_server_identifier"),
        pair.ipv4(Side::Server).to_string()
    );
    assert_eq!(dhcpcd.value("new_lwm2m_uri"), uri(&pair));
    let cert = dhcpcd.octets("new_lwm2m_cert");
    assert!(
        cert == certificate(),
        "dhcpcd's lwm2m_cert ({} octets) is not bootstrap-1000.der",
        cert.len()
    );
    let stats = responder.wait_stats("v4.answered >= 1", |s| count(s, "v4", "answered") >= 1);
    assert_eq!(count(&stats, "v4", "malformed"), 0, "{stats}");
    responder.stop();
}

/// A DHCPv6 INFORMATION-REQUEST frame from the client's link-local address to ff02::1:2:
/// Client Identifier (DUID-LL), ORO 65001 + 65002, Elapsed Time, and `pad` octets of Vendor
/// Class data (0: none).
fn information_request_frame(pair: &NetnsPair, xid: [u8; 3], duid: &[u8], pad: usize) -> Vec<u8> {
    let mut msg = client::build_information_request(xid, duid, &V6_CODES);
    client::pad_with_vendor_class(&mut msg, u16::try_from(pad).expect("pad fits"));
    peers::client_v6_multicast(pair, &msg)
}

/// dhcpcd --inform6, then a raw-socket client. dhcpcd's bare request (106 octets) hits the
/// veth tailroom trap in XDP (`no_tailroom`) and is answered by the TC fallback
/// (`answered_tc`). Padded with a Vendor Class (dhcpcd's `vendclass`, or the raw client's
/// own) the request is answered by XDP, and both clients get the URI and the DER.
#[test]
fn dhcpcd_inform6_or_raw_v6_client_gets_the_options() {
    skip_unless_root!("netns_clients::dhcpcd_inform6_or_raw_v6_client_gets_the_options");
    let (pair, scratch) = setup("dhcpcd6");
    let config_file = scratch
        .write("lwm2m-xdp.toml", &config(&pair, "draft-00", "complete", ""))
        .unwrap();
    let responder = Running::start(&pair, config_file, "dhcpcd6", &[]);
    let base = "noipv6rs\n\
                define6 65001 string lwm2m_uri6\n\
                define6 65002 array byte lwm2m_cert6\n\
                option dhcp6_lwm2m_uri6, dhcp6_lwm2m_cert6\n";
    let plain = scratch.write("dhcpcd6.conf", base).unwrap();
    let padded = scratch
        .write(
            "dhcpcd6-padded.conf",
            &format!(
                "{base}vendclass {} \"{}\"\n",
                client::EXAMPLE_ENTERPRISE,
                "-".repeat(V6_PAD)
            ),
        )
        .unwrap();
    let run_dhcpcd = |conf: &Path, timeout: &str| {
        peers::dhcpcd(
            &pair,
            DHCPCD_LIMIT,
            &[
                "-f",
                conf.to_str().unwrap(),
                "-6",
                "--nobackground",
                "--nodev",
                "--test",
                "--timeout",
                timeout,
                "--inform6",
                &pair.client_if,
            ],
        )
    };

    // 1. dhcpcd as it comes: the REPLY cannot grow into a 106-octet request's buffer in
    //    XDP (no_tailroom); the TC fallback answers it.
    let out = run_dhcpcd(&plain, DHCPCD_TIMEOUT);
    let dhcpcd = Dhcpcd::answered(out, "dhcpcd --inform6 (bare, answered by TC)");
    assert_eq!(dhcpcd.value("new_dhcp6_lwm2m_uri6"), uri(&pair));
    assert!(
        dhcpcd.octets("new_dhcp6_lwm2m_cert6") == certificate(),
        "dhcpcd's bare request: lwm2m_cert6 is not bootstrap-1000.der"
    );
    let stats = responder.wait_stats("v6.answered_tc >= 1", |s| {
        count(s, "v6", "answered_tc") >= 1
    });
    assert!(count(&stats, "v6", "no_tailroom") >= 1, "{stats}");
    assert_eq!(count(&stats, "v6", "answered"), 0, "not by XDP: {stats}");

    // 2. dhcpcd with a 256-octet Vendor Class: answered.
    let out = run_dhcpcd(&padded, DHCPCD_TIMEOUT);
    let dhcpcd = Dhcpcd::answered(out, "dhcpcd --inform6 (padded)");
    assert_eq!(dhcpcd.value("reason"), "TEST");
    assert_eq!(dhcpcd.value("protocol"), "dhcp6");
    assert_eq!(dhcpcd.value("new_dhcp6_lwm2m_uri6"), uri(&pair));
    let cert = dhcpcd.octets("new_dhcp6_lwm2m_cert6");
    assert!(
        cert == certificate(),
        "dhcpcd's lwm2m_cert6 ({} octets) is not bootstrap-1000.der",
        cert.len()
    );
    let server_duid = lwm2m_xdp::ifaces::duid_ll(pair.mac(Side::Server));
    assert_eq!(
        dhcpcd.value("new_dhcp6_server_id"),
        peers::hex(&server_duid)
    );
    // dhcpcd asks for option 32 by default; the config sets it.
    assert_eq!(dhcpcd.value("new_dhcp6_info_refresh_time"), "86400");
    let stats = responder.wait_stats("v6.answered >= 1", |s| count(s, "v6", "answered") >= 1);
    let answered_by_dhcpcd = count(&stats, "v6", "answered");

    // 3. The raw client, padded the same way: answered, decoded, checked field by field.
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let full = xid(6).to_be_bytes();
    let xid6 = [full[1], full[2], full[3]];
    let duid = lwm2m_xdp::ifaces::duid_ll(pair.mac(Side::Client));
    let frame = information_request_frame(&pair, xid6, &duid, V6_PAD);
    let (reply, (info, got)) = socket.exchange(&frame, "REPLY", PATIENCE, |f| {
        if f.dst_port != dhcpv6::CLIENT_PORT {
            return Err(format!("to port {}", f.dst_port));
        }
        client::decode_v6_reply(
            WireFormat::Draft00,
            V6_CODES[0],
            V6_CODES[1],
            &f.payload,
            xid6,
        )
        .map_err(|e| e.to_string())
    });
    assert_eq!(reply.l2.src, pair.mac(Side::Server), "source MAC");
    assert_eq!(reply.l2.dst, pair.mac(Side::Client), "destination MAC");
    assert_eq!(
        reply.src,
        IpAddr::V6(pair.ipv6_link_local(Side::Server)),
        "source: the server's link-local address"
    );
    assert_eq!(
        reply.dst,
        IpAddr::V6(pair.ipv6_link_local(Side::Client)),
        "destination: the request's source"
    );
    assert_eq!(
        (reply.src_port, reply.dst_port),
        (dhcpv6::SERVER_PORT, dhcpv6::CLIENT_PORT)
    );
    assert_eq!(info.server_duid, server_duid, "Server Identifier");
    assert_eq!(
        info.client_duid.as_deref(),
        Some(&duid[..]),
        "Client Identifier"
    );
    assert_eq!(
        info.information_refresh_time, None,
        "option 32 was not requested"
    );
    assert_eq!(got.uri.as_deref(), Some(uri(&pair).as_str()));
    assert!(
        got.certificate.as_deref() == Some(&certificate()[..]),
        "the certificate is not bootstrap-1000.der ({:?} octets)",
        got.certificate.as_ref().map(Vec::len)
    );

    let stats = responder.wait_stats("one more v6 answer", |s| {
        count(s, "v6", "answered") > answered_by_dhcpcd
    });
    assert_eq!(count(&stats, "v6", "malformed"), 0, "{stats}");
    responder.stop();
}

/// An INFORM tagged with VLAN 42 from a raw socket (no 802.1Q module in this kernel) is
/// answered from `[[interface.vlan]]`'s address, with the tag kept; one tagged 43 (not
/// configured) is passed.
#[test]
fn tagged_inform_is_answered_on_its_vlan() {
    skip_unless_root!("netns_clients::tagged_inform_is_answered_on_its_vlan");
    let (pair, scratch) = setup("vlan");
    // The VLAN's subnet: the pair's /24 in the other half of 198.18.0.0/15.
    let [hi, lo] = pair.subnet.to_be_bytes();
    let vlan_server = Ipv4Addr::new(198, 19 - hi, lo, 1);
    let vlan_client = Ipv4Addr::new(198, 19 - hi, lo, 2);
    let vlan = format!(
        "[[interface.vlan]]\n\
         id = 42\n\
         ipv4 = \"{vlan_server}\"\n\
         ipv6_link_local = \"fe80::42:1\"\n"
    );
    let config_file = scratch
        .write(
            "lwm2m-xdp.toml",
            &config(&pair, "draft-00", "complete", &vlan),
        )
        .unwrap();
    let responder = Running::start(&pair, config_file, "vlan", &[]);
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");

    let xid42 = xid(42);
    let frame = inform_frame(&pair, xid42, vlan_client, vec![42]);
    let (reply, (info, got)) = socket.exchange(
        &frame,
        "DHCPACK on VLAN 42",
        PATIENCE,
        decode_ack(WireFormat::Draft00, xid42),
    );
    assert_eq!(reply.l2.vlans, [42], "the ACK keeps the request's tag");
    check_ack(&pair, &reply, &info, &got, vlan_server, vlan_client);
    let stats = responder.wait_stats("v4.answered >= 1", |s| count(s, "v4", "answered") >= 1);
    assert!(top(&stats, "vlan_tagged") >= 1, "{stats}");
    let answered_42 = count(&stats, "v4", "answered");

    // VLAN 43 has no addresses (no [[interface.vlan]], no VLAN interface): passed.
    let xid43 = xid(43);
    let frame = inform_frame(&pair, xid43, vlan_client, vec![43]);
    socket.send(&frame).expect("send the VLAN 43 request");
    let stats = responder.wait_stats("v4.passed_not_for_us >= 1", |s| {
        count(s, "v4", "passed_not_for_us") >= 1
    });
    assert_eq!(count(&stats, "v4", "answered"), answered_42, "{stats}");
    let answered_43 = socket
        .receive(Duration::from_millis(300), |bytes| {
            peers::dhcp_client_reply(bytes).ok().flatten().filter(|f| {
                client::decode_v4_reply(
                    WireFormat::Draft00,
                    V4_CODES[0],
                    V4_CODES[1],
                    &f.payload,
                    xid43,
                )
                .is_ok()
            })
        })
        .expect("receive");
    assert!(
        answered_43.is_none(),
        "VLAN 43 was answered: {answered_43:?}"
    );
    responder.stop();
}
