//! Config -> map values: the one place that knows how the options look on the wire
//! (protocol.md, "Wire formats"). Every served option is encoded once, complete with its
//! headers and all its fragments; a reply block is the concatenation of the requested ones.

use std::fmt::Write as _;

use xdp_common::{
    maps::{
        Family, OptionBlock, RateLimit as RateParams, SlotConfig, V4Policy, V6Policy,
        ACTION_IGNORE, ACTION_UNSERVABLE, BIT_CERTIFICATE, BIT_URI, MASKS_PER_FAMILY,
        MAX_BLOCK_LEN, MAX_SERVED_OPTIONS, MAX_V6_CODES, POLICY_COMPLETE, POLICY_LWM2M_ONLY,
    },
    wire::{dhcpv4 as v4, dhcpv6 as v6, ipv4, udp},
};

use crate::{
    config::{Config, Policy, WireFormat},
    csum,
};

/// ietf-00 cert-encoding octet (IKEv2 Certificate Encoding): X.509 Certificate - Signature.
pub const CERT_ENCODING_X509_SIGNATURE: u8 = 4;
/// Data octets one DHCPv4 option carries (RFC 2132: a 1-octet length).
pub const V4_OPTION_MAX_DATA: usize = u8::MAX as usize;
/// draft-00 DHCPv4 URI option: reserved(2) = 0 before the URI.
const DRAFT00_URI_RESERVED: [u8; 2] = [0, 0];
/// draft-00 DHCPv4 certificate option: seq(2) before each fragment.
const DRAFT00_SEQ_LEN: usize = 2;
/// Certificate octets one draft-00 DHCPv4 fragment carries (len = 2 + n <= 255).
pub const DRAFT00_MAX_FRAGMENT: usize = V4_OPTION_MAX_DATA - DRAFT00_SEQ_LEN;
/// Data octets one DHCPv6 option carries (a 2-octet length).
pub const V6_OPTION_MAX_DATA: usize = u16::MAX as usize;

/// Longest bootstrap URI a single DHCPv4 option of `format` carries.
pub const fn v4_uri_capacity(format: WireFormat) -> usize {
    match format {
        WireFormat::Draft00 => V4_OPTION_MAX_DATA - DRAFT00_URI_RESERVED.len(),
        WireFormat::Rfc3396 | WireFormat::Ietf00 => V4_OPTION_MAX_DATA,
    }
}

/// Largest certificate (DER) one DHCPv6 option of `format` carries.
pub const fn v6_certificate_capacity(format: WireFormat) -> usize {
    match format {
        WireFormat::Draft00 | WireFormat::Rfc3396 => V6_OPTION_MAX_DATA,
        WireFormat::Ietf00 => V6_OPTION_MAX_DATA - 1,
    }
}

/// Option names, as `EncodedOption::name` and the CLI show them.
pub const NAME_URI: &str = "lwm2m-uri";
pub const NAME_CERTIFICATE: &str = "lwm2m-certificate";
pub const NAME_IRT: &str = "information-refresh-time";

/// One served option, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedOption {
    /// Its bit in a served-set mask.
    pub bit: u8,
    pub code: u16,
    /// "lwm2m-uri", "lwm2m-certificate", "extra 6", "information-refresh-time".
    pub name: String,
    /// An LwM2M option (a request must ask for one of them to be answered).
    pub lwm2m: bool,
    /// Complete on-wire bytes: every fragment / split, headers included.
    pub bytes: Vec<u8>,
}

/// Everything one config generation puts in the maps (except per-interface addresses).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub slot: SlotConfig,
    /// Served DHCPv4 options in bit order (empty when DHCPv4 is disabled).
    pub v4: Vec<EncodedOption>,
    /// Served DHCPv6 options in bit order (empty when DHCPv6 is disabled).
    pub v6: Vec<EncodedOption>,
    /// What `summary` and `annotated_hex` tell beyond the bytes.
    about: About,
}

#[derive(Debug, Clone)]
struct About {
    wire_format: WireFormat,
    policy: Policy,
    v4_enabled: bool,
    v6_enabled: bool,
    v4_codes: [u16; 2],
    v6_codes: [u16; 2],
    uri: Option<String>,
    /// Subject, SHA-256, DER length.
    certificate: Option<(String, [u8; 32], usize)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("{family} {name} (code {code}): {len} octets, more than one option carries ({max})")]
    TooLong {
        family: &'static str,
        name: String,
        code: u16,
        len: usize,
        max: usize,
    },
    #[error("{family}: {count} options to serve, more than the {max} a request mask covers")]
    TooManyOptions {
        family: &'static str,
        count: usize,
        max: usize,
    },
    #[error("DHCPv6: {count} codes for the request policy table, which holds {max}")]
    TooManyV6Codes { count: usize, max: usize },
}

/// code(1) len(1) data: one DHCPv4 option; `data` must fit.
fn v4_option(code: u8, data: &[u8]) -> Vec<u8> {
    let len = u8::try_from(data.len()).expect("callers split DHCPv4 data at 255 octets");
    let mut out = Vec::with_capacity(2 + data.len());
    out.extend([code, len]);
    out.extend_from_slice(data);
    out
}

/// RFC 3396: the minimum number of consecutive options of `code` whose data, concatenated,
/// is `data`.
fn v4_split(code: u8, data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return v4_option(code, data);
    }
    data.chunks(V4_OPTION_MAX_DATA)
        .flat_map(|chunk| v4_option(code, chunk))
        .collect()
}

