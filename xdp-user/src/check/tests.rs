//! Each error and warning of `check`, from configs built in place and the certificates of
//! testdata/check (make-fixtures.sh). "Now" is taken from each certificate's own validity.

use std::fs;

use super::*;
use crate::{
    compile::compile,
    config::tests::{certs_dir, config, testdata},
    options::{tests::fake_cert, WireFormat},
};

const URI: &str = "coaps://bootstrap.example.net:5684";

fn fixture(name: &str) -> Vec<u8> {
    fs::read(testdata().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn example_cert() -> Vec<u8> {
    fs::read(certs_dir().join("bootstrap-1000.der")).unwrap()
}

/// (not_before, not_after) of a DER certificate, seconds since 1970.
fn validity_of(der: &[u8]) -> (i64, i64) {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let v = cert.validity();
    (v.not_before.timestamp(), v.not_after.timestamp())
}

/// A moment inside the certificate's validity, far from both ends.
fn mid(der: &[u8]) -> i64 {
    let (from, to) = validity_of(der);
    from + (to - from) / 2
}

fn offline() -> Interfaces {
    Interfaces::Offline(None)
}

fn live(mtu: u16) -> Interfaces {
    Interfaces::Live(vec![SystemInterface {
        name: "eth0".into(),
        ifindex: 2,
        mac: [2, 0, 0, 0, 0, 1],
        mtu,
        ipv4: Some(Ipv4Addr::new(198, 18, 0, 1)),
        ipv6_link_local: Some("fe80::1".parse().unwrap()),
    }])
}

fn all(cfg: &Config, interfaces: &Interfaces, now: i64) -> Vec<Finding> {
    findings(cfg, &compile(cfg).unwrap(), interfaces, now)
}

/// The findings about `key` of one severity, as text.
fn about(found: &[Finding], severity: Severity, key: &str) -> Vec<String> {
    found
        .iter()
        .filter(|f| f.severity == severity && f.key == key)
        .map(|f| f.message.clone())
        .collect()
}

fn has(found: &[Finding], severity: Severity, key: &str, needle: &str) -> bool {
    about(found, severity, key)
        .iter()
        .any(|m| m.contains(needle))
}

#[track_caller]
fn assert_has(found: &[Finding], severity: Severity, key: &str, needle: &str) {
    assert!(
        has(found, severity, key, needle),
        "no {severity:?} on {key} containing {needle:?} in {found:#?}"
    );
}

#[test]
fn nothing_to_serve_is_an_error() {
    let cfg = config(WireFormat::Draft00, None, None);
    let found = all(&cfg, &offline(), 0);
    assert_has(&found, Severity::Error, "lwm2m", "nothing to serve");

    let mut cfg = config(WireFormat::Draft00, Some(URI), None);
    cfg.dhcpv4.enabled = false;
    cfg.dhcpv6.enabled = false;
    let found = all(&cfg, &offline(), 0);
    assert_has(
        &found,
        Severity::Error,
        "dhcpv4.enabled, dhcpv6.enabled",
        "nothing would ever be answered",
    );

    let fine = config(WireFormat::Draft00, Some(URI), None);
    assert!(
        all(&fine, &offline(), 0).is_empty(),
        "{:#?}",
        all(&fine, &offline(), 0)
    );
}

#[test]
fn a_certificate_no_enabled_family_can_carry_is_an_error() {
    // Over MAX_BLOCK_LEN in both families.
    let cfg = config(WireFormat::Rfc3396, Some(URI), Some(fake_cert(2100)));
    let found = all(&cfg, &offline(), 0);
    assert_has(
        &found,
        Severity::Error,
        "lwm2m.certificate",
        "never served by the fast path",
    );
    assert_has(
        &found,
        Severity::Error,
        "lwm2m.certificate",
        "DHCPv4: 2118 octets of options",
    );
    assert_has(
        &found,
        Severity::Error,
        "lwm2m.certificate",
        "DHCPv6: 2104 octets of options",
    );

    // Fits a block, but not the MTU of the interfaces: a 1200-octet certificate over an
    // IPv6-minimum link.
    let mut cfg = config(WireFormat::Draft00, None, Some(fake_cert(1200)));
    cfg.dhcpv4.enabled = false;
    let found = all(&cfg, &live(1280), 0);
    assert_has(
        &found,
        Severity::Error,
        "lwm2m.certificate",
        "more than the largest MTU of the interfaces, 1280",
    );
    // Offline the MTU is the assumed 1500: served.
    assert!(!has(
        &all(&cfg, &offline(), 0),
        Severity::Error,
        "lwm2m.certificate",
        ""
    ));
}

#[test]
fn a_certificate_one_family_cannot_carry_is_a_warning() {
    // draft-00 DHCPv4 adds 4 octets a fragment: 2030 octets of DER are 2066 there (over the
    // 2048 a block holds) and 2034 in DHCPv6, which a 9000-octet link carries.
    let cfg = config(WireFormat::Draft00, None, Some(fake_cert(2030)));
    let found = all(&cfg, &live(9000), 0);
    assert!(
        about(&found, Severity::Error, "lwm2m.certificate").is_empty(),
        "{found:#?}"
    );
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "served over DHCPv6 only",
    );
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "DHCPv4: 2066 octets of options",
    );
}

