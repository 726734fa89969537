//! `check`: an operator's pre-flight. A config that parses can still never work (nothing to
//! serve, a certificate no reply can carry) or surprise (an expired certificate, one that
//! does not name the URI's host, a weak key, a code that clashes with a well-known option, a
//! reply only clients sending a large option 57 get). Errors are what can never work; warnings
//! are what will surprise. `check` also says what the certificate is: key, validity, names.
//!
//! The interface lookups are `run`'s own (`loader::interface_entries`), so the two agree; an
//! interface this host lacks makes the check offline, with a warning.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use x509_parser::{certificate::X509Certificate, extensions::GeneralName, public_key::PublicKey};
use xdp_common::{
    maps::MAX_BLOCK_LEN,
    wire::{dhcpv4 as v4, dhcpv6 as v6, ipv4, udp},
};

use crate::{
    compile::{Compiled, EncodedOption},
    config::{
        uri::{parse_bootstrap_uri, UriHost, LWM2M_SCHEMES},
        Config,
    },
    options::{NAME_CERTIFICATE, NAME_URI},
    system::SystemInterface,
};

/// A certificate that ends within this many days is worth a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
const DAY: i64 = 24 * 60 * 60;
/// Smallest keys not called weak (NIST SP 800-57: 112-bit security).
const MIN_RSA_BITS: usize = 2048;
const MIN_EC_BITS: usize = 256;
/// The MTU assumed for sizes when the check runs offline.
pub const OFFLINE_MTU: usize = 1500;
/// What dhcpcd sends as option 57 on Ethernet (MTU 1500 - IP - UDP).
const DHCPCD_MAX_MESSAGE_SIZE: usize = 1472;
/// A client's DUID-LL in a Client Identifier (4 + 10): the smallest a reply echoes.
const TYPICAL_CLIENT_ID_OPT: usize = v6::OPT_HDR_LEN + 10;
/// DUID-LL, when the config sets none.
const DEFAULT_DUID_LEN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Can never work: `check` exits 1.
    Error,
    /// Will surprise: exit 0, or 1 with `--strict`.
    Warning,
}

/// One thing `check` found, about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.key.as_str() {
            "" => write!(f, "{level}: {}", self.message),
            key => write!(f, "{level}: {key}: {}", self.message),
        }
    }
}

fn error(key: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding {
        severity: Severity::Error,
        key: key.into(),
        message: message.into(),
    }
}

fn warning(key: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding {
        severity: Severity::Warning,
        key: key.into(),
        message: message.into(),
    }
}

/// What the live system says about the config's interfaces, or why it was not asked.
#[derive(Debug, Clone)]
pub enum Interfaces {
    Live(Vec<SystemInterface>),
    /// `--offline`, or an interface this host lacks (the reason then).
    Offline(Option<String>),
}