/// code(2) len(2) data: one DHCPv6 option.
fn v6_option(name: &str, code: u16, data: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError::TooLong {
        family: "DHCPv6",
        name: name.to_string(),
        code,
        len: data.len(),
        max: V6_OPTION_MAX_DATA,
    })?;
    let mut out = Vec::with_capacity(v6::OPT_HDR_LEN + data.len());
    out.extend(code.to_be_bytes());
    out.extend(len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// The DHCPv4 bootstrap URI option in `format`.
pub fn v4_uri(format: WireFormat, code: u8, uri: &str) -> Result<Vec<u8>, EncodeError> {
    let max = v4_uri_capacity(format);
    if uri.len() > max {
        return Err(EncodeError::TooLong {
            family: "DHCPv4",
            name: NAME_URI.to_string(),
            code: code.into(),
            len: uri.len(),
            max,
        });
    }
    Ok(match format {
        WireFormat::Draft00 => {
            v4_option(code, &[&DRAFT00_URI_RESERVED[..], uri.as_bytes()].concat())
        }
        WireFormat::Rfc3396 | WireFormat::Ietf00 => v4_option(code, uri.as_bytes()),
    })
}

/// The DHCPv4 certificate option(s) in `format`: draft-00 fragments with sequence numbers
/// 0, 1, 2 ..., or an RFC 3396 split (ietf-00: of cert-encoding + certificate).
pub fn v4_certificate(format: WireFormat, code: u8, der: &[u8]) -> Vec<u8> {
    match format {
        WireFormat::Draft00 => der
            .chunks(DRAFT00_MAX_FRAGMENT)
            .zip(0u16..)
            .flat_map(|(fragment, seq)| {
                v4_option(code, &[&seq.to_be_bytes()[..], fragment].concat())
            })
            .collect(),
        WireFormat::Rfc3396 => v4_split(code, der),
        WireFormat::Ietf00 => v4_split(code, &[&[CERT_ENCODING_X509_SIGNATURE][..], der].concat()),
    }
}

/// The DHCPv6 bootstrap URI option (the same in every format).
pub fn v6_uri(code: u16, uri: &str) -> Result<Vec<u8>, EncodeError> {
    v6_option(NAME_URI, code, uri.as_bytes())
}

/// The DHCPv6 certificate option in `format` (ietf-00: cert-encoding first).
pub fn v6_certificate(format: WireFormat, code: u16, der: &[u8]) -> Result<Vec<u8>, EncodeError> {
    match format {
        WireFormat::Draft00 | WireFormat::Rfc3396 => v6_option(NAME_CERTIFICATE, code, der),
        WireFormat::Ietf00 => v6_option(
            NAME_CERTIFICATE,
            code,
            &[&[CERT_ENCODING_X509_SIGNATURE][..], der].concat(),
        ),
    }
}

/// The bit of the `index`th extra option of a family.
fn extra_bit(index: usize) -> u8 {
    BIT_CERTIFICATE + 1 + index as u8
}

fn extra_name(code: impl std::fmt::Display) -> String {
    format!("extra {code}")
}

fn check_bits(family: &'static str, options: &[EncodedOption]) -> Result<(), EncodeError> {
    match options.iter().map(|o| usize::from(o.bit) + 1).max() {
        Some(count) if count > MAX_SERVED_OPTIONS => Err(EncodeError::TooManyOptions {
            family,
            count,
            max: MAX_SERVED_OPTIONS,
        }),
        _ => Ok(()),
    }
}

fn encode_v4(cfg: &Config) -> Result<Vec<EncodedOption>, EncodeError> {
    let (lwm2m, d4) = (&cfg.lwm2m, &cfg.dhcpv4);
    let mut out = Vec::new();
    if let Some(uri) = &lwm2m.bootstrap_uri {
        out.push(EncodedOption {
            bit: BIT_URI,
            code: d4.uri_option.into(),
            name: NAME_URI.into(),
            lwm2m: true,
            bytes: v4_uri(lwm2m.wire_format, d4.uri_option, uri)?,
        });
    }
    if let Some(cert) = &lwm2m.certificate {
        out.push(EncodedOption {
            bit: BIT_CERTIFICATE,
            code: d4.certificate_option.into(),
            name: NAME_CERTIFICATE.into(),
            lwm2m: true,
            bytes: v4_certificate(lwm2m.wire_format, d4.certificate_option, &cert.der),
        });
    }
    for (i, extra) in d4.extra_options.iter().enumerate() {
        if extra.data.len() > V4_OPTION_MAX_DATA {
            return Err(EncodeError::TooLong {
                family: "DHCPv4",
                name: extra_name(extra.code),
                code: extra.code.into(),
                len: extra.data.len(),
                max: V4_OPTION_MAX_DATA,
            });
        }
        out.push(EncodedOption {
            bit: extra_bit(i),
            code: extra.code.into(),
            name: extra_name(extra.code),
            lwm2m: false,
            bytes: v4_option(extra.code, &extra.data),
        });
    }
    check_bits("DHCPv4", &out)?;
    Ok(out)
}

fn encode_v6(cfg: &Config) -> Result<Vec<EncodedOption>, EncodeError> {
    let (lwm2m, d6) = (&cfg.lwm2m, &cfg.dhcpv6);
    let mut out = Vec::new();
    if let Some(uri) = &lwm2m.bootstrap_uri {
        out.push(EncodedOption {
            bit: BIT_URI,
            code: d6.uri_option,
            name: NAME_URI.into(),
            lwm2m: true,
            bytes: v6_uri(d6.uri_option, uri)?,
        });
    }
    if let Some(cert) = &lwm2m.certificate {
        out.push(EncodedOption {
            bit: BIT_CERTIFICATE,
            code: d6.certificate_option,
            name: NAME_CERTIFICATE.into(),
            lwm2m: true,
            bytes: v6_certificate(lwm2m.wire_format, d6.certificate_option, &cert.der)?,
        });
    }
    for (i, extra) in d6.extra_options.iter().enumerate() {
        let name = extra_name(extra.code);
        out.push(EncodedOption {
            bit: extra_bit(i),
            code: extra.code,
            bytes: v6_option(&name, extra.code, &extra.data)?,
            name,
            lwm2m: false,
        });
    }
    if let Some(irt) = d6.information_refresh_time {
        let code = v6::OPT_INFORMATION_REFRESH_TIME;
        out.push(EncodedOption {
            bit: extra_bit(d6.extra_options.len()),
            code,
            name: NAME_IRT.into(),
            lwm2m: false,
            bytes: v6_option(NAME_IRT, code, &irt.to_be_bytes())?,
        });
    }
    check_bits("DHCPv6", &out)?;
    Ok(out)
}

fn lwm2m_mask(options: &[EncodedOption]) -> u8 {
    options
        .iter()
        .filter(|o| o.lwm2m)
        .fold(0, |mask, o| mask | 1 << o.bit)
}

fn policy_value(policy: Policy) -> u8 {
    match policy {
        Policy::Complete => POLICY_COMPLETE,
        Policy::Lwm2mOnly => POLICY_LWM2M_ONLY,
    }
}

/// Codes a PRL may list that never stop a complete answer: those an ACK to INFORM never
/// carries, and those every reply carries anyway (53, 54) or that are no options (0, 255).
const V4_IGNORED: [u8; 4] = [
    v4::OPT_PAD,
    v4::OPT_END,
    v4::OPT_MESSAGE_TYPE,
    v4::OPT_SERVER_ID,
];

fn v4_policy(cfg: &Config, options: &[EncodedOption]) -> V4Policy {
    let mut code_action = [ACTION_UNSERVABLE; 256];
    for code in v4::NEVER_IN_INFORM_ACK.iter().chain(&V4_IGNORED) {
        code_action[usize::from(*code)] = ACTION_IGNORE;
    }
    for option in options {
        code_action[usize::from(option.code)] = option.bit;
    }
    V4Policy {
        code_action,
        lwm2m_mask: lwm2m_mask(options),
        policy: policy_value(cfg.lwm2m.policy),
        enabled: u8::from(cfg.dhcpv4.enabled),
        _pad: 0,
    }
}

fn v6_policy(cfg: &Config, options: &[EncodedOption]) -> Result<V6Policy, EncodeError> {
    let mut entries: Vec<(u16, u8)> = options.iter().map(|o| (o.code, o.bit)).collect();
    entries.extend(v6::MAY_OMIT.iter().map(|&code| (code, ACTION_IGNORE)));
    if !options
        .iter()
        .any(|o| o.code == v6::OPT_INFORMATION_REFRESH_TIME)
    {
        entries.push((v6::OPT_INFORMATION_REFRESH_TIME, ACTION_IGNORE));
    }
    if entries.len() > MAX_V6_CODES {
        return Err(EncodeError::TooManyV6Codes {
            count: entries.len(),
            max: MAX_V6_CODES,
        });
    }
    let mut codes = [0u16; MAX_V6_CODES];
    let mut actions = [ACTION_UNSERVABLE; MAX_V6_CODES];
    for (i, (code, action)) in entries.iter().enumerate() {
        codes[i] = *code;
        actions[i] = *action;
    }
    Ok(V6Policy {
        codes,
        actions,
        n_codes: entries.len() as u32,
        lwm2m_mask: lwm2m_mask(options),
        policy: policy_value(cfg.lwm2m.policy),
        enabled: u8::from(cfg.dhcpv6.enabled),
        _pad: 0,
    })
}

/// Encodes every option the config serves and the request policy of both families.
pub fn compile(cfg: &Config) -> Result<Compiled, EncodeError> {
    let v4 = if cfg.dhcpv4.enabled {
        encode_v4(cfg)?
    } else {
        Vec::new()
    };
    let v6 = if cfg.dhcpv6.enabled {
        encode_v6(cfg)?
    } else {
        Vec::new()
    };
    let rate = cfg.rate_limit.map_or(
        RateParams {
            per_second: 0,
            burst: 0,
        },
        |r| RateParams {
            per_second: r.per_client_rate,
            burst: r.burst,
        },
    );
    let slot = SlotConfig {
        v4: v4_policy(cfg, &v4),
        v6: v6_policy(cfg, &v6)?,
        rate,
    };
    let about = About {
        wire_format: cfg.lwm2m.wire_format,
        policy: cfg.lwm2m.policy,
        v4_enabled: cfg.dhcpv4.enabled,
        v6_enabled: cfg.dhcpv6.enabled,
        v4_codes: [
            cfg.dhcpv4.uri_option.into(),
            cfg.dhcpv4.certificate_option.into(),
        ],
        v6_codes: [cfg.dhcpv6.uri_option, cfg.dhcpv6.certificate_option],
        uri: cfg.lwm2m.bootstrap_uri.clone(),
        certificate: cfg
            .lwm2m
            .certificate
            .as_ref()
            .map(|c| (c.subject.clone(), c.sha256, c.der.len())),
    };
    Ok(Compiled {
        slot,
        v4,
        v6,
        about,
    })
}

/// One option instance inside `EncodedOption::bytes`.
struct Instance<'a> {
    /// Where its header starts.
    offset: usize,
    /// Where its data ends.
    end: usize,
    code: u16,
    data: &'a [u8],
}

