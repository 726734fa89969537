//! Every snippet of docs/clients.md, run for real against `lwm2m-xdp run` in every wire format:
//! dhcpcd --inform and --inform6, ISC dhclient -6 -S, and the scapy script. The snippets are
//! read out of the guide (its `<!-- snippet: NAME -->` markers), so the guide cannot drift
//! from what ran; the URI each client reports and the SHA-256 of the certificate it reports
//! are compared with the config's.
//!
//! The config is `policy = "lwm2m-only"` (the clients ask for more than the LwM2M options,
//! docs/clients.md "Policy"), generic XDP on the server veth. On veth a bare DHCPv6 request
//! leaves the reply no room to grow (ARCHITECTURE.md, "Traps"), so the DHCPv6 clients get one
//! padding line appended to their snippet (dhcpcd: a Vendor Class; dhclient: a private option,
//! it has no name for option 16): a property of the test link, not of the snippets.

use lwm2m_xdp_tests::text;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use lwm2m_xdp::client;
use lwm2m_xdp::config::{Config, WireFormat};
use lwm2m_xdp_tests::peers;
use lwm2m_xdp_tests::running::{count, Running};
use lwm2m_xdp_tests::{
    example_certificate, pair_and_scratch, skip_unless_root, NetnsPair, ScratchDir, Side,
};
use sha2::{Digest, Sha256};

/// dhcpcd's own timeout and the hard limit around any client run.
const CLIENT_TIMEOUT: &str = "5";
const CLIENT_LIMIT: Duration = Duration::from_secs(20);
/// Padding for a DHCPv6 request on veth (as `probe --v6 --pad 256`).
const V6_PAD: usize = 256;
/// A private DHCPv6 code for dhclient's padding (unassigned, never requested).
const DHCLIENT_PAD_CODE: u16 = 65300;

fn show(out: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The fenced block after `<!-- snippet: NAME -->` in docs/clients.md.
fn snippet(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/clients.md");
    let guide = std::fs::read_to_string(&path).expect("docs/clients.md");
    let marker = format!("<!-- snippet: {name} -->");
    let after = guide
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {marker} in docs/clients.md"))
        .1;
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    let fence = lines.next().unwrap_or_default();
    assert!(
        fence.starts_with("```"),
        "{marker} is not followed by a fenced block"
    );
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    assert!(!body.is_empty(), "{marker}: empty block");
    body.join("\n") + "\n"
}

fn uri(pair: &NetnsPair) -> String {
    format!("coaps://{}:5684", pair.ipv4(Side::Server))
}

fn lwm2m_config(pair: &NetnsPair, format: WireFormat) -> String {
    format!(
        "[lwm2m]\n\
         bootstrap_uri = \"{uri}\"\n\
         certificate = \"{cert}\"\n\
         wire_format = \"{format}\"\n\
         policy = \"lwm2m-only\"\n\
         [dhcpv6]\n\
         information_refresh_time = 86400\n\
         [[interface]]\n\
         name = \"{iface}\"\n\
         mode = \"generic\"\n\
         server_id = \"{server}\"\n",
        uri = uri(pair),
        cert = example_certificate(1000).display(),
        iface = pair.server_if,
        server = pair.ipv4(Side::Server),
    )
}

/// What every client must report: the config's URI and certificate SHA-256.
struct Expected {
    uri: String,
    sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    peers::hex(&Sha256::digest(bytes))
}

/// The pair, `run` serving draft-00, and what the config says the clients must see.
fn setup<'a>(pair: &'a NetnsPair, scratch: &ScratchDir, tag: &str) -> (Running<'a>, Expected) {
    peers::client_tx_checksums_off(pair).expect("client checksums");
    let text = lwm2m_config(pair, WireFormat::Draft00);
    let file = scratch.write("lwm2m-xdp.toml", &text).unwrap();
    let cfg = Config::load(&file).expect("the test's config is valid");
    let cert = cfg.lwm2m.certificate.as_ref().expect("a certificate");
    let expected = Expected {
        uri: cfg.lwm2m.bootstrap_uri.clone().expect("a URI"),
        sha256: peers::hex(&cert.sha256),
    };
    assert_eq!(expected.uri, uri(pair));
    (Running::start(pair, file, tag, &[]), expected)
}

fn var<'v>(vars: &'v [(String, String)], name: &str, out: &Output) -> &'v str {
    vars.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the client reported no {name}:\n{}", show(out)))
}

