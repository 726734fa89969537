//! The config's tests: every key read, every error naming key, value and what is accepted.

use std::{
    fs,
    net::{Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};
use xdp_common::{
    maps::{MAX_BLOCK_LEN, MAX_SERVED_OPTIONS},
    wire::{dhcpv4 as v4, dhcpv6 as v6},
};

use super::{check_interfaces, error::quoted, values::code_ranges, *};

/// The fixture certificates (examples/certs).
pub(crate) fn certs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/certs")
}

/// A config file path inside the certs directory, so `certificate = "bootstrap-300.der"`
/// resolves.
fn source() -> PathBuf {
    certs_dir().join("test.toml")
}

/// A config built directly, so certificate sizes can be anything.
pub(crate) fn config(format: WireFormat, uri: Option<&str>, der: Option<Vec<u8>>) -> Config {
    Config {
        lwm2m: Lwm2m {
            bootstrap_uri: uri.map(str::to_string),
            certificate: der.map(|der| Certificate {
                der,
                path: PathBuf::from("fake.der"),
                subject: "CN=fake".into(),
                sha256: [0xab; 32],
                notes: vec![],
            }),
            wire_format: format,
            policy: Policy::Complete,
        },
        dhcpv4: Dhcpv4 {
            enabled: true,
            uri_option: v4::DEFAULT_URI_OPTION,
            certificate_option: v4::DEFAULT_CERTIFICATE_OPTION,
            server_id: None,
            extra_options: vec![],
        },
        dhcpv6: Dhcpv6 {
            enabled: true,
            uri_option: v6::DEFAULT_URI_OPTION,
            certificate_option: v6::DEFAULT_CERTIFICATE_OPTION,
            information_refresh_time: None,
            server_duid: None,
            extra_options: vec![],
        },
        interfaces: vec![Interface {
            name: "eth0".into(),
            mode: AttachMode::Auto,
            fallback: Fallback::Tc,
            server_id: None,
            vlans: vec![],
        }],
        slow_path: SlowPath {
            mode: SlowPathMode::Local,
            dhcpv4_servers: vec![],
            dhcpv6_servers: vec![],
        },
        rate_limit: None,
        source: PathBuf::from("test.toml"),
    }
}

const MINIMAL: &str = "[[interface]]\nname = \"eth0\"\n";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, &source())
}

/// A minimal config with `extra` added at the top level (before [[interface]]).
fn with(extra: &str) -> Result<Config, ConfigError> {
    parse(&format!("{extra}\n{MINIMAL}"))
}

/// The error message of a config that must fail, checked to name every `needle`.
#[track_caller]
fn error_of(result: Result<Config, ConfigError>, needles: &[&str]) -> String {
    let msg = match result {
        Ok(cfg) => panic!("accepted a bad config: {cfg:?}"),
        Err(e) => e.to_string(),
    };
    for needle in needles {
        assert!(
            msg.contains(needle),
            "error {msg:?} does not mention {needle:?}"
        );
    }
    assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
    msg
}

#[test]
fn minimal_config_takes_the_defaults() {
    let cfg = parse(MINIMAL).unwrap();
    assert_eq!(cfg.lwm2m.bootstrap_uri, None);
    assert_eq!(cfg.lwm2m.certificate, None);
    assert_eq!(cfg.lwm2m.wire_format, WireFormat::Draft00);
    assert_eq!(cfg.lwm2m.policy, Policy::Complete);
    assert!(cfg.dhcpv4.enabled && cfg.dhcpv6.enabled);
    assert_eq!(cfg.dhcpv4.uri_option, v4::DEFAULT_URI_OPTION);
    assert_eq!(
        cfg.dhcpv4.certificate_option,
        v4::DEFAULT_CERTIFICATE_OPTION
    );
    assert_eq!(cfg.dhcpv6.uri_option, v6::DEFAULT_URI_OPTION);
    assert_eq!(
        cfg.dhcpv6.certificate_option,
        v6::DEFAULT_CERTIFICATE_OPTION
    );
    assert_eq!(cfg.dhcpv6.information_refresh_time, None);
    assert_eq!(cfg.dhcpv6.server_duid, None);
    assert_eq!(
        cfg.interfaces,
        vec![Interface {
            name: "eth0".into(),
            mode: AttachMode::Auto,
            fallback: Fallback::Tc,
            server_id: None,
            vlans: vec![]
        }]
    );
    assert_eq!(
        cfg.slow_path,
        SlowPath {
            mode: SlowPathMode::Local,
            dhcpv4_servers: vec![],
            dhcpv6_servers: vec![]
        }
    );
    assert_eq!(cfg.rate_limit, None);
    assert_eq!(cfg.source, source());
}

