//! The raw file -> [`Config`]: defaults, the rules that tie keys together, and the limits
//! of what the fast path serves.

use std::{collections::HashMap, path::Path};

use xdp_common::{
    maps::MAX_BLOCK_LEN,
    wire::{dhcpv4 as v4, dhcpv6 as v6},
};

use super::{
    certificate::load_certificate,
    error::{invalid, quoted, rule, ConfigError},
    model::*,
    raw::*,
    uri::parse_bootstrap_uri,
    values::*,
};
use crate::options;

impl RawConfig {
    pub(super) fn validate(self, base: &Path, source: &Path) -> Result<Config, ConfigError> {
        let lwm2m = self.lwm2m.validate(base)?;
        let dhcpv4 = self.dhcpv4.validate()?;
        let dhcpv6 = self.dhcpv6.validate()?;
        if let Some(uri) = &lwm2m.bootstrap_uri {
            check_uri_fits(uri, lwm2m.wire_format, dhcpv4.enabled, dhcpv6.enabled)?;
        }
        if let Some(cert) = &lwm2m.certificate {
            let max = options::v6_certificate_capacity(lwm2m.wire_format);
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
    pub(super) fn validate(self, base: &Path) -> Result<Lwm2m, ConfigError> {
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
            parse_bootstrap_uri(uri)
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
    let v4_max = options::v4_uri_capacity(format);
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

impl RawDhcpv4 {
    pub(super) fn validate(self) -> Result<Dhcpv4, ConfigError> {
        let mut keyed = lwm2m_codes(
            "dhcpv4",
            [self.uri_option, self.certificate_option],
            [v4::DEFAULT_URI_OPTION, v4::DEFAULT_CERTIFICATE_OPTION],
            dhcpv4_code,
        )?;
        let (uri_option, certificate_option) = (keyed[0].1, keyed[1].1);
        let server_id = self
            .server_id
            .as_deref()
            .map(|s| unicast_ipv4("dhcpv4.server_id", s))
            .transpose()?;
        check_served_count("dhcpv4", self.extra_option.len(), 2, "LwM2M")?;
        let extra_options = extra_options("dhcpv4", self.extra_option, &mut keyed)?;
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
    pub(super) fn validate(self) -> Result<Dhcpv6, ConfigError> {
        let mut keyed = lwm2m_codes(
            "dhcpv6",
            [self.uri_option, self.certificate_option],
            [v6::DEFAULT_URI_OPTION, v6::DEFAULT_CERTIFICATE_OPTION],
            dhcpv6_code,
        )?;
        let (uri_option, certificate_option) = (keyed[0].1, keyed[1].1);
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
        let extra_options = extra_options("dhcpv6", self.extra_option, &mut keyed)?;
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

/// The keys of a family's LwM2M option codes with their values, each as given or the
/// default; the first entries of the list `check_distinct_codes` checks.
fn lwm2m_codes<C: Copy + Into<i64>>(
    family: &str,
    given: [Option<i64>; 2],
    defaults: [C; 2],
    parse: impl Fn(&str, i64) -> Result<C, ConfigError>,
) -> Result<Vec<(String, C)>, ConfigError> {
    ["uri_option", "certificate_option"]
        .into_iter()
        .zip(given.into_iter().zip(defaults))
        .map(|(name, (given, default))| {
            let key = format!("{family}.{name}");
            let code = parse(&key, given.unwrap_or(default.into()))?;
            Ok((key, code))
        })
        .collect()
}

/// What differs between the families' `extra_option` entries: the code's range, the value
/// forms beside `string` and `hex`, and the largest payload.
trait RawExtra {
    type Code: Copy;
    fn code(&self, key: &str) -> Result<Self::Code, ConfigError>;
    /// Every payload form of the entry under `key`; exactly one must be given.
    fn forms(&self, key: &str) -> Vec<Form<'static>>;
    /// The largest payload, and what bounds it.
    fn max_len() -> (usize, String);
}

/// The `string` and `hex` forms both families accept.
fn text_forms(key: &str, string: &Option<String>, hex: &Option<String>) -> [Form<'static>; 2] {
    [
        (
            "string",
            string
                .as_deref()
                .map(|s| string_form(&format!("{key}.string"), s)),
        ),
        (
            "hex",
            hex.as_deref().map(|s| hex_form(&format!("{key}.hex"), s)),
        ),
    ]
}

impl RawExtra for RawExtraV4 {
    type Code = u8;
    fn code(&self, key: &str) -> Result<u8, ConfigError> {
        dhcpv4_code(key, self.code)
    }
    fn forms(&self, key: &str) -> Vec<Form<'static>> {
        let ipv4 = self.ipv4.as_ref().map(|list| {
            address_list(&format!("{key}.ipv4"), list, |k, a| {
                Ok(unicast_ipv4(k, a)?.octets().to_vec())
            })
        });
        let mut forms = vec![("ipv4", ipv4)];
        forms.extend(text_forms(key, &self.string, &self.hex));
        forms
    }
    fn max_len() -> (usize, String) {
        let max = u8::MAX as usize;
        (
            max,
            format!("a DHCPv4 extra option carries at most {max} octets"),
        )
    }
}

impl RawExtra for RawExtraV6 {
    type Code = u16;
    fn code(&self, key: &str) -> Result<u16, ConfigError> {
        dhcpv6_code(key, self.code)
    }
    fn forms(&self, key: &str) -> Vec<Form<'static>> {
        let ipv6s = self.ipv6.as_ref().map(|list| {
            address_list(&format!("{key}.ipv6"), list, |k, a| {
                Ok(ipv6(k, a)?.octets().to_vec())
            })
        });
        let domains = self
            .domains
            .as_deref()
            .map(|d| encode_domains(&format!("{key}.domains"), d));
        let mut forms = vec![("ipv6", ipv6s)];
        forms.extend(text_forms(key, &self.string, &self.hex));
        forms.push(("domains", domains));
        forms
    }
    fn max_len() -> (usize, String) {
        let max = MAX_BLOCK_LEN - v6::OPT_HDR_LEN;
        (
            max,
            format!("at most {max} octets: a reply block holds {MAX_BLOCK_LEN} with the header"),
        )
    }
}

/// `FAMILY.extra_option[i]`: each entry's code (also added to `keyed`, for the distinct-codes
/// rule) and its one payload, within the family's size limit.
fn extra_options<R: RawExtra>(
    family: &str,
    raws: Vec<R>,
    keyed: &mut Vec<(String, R::Code)>,
) -> Result<Vec<ExtraOption<R::Code>>, ConfigError> {
    let (max, bound) = R::max_len();
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let key = format!("{family}.extra_option[{i}]");
        let code = raw.code(&format!("{key}.code"))?;
        keyed.push((format!("{key}.code"), code));
        let data = one_form(&key, raw.forms(&key))?;
        if data.len() > max {
            return Err(invalid(
                key.as_str(),
                format!("[{} octets]", data.len()),
                bound,
            ));
        }
        out.push(ExtraOption { code, data });
    }
    Ok(out)
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
        let fallback = match iface.fallback.as_deref() {
            None | Some("tc") => Fallback::Tc,
            Some("none") => Fallback::None,
            Some(other) => {
                return Err(invalid(
                    format!("{key}.fallback"),
                    quoted(other),
                    "choose \"tc\" or \"none\"",
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
            fallback,
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
                if !addr.is_unicast_link_local() {
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
    pub(super) fn validate(self, v4_on: bool, v6_on: bool) -> Result<SlowPath, ConfigError> {
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
    pub(super) fn validate(self) -> Result<RateLimit, ConfigError> {
        let positive = |key: &str, v: i64| match u32::try_from(v) {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(invalid(key, v, format!("a whole number, 1-{}", u32::MAX))),
        };
        let over_limit = match self.over_limit.as_deref() {
            None | Some("drop") => OverLimit::Drop,
            Some("pass") => OverLimit::Pass,
            Some(other) => {
                return Err(invalid(
                    "rate_limit.over_limit",
                    format!("{other:?}"),
                    "\"drop\" or \"pass\"",
                ))
            }
        };
        Ok(RateLimit {
            per_client_rate: positive("rate_limit.per_client_rate", self.per_client_rate)?,
            burst: positive("rate_limit.burst", self.burst)?,
            per_interface_rate: self
                .per_interface_rate
                .map(|v| positive("rate_limit.per_interface_rate", v))
                .transpose()?,
            over_limit,
        })
    }
}