/// `--offline`, or the interfaces looked up as `run` looks them up (`lookup`: run's
/// `loader::interface_entries`). An interface `present` does not know (run's: a netlink
/// query, `system::link_exists`) makes the check offline with a warning; any other lookup
/// failure is an error, as it is for `run`.
pub fn interfaces(
    cfg: &Config,
    offline: bool,
    present: impl Fn(&str) -> bool,
    lookup: impl Fn(&Config) -> anyhow::Result<Vec<SystemInterface>>,
) -> (Interfaces, Vec<Finding>) {
    if offline {
        return (Interfaces::Offline(None), Vec::new());
    }
    let absent: Vec<(usize, &str)> = cfg
        .interfaces
        .iter()
        .enumerate()
        .filter(|(_, i)| !present(&i.name))
        .map(|(n, i)| (n, i.name.as_str()))
        .collect();
    if let Some((n, name)) = absent.first() {
        let reason = format!(
            "{} not on this host: checked offline (interfaces not looked up, sizes for MTU \
             {OFFLINE_MTU}); `run` needs {}",
            if absent.len() == 1 {
                format!("{name:?} is")
            } else {
                format!("{} interfaces are", absent.len())
            },
            if absent.len() == 1 { "it" } else { "them" }
        );
        let finding = warning(format!("interface[{n}].name"), reason.clone());
        return (Interfaces::Offline(Some(reason)), vec![finding]);
    }
    match lookup(cfg) {
        Ok(systems) => {
            let mut findings = Vec::new();
            for (n, (iface, sys)) in cfg.interfaces.iter().zip(&systems).enumerate() {
                let has_v4 = iface
                    .server_id
                    .or(cfg.dhcpv4.server_id)
                    .or(sys.ipv4)
                    .is_some();
                if cfg.dhcpv4.enabled && !has_v4 {
                    findings.push(warning(
                        format!("interface[{n}].name"),
                        format!(
                            "{:?} has no IPv4 address and no server_id is set: its DHCPv4 \
                             requests go to the normal server",
                            sys.name
                        ),
                    ));
                }
                if cfg.dhcpv6.enabled && sys.ipv6_link_local.is_none() {
                    findings.push(warning(
                        format!("interface[{n}].name"),
                        format!(
                            "{:?} has no IPv6 link-local address: its DHCPv6 requests go to \
                             the normal server",
                            sys.name
                        ),
                    ));
                }
            }
            (Interfaces::Live(systems), findings)
        }
        // The error names the interface and its key already.
        Err(e) => (
            Interfaces::Offline(Some(
                "the lookup `run` makes failed (the error below)".to_string(),
            )),
            vec![error("", format!("{e:#}"))],
        ),
    }
}

/// Every finding about `cfg` beyond the interface lookups, at `now` (seconds since 1970).
pub fn findings(
    cfg: &Config,
    compiled: &Compiled,
    interfaces: &Interfaces,
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !cfg.dhcpv4.enabled && !cfg.dhcpv6.enabled {
        out.push(error(
            "dhcpv4.enabled, dhcpv6.enabled",
            "both false: nothing would ever be answered; enable at least one family",
        ));
    }
    if cfg.lwm2m.bootstrap_uri.is_none() && cfg.lwm2m.certificate.is_none() {
        out.push(error(
            "lwm2m",
            "neither bootstrap_uri nor certificate is set: nothing to serve (a request is \
             answered only when it asks for one of them); set at least one",
        ));
    }
    out.extend(codes(cfg));
    out.extend(sizes(cfg, compiled, interfaces));
    if let Some(uri) = &cfg.lwm2m.bootstrap_uri {
        out.extend(uri_findings(uri));
    }
    if let Some(cert) = &cfg.lwm2m.certificate {
        // Config::parse accepted it, so it parses.
        if let Ok((_, x509)) = x509_parser::parse_x509_certificate(&cert.der) {
            out.extend(validity(&x509, now));
            out.extend(key_strength(&x509));
            if let Some(uri) = &cfg.lwm2m.bootstrap_uri {
                out.extend(names(&x509, uri));
            }
        }
    }
    out
}

// ---- Option codes ----------------------------------------------------------------------

/// Well-known DHCPv4 codes below the site-specific range, with their names (RFC 2132 etc.).
const V4_WELL_KNOWN: [(u8, &str); 16] = [
    (1, "Subnet Mask"),
    (2, "Time Offset"),
    (3, "Router"),
    (4, "Time Server"),
    (6, "Domain Name Server"),
    (12, "Host Name"),
    (15, "Domain Name"),
    (26, "Interface MTU"),
    (28, "Broadcast Address"),
    (33, "Static Route"),
    (42, "NTP Servers"),
    (43, "Vendor-Specific Information"),
    (66, "TFTP Server Name"),
    (67, "Bootfile Name"),
    (119, "Domain Search"),
    (121, "Classless Static Route"),
];
/// The DHCPv4 site-specific range (RFC 3942), where IANA assigns nothing.
const V4_SITE_SPECIFIC: std::ops::RangeInclusive<u8> = 224..=254;

const V6_WELL_KNOWN: [(u16, &str); 12] = [
    (7, "Preference"),
    (8, "Elapsed Time"),
    (11, "Authentication"),
    (12, "Server Unicast"),
    (14, "Rapid Commit"),
    (15, "User Class"),
    (16, "Vendor Class"),
    (17, "Vendor-specific Information"),
    (21, "SIP Servers Domain Name List"),
    (23, "DNS Recursive Name Server"),
    (24, "Domain Search List"),
    (56, "NTP Server"),
];
/// DHCPv6 codes below this are IANA's assignments or soon will be (143 were taken by 2023).
const V6_ASSIGNED_BELOW: u16 = 256;

