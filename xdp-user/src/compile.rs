//! Config -> map values: every served option encoded once (complete with its headers and
//! all its fragments, by options.rs), the request policy of both families, and the reply
//! blocks: each the image the kernel writes with one store (DHCPv4: sname, file, cookie and
//! ACK head, then the requested options; DHCPv6: the options) with its checksum partial sum.

use xdp_common::{
    maps::{
        v6_code_entry, Family, OptionBlock, RateLimit as RateParams, SlotConfig, V4Policy,
        V6Policy, ACTION_IGNORE, ACTION_UNSERVABLE, BIT_CERTIFICATE, BIT_URI, IMAGE_CAP,
        MASKS_PER_FAMILY, MAX_BLOCK_LEN, MAX_SERVED_OPTIONS, MAX_V6_CODES, OVER_LIMIT_DROP,
        OVER_LIMIT_PASS, POLICY_COMPLETE, POLICY_LWM2M_ONLY, V4_IMAGE_HEAD_LEN, V6_CODE_TABLE_LEN,
    },
    wire::{dhcpv4 as v4, dhcpv6 as v6},
};

use crate::{
    config::{Config, OverLimit, Policy},
    csum,
    options::{
        self, EncodeError, WireFormat, NAME_CERTIFICATE, NAME_IRT, NAME_URI, V4_OPTION_MAX_DATA,
    },
};

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
    /// What render.rs tells beyond the bytes.
    pub(crate) about: About,
}

#[derive(Debug, Clone)]
pub(crate) struct About {
    pub(crate) wire_format: WireFormat,
    pub(crate) policy: Policy,
    pub(crate) v4_enabled: bool,
    pub(crate) v6_enabled: bool,
    pub(crate) v4_codes: [u16; 2],
    pub(crate) v6_codes: [u16; 2],
    pub(crate) uri: Option<String>,
    /// Subject, SHA-256, DER length.
    pub(crate) certificate: Option<(String, [u8; 32], usize)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// An option no single option of its family carries.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("{family}: {count} options to serve, more than the {max} a request mask covers")]
    TooManyOptions {
        family: &'static str,
        count: usize,
        max: usize,
    },
    #[error("DHCPv6: {count} codes for the request policy table, which holds {max}")]
    TooManyV6Codes { count: usize, max: usize },
}

/// The bit of the `index`th extra option of a family.
fn extra_bit(index: usize) -> u8 {
    BIT_CERTIFICATE + 1 + index as u8
}

fn extra_name(code: impl std::fmt::Display) -> String {
    format!("extra {code}")
}

fn check_bits(family: &'static str, options: &[EncodedOption]) -> Result<(), CompileError> {
    match options.iter().map(|o| usize::from(o.bit) + 1).max() {
        Some(count) if count > MAX_SERVED_OPTIONS => Err(CompileError::TooManyOptions {
            family,
            count,
            max: MAX_SERVED_OPTIONS,
        }),
        _ => Ok(()),
    }
}

fn encode_v4(cfg: &Config) -> Result<Vec<EncodedOption>, CompileError> {
    let (lwm2m, d4) = (&cfg.lwm2m, &cfg.dhcpv4);
    let mut out = Vec::new();
    if let Some(uri) = &lwm2m.bootstrap_uri {
        out.push(EncodedOption {
            bit: BIT_URI,
            code: d4.uri_option.into(),
            name: NAME_URI.into(),
            lwm2m: true,
            bytes: options::v4_uri(lwm2m.wire_format, d4.uri_option, uri)?,
        });
    }
    if let Some(cert) = &lwm2m.certificate {
        out.push(EncodedOption {
            bit: BIT_CERTIFICATE,
            code: d4.certificate_option.into(),
            name: NAME_CERTIFICATE.into(),
            lwm2m: true,
            bytes: options::v4_certificate(lwm2m.wire_format, d4.certificate_option, &cert.der),
        });
    }
    for (i, extra) in d4.extra_options.iter().enumerate() {
        if extra.data.len() > V4_OPTION_MAX_DATA {
            return Err(CompileError::Encode(EncodeError::TooLong {
                family: "DHCPv4",
                name: extra_name(extra.code),
                code: extra.code.into(),
                len: extra.data.len(),
                max: V4_OPTION_MAX_DATA,
            }));
        }
        out.push(EncodedOption {
            bit: extra_bit(i),
            code: extra.code.into(),
            name: extra_name(extra.code),
            lwm2m: false,
            bytes: options::v4_option(extra.code, &extra.data),
        });
    }
    check_bits("DHCPv4", &out)?;
    Ok(out)
}

