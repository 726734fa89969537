//! The config file (design.md, "Config file"): TOML read by serde into `Raw*` structs that
//! mirror the file, then validated into [`Config`], whose values are ready to encode.
//!
//! Numbers, addresses and enum names are read as plain TOML values and checked here rather
//! than by serde, so that every error can name its dotted key, the value, and what is
//! accepted.

use std::{
    collections::HashMap,
    fmt, fs, io,
    net::{Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use xdp_common::{
    maps::{MAX_BLOCK_LEN, MAX_SERVED_OPTIONS},
    wire::{dhcpv4 as v4, dhcpv6 as v6},
};

use crate::compile;

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub lwm2m: Lwm2m,
    pub dhcpv4: Dhcpv4,
    pub dhcpv6: Dhcpv6,
    pub interfaces: Vec<Interface>,
    pub slow_path: SlowPath,
    pub rate_limit: Option<RateLimit>,
    /// The file this config came from.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lwm2m {
    /// Absent: the URI option is not served (draft §5).
    pub bootstrap_uri: Option<String>,
    /// Absent: the certificate option is not served (draft §5).
    pub certificate: Option<Certificate>,
    pub wire_format: WireFormat,
    pub policy: Policy,
}

/// The bootstrap server's X.509 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    /// Where it was read from (resolved against the config file's directory).
    pub path: PathBuf,
    /// The subject as RFC 4514 text.
    pub subject: String,
    pub sha256: [u8; 32],
}

impl fmt::Debug for Certificate {
    // The DER would drown everything else in a Debug dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("path", &self.path)
            .field("subject", &self.subject)
            .field("der_len", &self.der.len())
            .field("sha256", &hex(&self.sha256))
            .finish()
    }
}

/// How the LwM2M options look on the wire (protocol.md, "Wire formats").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    Draft00,
    Rfc3396,
    Ietf00,
}

impl WireFormat {
    pub const ALL: [WireFormat; 3] = [WireFormat::Draft00, WireFormat::Rfc3396, WireFormat::Ietf00];

    pub fn name(self) -> &'static str {
        match self {
            WireFormat::Draft00 => "draft-00",
            WireFormat::Rfc3396 => "rfc3396",
            WireFormat::Ietf00 => "ietf-00",
        }
    }
}

impl fmt::Display for WireFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which requests the fast path answers (protocol.md, "Request policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Complete,
    Lwm2mOnly,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Complete => "complete",
            Policy::Lwm2mOnly => "lwm2m-only",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv4 {
    pub enabled: bool,
    pub uri_option: u8,
    pub certificate_option: u8,
    /// Default server identifier; absent: each interface's own IPv4 address.
    pub server_id: Option<Ipv4Addr>,
    pub extra_options: Vec<ExtraOption<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv6 {
    pub enabled: bool,
    pub uri_option: u16,
    pub certificate_option: u16,
    /// Seconds; at least IRT_MINIMUM (600) when set.
    pub information_refresh_time: Option<u32>,
    /// Absent: DUID-LL of the first interface's MAC.
    pub server_duid: Option<Vec<u8>>,
    pub extra_options: Vec<ExtraOption<u16>>,
}

/// A non-LwM2M option the fast path serves too; `data` is the option's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraOption<C> {
    pub code: C,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mode: AttachMode,
    /// Overrides `[dhcpv4] server_id` on this interface.
    pub server_id: Option<Ipv4Addr>,
    pub vlans: Vec<Vlan>,
}

/// How the XDP program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachMode {
    /// Native, falling back to generic with a warning.
    Auto,
    Native,
    Generic,
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttachMode::Auto => "auto",
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        })
    }
}

/// Addresses for frames tagged with one VLAN id (or an outer + inner pair for QinQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vlan {
    /// The (outer, for QinQ) tag.
    pub id: u16,
    pub inner_id: Option<u16>,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6_link_local: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowPath {
    pub mode: SlowPathMode,
    pub dhcpv4_servers: Vec<Ipv4Addr>,
    pub dhcpv6_servers: Vec<Ipv6Addr>,
}

/// Where requests the fast path does not answer go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlowPathMode {
    /// XDP_PASS to a DHCP server on this host.
    Local,
    /// The loader forwards them to `*_servers`.
    Relay,
}

impl fmt::Display for SlowPathMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlowPathMode::Local => "local",
            SlowPathMode::Relay => "relay",
        })
    }
}

/// Answers per client MAC, enforced in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Answers per second.
    pub per_client_rate: u32,
    pub burst: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{}: {detail}", path.display())]
    Syntax { path: PathBuf, detail: String },
    /// A value that is not accepted; `value` is shown as it would be written in TOML.
    #[error("{key} = {value}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    /// A rule about a table or a combination of keys.
    #[error("{key}: {reason}")]
    Rule { key: String, reason: String },
}