fn codes(cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if cfg.dhcpv4.enabled {
        for (key, code) in [
            ("dhcpv4.uri_option", cfg.dhcpv4.uri_option),
            ("dhcpv4.certificate_option", cfg.dhcpv4.certificate_option),
        ] {
            if V4_SITE_SPECIFIC.contains(&code) {
                continue;
            }
            let name = V4_WELL_KNOWN
                .iter()
                .find(|(c, _)| *c == code)
                .map_or("assigned by IANA".to_string(), |(_, n)| {
                    format!("{n}, a well-known option")
                });
            out.push(warning(
                key,
                format!(
                    "code {code} is {name}: clients read it as that; LwM2M codes belong in the \
                     site-specific range 224-254 (RFC 3942)"
                ),
            ));
        }
    }
    if cfg.dhcpv6.enabled {
        for (key, code) in [
            ("dhcpv6.uri_option", cfg.dhcpv6.uri_option),
            ("dhcpv6.certificate_option", cfg.dhcpv6.certificate_option),
        ] {
            if let Some((_, name)) = V6_WELL_KNOWN.iter().find(|(c, _)| *c == code) {
                out.push(warning(
                    key,
                    format!("code {code} is {name}, a well-known option: clients read it as that"),
                ));
            } else if code < V6_ASSIGNED_BELOW {
                out.push(warning(
                    key,
                    format!(
                        "code {code} is in the range IANA assigns from; pick an unassigned \
                         code (the default is {})",
                        if key.ends_with("uri_option") {
                            v6::DEFAULT_URI_OPTION
                        } else {
                            v6::DEFAULT_CERTIFICATE_OPTION
                        }
                    ),
                ));
            }
        }
    }
    out
}

// ---- Sizes --------------------------------------------------------------------------------

/// The interfaces' MTUs, or the assumed one offline.
fn mtus(interfaces: &Interfaces) -> Vec<usize> {
    match interfaces {
        Interfaces::Live(systems) if !systems.is_empty() => {
            systems.iter().map(|s| usize::from(s.mtu)).collect()
        }
        _ => vec![OFFLINE_MTU],
    }
}

/// The IP datagram of the smallest DHCPACK that carries `options_len` octets of options.
pub fn v4_ack_datagram(options_len: usize) -> usize {
    ipv4::HDR_LEN + udp::HDR_LEN + v4::ack_message_len(options_len)
}

/// The UDP length of the smallest REPLY that carries `options_len` octets of options.
fn v6_reply_udp(cfg: &Config, options_len: usize) -> usize {
    let duid = cfg
        .dhcpv6
        .server_duid
        .as_ref()
        .map_or(DEFAULT_DUID_LEN, Vec::len);
    udp::HDR_LEN + v6::HDR_LEN + v6::OPT_HDR_LEN + duid + TYPICAL_CLIENT_ID_OPT + options_len
}