#[test]
fn full_config_is_read_key_by_key() {
    let text = r#"
        [lwm2m]
        bootstrap_uri = "coaps://bootstrap.example.net:5684"
        certificate = "bootstrap-300.der"
        wire_format = "ietf-00"
        policy = "lwm2m-only"

        [dhcpv4]
        enabled = true
        uri_option = 230
        certificate_option = 231
        server_id = "198.18.0.1"
        [[dhcpv4.extra_option]]
        code = 6
        ipv4 = ["198.18.0.53", "198.18.0.54"]
        [[dhcpv4.extra_option]]
        code = 15
        string = "example.net"
        [[dhcpv4.extra_option]]
        code = 252
        hex = "de:ad be ef"

        [dhcpv6]
        enabled = false
        uri_option = 65100
        certificate_option = 65101
        information_refresh_time = 86400
        server_duid = "00030001 02:00:00:00:00:01"
        [[dhcpv6.extra_option]]
        code = 23
        ipv6 = ["2001:db8::53"]
        [[dhcpv6.extra_option]]
        code = 24
        domains = ["example.net", "lab.example.org."]

        [[interface]]
        name = "lwm2m-srv"
        mode = "generic"
        server_id = "198.18.0.2"
        [[interface.vlan]]
        id = 42
        ipv4 = "198.18.42.1"
        ipv6_link_local = "fe80::42"
        [[interface.vlan]]
        id = 100
        inner_id = 7

        [[interface]]
        name = "eth1"
        mode = "native"
        fallback = "none"

        [slow_path]
        mode = "relay"
        dhcpv4_servers = ["198.18.1.10"]
        dhcpv6_servers = ["2001:db8::10", "ff05::1:3"]

        [rate_limit]
        per_client_rate = 10
        burst = 20
    "#;
    let cfg = parse(text).unwrap();
    assert_eq!(
        cfg.lwm2m.bootstrap_uri.as_deref(),
        Some("coaps://bootstrap.example.net:5684")
    );
    let cert = cfg.lwm2m.certificate.as_ref().unwrap();
    assert_eq!(cert.path, certs_dir().join("bootstrap-300.der"));
    assert_eq!(
        cert.der,
        fs::read(certs_dir().join("bootstrap-300.der")).unwrap()
    );
    assert_eq!(cert.sha256, <[u8; 32]>::from(Sha256::digest(&cert.der)));
    assert!(cert.subject.contains("CN="), "subject {:?}", cert.subject);
    assert_eq!(cfg.lwm2m.wire_format, WireFormat::Ietf00);
    assert_eq!(cfg.lwm2m.policy, Policy::Lwm2mOnly);
    assert_eq!(
        cfg.dhcpv4,
        Dhcpv4 {
            enabled: true,
            uri_option: 230,
            certificate_option: 231,
            server_id: Some(Ipv4Addr::new(198, 18, 0, 1)),
            extra_options: vec![
                ExtraOption {
                    code: 6,
                    data: vec![198, 18, 0, 53, 198, 18, 0, 54]
                },
                ExtraOption {
                    code: 15,
                    data: b"example.net".to_vec()
                },
                ExtraOption {
                    code: 252,
                    data: vec![0xde, 0xad, 0xbe, 0xef]
                },
            ],
        }
    );
    let mut search = b"\x07example\x03net\x00".to_vec();
    search.extend(b"\x03lab\x07example\x03org\x00");
    assert_eq!(
        cfg.dhcpv6,
        Dhcpv6 {
            enabled: false,
            uri_option: 65100,
            certificate_option: 65101,
            information_refresh_time: Some(86400),
            server_duid: Some(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1]),
            extra_options: vec![
                ExtraOption {
                    code: 23,
                    data: "2001:db8::53"
                        .parse::<Ipv6Addr>()
                        .unwrap()
                        .octets()
                        .to_vec()
                },
                ExtraOption {
                    code: 24,
                    data: search
                },
            ],
        }
    );
    assert_eq!(cfg.interfaces.len(), 2);
    assert_eq!(
        cfg.interfaces[0],
        Interface {
            name: "lwm2m-srv".into(),
            mode: AttachMode::Generic,
            fallback: Fallback::Tc,
            server_id: Some(Ipv4Addr::new(198, 18, 0, 2)),
            vlans: vec![
                Vlan {
                    id: 42,
                    inner_id: None,
                    ipv4: Some(Ipv4Addr::new(198, 18, 42, 1)),
                    ipv6_link_local: Some("fe80::42".parse().unwrap()),
                },
                Vlan {
                    id: 100,
                    inner_id: Some(7),
                    ipv4: None,
                    ipv6_link_local: None
                },
            ],
        }
    );
    assert_eq!(cfg.interfaces[1].mode, AttachMode::Native);
    assert_eq!(cfg.interfaces[1].fallback, Fallback::None);
    assert_eq!(cfg.slow_path.mode, SlowPathMode::Relay);
    assert_eq!(
        cfg.slow_path.dhcpv4_servers,
        vec![Ipv4Addr::new(198, 18, 1, 10)]
    );
    assert_eq!(cfg.slow_path.dhcpv6_servers.len(), 2);
    assert_eq!(
        cfg.rate_limit,
        Some(RateLimit {
            per_client_rate: 10,
            burst: 20,
            per_interface_rate: None,
            over_limit: OverLimit::Drop,
        })
    );
}