fn invalid(
    key: impl Into<String>,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn rule(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Rule {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A string value as TOML would show it, shortened when long.
fn quoted(s: &str) -> String {
    const SHOWN: usize = 60;
    match s.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}... ({} octets)", &s[..cut], s.len()),
        None => format!("{s:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text`; a relative certificate path is taken from the directory
    /// of `source`, the file the text came from.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(source, text, &e))?;
        let base = source.parent().unwrap_or(Path::new(""));
        raw.validate(base, source)
    }
}

/// Checks that every `[[interface]]` exists on this host (kept apart from [`Config::parse`]
/// so parsing can be tested anywhere).
pub fn check_interfaces(cfg: &Config) -> Result<(), ConfigError> {
    check_interfaces_in(cfg, Path::new("/sys/class/net"))
}

fn check_interfaces_in(cfg: &Config, sys_class_net: &Path) -> Result<(), ConfigError> {
    for (i, iface) in cfg.interfaces.iter().enumerate() {
        if sys_class_net.join(&iface.name).exists() {
            continue;
        }
        let mut present: Vec<String> = fs::read_dir(sys_class_net)
            .map(|dir| {
                dir.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        present.sort();
        return Err(invalid(
            format!("interface[{i}].name"),
            quoted(&iface.name),
            format!(
                "no such network interface on this host (it has: {})",
                present.join(", ")
            ),
        ));
    }
    Ok(())
}

/// One line: where in the file, the enclosing table when there is one, and serde's message.
fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim_end().replace('\n', " ");
    let detail = match err.span() {
        Some(span) => {
            let at = span.start.min(text.len());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_no = text[..at].matches('\n').count() + 1;
            let column = text[line_start..at].chars().count() + 1;
            let this_line = text[line_start..].lines().next().unwrap_or("");
            match enclosing_table(&text[..line_start], this_line) {
                Some(table) => format!("line {line_no}, column {column} (in {table}): {message}"),
                None => format!("line {line_no}, column {column}: {message}"),
            }
        }
        None => message,
    };
    ConfigError::Syntax {
        path: path.to_path_buf(),
        detail,
    }
}

/// The last table header before the error line, unless the error is on a header itself.
fn enclosing_table<'a>(before: &'a str, this_line: &str) -> Option<&'a str> {
    if this_line.trim_start().starts_with('[') {
        return None;
    }
    before
        .lines()
        .rev()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| l.starts_with('['))
}