/// Splits encoded bytes back into option instances (they are ours, so well-formed).
fn instances(family: Family, bytes: &[u8]) -> Vec<Instance<'_>> {
    let hdr = match family {
        Family::V4 => 2,
        Family::V6 => v6::OPT_HDR_LEN,
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at + hdr <= bytes.len() {
        let (code, len) = match family {
            Family::V4 => (u16::from(bytes[at]), usize::from(bytes[at + 1])),
            Family::V6 => (
                u16::from_be_bytes([bytes[at], bytes[at + 1]]),
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
            ),
        };
        let end = (at + hdr + len).min(bytes.len());
        out.push(Instance {
            offset: at,
            end,
            code,
            data: &bytes[at + hdr..end],
        });
        at = end;
    }
    out
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "DHCPv4",
        Family::V6 => "DHCPv6",
    }
}

/// `data` as 16 octets a line: offset (from `base`), hex, and printable ASCII.
fn hex_dump(out: &mut String, base: usize, data: &[u8], indent: &str) {
    for (i, line) in data.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{indent}{:04x}  {:<47}  |{ascii}|",
            base + i * 16,
            hex.join(" ")
        );
    }
}

fn fmt_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Compiled {
    fn options(&self, family: Family) -> &[EncodedOption] {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// The options of `family` whose bit is in `mask`, concatenated in bit order.
    fn concatenated(&self, family: Family, mask: u32) -> Vec<u8> {
        let mut options: Vec<&EncodedOption> = self
            .options(family)
            .iter()
            .filter(|o| mask & (1 << o.bit) != 0)
            .collect();
        options.sort_by_key(|o| o.bit);
        options
            .iter()
            .flat_map(|o| o.bytes.iter().copied())
            .collect()
    }

    /// The blocks of every mask of `family` (index = mask): what one generation writes.
    pub fn blocks(&self, family: Family) -> Vec<OptionBlock> {
        (0..MASKS_PER_FAMILY)
            .map(|mask| self.block(family, mask))
            .collect()
    }

    /// The map value for one reply shape: the options whose bit is in `mask`, in bit order,
    /// and their checksum partial sum (maps.rs `OptionBlock`). Length 0 when they do not fit
    /// MAX_BLOCK_LEN: the kernel then passes such requests on.
    pub fn block(&self, family: Family, mask: u32) -> OptionBlock {
        let data = self.concatenated(family, mask);
        let mut block = OptionBlock {
            len: 0,
            _pad: 0,
            csum: 0,
            data: [0; MAX_BLOCK_LEN],
        };
        if data.len() <= MAX_BLOCK_LEN {
            block.data[..data.len()].copy_from_slice(&data);
            block.len = data.len() as u16;
            block.csum = u32::from(csum::sum_be(&data));
        }
        block
    }

    /// What one instance of `option` holds, for `annotated_hex`.
    fn describe(
        &self,
        family: Family,
        option: &EncodedOption,
        k: usize,
        m: usize,
        data: &[u8],
    ) -> String {
        let format = self.about.wire_format;
        let split = if m > 1 {
            format!("split {} of {m} (RFC 3396), ", k + 1)
        } else {
            String::new()
        };
        let encoding = |bytes: &[u8]| {
            format!(
                "cert-encoding {} (X.509 Certificate - Signature), {} octets of certificate",
                bytes[0],
                bytes.len() - 1
            )
        };
        match (family, option.name.as_str(), format) {
            (Family::V4, NAME_URI, WireFormat::Draft00) => {
                format!(
                    "reserved 0x{}, URI of {} octets",
                    fmt_hex(&data[..2]),
                    data.len() - 2
                )
            }
            (_, NAME_URI, _) => format!("URI of {} octets", data.len()),
            (Family::V4, NAME_CERTIFICATE, WireFormat::Draft00) => format!(
                "fragment seq {} ({} of {m}), {} octets of certificate",
                u16::from_be_bytes([data[0], data[1]]),
                k + 1,
                data.len() - DRAFT00_SEQ_LEN
            ),
            (_, NAME_CERTIFICATE, WireFormat::Ietf00) if k == 0 => {
                format!("{split}{}", encoding(data))
            }
            (_, NAME_CERTIFICATE, _) => format!("{split}{} octets of certificate", data.len()),
            (_, NAME_IRT, _) => {
                format!(
                    "{} s",
                    u32::from_be_bytes([data[0], data[1], data[2], data[3]])
                )
            }
            _ => format!("{split}{} octets of data", data.len()),
        }
    }

    /// For the `encode` subcommand: every option of each family, its code and lengths, and a
    /// hex dump of its bytes with a note per instance (fragment / split).
    pub fn annotated_hex(&self) -> String {
        let about = &self.about;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "wire format {}, policy {}",
            about.wire_format, about.policy
        );
        for (family, enabled) in [
            (Family::V4, about.v4_enabled),
            (Family::V6, about.v6_enabled),
        ] {
            let options = self.options(family);
            let _ = writeln!(out);
            if !enabled {
                let _ = writeln!(out, "{}: disabled", family_name(family));
                continue;
            }
            let _ = writeln!(out, "{}: {} options", family_name(family), options.len());
            for option in options {
                let parts = instances(family, &option.bytes);
                let _ = writeln!(
                    out,
                    "bit {} {}: code {}, {} octets on the wire in {} option{}",
                    option.bit,
                    option.name,
                    option.code,
                    option.bytes.len(),
                    parts.len(),
                    if parts.len() == 1 { "" } else { "s" }
                );
                for (k, part) in parts.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "  +{:04x} option {} len {}: {}",
                        part.offset,
                        part.code,
                        part.data.len(),
                        self.describe(family, option, k, parts.len(), part.data)
                    );
                    hex_dump(
                        &mut out,
                        part.offset,
                        &option.bytes[part.offset..part.end],
                        "    ",
                    );
                }
            }
        }
        out
    }

    /// For `check`: what would be served, per family.
    pub fn summary(&self) -> String {
        let about = &self.about;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "wire format {}, policy {}",
            about.wire_format, about.policy
        );
        for (family, enabled, codes) in [
            (Family::V4, about.v4_enabled, about.v4_codes),
            (Family::V6, about.v6_enabled, about.v6_codes),
        ] {
            if !enabled {
                let _ = writeln!(out, "{}: disabled", family_name(family));
                continue;
            }
            let _ = writeln!(out, "{}: enabled", family_name(family));
            let options = self.options(family);
            let find = |bit: u8| options.iter().find(|o| o.bit == bit && o.lwm2m);
            match (find(BIT_URI), &about.uri) {
                (Some(o), Some(uri)) => {
                    let _ = writeln!(
                        out,
                        "  {NAME_URI} (code {}): {uri:?}, {}",
                        o.code,
                        self.size_note(family, o)
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "  {NAME_URI} (code {}): not configured, not served",
                        codes[0]
                    );
                }
            }
            match (find(BIT_CERTIFICATE), &about.certificate) {
                (Some(o), Some((subject, sha256, der_len))) => {
                    let _ = writeln!(
                        out,
                        "  {NAME_CERTIFICATE} (code {}): subject {subject:?}, {der_len} octets DER, sha256 {}, {}",
                        o.code,
                        fmt_hex(sha256),
                        self.size_note(family, o)
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "  {NAME_CERTIFICATE} (code {}): not configured, not served",
                        codes[1]
                    );
                }
            }
            for o in options.iter().filter(|o| !o.lwm2m) {
                let _ = writeln!(
                    out,
                    "  {} (code {}): {}",
                    o.name,
                    o.code,
                    self.size_note(family, o)
                );
            }
            let all = self.concatenated(family, u32::MAX).len();
            let fits = if all <= MAX_BLOCK_LEN {
                "fits"
            } else {
                "does NOT fit: a request for all of them is passed on"
            };
            let _ = writeln!(out, "  every option together: {all} octets, {fits} (a reply block holds {MAX_BLOCK_LEN})");
        }
        out
    }

    /// "N octets on the wire in K options", plus why it may not be served.
    fn size_note(&self, family: Family, option: &EncodedOption) -> String {
        let count = instances(family, &option.bytes).len();
        let mut note = format!(
            "{} octets on the wire in {count} option{}",
            option.bytes.len(),
            if count == 1 { "" } else { "s" }
        );
        if option.bytes.len() > MAX_BLOCK_LEN {
            let _ = write!(
                note,
                "; too large for a reply block ({MAX_BLOCK_LEN}): never served by the fast path"
            );
        } else if family == Family::V4 {
            // IP + UDP + BOOTP header, 53 (3 octets), 54 (6), this option, End (1).
            let datagram =
                ipv4::HDR_LEN + udp::HDR_LEN + v4::OFF_OPTIONS + 3 + 6 + option.bytes.len() + 1;
            if datagram > ipv4::MIN_MAX_DATAGRAM {
                let _ = write!(
                    note,
                    "; a DHCPACK with it is at least {datagram} octets of IP, over {}: the client must allow it \
                     with option 57",
                    ipv4::MIN_MAX_DATAGRAM
                );
            }
        }
        note
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{
        AttachMode, Certificate, Dhcpv4, Dhcpv6, ExtraOption, Interface, Lwm2m, RateLimit,
        SlowPath, SlowPathMode,
    };
    use std::path::PathBuf;

    /// Certificate-like bytes: the encoders never look inside.
    pub(crate) fn fake_cert(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
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

    const URI: &str = "coap://a";

    #[test]
    fn v4_uri_fixtures() {
        assert_eq!(
            v4_uri(WireFormat::Draft00, 224, URI).unwrap(),
            b"\xe0\x0a\x00\x00coap://a"
        );
        assert_eq!(
            v4_uri(WireFormat::Rfc3396, 224, URI).unwrap(),
            b"\xe0\x08coap://a"
        );
        assert_eq!(
            v4_uri(WireFormat::Ietf00, 230, URI).unwrap(),
            b"\xe6\x08coap://a"
        );
        let long = "u".repeat(254);
        assert_eq!(
            v4_uri(WireFormat::Draft00, 224, &long),
            Err(EncodeError::TooLong {
                family: "DHCPv4",
                name: NAME_URI.into(),
                code: 224,
                len: 254,
                max: 253
            })
        );
        assert_eq!(v4_uri(WireFormat::Rfc3396, 224, &long).unwrap().len(), 256);
    }

    #[test]
    fn v6_uri_fixture() {
        // 65001 = 0xfde9.
        assert_eq!(v6_uri(65001, URI).unwrap(), b"\xfd\xe9\x00\x08coap://a");
    }

    #[test]
    fn draft00_certificate_fragments_carry_sequence_numbers() {
        let cert = fake_cert(600);
        let mut expected = vec![225, 255, 0, 0];
        expected.extend(&cert[0..253]);
        expected.extend([225, 255, 0, 1]);
        expected.extend(&cert[253..506]);
        expected.extend([225, 96, 0, 2]);
        expected.extend(&cert[506..600]);
        assert_eq!(v4_certificate(WireFormat::Draft00, 225, &cert), expected);
    }

    #[test]
    fn rfc3396_certificate_is_split_in_255_octet_pieces() {
        let cert = fake_cert(600);
        let mut expected = vec![225, 255];
        expected.extend(&cert[0..255]);
        expected.extend([225, 255]);
        expected.extend(&cert[255..510]);
        expected.extend([225, 90]);
        expected.extend(&cert[510..600]);
        assert_eq!(v4_certificate(WireFormat::Rfc3396, 225, &cert), expected);
        // Exactly 255: one option, no empty second one.
        assert_eq!(
            v4_certificate(WireFormat::Rfc3396, 225, &fake_cert(255)).len(),
            257
        );
    }

    #[test]
    fn ietf00_certificate_starts_with_the_cert_encoding() {
        let cert = fake_cert(600);
        let mut expected = vec![225, 255, CERT_ENCODING_X509_SIGNATURE];
        expected.extend(&cert[0..254]);
        expected.extend([225, 255]);
        expected.extend(&cert[254..509]);
        expected.extend([225, 91]);
        expected.extend(&cert[509..600]);
        assert_eq!(v4_certificate(WireFormat::Ietf00, 225, &cert), expected);

        let mut v6_expected = vec![0xfd, 0xea, 0x02, 0x59, 4];
        v6_expected.extend(&cert);
        assert_eq!(
            v6_certificate(WireFormat::Ietf00, 65002, &cert).unwrap(),
            v6_expected
        );
        for format in [WireFormat::Draft00, WireFormat::Rfc3396] {
            let mut plain = vec![0xfd, 0xea, 0x02, 0x58];
            plain.extend(&cert);
            assert_eq!(v6_certificate(format, 65002, &cert).unwrap(), plain);
        }
    }

    #[test]
    fn certificates_use_the_minimum_number_of_options() {
        // (size, draft-00, rfc3396, ietf-00)
        for (size, counts) in [
            (300, [2, 2, 2]),
            (1000, [4, 4, 4]),
            (1400, [6, 6, 6]),
            (253, [1, 1, 1]),
            (254, [2, 1, 1]),
            (255, [2, 1, 2]),
        ] {
            for (format, expected) in WireFormat::ALL.into_iter().zip(counts) {
                let bytes = v4_certificate(format, 225, &fake_cert(size));
                let parts = instances(Family::V4, &bytes);
                assert_eq!(parts.len(), expected, "{format} {size}");
                let capacity = match format {
                    WireFormat::Draft00 => DRAFT00_MAX_FRAGMENT,
                    _ => V4_OPTION_MAX_DATA,
                };
                let payload = size + usize::from(format == WireFormat::Ietf00);
                assert!((expected - 1) * capacity < payload && payload <= expected * capacity);
                assert!(parts.iter().all(|p| p.code == 225
                    && p.data.len() > usize::from(format == WireFormat::Draft00) * 2));
                assert_eq!(
                    bytes.len(),
                    payload + expected * (2 + if format == WireFormat::Draft00 { 2 } else { 0 })
                );
            }
        }
    }

    #[test]
    fn v6_options_longer_than_65535_are_errors() {
        let err = v6_certificate(WireFormat::Ietf00, 65002, &fake_cert(65535)).unwrap_err();
        assert_eq!(
            err,
            EncodeError::TooLong {
                family: "DHCPv6",
                name: NAME_CERTIFICATE.into(),
                code: 65002,
                len: 65536,
                max: 65535
            }
        );
        assert!(err.to_string().contains("65536 octets"));
        assert!(v6_certificate(WireFormat::Draft00, 65002, &fake_cert(65535)).is_ok());
    }

    fn full_config() -> Config {
        let mut cfg = config(WireFormat::Draft00, Some(URI), Some(fake_cert(600)));
        cfg.dhcpv4.extra_options = vec![
            ExtraOption {
                code: 6,
                data: vec![198, 18, 0, 53],
            },
            ExtraOption {
                code: 15,
                data: b"example.net".to_vec(),
            },
        ];
        cfg.dhcpv6.extra_options = vec![ExtraOption {
            code: 23,
            data: vec![
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
            ],
        }];
        cfg.dhcpv6.information_refresh_time = Some(86400);
        cfg.rate_limit = Some(RateLimit {
            per_client_rate: 10,
            burst: 20,
        });
        cfg
    }

    #[test]
    fn compile_assigns_bits_in_config_order() {
        let compiled = compile(&full_config()).unwrap();
        let v4: Vec<(u8, u16, &str, bool)> = compiled
            .v4
            .iter()
            .map(|o| (o.bit, o.code, o.name.as_str(), o.lwm2m))
            .collect();
        assert_eq!(
            v4,
            [
                (0, 224, "lwm2m-uri", true),
                (1, 225, "lwm2m-certificate", true),
                (2, 6, "extra 6", false),
                (3, 15, "extra 15", false)
            ]
        );
        assert_eq!(compiled.v4[2].bytes, [6, 4, 198, 18, 0, 53]);
        let v6: Vec<(u8, u16, &str, bool)> = compiled
            .v6
            .iter()
            .map(|o| (o.bit, o.code, o.name.as_str(), o.lwm2m))
            .collect();
        assert_eq!(
            v6,
            [
                (0, 65001, "lwm2m-uri", true),
                (1, 65002, "lwm2m-certificate", true),
                (2, 23, "extra 23", false),
                (3, 32, "information-refresh-time", false)
            ]
        );
        assert_eq!(compiled.v6[3].bytes, [0, 32, 0, 4, 0x00, 0x01, 0x51, 0x80]);
    }

    #[test]
    fn v4_policy_maps_codes_to_bits_and_ignores() {
        let compiled = compile(&full_config()).unwrap();
        let p = &compiled.slot.v4;
        assert_eq!(
            (
                p.code_action[224],
                p.code_action[225],
                p.code_action[6],
                p.code_action[15]
            ),
            (0, 1, 2, 3)
        );
        for code in [0u8, 51, 53, 54, 58, 59, 255] {
            assert_eq!(
                p.code_action[usize::from(code)],
                ACTION_IGNORE,
                "code {code}"
            );
        }
        for code in [1u8, 3, 50, 55, 57, 61, 82, 226] {
            assert_eq!(
                p.code_action[usize::from(code)],
                ACTION_UNSERVABLE,
                "code {code}"
            );
        }
        assert_eq!(p.lwm2m_mask, 0b11);
        assert_eq!((p.policy, p.enabled), (POLICY_COMPLETE, 1));
        assert_eq!(
            (compiled.slot.rate.per_second, compiled.slot.rate.burst),
            (10, 20)
        );
    }

    #[test]
    fn v6_policy_lists_served_and_ignored_codes() {
        let compiled = compile(&full_config()).unwrap();
        let p = &compiled.slot.v6;
        let listed: Vec<(u16, u8)> = (0..p.n_codes as usize)
            .map(|i| (p.codes[i], p.actions[i]))
            .collect();
        assert_eq!(
            listed,
            [
                (65001, 0),
                (65002, 1),
                (23, 2),
                (32, 3),
                (82, ACTION_IGNORE),
                (83, ACTION_IGNORE)
            ]
        );
        assert!(p.actions[p.n_codes as usize..]
            .iter()
            .all(|&a| a == ACTION_UNSERVABLE));
        assert_eq!(p.lwm2m_mask, 0b11);

        // Without an IRT, asking for 32 is no reason to pass.
        let plain = compile(&config(WireFormat::Rfc3396, Some(URI), None)).unwrap();
        let p = &plain.slot.v6;
        let listed: Vec<(u16, u8)> = (0..p.n_codes as usize)
            .map(|i| (p.codes[i], p.actions[i]))
            .collect();
        assert_eq!(
            listed,
            [
                (65001, 0),
                (82, ACTION_IGNORE),
                (83, ACTION_IGNORE),
                (32, ACTION_IGNORE)
            ]
        );
    }

    #[test]
    fn missing_lwm2m_options_get_no_bit() {
        let mut cfg = config(WireFormat::Draft00, None, Some(fake_cert(300)));
        cfg.dhcpv4.extra_options = vec![ExtraOption {
            code: 6,
            data: vec![1, 2, 3, 4],
        }];
        cfg.lwm2m.policy = Policy::Lwm2mOnly;
        let compiled = compile(&cfg).unwrap();
        assert_eq!(
            compiled.v4.iter().map(|o| o.bit).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(compiled.slot.v4.code_action[224], ACTION_UNSERVABLE);
        assert_eq!(compiled.slot.v4.lwm2m_mask, 0b10);
        assert_eq!(compiled.slot.v4.policy, POLICY_LWM2M_ONLY);
        assert_eq!(compiled.slot.v6.lwm2m_mask, 0b10);
        assert_eq!(
            (compiled.slot.rate.per_second, compiled.slot.rate.burst),
            (0, 0)
        );
    }

    #[test]
    fn a_disabled_family_serves_nothing() {
        let mut cfg = config(WireFormat::Draft00, Some(URI), None);
        cfg.dhcpv6.enabled = false;
        let compiled = compile(&cfg).unwrap();
        assert!(compiled.v6.is_empty());
        assert_eq!(
            (compiled.slot.v6.enabled, compiled.slot.v6.lwm2m_mask),
            (0, 0)
        );
        assert_eq!(compiled.slot.v4.enabled, 1);
        assert_eq!(compiled.block(Family::V6, 0b1).len, 0);
        assert!(compiled.summary().contains("DHCPv6: disabled"));
    }

    /// The RFC 1071 sum, the slow way.
    fn naive_sum(data: &[u8]) -> u32 {
        let mut sum: u32 = 0;
        for (i, &b) in data.iter().enumerate() {
            sum += if i % 2 == 0 {
                u32::from(b) << 8
            } else {
                u32::from(b)
            };
        }
        while sum > 0xFFFF {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        sum
    }

    #[test]
    fn blocks_concatenate_in_bit_order_with_their_sum() {
        let compiled = compile(&full_config()).unwrap();
        for family in [Family::V4, Family::V6] {
            let options = compiled.options(family);
            for mask in 0..(1u32 << options.len()) {
                let block = compiled.block(family, mask);
                let expected: Vec<u8> = options
                    .iter()
                    .filter(|o| mask & (1 << o.bit) != 0)
                    .flat_map(|o| o.bytes.clone())
                    .collect();
                assert_eq!(
                    &block.data[..usize::from(block.len)],
                    &expected[..],
                    "{family:?} mask {mask:#b}"
                );
                assert!(block.data[usize::from(block.len)..].iter().all(|&b| b == 0));
                assert_eq!(
                    block.csum,
                    naive_sum(&expected),
                    "{family:?} mask {mask:#b}"
                );
            }
        }
        // Mask bits with no option add nothing.
        let v4_all = compiled.block(Family::V4, 0b1111);
        let v4_more = compiled.block(Family::V4, 0xFF);
        assert_eq!(v4_all.len, v4_more.len);
        // Order is by bit, whatever the order of the mask's bits.
        let v4 = compiled.block(Family::V4, 0b101);
        let mut expected = compiled.v4[0].bytes.clone();
        expected.extend(&compiled.v4[2].bytes);
        assert_eq!(&v4.data[..usize::from(v4.len)], &expected[..]);
    }

    #[test]
    fn blocks_that_do_not_fit_are_empty() {
        let big = MAX_BLOCK_LEN - 4 - 10;
        let mut cfg = config(
            WireFormat::Draft00,
            Some("coap://0123456789"),
            Some(fake_cert(big)),
        );
        cfg.dhcpv4.enabled = false;
        let compiled = compile(&cfg).unwrap();
        let cert_only = compiled.block(Family::V6, 0b10);
        assert_eq!(usize::from(cert_only.len), MAX_BLOCK_LEN - 10);
        let both = compiled.block(Family::V6, 0b11);
        assert_eq!((both.len, both.csum), (0, 0));
        assert!(both.data.iter().all(|&b| b == 0));
        assert!(compiled.summary().contains("does NOT fit"));

        let exact = compile(&config(
            WireFormat::Draft00,
            None,
            Some(fake_cert(MAX_BLOCK_LEN - 4)),
        ))
        .unwrap();
        assert_eq!(
            usize::from(exact.block(Family::V6, 0b10).len),
            MAX_BLOCK_LEN
        );
    }

    #[test]
    fn annotated_hex_notes_each_instance() {
        let compiled = compile(&full_config()).unwrap();
        let text = compiled.annotated_hex();
        assert!(
            text.starts_with("wire format draft-00, policy complete\n"),
            "{text}"
        );
        assert!(
            text.contains("bit 0 lwm2m-uri: code 224, 12 octets on the wire in 1 option\n"),
            "{text}"
        );
        assert!(
            text.contains("  +0000 option 224 len 10: reserved 0x0000, URI of 8 octets\n"),
            "{text}"
        );
        assert!(
            text.contains("    0000  e0 0a 00 00 63 6f 61 70 3a 2f 2f 61"),
            "{text}"
        );
        assert!(text
            .contains("bit 1 lwm2m-certificate: code 225, 612 octets on the wire in 3 options\n"));
        assert!(text.contains(
            "  +0000 option 225 len 255: fragment seq 0 (1 of 3), 253 octets of certificate"
        ));
        assert!(text.contains(
            "  +0101 option 225 len 255: fragment seq 1 (2 of 3), 253 octets of certificate"
        ));
        assert!(text.contains(
            "  +0202 option 225 len 96: fragment seq 2 (3 of 3), 94 octets of certificate"
        ));
        assert!(
            text.contains("    0200  "),
            "dump offsets run on across fragments: {text}"
        );
        assert!(text.contains("option 32 len 4: 86400 s"));
        assert!(text.contains("option 6 len 4: 4 octets of data"));

        let ietf = compile(&config(WireFormat::Ietf00, Some(URI), Some(fake_cert(600))))
            .unwrap()
            .annotated_hex();
        assert!(ietf.contains("option 225 len 255: split 1 of 3 (RFC 3396), cert-encoding 4 (X.509 Certificate - Signature), 254 octets of certificate"), "{ietf}");
        assert!(
            ietf.contains("option 225 len 91: split 3 of 3 (RFC 3396), 91 octets of certificate"),
            "{ietf}"
        );
        assert!(
            ietf.contains("option 65002 len 601: cert-encoding 4"),
            "{ietf}"
        );
        // Every dumped line holds at most 16 octets.
        for line in ietf.lines().filter(|l| l.starts_with("    ")) {
            let hex = line[10..].split("  |").next().unwrap();
            assert!(hex.split_whitespace().count() <= 16, "{line}");
        }
    }

    #[test]
    fn summary_tells_what_is_served() {
        let text = compile(&full_config()).unwrap().summary();
        assert!(text.contains("DHCPv4: enabled"));
        assert!(
            text.contains(
                "  lwm2m-uri (code 224): \"coap://a\", 12 octets on the wire in 1 option"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("  lwm2m-certificate (code 225): subject \"CN=fake\", 600 octets DER, sha256 {}, 612 octets on the wire in 3 options", "ab".repeat(32))), "{text}");
        assert!(
            text.contains("extra 15 (code 15): 13 octets on the wire in 1 option"),
            "{text}"
        );
        assert!(
            text.contains("information-refresh-time (code 32)"),
            "{text}"
        );
        assert!(
            text.contains("the client must allow it with option 57"),
            "{text}"
        );

        let missing = compile(&config(WireFormat::Rfc3396, None, None))
            .unwrap()
            .summary();
        assert!(
            missing.contains("lwm2m-uri (code 224): not configured, not served"),
            "{missing}"
        );
        assert!(
            missing.contains("lwm2m-certificate (code 65002): not configured, not served"),
            "{missing}"
        );
    }

    #[test]
    fn example_config_compiles() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lwm2m-xdp.toml");
        let compiled = compile(&Config::load(&path).unwrap()).unwrap();
        let bits =
            |opts: &[EncodedOption]| opts.iter().map(|o| (o.bit, o.code)).collect::<Vec<_>>();
        assert_eq!(bits(&compiled.v4), [(0, 224), (1, 225), (2, 6)]);
        assert_eq!(
            bits(&compiled.v6),
            [(0, 65001), (1, 65002), (2, 23), (3, 24), (4, 32)]
        );
        // 1000 octets of DER in draft-00 DHCPv4: 4 fragments of 4 header octets each.
        assert_eq!(compiled.v4[1].bytes.len(), 1016);
        let summary = compiled.summary();
        assert!(
            summary.contains("subject \"CN=bootstrap.example.net\", 1000 octets DER"),
            "{summary}"
        );
        assert!(
            compiled.block(Family::V4, 0xFF).len > 0 && compiled.block(Family::V6, 0xFF).len > 0
        );
    }

    #[test]
    fn compile_rejects_what_the_config_check_would() {
        let mut cfg = config(WireFormat::Draft00, Some(&"u".repeat(300)), None);
        assert!(matches!(
            compile(&cfg),
            Err(EncodeError::TooLong {
                family: "DHCPv4",
                ..
            })
        ));
        cfg.dhcpv4.enabled = false;
        assert!(compile(&cfg).is_ok());
        let mut many = config(WireFormat::Draft00, Some(URI), None);
        many.dhcpv6.extra_options = (0..7)
            .map(|i| ExtraOption {
                code: 100 + i,
                data: vec![],
            })
            .collect();
        assert_eq!(
            compile(&many).unwrap_err(),
            EncodeError::TooManyOptions {
                family: "DHCPv6",
                count: 9,
                max: 8
            }
        );
    }
}