#[test]
fn example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lwm2m-xdp.toml");
    let cfg = Config::load(&path).unwrap();
    assert_eq!(cfg.interfaces[0].name, "lwm2m-srv");
    let cert = cfg.lwm2m.certificate.unwrap();
    assert_eq!(
        cert.der,
        fs::read(certs_dir().join("bootstrap-1000.der")).unwrap()
    );
}

#[test]
fn pem_certificate_gives_the_same_der() {
    let der = with("[lwm2m]\ncertificate = \"bootstrap-1000.der\"")
        .unwrap()
        .lwm2m
        .certificate
        .unwrap();
    let pem = with("[lwm2m]\ncertificate = \"bootstrap-1000.pem\"")
        .unwrap()
        .lwm2m
        .certificate
        .unwrap();
    assert_eq!(der.der, pem.der);
    assert_eq!(der.subject, pem.subject);
    assert_eq!(der.sha256, pem.sha256);
}

#[test]
fn missing_uri_and_certificate_are_not_errors() {
    let cfg = with("[lwm2m]\nwire_format = \"rfc3396\"").unwrap();
    assert_eq!(cfg.lwm2m.bootstrap_uri, None);
    assert_eq!(cfg.lwm2m.certificate, None);
}

#[test]
fn load_reports_an_unreadable_file() {
    let path = certs_dir().join("no-such-config.toml");
    let msg = Config::load(&path).unwrap_err().to_string();
    assert!(
        msg.contains("no-such-config.toml") && msg.contains("cannot read"),
        "{msg}"
    );
}

#[test]
fn syntax_errors_and_unknown_keys_carry_the_serde_message() {
    error_of(with("[dhcpv4]\nuri_option = = 3"), &["test.toml", "line 2"]);
    error_of(
        with("[dhcpv4]\nenabled = true\nuri_opton = 224"),
        &[
            "line 3",
            "in [dhcpv4]",
            "dhcpv4.uri_opton: unknown key",
            "accepted here: enabled, uri_option",
        ],
    );
    error_of(
        with("[dhcpv5]\nenabled = true"),
        &[
            "line 1",
            "dhcpv5: unknown key",
            "accepted here: lwm2m, dhcpv4, dhcpv6",
        ],
    );
    error_of(
        parse("[[interface]]\nname = \"eth0\"\nvlan = [{ id = 1, colour = 2 }]"),
        &[
            "in [[interface]]",
            "interface[0].colour: unknown key",
            "accepted here: id",
        ],
    );
    error_of(
        with("[dhcpv4]\nenabled = \"yes\""),
        &[
            "line 2",
            "in [dhcpv4]",
            "dhcpv4.enabled = \"yes\": true or false, without quotes, not a string (\"yes\")",
        ],
    );
    error_of(
        with("[rate_limit]\nper_client_rate = 1"),
        &["rate_limit.burst: missing; this key is required"],
    );
    error_of(
        with("[[dhcpv4.extra_option]]\nipv4 = [\"198.18.0.1\"]"),
        &["dhcpv4.extra_option[0].code: missing; this key is required"],
    );
}

#[test]
fn enum_values_are_checked() {
    error_of(
        with("[lwm2m]\nwire_format = \"draft-01\""),
        &[
            "lwm2m.wire_format = \"draft-01\"",
            "\"draft-00\", \"rfc3396\" or \"ietf-00\"",
        ],
    );
    error_of(
        with("[lwm2m]\npolicy = \"all\""),
        &["lwm2m.policy = \"all\"", "\"complete\" or \"lwm2m-only\""],
    );
    error_of(
        parse("[[interface]]\nname = \"eth0\"\nmode = \"skb\""),
        &[
            "interface[0].mode = \"skb\"",
            "\"auto\", \"native\" or \"generic\"",
        ],
    );
    error_of(
        parse("[[interface]]\nname = \"eth0\"\nfallback = \"xdp\""),
        &["interface[0].fallback = \"xdp\"", "\"tc\" or \"none\""],
    );
    error_of(
        with("[slow_path]\nmode = \"forward\""),
        &["slow_path.mode = \"forward\"", "\"local\" or \"relay\""],
    );
}