// ---- The file as serde sees it ----------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    lwm2m: RawLwm2m,
    #[serde(default)]
    dhcpv4: RawDhcpv4,
    #[serde(default)]
    dhcpv6: RawDhcpv6,
    #[serde(default)]
    interface: Vec<RawInterface>,
    #[serde(default)]
    slow_path: RawSlowPath,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLwm2m {
    bootstrap_uri: Option<String>,
    certificate: Option<String>,
    wire_format: Option<String>,
    policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDhcpv4 {
    enabled: Option<bool>,
    uri_option: Option<i64>,
    certificate_option: Option<i64>,
    server_id: Option<String>,
    #[serde(default)]
    extra_option: Vec<RawExtraV4>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtraV4 {
    code: i64,
    ipv4: Option<Vec<String>>,
    string: Option<String>,
    hex: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDhcpv6 {
    enabled: Option<bool>,
    uri_option: Option<i64>,
    certificate_option: Option<i64>,
    information_refresh_time: Option<i64>,
    server_duid: Option<String>,
    #[serde(default)]
    extra_option: Vec<RawExtraV6>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtraV6 {
    code: i64,
    ipv6: Option<Vec<String>>,
    string: Option<String>,
    hex: Option<String>,
    domains: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterface {
    name: String,
    mode: Option<String>,
    server_id: Option<String>,
    #[serde(default)]
    vlan: Vec<RawVlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVlan {
    id: i64,
    inner_id: Option<i64>,
    ipv4: Option<String>,
    ipv6_link_local: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSlowPath {
    mode: Option<String>,
    #[serde(default)]
    dhcpv4_servers: Vec<String>,
    #[serde(default)]
    dhcpv6_servers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    per_client_rate: i64,
    burst: i64,
}

// ---- Validation -------------------------------------------------------------------------

impl RawConfig {
    fn validate(self, base: &Path, source: &Path) -> Result<Config, ConfigError> {
        let lwm2m = self.lwm2m.validate(base)?;
        let dhcpv4 = self.dhcpv4.validate()?;
        let dhcpv6 = self.dhcpv6.validate()?;
        if let Some(uri) = &lwm2m.bootstrap_uri {
            check_uri_fits(uri, lwm2m.wire_format, dhcpv4.enabled, dhcpv6.enabled)?;
        }
        if let Some(cert) = &lwm2m.certificate {
            let max = compile::v6_certificate_capacity(lwm2m.wire_format);
            if dhcpv6.enabled && cert.der.len() > max {
                return Err(invalid(
                    "lwm2m.certificate",
                    quoted(&cert.path.display().to_string()),
                    format!(
                        "{} octets; a DHCPv6 option in wire_format {} carries at most {max}",
                        cert.der.len(),
                        lwm2m.wire_format
                    ),
                ));
            }
        }
        if self.interface.is_empty() {
            return Err(rule(
                "interface",
                "at least one [[interface]] with a name is required",
            ));
        }
        let interfaces = validate_interfaces(self.interface)?;
        let slow_path = self.slow_path.validate(dhcpv4.enabled, dhcpv6.enabled)?;
        let rate_limit = self.rate_limit.map(RawRateLimit::validate).transpose()?;
        Ok(Config {
            lwm2m,
            dhcpv4,
            dhcpv6,
            interfaces,
            slow_path,
            rate_limit,
            source: source.to_path_buf(),
        })
    }
}

impl RawLwm2m {
    fn validate(self, base: &Path) -> Result<Lwm2m, ConfigError> {
        let wire_format = match self.wire_format.as_deref() {
            None | Some("draft-00") => WireFormat::Draft00,
            Some("rfc3396") => WireFormat::Rfc3396,
            Some("ietf-00") => WireFormat::Ietf00,
            Some(other) => {
                return Err(invalid(
                    "lwm2m.wire_format",
                    quoted(other),
                    "choose \"draft-00\", \"rfc3396\" or \"ietf-00\"",
                ))
            }
        };
        let policy = match self.policy.as_deref() {
            None | Some("complete") => Policy::Complete,
            Some("lwm2m-only") => Policy::Lwm2mOnly,
            Some(other) => {
                return Err(invalid(
                    "lwm2m.policy",
                    quoted(other),
                    "choose \"complete\" or \"lwm2m-only\"",
                ))
            }
        };
        if let Some(uri) = &self.bootstrap_uri {
            check_absolute_uri(uri)
                .map_err(|why| invalid("lwm2m.bootstrap_uri", quoted(uri), why))?;
        }
        let certificate = self
            .certificate
            .map(|configured| {
                load_certificate(&base.join(&configured))
                    .map_err(|why| invalid("lwm2m.certificate", quoted(&configured), why))
            })
            .transpose()?;
        Ok(Lwm2m {
            bootstrap_uri: self.bootstrap_uri,
            certificate,
            wire_format,
            policy,
        })
    }
}

/// The URI must fit one option of every enabled family.
fn check_uri_fits(
    uri: &str,
    format: WireFormat,
    v4_on: bool,
    v6_on: bool,
) -> Result<(), ConfigError> {
    let v4_max = compile::v4_uri_capacity(format);
    if v4_on && uri.len() > v4_max {
        return Err(invalid(
            "lwm2m.bootstrap_uri",
            quoted(uri),
            format!(
                "{} octets; a DHCPv4 option in wire_format {format} carries at most {v4_max} \
                 (shorten the URI or set dhcpv4.enabled = false)",
                uri.len()
            ),
        ));
    }
    let v6_max = MAX_BLOCK_LEN - v6::OPT_HDR_LEN;
    if v6_on && uri.len() > v6_max {
        return Err(invalid(
            "lwm2m.bootstrap_uri",
            quoted(uri),
            format!(
                "{} octets; a DHCPv6 reply block holds at most {v6_max}",
                uri.len()
            ),
        ));
    }
    Ok(())
}

/// An absolute URI per RFC 3986 §4.3: `scheme ":" hier-part [ "?" query ]`, made only of the
/// characters a URI may hold (no spaces, no raw non-ASCII, `%` followed by two hex digits).
fn check_absolute_uri(uri: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. \"coaps://bootstrap.example.net:5684\"";
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(format!("not an absolute URI: no scheme ({EXAMPLE})"));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(format!(
            "not an absolute URI: {scheme:?} is not a scheme ({EXAMPLE})"
        ));
    }
    if rest.is_empty() {
        return Err(format!(
            "not an absolute URI: nothing after \"{scheme}:\" ({EXAMPLE})"
        ));
    }
    if let Some(after_slashes) = rest.strip_prefix("//") {
        let authority = after_slashes.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(format!(
                "not an absolute URI: no host after \"{scheme}://\" ({EXAMPLE})"
            ));
        }
    }
    if rest.contains('#') {
        return Err("an absolute URI has no fragment (\"#...\")".to_string());
    }
    let bytes = uri.as_bytes();
    for (i, c) in uri.char_indices() {
        let allowed = c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(c);
        if c == '%' {
            let escape_ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !escape_ok {
                return Err(format!(
                    "'%' at position {i} is not followed by two hex digits"
                ));
            }
        } else if !allowed {
            return Err(format!(
                "{c:?} at position {i} may not appear in a URI (percent-encode it)"
            ));
        }
    }
    Ok(())
}

/// Reads a DER or PEM (one CERTIFICATE block) file and checks that it is an X.509
/// certificate; the error says what is wrong with the file.
fn load_certificate(path: &Path) -> Result<Certificate, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let blocks =
            pem::parse_many(&bytes).map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
        match blocks.as_slice() {
            [] => {
                return Err(format!(
                    "{}: bad PEM: no complete BEGIN/END block",
                    path.display()
                ))
            }
            [only] if only.tag() == "CERTIFICATE" => only.contents().to_vec(),
            [only] => {
                return Err(format!(
                    "{}: the PEM block is {:?}; give one CERTIFICATE block",
                    path.display(),
                    only.tag()
                ))
            }
            _ => {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                return Err(format!(
                    "{}: {} PEM blocks ({}); give exactly one CERTIFICATE block, the bootstrap \
                     server's",
                    path.display(),
                    blocks.len(),
                    tags.join(", ")
                ));
            }
        }
    } else {
        bytes
    };
    let subject = x509_subject(&der).map_err(|why| format!("{}: {why}", path.display()))?;
    Ok(Certificate {
        sha256: Sha256::digest(&der).into(),
        der,
        path: path.to_path_buf(),
        subject,
    })
}

/// The subject of a DER X.509 certificate, which must be the whole of `der`.
pub(crate) fn x509_subject(der: &[u8]) -> Result<String, String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) if !rest.is_empty() => Err(format!(
            "{} octets of trailing data after the DER certificate",
            rest.len()
        )),
        Ok((_, cert)) => Ok(cert.subject().to_string()),
        Err(e) => Err(format!("not a DER X.509 certificate: {e}")),
    }
}