fn encode_v6(cfg: &Config) -> Result<Vec<EncodedOption>, CompileError> {
    let (lwm2m, d6) = (&cfg.lwm2m, &cfg.dhcpv6);
    let mut out = Vec::new();
    if let Some(uri) = &lwm2m.bootstrap_uri {
        out.push(EncodedOption {
            bit: BIT_URI,
            code: d6.uri_option,
            name: NAME_URI.into(),
            lwm2m: true,
            bytes: options::v6_uri(d6.uri_option, uri)?,
        });
    }
    if let Some(cert) = &lwm2m.certificate {
        out.push(EncodedOption {
            bit: BIT_CERTIFICATE,
            code: d6.certificate_option,
            name: NAME_CERTIFICATE.into(),
            lwm2m: true,
            bytes: options::v6_certificate(lwm2m.wire_format, d6.certificate_option, &cert.der)?,
        });
    }
    for (i, extra) in d6.extra_options.iter().enumerate() {
        let name = extra_name(extra.code);
        out.push(EncodedOption {
            bit: extra_bit(i),
            code: extra.code,
            bytes: options::v6_option(&name, extra.code, &extra.data)?,
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
            bytes: options::v6_option(NAME_IRT, code, &irt.to_be_bytes())?,
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

fn v6_policy(cfg: &Config, options: &[EncodedOption]) -> Result<V6Policy, CompileError> {
    let mut entries: Vec<(u16, u8)> = options.iter().map(|o| (o.code, o.bit)).collect();
    entries.extend(v6::MAY_OMIT.iter().map(|&code| (code, ACTION_IGNORE)));
    if !options
        .iter()
        .any(|o| o.code == v6::OPT_INFORMATION_REFRESH_TIME)
    {
        entries.push((v6::OPT_INFORMATION_REFRESH_TIME, ACTION_IGNORE));
    }
    if entries.len() > MAX_V6_CODES {
        return Err(CompileError::TooManyV6Codes {
            count: entries.len(),
            max: MAX_V6_CODES,
        });
    }
    let (codes, actions, multiplier) = v6_code_table(&entries);
    Ok(V6Policy {
        codes,
        actions,
        multiplier,
        lwm2m_mask: lwm2m_mask(options),
        policy: policy_value(cfg.lwm2m.policy),
        enabled: u8::from(cfg.dhcpv6.enabled),
        _pad: 0,
    })
}

/// The v6 code table (`V6Policy`): the first multiplier, from the golden ratio's on, that
/// gives each code an entry of its own. With at most MAX_V6_CODES codes in four times as many
/// entries about one multiplier in six does; a code listed twice keeps its first action.
type V6CodeTable = ([u16; V6_CODE_TABLE_LEN], [u8; V6_CODE_TABLE_LEN], u32);

fn v6_code_table(entries: &[(u16, u8)]) -> V6CodeTable {
    let mut unique: Vec<(u16, u8)> = Vec::with_capacity(entries.len());
    for &(code, action) in entries {
        if !unique.iter().any(|&(c, _)| c == code) {
            unique.push((code, action));
        }
    }
    let mut multiplier: u32 = 0x9e37_79b1;
    loop {
        let mut codes = [0u16; V6_CODE_TABLE_LEN];
        let mut actions = [ACTION_UNSERVABLE; V6_CODE_TABLE_LEN];
        let mut used = [false; V6_CODE_TABLE_LEN];
        let placed = unique.iter().all(|&(code, action)| {
            let entry = v6_code_entry(code, multiplier);
            if used[entry] {
                return false;
            }
            used[entry] = true;
            (codes[entry], actions[entry]) = (code, action);
            true
        });
        if placed {
            return (codes, actions, multiplier);
        }
        // Odd multipliers only: an even one drops a bit of every code.
        multiplier = multiplier.wrapping_add(2);
    }
}

/// Encodes every option the config serves and the request policy of both families.
pub fn compile(cfg: &Config) -> Result<Compiled, CompileError> {
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
    let rate = cfg
        .rate_limit
        .map_or(RateParams::default(), |r| RateParams {
            per_second: r.per_client_rate,
            burst: r.burst,
            per_interface: r.per_interface_rate.unwrap_or(0),
            over_limit: match r.over_limit {
                OverLimit::Drop => OVER_LIMIT_DROP,
                OverLimit::Pass => OVER_LIMIT_PASS,
            },
            _pad: [0; 3],
        });
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

impl Compiled {
    pub(crate) fn options(&self, family: Family) -> &[EncodedOption] {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// The options of `family` whose bit is in `mask`, concatenated in bit order.
    pub(crate) fn concatenated(&self, family: Family, mask: u32) -> Vec<u8> {
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

    /// The map value for one reply shape (maps.rs `OptionBlock`): the image the kernel
    /// writes with one store (DHCPv4: `v4_image_head`, then the options; DHCPv6: the
    /// options), the options being those whose bit is in `mask`, in bit order, and the
    /// image's checksum partial sum. Empty when the options do not fit MAX_BLOCK_LEN: the
    /// kernel then passes such requests on.
    pub fn block(&self, family: Family, mask: u32) -> OptionBlock {
        let options = self.concatenated(family, mask);
        let mut block = OptionBlock {
            len: 0,
            image_len: 0,
            csum: 0,
            image: [0; IMAGE_CAP],
        };
        if options.len() <= MAX_BLOCK_LEN {
            let mut image = match family {
                Family::V4 => v4_image_head().to_vec(),
                Family::V6 => Vec::new(),
            };
            image.extend(&options);
            block.image[..image.len()].copy_from_slice(&image);
            block.len = options.len() as u16;
            block.image_len = image.len() as u16;
            block.csum = u32::from(csum::sum_be(&image));
        }
        block
    }
}

/// What a DHCPv4 image holds before its options: sname and file zero, the magic cookie, and
/// options 53 (DHCPACK) and 54 with address 0.0.0.0 (the kernel writes the interface's).
pub fn v4_image_head() -> [u8; V4_IMAGE_HEAD_LEN] {
    let mut head = [0; V4_IMAGE_HEAD_LEN];
    let cookie = v4::SNAME_FILE_LEN;
    head[cookie..cookie + v4::MAGIC_COOKIE.len()].copy_from_slice(&v4::MAGIC_COOKIE);
    head[cookie + v4::MAGIC_COOKIE.len()..].copy_from_slice(&v4::ack_head([0; 4]));
    head
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        config::{tests::config, ExtraOption, RateLimit},
        options::tests::{fake_cert, URI},
    };

    pub(crate) fn full_config() -> Config {
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
            per_interface_rate: None,
            over_limit: OverLimit::Drop,
        });
        cfg
    }

    #[test]
    fn compile_assigns_bits_in_config_order() {
        let compiled = compile(&full_config()).unwrap();
        fn described(options: &[EncodedOption]) -> Vec<(u8, u16, &str, bool)> {
            options
                .iter()
                .map(|o| (o.bit, o.code, o.name.as_str(), o.lwm2m))
                .collect()
        }
        assert_eq!(
            described(&compiled.v4),
            [
                (0, 224, "lwm2m-uri", true),
                (1, 225, "lwm2m-certificate", true),
                (2, 6, "extra 6", false),
                (3, 15, "extra 15", false)
            ]
        );
        assert_eq!(compiled.v4[2].bytes, [6, 4, 198, 18, 0, 53]);
        assert_eq!(
            described(&compiled.v6),
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
        /// The table's used entries: (code, action).
        fn listed(p: &V6Policy) -> Vec<(u16, u8)> {
            let mut used: Vec<(u16, u8)> = (0..V6_CODE_TABLE_LEN)
                .filter(|&e| p.codes[e] != 0)
                .map(|e| (p.codes[e], p.actions[e]))
                .collect();
            used.sort();
            // Each found where the kernel looks for it.
            assert!(used.iter().all(|&(code, action)| p.action(code) == action));
            used
        }
        let compiled = compile(&full_config()).unwrap();
        let p = &compiled.slot.v6;
        assert_eq!(
            listed(p),
            [
                (23, 2),
                (32, 3),
                (82, ACTION_IGNORE),
                (83, ACTION_IGNORE),
                (65001, 0),
                (65002, 1)
            ]
        );
        assert!((0..V6_CODE_TABLE_LEN)
            .filter(|&e| p.codes[e] == 0)
            .all(|e| p.actions[e] == ACTION_UNSERVABLE));
        // Codes not in the table, 0 included, are unservable.
        assert!([0, 1, 6, 24, 65003]
            .iter()
            .all(|&code| p.action(code) == ACTION_UNSERVABLE));
        assert_eq!(p.lwm2m_mask, 0b11);

        // Without an IRT, asking for 32 is no reason to pass.
        let plain = compile(&config(WireFormat::Rfc3396, Some(URI), None)).unwrap();
        assert_eq!(
            listed(&plain.slot.v6),
            [
                (32, ACTION_IGNORE),
                (82, ACTION_IGNORE),
                (83, ACTION_IGNORE),
                (65001, 0)
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
                let mut image = match family {
                    Family::V4 => v4_image_head().to_vec(),
                    Family::V6 => vec![],
                };
                image.extend(&expected);
                assert_eq!(usize::from(block.len), expected.len());
                assert_eq!(
                    &block.image[..usize::from(block.image_len)],
                    &image[..],
                    "{family:?} mask {mask:#b}"
                );
                let rest = &block.image[usize::from(block.image_len)..];
                assert!(rest.iter().all(|&b| b == 0));
                assert_eq!(block.csum, naive_sum(&image), "{family:?} mask {mask:#b}");
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
        let image = &v4.image[V4_IMAGE_HEAD_LEN..usize::from(v4.image_len)];
        assert_eq!(image, &expected[..]);
    }

    #[test]
    fn v4_image_head_is_sname_file_cookie_and_ack_head() {
        let head = v4_image_head();
        let sname_to_options = v4::field::SNAME.start..v4::field::OPTIONS.start;
        // As the reply's octets from sname on: zeros, the cookie, 53 = ACK, 54 = 0.0.0.0.
        let mut expected = vec![0; sname_to_options.len() - v4::MAGIC_COOKIE.len()];
        expected.extend(v4::MAGIC_COOKIE);
        expected.extend([
            v4::OPT_MESSAGE_TYPE,
            1,
            v4::MSG_ACK,
            v4::OPT_SERVER_ID,
            4,
            0,
            0,
            0,
            0,
        ]);
        assert_eq!(&head[..], &expected[..]);
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
        assert_eq!((both.len, both.image_len, both.csum), (0, 0, 0));
        assert!(both.image.iter().all(|&b| b == 0));
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
            Err(CompileError::Encode(EncodeError::TooLong {
                family: "DHCPv4",
                ..
            }))
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
            CompileError::TooManyOptions {
                family: "DHCPv6",
                count: 9,
                max: 8
            }
        );
    }
}