/// Whether one option can ever be served per family, and the option-57 a DHCPACK with the
/// LwM2M options needs.
fn sizes(cfg: &Config, compiled: &Compiled, interfaces: &Interfaces) -> Vec<Finding> {
    let mut out = Vec::new();
    let mtus = mtus(interfaces);
    let max_mtu = mtus.iter().copied().max().unwrap_or(OFFLINE_MTU);
    let mtu_text = match interfaces {
        Interfaces::Live(_) => format!("the largest MTU of the interfaces, {max_mtu}"),
        Interfaces::Offline(_) => format!("MTU {max_mtu}, assumed offline"),
    };
    for (name, key) in [
        (NAME_URI, "lwm2m.bootstrap_uri"),
        (NAME_CERTIFICATE, "lwm2m.certificate"),
    ] {
        let mut served_by = Vec::new();
        let mut not_served = Vec::new();
        if let Some(o) = lwm2m_option(&compiled.v4, name) {
            let datagram = v4_ack_datagram(o.bytes.len());
            if o.bytes.len() > MAX_BLOCK_LEN {
                not_served.push(format!(
                    "DHCPv4: {} octets of options, more than a reply block holds ({MAX_BLOCK_LEN})",
                    o.bytes.len()
                ));
            } else if datagram > max_mtu {
                not_served.push(format!(
                    "DHCPv4: a DHCPACK with it is {datagram} octets of IP, more than {mtu_text}"
                ));
            } else {
                served_by.push("DHCPv4");
            }
        }
        if let Some(o) = lwm2m_option(&compiled.v6, name) {
            let udp_len = v6_reply_udp(cfg, o.bytes.len());
            if o.bytes.len() > MAX_BLOCK_LEN {
                not_served.push(format!(
                    "DHCPv6: {} octets of options, more than a reply block holds ({MAX_BLOCK_LEN})",
                    o.bytes.len()
                ));
            } else if !v6::reply_fits(udp_len, max_mtu) {
                not_served.push(format!(
                    "DHCPv6: a REPLY with it is {} octets of IP, more than {mtu_text}",
                    udp_len + xdp_common::wire::ipv6::HDR_LEN
                ));
            } else {
                served_by.push("DHCPv6");
            }
        }
        if not_served.is_empty() {
            continue;
        }
        let what = format!("never served by the fast path: {}", not_served.join("; "));
        out.push(if served_by.is_empty() {
            error(key, what)
        } else {
            warning(
                key,
                format!("{what} (served over {} only)", served_by.join(", ")),
            )
        });
    }
    // A DHCPACK with every LwM2M option, as a device asks for them.
    let lwm2m_len: usize = compiled
        .v4
        .iter()
        .filter(|o| o.lwm2m)
        .map(|o| o.bytes.len())
        .sum();
    let datagram = v4_ack_datagram(lwm2m_len);
    if cfg.dhcpv4.enabled
        && lwm2m_len > 0
        && datagram <= max_mtu
        && datagram > ipv4::MIN_MAX_DATAGRAM
    {
        let dhcpcd = if datagram > DHCPCD_MAX_MESSAGE_SIZE {
            format!(", more than dhcpcd's {DHCPCD_MAX_MESSAGE_SIZE}")
        } else {
            format!("; dhcpcd sends {DHCPCD_MAX_MESSAGE_SIZE}")
        };
        out.push(warning(
            "lwm2m.certificate",
            format!(
                "a DHCPACK with the LwM2M options is {datagram} octets of IP, more than the \
                 {} every client accepts: answered only when the request's option 57 is at \
                 least {datagram}{dhcpcd}, ISC dhclient and many embedded clients send none \
                 (docs/clients.md, \"Option 57\")",
                ipv4::MIN_MAX_DATAGRAM
            ),
        ));
    }
    out
}

fn lwm2m_option<'a>(options: &'a [EncodedOption], name: &str) -> Option<&'a EncodedOption> {
    options.iter().find(|o| o.lwm2m && o.name == name)
}

// ---- The URI ------------------------------------------------------------------------------

fn uri_findings(uri: &str) -> Vec<Finding> {
    match parse_bootstrap_uri(uri) {
        Ok(parsed) if !parsed.is_lwm2m_scheme() => vec![warning(
            "lwm2m.bootstrap_uri",
            format!(
                "scheme {:?}: LwM2M clients bootstrap over {}",
                parsed.scheme,
                LWM2M_SCHEMES.join(", ")
            ),
        )],
        _ => Vec::new(),
    }
}

// ---- The certificate ----------------------------------------------------------------------

fn validity(cert: &X509Certificate<'_>, now: i64) -> Vec<Finding> {
    let v = cert.validity();
    let (from, to) = (v.not_before.timestamp(), v.not_after.timestamp());
    let key = "lwm2m.certificate";
    if now < from {
        vec![warning(
            key,
            format!(
                "not valid yet: valid from {} (in {} days)",
                v.not_before,
                (from - now + DAY - 1) / DAY
            ),
        )]
    } else if now > to {
        vec![warning(
            key,
            format!(
                "expired on {} ({} days ago): clients will refuse the bootstrap server",
                v.not_after,
                (now - to) / DAY
            ),
        )]
    } else if to - now < EXPIRY_WARNING_DAYS * DAY {
        vec![warning(
            key,
            format!("expires on {}, in {} days", v.not_after, (to - now) / DAY),
        )]
    } else {
        Vec::new()
    }
}