#[test]
fn uri_must_be_absolute() {
    for (uri, why) in [
        ("bootstrap.example.net", "no scheme"),
        ("1coap://x", "\"1coap\" is not a scheme"),
        ("coaps:", "no \"//\" and server after \"coaps:\""),
        ("coaps:///path", "no host"),
        ("coaps://host/a b", "' ' at position 14"),
        ("coaps://höst", "percent-encode"),
        ("coaps://host/%zz", "'%' at position 13"),
        ("coaps://host/x#frag", "a fragment"),
        ("urn:dev:os:1-2", "names its server"),
        // The URIs of issue 13.
        ("bootstrap.example.net:5684", "host:port without a scheme"),
        ("coaps://2001:db8::10:5684", "IPv6 address goes in brackets"),
        ("coaps://[2001:db8::10:5684", "\"[\" without \"]\""),
        (
            "coaps://bootstrap.example.net:99999",
            "port 99999 is not a port",
        ),
        ("coaps://bootstrap.example.net:0", "port 0"),
        ("coaps://user@bootstrap.example.net", "CoAP URIs have none"),
        ("coaps://[v1.x]:5684", "IPvFuture"),
    ] {
        error_of(
            with(&format!("[lwm2m]\nbootstrap_uri = {uri:?}")),
            &[&format!("lwm2m.bootstrap_uri = {uri:?}"), why],
        );
    }
    for uri in [
        "coaps://[2001:db8::1]:5684",
        "coap+tcp://b.example.net/bs?ep=%41",
        "COAPS://198.18.0.1",
        "https://bootstrap.example.net/",
    ] {
        with(&format!("[lwm2m]\nbootstrap_uri = {uri:?}")).unwrap();
    }
}

#[test]
fn uri_length_depends_on_the_wire_format_when_dhcpv4_is_on() {
    let uri = |n: usize| format!("coaps://{}", "a".repeat(n - "coaps://".len()));
    with(&format!("[lwm2m]\nbootstrap_uri = {:?}", uri(253))).unwrap();
    error_of(
        with(&format!("[lwm2m]\nbootstrap_uri = {:?}", uri(254))),
        &[
            "lwm2m.bootstrap_uri = \"coaps://aaa",
            "254 octets",
            "wire_format draft-00 carries at most 253",
        ],
    );
    with(&format!(
        "[lwm2m]\nbootstrap_uri = {:?}\nwire_format = \"rfc3396\"",
        uri(255)
    ))
    .unwrap();
    error_of(
        with(&format!(
            "[lwm2m]\nbootstrap_uri = {:?}\nwire_format = \"ietf-00\"",
            uri(256)
        )),
        &[
            "lwm2m.bootstrap_uri",
            "256 octets",
            "ietf-00 carries at most 255",
        ],
    );
    // DHCPv6 alone takes longer URIs.
    with(&format!(
        "[lwm2m]\nbootstrap_uri = {:?}\n[dhcpv4]\nenabled = false",
        uri(1000)
    ))
    .unwrap();
    let v6_max = MAX_BLOCK_LEN - v6::OPT_HDR_LEN;
    error_of(
        with(&format!(
            "[lwm2m]\nbootstrap_uri = {:?}\n[dhcpv4]\nenabled = false",
            uri(v6_max + 1)
        )),
        &["lwm2m.bootstrap_uri", &format!("holds at most {v6_max}")],
    );
}

#[test]
fn certificate_must_be_readable_x509() {
    error_of(
        with("[lwm2m]\ncertificate = \"missing.der\""),
        &[
            "lwm2m.certificate = \"missing.der\"",
            "cannot read",
            "missing.der",
        ],
    );
    // make-certs.sh is not a certificate.
    error_of(
        with("[lwm2m]\ncertificate = \"make-certs.sh\""),
        &[
            "lwm2m.certificate = \"make-certs.sh\"",
            "a text file without a \"-----BEGIN CERTIFICATE-----\" block",
        ],
    );
}

/// A scratch directory for files a test writes.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lwm2m-xdp-config-{}-{name}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn with_cert_file(name: &str, contents: &[u8]) -> Result<Config, ConfigError> {
    let dir = scratch(name);
    fs::write(dir.join(name), contents).unwrap();
    let parsed = Config::parse(
        &format!("[lwm2m]\ncertificate = {name:?}\n{MINIMAL}"),
        &dir.join("c.toml"),
    );
    // The certificate is read by the parse: nothing needs the file after it.
    let _ = fs::remove_dir_all(&dir);
    parsed
}

#[test]
fn certificate_files_with_junk_are_rejected() {
    let der = fs::read(certs_dir().join("bootstrap-300.der")).unwrap();
    let pem_text = fs::read_to_string(certs_dir().join("bootstrap-1000.pem")).unwrap();

    let mut trailing = der.clone();
    trailing.extend([0, 0]);
    error_of(
        with_cert_file("trailing.der", &trailing),
        &[
            "lwm2m.certificate = \"trailing.der\"",
            "a DER certificate followed by 2 more octets",
        ],
    );
    error_of(
        with_cert_file("truncated.der", &der[..der.len() - 10]),
        &[
            "truncated.der",
            "cut short: 290 octets, where its DER header announces 300",
        ],
    );

    let two = format!("{pem_text}{pem_text}");
    error_of(
        with_cert_file("two.pem", two.as_bytes()),
        &["two.pem", "a chain of 2 certificates", "alone"],
    );
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    error_of(
        with_cert_file("key.pem", key.as_bytes()),
        &["key.pem", "this is a private key"],
    );
    error_of(
        with_cert_file("broken.pem", b"-----BEGIN CERTIFICATE-----\n!!!\n"),
        &[
            "broken.pem",
            "a PEM file without a complete BEGIN/END block",
        ],
    );
    error_of(
        with_cert_file("empty.der", b""),
        &["empty.der", "the file is empty"],
    );
}