/// "0, 50-61, 82, 255" for a code list.
fn code_ranges<C: Copy + Into<u32>>(codes: &[C]) -> String {
    let mut sorted: Vec<u32> = codes.iter().map(|&c| c.into()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

fn dhcpv4_code(key: &str, value: i64) -> Result<u8, ConfigError> {
    let accepted = format!(
        "choose 1-254 except {} (224-254 are site-specific)",
        code_ranges(&v4::RESERVED_CODES)
    );
    let Ok(code) = u8::try_from(value) else {
        return Err(invalid(
            key,
            value,
            format!("not a DHCPv4 option code; {accepted}"),
        ));
    };
    if v4::RESERVED_CODES.contains(&code) {
        return Err(invalid(
            key,
            value,
            format!("code {code} is used by DHCP itself; {accepted}"),
        ));
    }
    Ok(code)
}

fn dhcpv6_code(key: &str, value: i64) -> Result<u16, ConfigError> {
    let accepted = format!(
        "choose 1-65535 except {} (IANA assigned no LwM2M codes; the defaults are {} and {})",
        code_ranges(&v6::RESERVED_CODES),
        v6::DEFAULT_URI_OPTION,
        v6::DEFAULT_CERTIFICATE_OPTION
    );
    let code = match u16::try_from(value) {
        Ok(code) if code != 0 => code,
        _ => {
            return Err(invalid(
                key,
                value,
                format!("not a DHCPv6 option code; {accepted}"),
            ))
        }
    };
    if v6::RESERVED_CODES.contains(&code) {
        return Err(invalid(
            key,
            value,
            format!("code {code} is used by DHCPv6 itself; {accepted}"),
        ));
    }
    Ok(code)
}

/// Every option a family serves needs its own code; `keyed` is in config order.
fn check_distinct_codes<C: Copy + Eq + fmt::Display>(
    keyed: &[(String, C)],
) -> Result<(), ConfigError> {
    for (i, (key, code)) in keyed.iter().enumerate() {
        if let Some((first, _)) = keyed[..i].iter().find(|(_, c)| c == code) {
            return Err(invalid(
                key.as_str(),
                code,
                format!(
                    "code {code} is already {first}; every option of a family needs its own code"
                ),
            ));
        }
    }
    Ok(())
}

fn check_served_count(
    family: &str,
    extras: usize,
    fixed: usize,
    fixed_what: &str,
) -> Result<(), ConfigError> {
    if fixed + extras > MAX_SERVED_OPTIONS {
        return Err(invalid(
            format!("{family}.extra_option"),
            format!("[{extras} entries]"),
            format!(
                "at most {} extra options: the fast path serves {MAX_SERVED_OPTIONS} options per \
                 family, {fixed} of them {fixed_what}",
                MAX_SERVED_OPTIONS - fixed
            ),
        ));
    }
    Ok(())
}

fn unicast_ipv4(key: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    let addr: Ipv4Addr = text.parse().map_err(|_| {
        invalid(
            key,
            quoted(text),
            "not an IPv4 address (e.g. \"198.18.0.1\")",
        )
    })?;
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(invalid(key, quoted(text), "not a unicast IPv4 address"));
    }
    Ok(addr)
}

fn ipv6(key: &str, text: &str) -> Result<Ipv6Addr, ConfigError> {
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        invalid(
            key,
            quoted(text),
            "not an IPv6 address (e.g. \"2001:db8::53\")",
        )
    })?;
    if addr.is_unspecified() {
        return Err(invalid(
            key,
            quoted(text),
            "the unspecified address :: names no host",
        ));
    }
    Ok(addr)
}

