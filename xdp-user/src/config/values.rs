//! One TOML value at a time: option codes, addresses, hex, domain names, the forms of an
//! extra option's value, interface names, VLAN ids. Each error names the value's key.

use std::{
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
};

use xdp_common::{
    maps::MAX_SERVED_OPTIONS,
    wire::{dhcpv4 as v4, dhcpv6 as v6},
};

use super::error::{invalid, quoted, rule, ConfigError};

/// "0, 50-61, 82, 255" for a code list.
pub(super) fn code_ranges<C: Copy + Into<u32>>(codes: &[C]) -> String {
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

pub(super) fn dhcpv4_code(key: &str, value: i64) -> Result<u8, ConfigError> {
    let accepted = format!(
        "choose 1-254 except {} (224-254 are site-specific)",
        code_ranges(&v4::RESERVED_CODES)
    );
    let code = u8::try_from(value).ok();
    option_code(
        key,
        value,
        code,
        &v4::RESERVED_CODES,
        ("DHCPv4", "DHCP"),
        &accepted,
    )
}

pub(super) fn dhcpv6_code(key: &str, value: i64) -> Result<u16, ConfigError> {
    let accepted = format!(
        "choose 1-65535 except {} (IANA assigned no LwM2M codes; the defaults are {} and {})",
        code_ranges(&v6::RESERVED_CODES),
        v6::DEFAULT_URI_OPTION,
        v6::DEFAULT_CERTIFICATE_OPTION
    );
    let code = u16::try_from(value).ok().filter(|&code| code != 0);
    option_code(
        key,
        value,
        code,
        &v6::RESERVED_CODES,
        ("DHCPv6", "DHCPv6"),
        &accepted,
    )
}

/// `value` as a family's option `code` (`None`: out of the family's range), unless the
/// protocol keeps it for itself (`reserved`). `names`: the family's, the protocol's.
fn option_code<C: Copy + PartialEq + fmt::Display>(
    key: &str,
    value: i64,
    code: Option<C>,
    reserved: &[C],
    (family, protocol): (&str, &str),
    accepted: &str,
) -> Result<C, ConfigError> {
    let Some(code) = code else {
        let why = format!("not a {family} option code; {accepted}");
        return Err(invalid(key, value, why));
    };
    if reserved.contains(&code) {
        let why = format!("code {code} is used by {protocol} itself; {accepted}");
        return Err(invalid(key, value, why));
    }
    Ok(code)
}

/// Every option a family serves needs its own code; `keyed` is in config order.
pub(super) fn check_distinct_codes<C: Copy + Eq + fmt::Display>(
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

pub(super) fn check_served_count(
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

pub(super) fn unicast_ipv4(key: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
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

pub(super) fn ipv6(key: &str, text: &str) -> Result<Ipv6Addr, ConfigError> {
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
pub(super) fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
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
pub(super) fn encode_domains(key: &str, names: &[String]) -> Result<Vec<u8>, ConfigError> {
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
pub(super) type Form<'a> = (&'a str, Option<Result<Vec<u8>, ConfigError>>);

/// The payload of an extra option from exactly one of its value keys.
pub(super) fn one_form(key: &str, forms: Vec<Form<'_>>) -> Result<Vec<u8>, ConfigError> {
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
pub(super) fn address_list(
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

pub(super) fn string_form(key: &str, s: &str) -> Result<Vec<u8>, ConfigError> {
    if s.is_empty() {
        return Err(invalid(
            key,
            "\"\"",
            "empty; for a zero-length option write hex = \"\"",
        ));
    }
    Ok(s.as_bytes().to_vec())
}

pub(super) fn hex_form(key: &str, s: &str) -> Result<Vec<u8>, ConfigError> {
    parse_hex(s).map_err(|why| invalid(key, quoted(s), why))
}

/// Linux `dev_valid_name`: 1-15 octets, not "." or "..", no '/', ':' or whitespace.
pub(super) fn check_interface_name(key: &str, name: &str) -> Result<(), ConfigError> {
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

pub(super) fn vlan_id(key: &str, value: i64) -> Result<u16, ConfigError> {
    match u16::try_from(value) {
        Ok(id @ 1..=4094) => Ok(id),
        _ => Err(invalid(
            key,
            value,
            "a VLAN id is 1-4094 (0 means untagged, 4095 is reserved)",
        )),
    }
}