/// The files of testdata/check that are no certificate, and what the error calls them.
#[test]
fn certificate_errors_say_what_the_file_is() {
    for (file, what) in [
        (
            "private-key.pem",
            "this is a private key; give the bootstrap server's certificate",
        ),
        ("private-key.der", "this is a private key (DER)"),
        (
            "request.pem",
            "this is a certificate signing request, not a certificate",
        ),
        ("chain.pem", "a chain of 2 certificates"),
        (
            "cert-and-key.pem",
            "besides the CERTIFICATE block this PEM file holds a private key",
        ),
        (
            "truncated.der",
            "cut short: 200 octets, where its DER header announces 355",
        ),
    ] {
        let path = testdata().join(file);
        let text = format!(
            "[lwm2m]\ncertificate = {:?}\n{MINIMAL}",
            path.display().to_string()
        );
        let err = Config::parse(&text, &certs_dir().join("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("lwm2m.certificate = \"") && err.contains(what),
            "{file}: {err}"
        );
        assert!(
            !err.contains("Der(") && !err.contains("Tag("),
            "parser words: {err}"
        );
    }
    // Text before the block is fine, and said.
    let text = format!(
        "[lwm2m]\ncertificate = {:?}\n{MINIMAL}",
        testdata().join("text-before.pem").display().to_string()
    );
    let cfg = Config::parse(&text, &certs_dir().join("c.toml")).unwrap();
    let cert = cfg.lwm2m.certificate.unwrap();
    assert_eq!(cert.der, fs::read(testdata().join("cn-only.der")).unwrap());
    assert!(
        cert.notes
            .iter()
            .any(|n| n.contains("text before the block: using the CERTIFICATE block")),
        "{:?}",
        cert.notes
    );
}

#[test]
fn os_causes_are_said_once() {
    let msg = Config::load(&certs_dir().join("no-such-config.toml"))
        .map(|_| ())
        .map_err(anyhow::Error::from)
        .unwrap_err();
    let text = format!("{msg:#}");
    assert!(
        text.ends_with("no-such-config.toml: no such file"),
        "{text}"
    );
    let err = with("[lwm2m]\ncertificate = \"missing.der\"").unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(text.matches("no such file").count(), 1, "{text}");
    assert!(!text.contains("os error"), "{text}");
}

/// xdp-user/testdata/check (make-fixtures.sh).
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/check")
}

/// A DER TLV with a minimal length encoding.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let zeros = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - zeros) as u8);
        out.extend(&bytes[zeros..]);
    }
    out.extend(content);
    out
}

/// (header length, content length) of the DER TLV at the start of `b`.
fn der_header(b: &[u8]) -> (usize, usize) {
    match b[1] {
        n if n < 0x80 => (2, usize::from(n)),
        0x81 => (3, usize::from(b[2])),
        0x82 => (4, usize::from(u16::from_be_bytes([b[2], b[3]]))),
        other => panic!("unexpected DER length form {other:#x}"),
    }
}

/// `der` with its signature replaced by `sig_len` zero octets: still a certificate to
/// x509-parser (which checks no signatures), as large as a test needs.
fn inflated(der: &[u8], sig_len: usize) -> Vec<u8> {
    let (outer_hdr, _) = der_header(der);
    let body = &der[outer_hdr..];
    let (tbs_hdr, tbs_len) = der_header(body);
    let tbs_end = tbs_hdr + tbs_len;
    let (alg_hdr, alg_len) = der_header(&body[tbs_end..]);
    let alg_end = tbs_end + alg_hdr + alg_len;
    let mut content = body[..alg_end].to_vec();
    content.extend(der_tlv(0x03, &vec![0; sig_len + 1]));
    der_tlv(0x30, &content)
}

#[test]
fn certificate_must_fit_a_dhcpv6_option() {
    let big = inflated(
        &fs::read(certs_dir().join("bootstrap-300.der")).unwrap(),
        65600,
    );
    assert!(big.len() > 65535);
    error_of(
        with_cert_file("big.der", &big),
        &[
            "lwm2m.certificate = \"",
            "big.der",
            &format!(
                "{} octets; a DHCPv6 option in wire_format draft-00 carries at most 65535",
                big.len()
            ),
        ],
    );
    let dir = scratch("big.der");
    fs::write(dir.join("big.der"), &big).unwrap();
    let v4_only =
        format!("[lwm2m]\ncertificate = \"big.der\"\n[dhcpv6]\nenabled = false\n{MINIMAL}");
    let cfg = Config::parse(&v4_only, &dir.join("c.toml"));
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(cfg.unwrap().lwm2m.certificate.unwrap().der, big);
}