fn dhcpcd(pair: &NetnsPair, conf: &Path, family: &str) -> Output {
    let inform = format!("--inform={}/24", pair.ipv4(Side::Client));
    let mut args = vec![
        "-f",
        conf.to_str().unwrap(),
        family,
        "--nobackground",
        "--nodev",
        "--test",
        "--timeout",
        CLIENT_TIMEOUT,
    ];
    if family == "-4" {
        args.extend(["--noipv4ll", &inform]);
    } else {
        args.push("--inform6");
    }
    args.push(&pair.client_if);
    peers::dhcpcd(pair, CLIENT_LIMIT, &args)
}

/// dhcpcd with each format's snippet: the DHCPv4 URI always, the DHCPv4 certificate where
/// the guide says dhcpcd can decode it (and, in draft-00, proof that it cannot), and both
/// DHCPv6 options.
#[test]
fn dhcpcd_snippets_decode_every_format() {
    skip_unless_root!("netns_client_guide::dhcpcd_snippets_decode_every_format");
    let (pair, scratch) = pair_and_scratch("guide-dhcpcd");
    let (responder, expected) = setup(&pair, &scratch, "guide-dhcpcd");
    let der = std::fs::read(example_certificate(1000)).unwrap();
    for format in WireFormat::ALL {
        responder.reload(&lwm2m_config(&pair, format));
        let conf = snippet(&format!("dhcpcd-{format}"));
        let file = scratch
            .write(&format!("dhcpcd-{format}.conf"), &conf)
            .unwrap();

        let out = dhcpcd(&pair, &file, "-4");
        assert!(
            out.status.success(),
            "dhcpcd --inform ({format}):\n{}",
            show(&out)
        );
        let vars = peers::dhcpcd_variables(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(var(&vars, "new_lwm2m_uri", &out), expected.uri, "{format}");
        if format == WireFormat::Draft00 {
            assert!(
                !vars.iter().any(|(n, _)| n == "new_lwm2m_cert"),
                "the draft-00 snippet must not ask for the DHCPv4 certificate"
            );
        } else {
            let cert = peers::decimal_octets(var(&vars, "new_lwm2m_cert", &out)).unwrap();
            assert_eq!(
                sha256_hex(&cert),
                expected.sha256,
                "{format}: DHCPv4 certificate"
            );
        }
        if format == WireFormat::Ietf00 {
            assert_eq!(var(&vars, "new_lwm2m_cert_encoding", &out), "4");
        }

        let padded = format!(
            "{conf}vendclass {} \"{}\"\n",
            client::EXAMPLE_ENTERPRISE,
            "-".repeat(V6_PAD)
        );
        let file6 = scratch
            .write(
                &format!("dhcpcd6-{format}.conf"),
                &format!("noipv6rs\n{padded}"),
            )
            .unwrap();
        let out = dhcpcd(&pair, &file6, "-6");
        assert!(
            out.status.success(),
            "dhcpcd --inform6 ({format}):\n{}",
            show(&out)
        );
        let vars = peers::dhcpcd_variables(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            var(&vars, "new_dhcp6_lwm2m_uri", &out),
            expected.uri,
            "{format}"
        );
        let cert = peers::decimal_octets(var(&vars, "new_dhcp6_lwm2m_cert", &out)).unwrap();
        assert_eq!(
            sha256_hex(&cert),
            expected.sha256,
            "{format}: DHCPv6 certificate"
        );
        if format == WireFormat::Ietf00 {
            assert_eq!(var(&vars, "new_dhcp6_lwm2m_cert_encoding", &out), "4");
        }
    }

    // What the guide says dhcpcd does with the draft-00 DHCPv4 certificate: it joins the
    // fragments (RFC 3396) with their sequence numbers inside.
    responder.reload(&lwm2m_config(&pair, WireFormat::Draft00));
    let file = scratch
        .write("dhcpcd-draft00-cert.conf", &snippet("dhcpcd-rfc3396"))
        .unwrap();
    let out = dhcpcd(&pair, &file, "-4");
    assert!(
        out.status.success(),
        "dhcpcd --inform (draft-00 cert):\n{}",
        show(&out)
    );
    let vars = peers::dhcpcd_variables(&String::from_utf8_lossy(&out.stdout));
    let joined = peers::decimal_octets(var(&vars, "new_lwm2m_cert", &out)).unwrap();
    let fragments: Vec<u8> = der
        .chunks(lwm2m_xdp::options::DRAFT00_MAX_FRAGMENT)
        .zip(0u16..)
        .flat_map(|(f, seq)| [&seq.to_be_bytes()[..], f].concat())
        .collect();
    assert!(
        joined == fragments && joined != der,
        "dhcpcd's draft-00 DHCPv4 certificate is {} octets; docs/clients.md says it is the \
         fragments joined with their sequence numbers ({} octets)",
        joined.len(),
        fragments.len()
    );

    let stats = responder.wait_stats("answers to dhcpcd", |s| {
        count(s, "v4", "answered") >= 4 && count(s, "v6", "answered") >= 3
    });
    assert_eq!(count(&stats, "v4", "malformed"), 0, "{stats}");
    responder.stop();
}

/// ISC dhclient's colon-separated hex without leading zeros ("30:82:3:e4").
fn dhclient_octets(value: &str) -> Vec<u8> {
    value
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{h:?} in {value}: {e}")))
        .collect()
}

/// `dhclient -6 -S` with the guide's snippet (and a padding option): one
/// INFORMATION-REQUEST, the script dumping what arrived.
#[test]
fn dhclient6_snippet_decodes_every_format() {
    skip_unless_root!("netns_client_guide::dhclient6_snippet_decodes_every_format");
    let (pair, scratch) = pair_and_scratch("guide-dhclient");
    let (responder, expected) = setup(&pair, &scratch, "guide-dhclient");
    let env = scratch.path().join("dhclient.env");
    let script = scratch
        .write(
            "dhclient-script",
            &format!("#!/bin/sh\nenv > {}\n", env.display()),
        )
        .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = format!(
        "{}option dhcp6.lwm2m-pad code {DHCLIENT_PAD_CODE} = string;\n\
         send dhcp6.lwm2m-pad \"{}\";\n",
        snippet("dhclient6"),
        "-".repeat(V6_PAD)
    );
    let conf_file = scratch.write("dhclient6.conf", &conf).unwrap();
    let (lease, pid) = (
        scratch.path().join("dhclient6.leases"),
        scratch.path().join("dhclient6.pid"),
    );
    for format in WireFormat::ALL {
        responder.reload(&lwm2m_config(&pair, format));
        let _ = std::fs::remove_file(&env);
        let out = pair.exec_within(
            Side::Client,
            CLIENT_LIMIT,
            &[
                "dhclient",
                "-6",
                "-S",
                "-d",
                "-1",
                "-cf",
                conf_file.to_str().unwrap(),
                "-sf",
                script.to_str().unwrap(),
                "-lf",
                lease.to_str().unwrap(),
                "-pf",
                pid.to_str().unwrap(),
                &pair.client_if,
            ],
        );
        assert!(
            out.status.success(),
            "dhclient -6 -S ({format}):\n{}",
            show(&out)
        );
        let dumped = std::fs::read_to_string(&env)
            .unwrap_or_else(|e| panic!("no script run ({e}):\n{}", show(&out)));
        let vars = peers::dhcpcd_variables(&dumped);
        assert_eq!(
            var(&vars, "new_dhcp6_lwm2m_uri", &out),
            expected.uri,
            "{format}"
        );
        let mut cert = dhclient_octets(var(&vars, "new_dhcp6_lwm2m_cert", &out));
        if format == WireFormat::Ietf00 {
            assert_eq!(cert.first(), Some(&4), "ietf-00: the cert-encoding first");
            cert.remove(0);
        }
        assert_eq!(sha256_hex(&cert), expected.sha256, "{format}: certificate");
    }
    let stats = responder.wait_stats("answers to dhclient", |s| count(s, "v6", "answered") >= 3);
    assert_eq!(count(&stats, "v6", "malformed"), 0, "{stats}");
    responder.stop();
}

/// The guide's scapy script, one DHCPINFORM per format.
#[test]
fn scapy_snippet_decodes_every_format() {
    skip_unless_root!("netns_client_guide::scapy_snippet_decodes_every_format");
    let (pair, scratch) = pair_and_scratch("guide-scapy");
    let (responder, expected) = setup(&pair, &scratch, "guide-scapy");
    let script = scratch
        .write("lwm2m-inform.py", &snippet("scapy-inform"))
        .unwrap();
    let ciaddr = pair.ipv4(Side::Client).to_string();
    for format in WireFormat::ALL {
        responder.reload(&lwm2m_config(&pair, format));
        // Debian's python3-scapy is for Debian's python3.
        let out = pair.exec_within(
            Side::Client,
            CLIENT_LIMIT,
            &[
                "/usr/bin/python3",
                script.to_str().unwrap(),
                &pair.client_if,
                &ciaddr,
                format.name(),
            ],
        );
        assert!(out.status.success(), "scapy ({format}):\n{}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} line:\n{}", show(&out)))
                .to_owned()
        };
        assert_eq!(line("uri "), expected.uri, "{format}");
        assert_eq!(line("certificate sha256 "), expected.sha256, "{format}");
    }
    let stats = responder.wait_stats("answers to scapy", |s| count(s, "v4", "answered") >= 3);
    assert_eq!(count(&stats, "v4", "malformed"), 0, "{stats}");
    responder.stop();
}