/// Hex digits, optionally separated by ':' or whitespace between octets.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None if c == ':' || c.is_whitespace() => {}
            None => return Err(format!("{c:?} at position {i} is not a hex digit")),
        }
    }
    if digits.len() % 2 != 0 {
        return Err(format!("{} hex digits: an octet needs two", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect())
}

/// A domain name list in RFC 1035 §3.1 wire form, uncompressed (RFC 8415 §10), as
/// option 24 (domain search list) and the other DHCPv6 options that carry names use.
fn encode_domains(key: &str, names: &[String]) -> Result<Vec<u8>, ConfigError> {
    if names.is_empty() {
        return Err(invalid(key, "[]", "give at least one domain name"));
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = format!("{key}[{i}]");
        let bad = |why: &str| invalid(key.as_str(), quoted(name), why.to_string());
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            return Err(bad("empty domain name"));
        }
        let start = out.len();
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(bad("every label needs 1-63 characters"));
            }
            if !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(
                    "labels are letters, digits, '-' and '_' (use punycode for others)",
                ));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        if out.len() - start > 255 {
            return Err(bad("longer than 255 octets in wire form (RFC 1035 §2.3.4)"));
        }
    }
    Ok(out)
}

/// One way of giving an extra option's value: its key, and the payload if the key is present.
type Form<'a> = (&'a str, Option<Result<Vec<u8>, ConfigError>>);

/// The payload of an extra option from exactly one of its value keys.
fn one_form(key: &str, forms: Vec<Form<'_>>) -> Result<Vec<u8>, ConfigError> {
    let names: Vec<&str> = forms.iter().map(|(name, _)| *name).collect();
    let exactly_one = |found: &str| {
        rule(
            key,
            format!("give exactly one of {} (found {found})", names.join(", ")),
        )
    };
    let mut given = forms
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)));
    match (given.next(), given.next()) {
        (Some((_, value)), None) => value,
        (None, _) => Err(exactly_one("none")),
        (Some((first, _)), Some((second, _))) => Err(exactly_one(&format!("{first} and {second}"))),
    }
}

/// The `ipv4 = [...]` / `ipv6 = [...]` form: at least one address, each parsed by `parse`
/// (which names `key[j]` in its errors), concatenated.
fn address_list(
    key: &str,
    list: &[String],
    parse: impl Fn(&str, &str) -> Result<Vec<u8>, ConfigError>,
) -> Result<Vec<u8>, ConfigError> {
    if list.is_empty() {
        return Err(invalid(key, "[]", "give at least one address"));
    }
    let mut data = Vec::new();
    for (j, a) in list.iter().enumerate() {
        data.extend(parse(&format!("{key}[{j}]"), a)?);
    }
    Ok(data)
}

fn string_form(key: &str, s: &str) -> Result<Vec<u8>, ConfigError> {
    if s.is_empty() {
        return Err(invalid(
            key,
            "\"\"",
            "empty; for a zero-length option write hex = \"\"",
        ));
    }
    Ok(s.as_bytes().to_vec())
}

fn hex_form(key: &str, s: &str) -> Result<Vec<u8>, ConfigError> {
    parse_hex(s).map_err(|why| invalid(key, quoted(s), why))
}

impl RawDhcpv4 {
    fn validate(self) -> Result<Dhcpv4, ConfigError> {
        let uri_option = dhcpv4_code(
            "dhcpv4.uri_option",
            self.uri_option.unwrap_or(v4::DEFAULT_URI_OPTION.into()),
        )?;
        let certificate_option = dhcpv4_code(
            "dhcpv4.certificate_option",
            self.certificate_option
                .unwrap_or(v4::DEFAULT_CERTIFICATE_OPTION.into()),
        )?;
        let server_id = self
            .server_id
            .as_deref()
            .map(|s| unicast_ipv4("dhcpv4.server_id", s))
            .transpose()?;
        check_served_count("dhcpv4", self.extra_option.len(), 2, "LwM2M")?;
        let mut keyed = vec![
            ("dhcpv4.uri_option".to_string(), uri_option),
            ("dhcpv4.certificate_option".to_string(), certificate_option),
        ];
        let mut extra_options = Vec::new();
        for (i, raw) in self.extra_option.into_iter().enumerate() {
            let key = format!("dhcpv4.extra_option[{i}]");
            let code = dhcpv4_code(&format!("{key}.code"), raw.code)?;
            keyed.push((format!("{key}.code"), code));
            let ipv4 = raw.ipv4.map(|list| {
                address_list(&format!("{key}.ipv4"), &list, |k, a| {
                    Ok(unicast_ipv4(k, a)?.octets().to_vec())
                })
            });
            let forms = vec![
                ("ipv4", ipv4),
                (
                    "string",
                    raw.string
                        .as_deref()
                        .map(|s| string_form(&format!("{key}.string"), s)),
                ),
                (
                    "hex",
                    raw.hex
                        .as_deref()
                        .map(|s| hex_form(&format!("{key}.hex"), s)),
                ),
            ];
            let data = one_form(&key, forms)?;
            let max = u8::MAX as usize;
            if data.len() > max {
                return Err(invalid(
                    key.as_str(),
                    format!("[{} octets]", data.len()),
                    format!("a DHCPv4 extra option carries at most {max} octets"),
                ));
            }
            extra_options.push(ExtraOption { code, data });
        }
        check_distinct_codes(&keyed)?;
        Ok(Dhcpv4 {
            enabled: self.enabled.unwrap_or(true),
            uri_option,
            certificate_option,
            server_id,
            extra_options,
        })
    }
}