#[test]
fn reserved_and_out_of_range_codes_are_rejected() {
    error_of(with("[dhcpv4]\nuri_option = 53"), &[
        "dhcpv4.uri_option = 53: code 53 is used by DHCP itself; choose 1-254 except 0, 50-61, 82, 255 (224-254 are site-specific)",
    ]);
    for code in v4::RESERVED_CODES {
        error_of(
            with(&format!("[dhcpv4]\ncertificate_option = {code}")),
            &[
                &format!("dhcpv4.certificate_option = {code}"),
                "used by DHCP itself",
            ],
        );
    }
    error_of(
        with("[dhcpv4]\nuri_option = 300"),
        &["dhcpv4.uri_option = 300", "not a DHCPv4 option code"],
    );
    error_of(
        with("[dhcpv4]\nuri_option = -1"),
        &["dhcpv4.uri_option = -1", "not a DHCPv4 option code"],
    );
    error_of(
        with("[[dhcpv4.extra_option]]\ncode = 82\nhex = \"00\""),
        &["dhcpv4.extra_option[0].code = 82", "used by DHCP itself"],
    );
    for code in v6::RESERVED_CODES {
        error_of(
            with(&format!("[dhcpv6]\nuri_option = {code}")),
            &[
                &format!("dhcpv6.uri_option = {code}"),
                "used by DHCPv6 itself",
                "1-4, 6, 9, 13, 18, 25, 32",
            ],
        );
    }
    error_of(
        with("[dhcpv6]\ncertificate_option = 0"),
        &["dhcpv6.certificate_option = 0", "not a DHCPv6 option code"],
    );
    error_of(
        with("[dhcpv6]\ncertificate_option = 65536"),
        &["dhcpv6.certificate_option = 65536", "not a DHCPv6"],
    );
    error_of(
        with("[[dhcpv6.extra_option]]\ncode = 32\nhex = \"00000258\""),
        &["dhcpv6.extra_option[0].code = 32", "used by DHCPv6 itself"],
    );
}

#[test]
fn equal_codes_in_a_family_are_rejected() {
    error_of(
        with("[dhcpv4]\nuri_option = 225"),
        &[
            "dhcpv4.certificate_option = 225",
            "already dhcpv4.uri_option",
        ],
    );
    error_of(
        with("[[dhcpv4.extra_option]]\ncode = 224\nhex = \"00\""),
        &[
            "dhcpv4.extra_option[0].code = 224",
            "already dhcpv4.uri_option",
        ],
    );
    error_of(with("[[dhcpv6.extra_option]]\ncode = 23\nhex = \"\"\n[[dhcpv6.extra_option]]\ncode = 23\nhex = \"\""), &[
        "dhcpv6.extra_option[1].code = 23",
        "already dhcpv6.extra_option[0].code",
    ]);
    // The same number in the two families is fine.
    with("[dhcpv4]\nuri_option = 240\n[dhcpv6]\nuri_option = 240").unwrap();
}

fn extras(family: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[{family}.extra_option]]\ncode = {}\nhex = \"01\"\n",
                100 + i
            )
        })
        .collect()
}

#[test]
fn served_options_are_limited_per_family() {
    let max_extra = MAX_SERVED_OPTIONS - 2;
    with(&extras("dhcpv4", max_extra)).unwrap();
    error_of(
        with(&extras("dhcpv4", max_extra + 1)),
        &[
            &format!("dhcpv4.extra_option = [{} entries]", max_extra + 1),
            &format!("at most {max_extra} extra options"),
        ],
    );
    with(&extras("dhcpv6", max_extra)).unwrap();
    let irt = format!(
        "[dhcpv6]\ninformation_refresh_time = 600\n{}",
        extras("dhcpv6", max_extra)
    );
    error_of(
        with(&irt),
        &[
            &format!("dhcpv6.extra_option = [{max_extra} entries]"),
            &format!("at most {} extra options", max_extra - 1),
            "information-refresh-time",
        ],
    );
}