#[test]
fn a_reply_that_needs_option_57_is_a_warning() {
    let cfg = config(WireFormat::Draft00, Some(URI), Some(example_cert()));
    let found = all(&cfg, &offline(), mid(&example_cert()));
    // 20 + 8 + 240 + 9 (53, 54) + 38 (URI) + 1016 (4 fragments) + 1 (End).
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "is 1332 octets of IP, more than the 576",
    );
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "option 57 is at least 1332; dhcpcd sends 1472",
    );
    // The URI alone fits 576.
    let small = config(WireFormat::Draft00, Some(URI), None);
    assert!(all(&small, &offline(), 0).is_empty());
    // More than dhcpcd's 1472, on a link that carries it.
    let big = config(WireFormat::Rfc3396, None, Some(fake_cert(1400)));
    let found = all(&big, &live(9000), 0);
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "more than dhcpcd's 1472",
    );
}

#[test]
fn validity_is_warned_before_during_the_last_30_days_and_after() {
    let der = fixture("cn-only.der");
    let (from, to) = validity_of(&der);
    let cfg = config(WireFormat::Draft00, Some(URI), Some(der));
    let key = "lwm2m.certificate";
    let at = |now: i64| all(&cfg, &offline(), now);
    assert_has(
        &at(from - 10 * DAY),
        Severity::Warning,
        key,
        "not valid yet: valid from",
    );
    assert_has(&at(from - 10 * DAY), Severity::Warning, key, "(in 10 days)");
    assert_has(&at(to + 3 * DAY), Severity::Warning, key, "expired on");
    assert_has(&at(to + 3 * DAY), Severity::Warning, key, "(3 days ago)");
    assert_has(&at(to - 10 * DAY), Severity::Warning, key, "expires on");
    assert_has(&at(to - 10 * DAY), Severity::Warning, key, "in 10 days");
    assert!(!has(&at(to - 31 * DAY), Severity::Warning, key, "expires"));
    assert!(!has(&at(from + DAY), Severity::Warning, key, "valid"));
}

#[test]
fn the_uri_host_is_matched_against_the_certificate_names() {
    let key = "lwm2m.certificate";
    let mismatch = "clients that check the name will refuse the server";
    let cases: [(&str, &str, bool); 11] = [
        // (certificate, URI, names the host)
        ("cn-only.der", "coaps://bootstrap.example.net:5684", true),
        ("cn-only.der", "coaps://other.example.net:5684", false),
        ("ip-and-wildcard.der", "coaps://198.18.0.1:5684", true),
        ("ip-and-wildcard.der", "coaps://198.18.0.2:5684", false),
        ("ip-and-wildcard.der", "coaps://[2001:db8::10]:5684", true),
        ("ip-and-wildcard.der", "coaps://[2001:db8::11]:5684", false),
        ("ip-and-wildcard.der", "coaps://bootstrap.example.net", true),
        ("ip-and-wildcard.der", "coaps://a.b.example.net", false),
        ("ip-and-wildcard.der", "coaps://example.net", false),
        // The CN is not used when there are SANs (RFC 6125 §6.4.4).
        ("rsa1024.der", "coaps://weak.example.net", true),
        ("rsa1024.der", "coaps://198.18.0.1", false),
    ];
    for (file, uri, names) in cases {
        let der = fixture(file);
        let now = mid(&der);
        let found = all(
            &config(WireFormat::Rfc3396, Some(uri), Some(der)),
            &offline(),
            now,
        );
        assert_eq!(
            !has(&found, Severity::Warning, key, mismatch),
            names,
            "{file} {uri}: {found:#?}"
        );
    }
    // An IP literal is not matched against DNS names or the CN.
    let der = fixture("cn-only.der");
    let now = mid(&der);
    let found = all(
        &config(WireFormat::Rfc3396, Some("coaps://198.18.0.1"), Some(der)),
        &offline(),
        now,
    );
    assert_has(
        &found,
        Severity::Warning,
        key,
        "the address 198.18.0.1, which is in no IP subjectAltName",
    );
    // The example certificate names the example URI's host.
    let der = example_cert();
    let now = mid(&der);
    let found = all(
        &config(WireFormat::Draft00, Some(URI), Some(der)),
        &offline(),
        now,
    );
    assert!(!has(&found, Severity::Warning, key, mismatch), "{found:#?}");
}