impl RawDhcpv6 {
    fn validate(self) -> Result<Dhcpv6, ConfigError> {
        let uri_option = dhcpv6_code(
            "dhcpv6.uri_option",
            self.uri_option.unwrap_or(v6::DEFAULT_URI_OPTION.into()),
        )?;
        let certificate_option = dhcpv6_code(
            "dhcpv6.certificate_option",
            self.certificate_option
                .unwrap_or(v6::DEFAULT_CERTIFICATE_OPTION.into()),
        )?;
        let information_refresh_time = self
            .information_refresh_time
            .map(|secs| match u32::try_from(secs) {
                Ok(s) if s >= v6::MIN_INFORMATION_REFRESH_TIME => Ok(s),
                _ => Err(invalid(
                    "dhcpv6.information_refresh_time",
                    secs,
                    format!(
                        "seconds, {}-{} (RFC 8415 IRT_MINIMUM; {} means infinity)",
                        v6::MIN_INFORMATION_REFRESH_TIME,
                        u32::MAX,
                        u32::MAX
                    ),
                )),
            })
            .transpose()?;
        let server_duid = self
            .server_duid
            .as_deref()
            .map(|text| {
                let key = "dhcpv6.server_duid";
                let duid = parse_hex(text).map_err(|why| invalid(key, quoted(text), why))?;
                if duid.is_empty() || duid.len() > v6::MAX_DUID_LEN {
                    return Err(invalid(
                        key,
                        quoted(text),
                        format!(
                            "{} octets; a DUID has 1-{} (RFC 8415 §11.1)",
                            duid.len(),
                            v6::MAX_DUID_LEN
                        ),
                    ));
                }
                Ok(duid)
            })
            .transpose()?;
        let (fixed, fixed_what) = match information_refresh_time {
            Some(_) => (3, "LwM2M and information-refresh-time"),
            None => (2, "LwM2M"),
        };
        check_served_count("dhcpv6", self.extra_option.len(), fixed, fixed_what)?;
        let mut keyed = vec![
            ("dhcpv6.uri_option".to_string(), uri_option),
            ("dhcpv6.certificate_option".to_string(), certificate_option),
        ];
        let mut extra_options = Vec::new();
        for (i, raw) in self.extra_option.into_iter().enumerate() {
            let key = format!("dhcpv6.extra_option[{i}]");
            let code = dhcpv6_code(&format!("{key}.code"), raw.code)?;
            keyed.push((format!("{key}.code"), code));
            let ipv6s = raw.ipv6.map(|list| {
                address_list(&format!("{key}.ipv6"), &list, |k, a| {
                    Ok(ipv6(k, a)?.octets().to_vec())
                })
            });
            let forms = vec![
                ("ipv6", ipv6s),
                (
                    "string",
                    raw.string
                        .as_deref()
                        .map(|s| string_form(&format!("{key}.string"), s)),
                ),
                (
                    "hex",
                    raw.hex
                        .as_deref()
                        .map(|s| hex_form(&format!("{key}.hex"), s)),
                ),
                (
                    "domains",
                    raw.domains
                        .as_deref()
                        .map(|d| encode_domains(&format!("{key}.domains"), d)),
                ),
            ];
            let data = one_form(&key, forms)?;
            let max = MAX_BLOCK_LEN - v6::OPT_HDR_LEN;
            if data.len() > max {
                return Err(invalid(
                    key.as_str(),
                    format!("[{} octets]", data.len()),
                    format!(
                        "at most {max} octets: a reply block holds {MAX_BLOCK_LEN} with the header"
                    ),
                ));
            }
            extra_options.push(ExtraOption { code, data });
        }
        check_distinct_codes(&keyed)?;
        Ok(Dhcpv6 {
            enabled: self.enabled.unwrap_or(true),
            uri_option,
            certificate_option,
            information_refresh_time,
            server_duid,
            extra_options,
        })
    }
}

/// Linux `dev_valid_name`: 1-15 octets, not "." or "..", no '/', ':' or whitespace.
fn check_interface_name(key: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            quoted(name),
            "not an interface name: 1-15 characters, no '/', ':' or spaces",
        ))
    }
}