/// "Ed25519", "RSA 1024 bits", "EC P-256 (256 bits)".
pub fn key_description(cert: &X509Certificate<'_>) -> (String, Option<usize>) {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.3.101.112" => return ("Ed25519 (256 bits)".into(), None),
        "1.3.101.113" => return ("Ed448 (456 bits)".into(), None),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => (format!("RSA {} bits", rsa.key_size()), Some(rsa.key_size())),
        Ok(PublicKey::EC(ec)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|c| match c.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "curve unknown".into());
            (
                format!("EC {curve} ({} bits)", ec.key_size()),
                Some(ec.key_size()),
            )
        }
        Ok(PublicKey::DSA(_)) => ("DSA".into(), Some(0)),
        _ => (format!("key algorithm {oid}"), None),
    }
}

fn key_strength(cert: &X509Certificate<'_>) -> Vec<Finding> {
    let key = "lwm2m.certificate";
    let mut out = Vec::new();
    let (text, bits) = key_description(cert);
    let weak = match (text.as_str(), bits) {
        (t, _) if t.starts_with("DSA") => Some("DSA is deprecated (FIPS 186-5)".to_string()),
        (t, Some(b)) if t.starts_with("RSA") && b < MIN_RSA_BITS => {
            Some(format!("RSA keys below {MIN_RSA_BITS} bits are weak"))
        }
        (t, Some(b)) if t.starts_with("EC") && b < MIN_EC_BITS => {
            Some(format!("EC keys below {MIN_EC_BITS} bits are weak"))
        }
        _ => None,
    };
    if let Some(why) = weak {
        out.push(warning(key, format!("weak key: {text}; {why}")));
    }
    let sig = cert.signature_algorithm.algorithm.to_id_string();
    let weak_sig = match sig.as_str() {
        "1.2.840.113549.1.1.4" => Some("MD5 with RSA"),
        "1.2.840.113549.1.1.5" => Some("SHA-1 with RSA"),
        "1.2.840.10045.4.1" => Some("ECDSA with SHA-1"),
        "1.2.840.10040.4.3" => Some("DSA with SHA-1"),
        _ => None,
    };
    if let Some(name) = weak_sig {
        out.push(warning(key, format!("weak signature: {name}")));
    }
    out
}

/// The subjectAltName entries as text (DNS:..., IP:...), and the CN.
pub fn certificate_names(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(b) => match ip_of(b) {
                    Some(ip) => format!("IP:{ip}"),
                    None => format!("IP:{b:02x?}"),
                },
                GeneralName::URI(u) => format!("URI:{u}"),
                GeneralName::RFC822Name(m) => format!("email:{m}"),
                other => format!("{other:?}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    let cns = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    (sans, cns)
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).into()),
        16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).into()),
        _ => None,
    }
}

/// RFC 6125 §6.4.3: a `*` only as the whole left-most label, matching one label.
fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.trim_end_matches('.'));
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => pattern.trim_end_matches('.') == host,
    }
}