#[test]
fn weak_keys_are_warned_and_every_key_is_described() {
    let der = fixture("rsa1024.der");
    let now = mid(&der);
    let found = all(
        &config(
            WireFormat::Draft00,
            Some("coaps://weak.example.net"),
            Some(der.clone()),
        ),
        &offline(),
        now,
    );
    assert_has(
        &found,
        Severity::Warning,
        "lwm2m.certificate",
        "weak key: RSA 1024 bits; RSA keys below 2048 bits are weak",
    );
    let text = describe_certificate(&der, now);
    assert!(
        text.starts_with(
            "certificate: RSA 1024 bits key, signature SHA-256 with RSA, CN weak.example.net\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("subjectAltName (1): DNS:weak.example.net\n"),
        "{text}"
    );
    assert!(text.contains("days left"), "{text}");

    let der = fixture("ip-and-wildcard.der");
    let now = mid(&der);
    let found = all(
        &config(
            WireFormat::Draft00,
            Some("coaps://198.18.0.1"),
            Some(der.clone()),
        ),
        &offline(),
        now,
    );
    assert!(
        !has(&found, Severity::Warning, "lwm2m.certificate", "weak"),
        "{found:#?}"
    );
    let text = describe_certificate(&der, now);
    assert!(
        text.contains("EC P-256 (256 bits) key, signature ECDSA with SHA-256"),
        "{text}"
    );
    assert!(
        text.contains("IP:198.18.0.1, IP:2001:db8::10, DNS:*.example.net"),
        "{text}"
    );

    let text = describe_certificate(&example_cert(), mid(&example_cert()));
    assert!(
        text.contains("Ed25519 (256 bits) key, signature Ed25519"),
        "{text}"
    );
    assert!(
        text.contains("subjectAltName (38): DNS:bootstrap.example.net, "),
        "{text}"
    );
    assert!(text.contains(" and 32 more\n"), "{text}");
    let expired = describe_certificate(&example_cert(), validity_of(&example_cert()).1 + 2 * DAY);
    assert!(expired.contains("(expired 2 days ago)"), "{expired}");
}

#[test]
fn lwm2m_codes_that_collide_with_well_known_options_are_warned() {
    let mut cfg = config(WireFormat::Draft00, Some(URI), None);
    cfg.dhcpv4.uri_option = 6;
    cfg.dhcpv4.certificate_option = 1;
    cfg.dhcpv6.uri_option = 23;
    cfg.dhcpv6.certificate_option = 100;
    let found = all(&cfg, &offline(), 0);
    assert_has(
        &found,
        Severity::Warning,
        "dhcpv4.uri_option",
        "code 6 is Domain Name Server, a well-known option",
    );
    assert_has(
        &found,
        Severity::Warning,
        "dhcpv4.certificate_option",
        "code 1 is Subnet Mask",
    );
    assert_has(
        &found,
        Severity::Warning,
        "dhcpv4.uri_option",
        "site-specific range 224-254",
    );
    assert_has(
        &found,
        Severity::Warning,
        "dhcpv6.uri_option",
        "code 23 is DNS Recursive Name Server",
    );
    assert_has(
        &found,
        Severity::Warning,
        "dhcpv6.certificate_option",
        "range IANA assigns from; pick an unassigned code (the default is 65002)",
    );
    cfg.dhcpv4.uri_option = 150;
    assert_has(
        &all(&cfg, &offline(), 0),
        Severity::Warning,
        "dhcpv4.uri_option",
        "code 150 is assigned by IANA",
    );
    // A disabled family's codes say nothing.
    cfg.dhcpv4.enabled = false;
    assert!(about(
        &all(&cfg, &offline(), 0),
        Severity::Warning,
        "dhcpv4.uri_option"
    )
    .is_empty());
}

#[test]
fn schemes_other_than_lwm2m_ones_are_warned() {
    for (uri, warned) in [
        ("coaps://bootstrap.example.net", false),
        ("coap://198.18.0.1", false),
        ("coap+tcp://bootstrap.example.net", false),
        ("COAPS+TCP://bootstrap.example.net", false),
        ("https://bootstrap.example.net/", true),
    ] {
        let found = all(&config(WireFormat::Draft00, Some(uri), None), &offline(), 0);
        assert_eq!(
            has(
                &found,
                Severity::Warning,
                "lwm2m.bootstrap_uri",
                "LwM2M clients bootstrap over coap, coaps, coap+tcp, coaps+tcp"
            ),
            warned,
            "{uri}: {found:#?}"
        );
    }
}

/// A host whose links are `names` (as `system::link_exists` would answer).
fn host_with(names: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |name| names.contains(&name)
}

#[test]
fn an_absent_interface_makes_the_check_offline_with_a_warning() {
    let cfg = config(WireFormat::Draft00, Some(URI), None);
    let never = |_: &Config| -> anyhow::Result<Vec<SystemInterface>> { panic!("looked up") };
    let host = host_with(&["lo"]);
    let (ifs, found) = interfaces(&cfg, false, &host, never);
    assert!(matches!(ifs, Interfaces::Offline(Some(_))), "{ifs:?}");
    assert_has(
        &found,
        Severity::Warning,
        "interface[0].name",
        "\"eth0\" is not on this host: checked offline",
    );
    // --offline: nothing looked up, nothing to say.
    let (ifs, found) = interfaces(&cfg, true, &host, never);
    assert!(matches!(ifs, Interfaces::Offline(None)) && found.is_empty());
    assert!(
        describe(&cfg, &ifs, 0).contains("interfaces: not looked up (offline; sizes for MTU 1500)")
    );
}

#[test]
fn a_failed_lookup_is_runs_error() {
    let cfg = config(WireFormat::Draft00, Some(URI), None);
    let host = host_with(&["eth0"]);
    let failing = |_: &Config| -> anyhow::Result<Vec<SystemInterface>> {
        Err(anyhow::anyhow!("a loopback interface (link type 772)"))
            .map_err(|e| e.context("interface[0].name = \"eth0\""))
    };
    let (_, found) = interfaces(&cfg, false, &host, failing);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].to_string(),
        "error: interface[0].name = \"eth0\": a loopback interface (link type 772)"
    );
    // Present and looked up: what it lacks is said.
    let bare = |_: &Config| -> anyhow::Result<Vec<SystemInterface>> {
        let Interfaces::Live(mut s) = live(1500) else {
            unreachable!()
        };
        s[0].ipv4 = None;
        s[0].ipv6_link_local = None;
        Ok(s)
    };
    let (ifs, found) = interfaces(&cfg, false, &host, bare);
    assert!(matches!(ifs, Interfaces::Live(_)));
    assert_has(
        &found,
        Severity::Warning,
        "interface[0].name",
        "no IPv4 address and no server_id",
    );
    assert_has(
        &found,
        Severity::Warning,
        "interface[0].name",
        "no IPv6 link-local address",
    );
    assert!(describe(&cfg, &ifs, 0)
        .contains("interface eth0: ifindex 2, MTU 1500, no IPv4, no link-local IPv6"));
}

/// `check` of every config in examples/ on a host without their interfaces: offline with a
/// warning, no error.
#[test]
fn the_examples_check_on_a_host_without_their_interfaces() {
    let examples = certs_dir().join("..");
    let mut checked = 0;
    for entry in fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let compiled = compile(&cfg).unwrap();
        let host = host_with(&["lo"]);
        let (ifs, mut found) = interfaces(&cfg, false, &host, |_| panic!("looked up"));
        assert!(matches!(ifs, Interfaces::Offline(Some(_))));
        let der = &cfg.lwm2m.certificate.as_ref().unwrap().der;
        found.extend(findings(&cfg, &compiled, &ifs, mid(der)));
        let errors: Vec<&Finding> = found
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(
            !has(&found, Severity::Warning, "lwm2m.certificate", "refuse"),
            "{found:#?}"
        );
        checked += 1;
    }
    assert!(checked >= 1, "no config in {}", examples.display());
}