fn vlan_id(key: &str, value: i64) -> Result<u16, ConfigError> {
    match u16::try_from(value) {
        Ok(id @ 1..=4094) => Ok(id),
        _ => Err(invalid(
            key,
            value,
            "a VLAN id is 1-4094 (0 means untagged, 4095 is reserved)",
        )),
    }
}

fn validate_interfaces(raw: Vec<RawInterface>) -> Result<Vec<Interface>, ConfigError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, iface) in raw.into_iter().enumerate() {
        let key = format!("interface[{i}]");
        check_interface_name(&format!("{key}.name"), &iface.name)?;
        if let Some(first) = seen.insert(iface.name.clone(), i) {
            return Err(invalid(
                format!("{key}.name"),
                quoted(&iface.name),
                format!("already interface[{first}]; list each interface once"),
            ));
        }
        let mode = match iface.mode.as_deref() {
            None | Some("auto") => AttachMode::Auto,
            Some("native") => AttachMode::Native,
            Some("generic") => AttachMode::Generic,
            Some(other) => {
                return Err(invalid(
                    format!("{key}.mode"),
                    quoted(other),
                    "choose \"auto\", \"native\" or \"generic\"",
                ))
            }
        };
        let server_id = iface
            .server_id
            .as_deref()
            .map(|s| unicast_ipv4(&format!("{key}.server_id"), s))
            .transpose()?;
        let vlans = validate_vlans(&key, iface.vlan)?;
        out.push(Interface {
            name: iface.name,
            mode,
            server_id,
            vlans,
        });
    }
    Ok(out)
}

fn validate_vlans(iface_key: &str, raw: Vec<RawVlan>) -> Result<Vec<Vlan>, ConfigError> {
    let mut seen: HashMap<(u16, Option<u16>), usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (j, vlan) in raw.into_iter().enumerate() {
        let key = format!("{iface_key}.vlan[{j}]");
        let id = vlan_id(&format!("{key}.id"), vlan.id)?;
        let inner_id = vlan
            .inner_id
            .map(|v| vlan_id(&format!("{key}.inner_id"), v))
            .transpose()?;
        if let Some(first) = seen.insert((id, inner_id), j) {
            let (dup_key, value) = match inner_id {
                Some(inner) => (
                    format!("{key}.inner_id"),
                    format!("{inner} (outer id {id})"),
                ),
                None => (format!("{key}.id"), id.to_string()),
            };
            return Err(invalid(
                dup_key,
                value,
                format!("already {iface_key}.vlan[{first}]; configure each VLAN once"),
            ));
        }
        let ipv4 = vlan
            .ipv4
            .as_deref()
            .map(|s| unicast_ipv4(&format!("{key}.ipv4"), s))
            .transpose()?;
        let ipv6_link_local = vlan
            .ipv6_link_local
            .as_deref()
            .map(|s| {
                let k = format!("{key}.ipv6_link_local");
                let addr = ipv6(&k, s)?;
                if !crate::ifaces::is_link_local(&addr) {
                    return Err(invalid(
                        k,
                        quoted(s),
                        "not link-local: DHCPv6 replies come from fe80::/10",
                    ));
                }
                Ok(addr)
            })
            .transpose()?;
        out.push(Vlan {
            id,
            inner_id,
            ipv4,
            ipv6_link_local,
        });
    }
    Ok(out)
}