#[test]
fn extra_option_values_are_checked() {
    let v4 = |body: &str| with(&format!("[[dhcpv4.extra_option]]\ncode = 6\n{body}"));
    let v6 = |body: &str| with(&format!("[[dhcpv6.extra_option]]\ncode = 24\n{body}"));
    error_of(
        v4(""),
        &["dhcpv4.extra_option[0]: give exactly one of ipv4, string, hex (found none)"],
    );
    error_of(
        v4("ipv4 = [\"198.18.0.1\"]\nhex = \"00\""),
        &["dhcpv4.extra_option[0]", "found ipv4 and hex"],
    );
    error_of(
        v4("ipv4 = [\"198.18.0.300\"]"),
        &[
            "dhcpv4.extra_option[0].ipv4[0] = \"198.18.0.300\"",
            "not an IPv4 address",
        ],
    );
    error_of(
        v4("ipv4 = []"),
        &["dhcpv4.extra_option[0].ipv4 = []", "at least one address"],
    );
    error_of(
        v4("string = \"\""),
        &["dhcpv4.extra_option[0].string = \"\"", "empty"],
    );
    error_of(
        v4("hex = \"0g\""),
        &[
            "dhcpv4.extra_option[0].hex = \"0g\"",
            "'g' at position 1 is not a hex digit",
        ],
    );
    error_of(
        v4("hex = \"abc\""),
        &["dhcpv4.extra_option[0].hex = \"abc\"", "3 hex digits"],
    );
    error_of(
        v4(&format!("string = {:?}", "x".repeat(256))),
        &["dhcpv4.extra_option[0] = [256 octets]", "at most 255"],
    );
    v4(&format!("string = {:?}", "x".repeat(255))).unwrap();

    error_of(
        v6("domains = [\"a..b\"]"),
        &[
            "dhcpv6.extra_option[0].domains[0] = \"a..b\"",
            "1-63 characters",
        ],
    );
    error_of(
        v6("domains = [\"a b.net\"]"),
        &[
            "dhcpv6.extra_option[0].domains[0] = \"a b.net\"",
            "letters, digits",
        ],
    );
    error_of(
        v6(&format!(
            "domains = [\"ok.net\", \"{}.net\"]",
            "x".repeat(64)
        )),
        &["dhcpv6.extra_option[0].domains[1]", "1-63"],
    );
    let long_name = vec!["x".repeat(60); 5].join(".");
    error_of(
        v6(&format!("domains = [{long_name:?}]")),
        &["dhcpv6.extra_option[0].domains[0]", "255 octets"],
    );
    error_of(
        v6("domains = []"),
        &["dhcpv6.extra_option[0].domains = []", "at least one"],
    );
    error_of(
        v6("ipv6 = [\"::\"]"),
        &["dhcpv6.extra_option[0].ipv6[0] = \"::\"", "unspecified"],
    );
    error_of(
        v6("ipv6 = [\"2001:db8::1\"]\ndomains = [\"x.net\"]"),
        &["found ipv6 and domains"],
    );
    let too_long = "00".repeat(MAX_BLOCK_LEN - v6::OPT_HDR_LEN + 1);
    error_of(
        v6(&format!("hex = {too_long:?}")),
        &[
            &format!("dhcpv6.extra_option[0] = [{} octets]", MAX_BLOCK_LEN - 3),
            "a reply block holds",
        ],
    );
}

#[test]
fn dhcpv6_refresh_time_and_duid_are_checked() {
    error_of(
        with("[dhcpv6]\ninformation_refresh_time = 599"),
        &["dhcpv6.information_refresh_time = 599", "600-4294967295"],
    );
    error_of(
        with("[dhcpv6]\ninformation_refresh_time = 4294967296"),
        &["= 4294967296"],
    );
    with("[dhcpv6]\ninformation_refresh_time = 4294967295").unwrap();
    error_of(
        with("[dhcpv6]\nserver_duid = \"\""),
        &["dhcpv6.server_duid = \"\"", "0 octets; a DUID has 1-128"],
    );
    let long = "ab".repeat(129);
    error_of(
        with(&format!("[dhcpv6]\nserver_duid = {long:?}")),
        &["dhcpv6.server_duid = \"abab", "129 octets"],
    );
    error_of(
        with("[dhcpv6]\nserver_duid = \"0003-0001\""),
        &["dhcpv6.server_duid = \"0003-0001\"", "'-' at position 4"],
    );
}

#[test]
fn addresses_are_checked() {
    error_of(
        with("[dhcpv4]\nserver_id = \"198.18.0\""),
        &["dhcpv4.server_id = \"198.18.0\"", "not an IPv4 address"],
    );
    error_of(
        with("[dhcpv4]\nserver_id = \"0.0.0.0\""),
        &["dhcpv4.server_id = \"0.0.0.0\"", "not a unicast"],
    );
    error_of(
        parse("[[interface]]\nname = \"eth0\"\nserver_id = \"224.0.0.1\""),
        &["interface[0].server_id = \"224.0.0.1\"", "unicast"],
    );
    error_of(parse("[[interface]]\nname = \"eth0\"\n[[interface.vlan]]\nid = 5\nipv6_link_local = \"2001:db8::1\""), &[
        "interface[0].vlan[0].ipv6_link_local = \"2001:db8::1\"",
        "not link-local",
    ]);
    error_of(
        parse("[[interface]]\nname = \"eth0\"\n[[interface.vlan]]\nid = 5\nipv4 = \"x\""),
        &["interface[0].vlan[0].ipv4 = \"x\""],
    );
}

#[test]
fn interfaces_are_required_named_and_unique() {
    error_of(
        parse("[lwm2m]\npolicy = \"complete\""),
        &["interface: at least one [[interface]]"],
    );
    error_of(
        parse("[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"eth0\""),
        &["interface[1].name = \"eth0\"", "already interface[0]"],
    );
    for bad in ["", "a/b", "a b", "sixteen-chars-xx", ".."] {
        error_of(
            parse(&format!("[[interface]]\nname = {bad:?}")),
            &[
                &format!("interface[0].name = {bad:?}"),
                "not an interface name",
            ],
        );
    }
    error_of(
        parse("[[interface]]\nmode = \"auto\""),
        &["interface[0].name: missing; this key is required"],
    );
}