/// The URI's host against the certificate's names: IP literals against IP SANs, names
/// against DNS SANs (the CN only when there are none, RFC 6125 §6.4.4).
fn names(cert: &X509Certificate<'_>, uri: &str) -> Vec<Finding> {
    let Ok(parsed) = parse_bootstrap_uri(uri) else {
        return Vec::new();
    };
    let (sans, cns) = certificate_names(cert);
    let listed = || {
        if sans.is_empty() {
            format!("no subjectAltName, CN {}", cns.join(", "))
        } else {
            let shown: Vec<&str> = sans.iter().take(4).map(String::as_str).collect();
            let more = sans.len().saturating_sub(4);
            format!(
                "subjectAltName {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        }
    };
    let key = "lwm2m.certificate";
    match parsed.host {
        UriHost::Ip(ip) => {
            let ip_sans: Vec<IpAddr> = match cert.subject_alternative_name() {
                Ok(Some(ext)) => ext
                    .value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::IPAddress(b) => ip_of(b),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if ip_sans.contains(&ip) {
                Vec::new()
            } else {
                vec![warning(
                    key,
                    format!(
                        "the URI's host is the address {ip}, which is in no IP subjectAltName \
                         ({}): clients that check the name will refuse the server",
                        listed()
                    ),
                )]
            }
        }
        UriHost::Name(host) => {
            let dns: Vec<&str> = sans.iter().filter_map(|s| s.strip_prefix("DNS:")).collect();
            let candidates: Vec<&str> = if dns.is_empty() && sans.is_empty() {
                cns.iter().map(String::as_str).collect()
            } else {
                dns
            };
            if candidates.iter().any(|p| dns_name_matches(p, &host)) {
                Vec::new()
            } else {
                vec![warning(
                    key,
                    format!(
                        "the URI's host {host:?} is not among the certificate's names ({}): \
                         clients that check the name will refuse the server",
                        listed()
                    ),
                )]
            }
        }
    }
}

/// What `check` prints beyond the options: the certificate and the interfaces.
pub fn describe(cfg: &Config, interfaces: &Interfaces, now: i64) -> String {
    let mut out = String::new();
    if let Some(cert) = &cfg.lwm2m.certificate {
        out.push_str(&describe_certificate(&cert.der, now));
        for note in &cert.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    match interfaces {
        Interfaces::Offline(None) => out.push_str(&format!(
            "interfaces: not looked up (offline; sizes for MTU {OFFLINE_MTU})\n"
        )),
        Interfaces::Offline(Some(why)) => out.push_str(&format!("interfaces: {why}\n")),
        Interfaces::Live(systems) => {
            for sys in systems {
                let v4 = sys.ipv4.map_or("no IPv4".to_string(), |a| a.to_string());
                let v6 = sys
                    .ipv6_link_local
                    .map_or("no link-local IPv6".to_string(), |a| a.to_string());
                out.push_str(&format!(
                    "interface {}: ifindex {}, MTU {}, {v4}, {v6}\n",
                    sys.name, sys.ifindex, sys.mtu
                ));
            }
        }
    }
    out
}

/// What `check` prints about the certificate: key, signature, validity, names.
pub fn describe_certificate(der: &[u8], now: i64) -> String {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return String::new();
    };
    let (key, _) = key_description(&cert);
    let v = cert.validity();
    let days_left = (v.not_after.timestamp() - now) / DAY;
    let (sans, cns) = certificate_names(&cert);
    let mut out = format!(
        "certificate: {key} key, signature {}, CN {}\n  valid from {} to {} ({})\n",
        signature_name(&cert),
        if cns.is_empty() {
            "none".to_string()
        } else {
            cns.join(", ")
        },
        v.not_before,
        v.not_after,
        if days_left >= 0 {
            format!("{days_left} days left")
        } else {
            format!("expired {} days ago", -days_left)
        }
    );
    if sans.is_empty() {
        out.push_str("  subjectAltName: none\n");
    } else {
        const SHOWN: usize = 6;
        let more = match sans.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        out.push_str(&format!(
            "  subjectAltName ({}): {}{more}\n",
            sans.len(),
            sans[..sans.len().min(SHOWN)].join(", ")
        ));
    }
    out
}

fn signature_name(cert: &X509Certificate<'_>) -> String {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.113549.1.1.11" => "SHA-256 with RSA".into(),
        "1.2.840.113549.1.1.12" => "SHA-384 with RSA".into(),
        "1.2.840.113549.1.1.13" => "SHA-512 with RSA".into(),
        "1.2.840.113549.1.1.5" => "SHA-1 with RSA".into(),
        "1.2.840.113549.1.1.4" => "MD5 with RSA".into(),
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256".into(),
        "1.2.840.10045.4.3.3" => "ECDSA with SHA-384".into(),
        "1.2.840.10045.4.3.4" => "ECDSA with SHA-512".into(),
        "1.2.840.10045.4.1" => "ECDSA with SHA-1".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests;