impl RawSlowPath {
    fn validate(self, v4_on: bool, v6_on: bool) -> Result<SlowPath, ConfigError> {
        let mode = match self.mode.as_deref() {
            None | Some("local") => SlowPathMode::Local,
            Some("relay") => SlowPathMode::Relay,
            Some(other) => {
                return Err(invalid(
                    "slow_path.mode",
                    quoted(other),
                    "choose \"local\" or \"relay\"",
                ))
            }
        };
        let dhcpv4_servers = self
            .dhcpv4_servers
            .iter()
            .enumerate()
            .map(|(i, s)| unicast_ipv4(&format!("slow_path.dhcpv4_servers[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        // Multicast is fine here: a relay may forward to All_DHCP_Servers (ff05::1:3).
        let dhcpv6_servers = self
            .dhcpv6_servers
            .iter()
            .enumerate()
            .map(|(i, s)| ipv6(&format!("slow_path.dhcpv6_servers[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        let has_server =
            (v4_on && !dhcpv4_servers.is_empty()) || (v6_on && !dhcpv6_servers.is_empty());
        if mode == SlowPathMode::Relay && !has_server {
            return Err(invalid(
                "slow_path.mode",
                "\"relay\"",
                "relay needs a server of an enabled family in slow_path.dhcpv4_servers or \
                 slow_path.dhcpv6_servers",
            ));
        }
        Ok(SlowPath {
            mode,
            dhcpv4_servers,
            dhcpv6_servers,
        })
    }
}

impl RawRateLimit {
    fn validate(self) -> Result<RateLimit, ConfigError> {
        let positive = |key: &str, v: i64| match u32::try_from(v) {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(invalid(key, v, format!("a whole number, 1-{}", u32::MAX))),
        };
        Ok(RateLimit {
            per_client_rate: positive("rate_limit.per_client_rate", self.per_client_rate)?,
            burst: positive("rate_limit.burst", self.burst)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The fixture certificates (examples/certs).
    pub(crate) fn certs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/certs")
    }

    /// A config file path inside the certs directory, so `certificate = "bootstrap-300.der"`
    /// resolves.
    fn source() -> PathBuf {
        certs_dir().join("test.toml")
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
                burst: 20
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
                "unknown field `uri_opton`",
                "uri_option",
            ],
        );
        error_of(
            with("[dhcpv5]\nenabled = true"),
            &["line 1", "unknown field `dhcpv5`"],
        );
        error_of(
            parse("[[interface]]\nname = \"eth0\"\nvlan = [{ id = 1, colour = 2 }]"),
            &["in [[interface]]", "unknown field `colour`"],
        );
        error_of(
            with("[dhcpv4]\nenabled = \"yes\""),
            &["line 2", "in [dhcpv4]", "bool"],
        );
        error_of(
            with("[rate_limit]\nper_client_rate = 1"),
            &["missing field `burst`"],
        );
        error_of(
            with("[[dhcpv4.extra_option]]\nipv4 = [\"198.18.0.1\"]"),
            &["missing field `code`"],
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
            with("[slow_path]\nmode = \"forward\""),
            &["slow_path.mode = \"forward\"", "\"local\" or \"relay\""],
        );
    }

    #[test]
    fn uri_must_be_absolute() {
        for (uri, why) in [
            ("bootstrap.example.net", "no scheme"),
            ("1coap://x", "is not a scheme"),
            ("coaps:", "nothing after"),
            ("coaps:///path", "no host"),
            ("coaps://host/a b", "' ' at position 14"),
            ("coaps://höst", "percent-encode"),
            ("coaps://host/%zz", "'%' at position 13"),
            ("coaps://host/x#frag", "no fragment"),
        ] {
            error_of(
                with(&format!("[lwm2m]\nbootstrap_uri = {uri:?}")),
                &[&format!("lwm2m.bootstrap_uri = {uri:?}"), why],
            );
        }
        for uri in [
            "coaps://[2001:db8::1]:5684",
            "coap+tcp://b.example.net/bs?ep=%41",
            "urn:dev:os:1-2",
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
                "not a DER X.509 certificate",
            ],
        );
    }

    /// A scratch directory for files a test writes.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lwm2m-xdp-config-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn with_cert_file(name: &str, contents: &[u8]) -> Result<Config, ConfigError> {
        let dir = scratch(name);
        fs::write(dir.join(name), contents).unwrap();
        Config::parse(
            &format!("[lwm2m]\ncertificate = {name:?}\n{MINIMAL}"),
            &dir.join("c.toml"),
        )
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
                "2 octets of trailing data",
            ],
        );
        error_of(
            with_cert_file("truncated.der", &der[..der.len() - 10]),
            &["truncated.der", "not a DER X.509"],
        );

        let two = format!("{pem_text}{pem_text}");
        error_of(
            with_cert_file("two.pem", two.as_bytes()),
            &["two.pem", "2 PEM blocks", "exactly one CERTIFICATE"],
        );
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        error_of(
            with_cert_file("key.pem", key.as_bytes()),
            &["key.pem", "\"PRIVATE KEY\"", "one CERTIFICATE block"],
        );
        error_of(
            with_cert_file("broken.pem", b"-----BEGIN CERTIFICATE-----\n!!!\n"),
            &["broken.pem", "bad PEM"],
        );
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
        let v4_only =
            format!("[lwm2m]\ncertificate = \"big.der\"\n[dhcpv6]\nenabled = false\n{MINIMAL}");
        let cfg = Config::parse(&v4_only, &dir.join("c.toml")).unwrap();
        assert_eq!(cfg.lwm2m.certificate.unwrap().der, big);
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
            &["missing field `name`"],
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
        error_of(vlan("[[interface.vlan]]\nid = 10\ninner_id = 3\n[[interface.vlan]]\nid = 10\ninner_id = 3"), &[
            "interface[0].vlan[1].inner_id = 3 (outer id 10)",
            "already interface[0].vlan[0]",
        ]);
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
                burst: 1
            })
        );
    }

    #[test]
    fn interfaces_are_looked_up_in_sys_class_net() {
        let dir = scratch("sysnet");
        fs::create_dir_all(dir.join("eth0")).unwrap();
        fs::create_dir_all(dir.join("lo")).unwrap();
        let cfg = parse("[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"wlan9\"").unwrap();
        let msg = check_interfaces_in(&cfg, &dir).unwrap_err().to_string();
        assert_eq!(msg, "interface[1].name = \"wlan9\": no such network interface on this host (it has: eth0, lo)");
        let ok = parse("[[interface]]\nname = \"lo\"").unwrap();
        check_interfaces_in(&ok, &dir).unwrap();
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
}