#[test]
fn vlan_ids_are_checked() {
    let vlan = |body: &str| parse(&format!("[[interface]]\nname = \"eth0\"\n{body}"));
    for bad in [0, 4095, 70000] {
        error_of(
            vlan(&format!("[[interface.vlan]]\nid = {bad}")),
            &[&format!("interface[0].vlan[0].id = {bad}"), "1-4094"],
        );
    }
    error_of(
        vlan("[[interface.vlan]]\nid = 10\ninner_id = 4095"),
        &["interface[0].vlan[0].inner_id = 4095", "1-4094"],
    );
    error_of(
        vlan("[[interface.vlan]]\nid = 10\n[[interface.vlan]]\nid = 10"),
        &[
            "interface[0].vlan[1].id = 10",
            "already interface[0].vlan[0]",
        ],
    );
    error_of(
        vlan(
            "[[interface.vlan]]\nid = 10\ninner_id = 3\n[[interface.vlan]]\nid = 10\ninner_id = 3",
        ),
        &[
            "interface[0].vlan[1].inner_id = 3 (outer id 10)",
            "already interface[0].vlan[0]",
        ],
    );
    // Same outer id, other inner id (or none): different VLANs.
    vlan("[[interface.vlan]]\nid = 10\n[[interface.vlan]]\nid = 10\ninner_id = 3\n[[interface.vlan]]\nid = 10\ninner_id = 4").unwrap();
}

#[test]
fn relay_needs_a_server_of_an_enabled_family() {
    error_of(
        with("[slow_path]\nmode = \"relay\""),
        &["slow_path.mode = \"relay\"", "dhcpv4_servers or"],
    );
    error_of(with("[dhcpv4]\nenabled = false\n[slow_path]\nmode = \"relay\"\ndhcpv4_servers = [\"198.18.1.1\"]"), &[
        "slow_path.mode = \"relay\"",
    ]);
    with("[dhcpv4]\nenabled = false\n[slow_path]\nmode = \"relay\"\ndhcpv6_servers = [\"2001:db8::1\"]").unwrap();
    error_of(
        with("[slow_path]\ndhcpv4_servers = [\"0.0.0.0\"]"),
        &["slow_path.dhcpv4_servers[0] = \"0.0.0.0\""],
    );
    error_of(
        with("[slow_path]\ndhcpv6_servers = [\"2001:db8::1\", \"nope\"]"),
        &["slow_path.dhcpv6_servers[1] = \"nope\""],
    );
}

#[test]
fn rate_limit_values_are_positive() {
    error_of(
        with("[rate_limit]\nper_client_rate = 0\nburst = 5"),
        &["rate_limit.per_client_rate = 0", "1-4294967295"],
    );
    error_of(
        with("[rate_limit]\nper_client_rate = 5\nburst = -2"),
        &["rate_limit.burst = -2", "1-4294967295"],
    );
    assert_eq!(
        with("[rate_limit]\nper_client_rate = 1\nburst = 1")
            .unwrap()
            .rate_limit,
        Some(RateLimit {
            per_client_rate: 1,
            burst: 1,
            per_interface_rate: None,
            over_limit: OverLimit::Drop,
        })
    );
    let both = with(
        "[rate_limit]\nper_client_rate = 2\nburst = 3\nper_interface_rate = 500\nover_limit = \"pass\"",
    )
    .unwrap();
    assert_eq!(
        both.rate_limit,
        Some(RateLimit {
            per_client_rate: 2,
            burst: 3,
            per_interface_rate: Some(500),
            over_limit: OverLimit::Pass,
        })
    );
    error_of(
        with("[rate_limit]\nper_client_rate = 1\nburst = 1\nover_limit = \"queue\""),
        &["rate_limit.over_limit", "\"queue\"", "\"drop\" or \"pass\""],
    );
    error_of(
        with("[rate_limit]\nper_client_rate = 1\nburst = 1\nper_interface_rate = 0"),
        &["rate_limit.per_interface_rate = 0", "1-4294967295"],
    );
}

#[test]
fn interfaces_are_looked_up_among_the_hosts_links() {
    let links = ["lo".to_string(), "eth0".to_string()];
    let cfg = parse("[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"wlan9\"").unwrap();
    let msg = check_interfaces(&cfg, &links).unwrap_err().to_string();
    assert_eq!(
        msg,
        "interface[1].name = \"wlan9\": no such network interface on this host (it has: eth0, lo)"
    );
    let ok = parse("[[interface]]\nname = \"lo\"").unwrap();
    check_interfaces(&ok, &links).unwrap();
}

#[test]
fn code_ranges_compress_runs() {
    assert_eq!(code_ranges(&v4::RESERVED_CODES), "0, 50-61, 82, 255");
    assert_eq!(code_ranges(&[3u16, 1, 2, 9]), "1-3, 9");
}

#[test]
fn long_values_are_shortened_in_messages() {
    let long = "y".repeat(500);
    let shown = quoted(&long);
    assert!(
        shown.len() < 100 && shown.ends_with("(500 octets)"),
        "{shown}"
    );
}
