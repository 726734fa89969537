//! `kea-config`: the Kea 2.2 `option-def` and `option-data` that make a Kea server, the slow
//! path, serve the same option bytes as the fast path. The bytes come from compile.rs (the
//! data of each encoded option, split by options.rs), so the two cannot drift apart.

use serde_json::{json, Map, Value};
use xdp_common::maps::Family;

use crate::{
    compile::{self, EncodedOption},
    config::Config,
    options::{self, WireFormat, NAME_CERTIFICATE, NAME_URI, V4_OPTION_MAX_DATA},
};

/// Kea option names for the LwM2M options (names must not clash with Kea's standard ones).
const KEA_NAME_URI: &str = "lwm2m-bootstrap-uri";
const KEA_NAME_CERTIFICATE: &str = "lwm2m-server-certificate";

/// A JSON fragment with `Dhcp4` / `Dhcp6` (enabled families only), each holding the
/// `option-def` and `option-data` lists to merge into a Kea config.
///
/// # Panics
/// If `cfg` cannot be encoded, which `Config::parse` rules out.
pub fn kea_config(cfg: &Config) -> String {
    let compiled = compile::compile(cfg).expect("a validated config always encodes");
    let mut root = Map::new();
    if cfg.dhcpv4.enabled {
        root.insert(
            "Dhcp4".into(),
            family(Family::V4, cfg.lwm2m.wire_format, &compiled.v4),
        );
    }
    if cfg.dhcpv6.enabled {
        root.insert(
            "Dhcp6".into(),
            family(Family::V6, cfg.lwm2m.wire_format, &compiled.v6),
        );
    }
    serde_json::to_string_pretty(&Value::Object(root)).expect("JSON values always serialize")
}

/// The data of each instance of an encoded option, in order.
fn instances(family: Family, option: &EncodedOption) -> Vec<&[u8]> {
    options::instances(family, &option.bytes)
        .into_iter()
        .map(|instance| instance.data)
        .collect()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn family(family: Family, format: WireFormat, options: &[EncodedOption]) -> Value {
    let space = match family {
        Family::V4 => "dhcp4",
        Family::V6 => "dhcp6",
    };
    let mut defs = Vec::new();
    let mut data = Vec::new();
    let mut notes = Vec::new();
    for option in options {
        let parts = instances(family, option);
        // What a receiver sees: the instances concatenated (RFC 3396 for split DHCPv4 options).
        let payload = parts.concat();
        let mut entry = json!({
            "code": option.code,
            "space": space,
            "csv-format": false,
            "data": hex_upper(&payload),
        });
        let kea_name = match option.name.as_str() {
            NAME_URI => Some(KEA_NAME_URI),
            NAME_CERTIFICATE => Some(KEA_NAME_CERTIFICATE),
            _ => None,
        };
        if let Some(name) = kea_name {
            if family == Family::V4 && name == KEA_NAME_CERTIFICATE && format == WireFormat::Draft00
            {
                notes.push(format!(
                    "Kea cannot send the draft-00 DHCPv4 certificate: it is {} instances of option {}, \
                     each with its own sequence number, and Kea sends one instance of a code. \
                     Only the fast path serves it.",
                    parts.len(),
                    option.code
                ));
                continue;
            }
            // The URI is text only where the option holds nothing else (not draft-00 DHCPv4,
            // which puts two reserved octets first).
            let text =
                name == KEA_NAME_URI && !(family == Family::V4 && format == WireFormat::Draft00);
            defs.push(json!({
                "name": name,
                "code": option.code,
                "space": space,
                "type": if text { "string" } else { "binary" },
                "comment": format!("LwM2M bootstrap option, wire format {format} (lwm2m-xdp)"),
            }));
            entry["name"] = json!(name);
        }
        if family == Family::V4 && payload.len() > V4_OPTION_MAX_DATA {
            let note = format!(
                "option {} holds {} octets: Kea must split it into consecutive options per RFC 3396; \
                 a Kea that does not serves it only through the fast path",
                option.code,
                payload.len()
            );
            entry["comment"] = json!(note);
            notes.push(note);
        }
        data.push(entry);
    }
    let mut out = json!({ "option-def": defs, "option-data": data });
    if !notes.is_empty() {
        out["user-context"] = json!({ "comment": notes.join(" ") });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{tests::config, ExtraOption};

    const URI: &str = "coaps://bootstrap.example.net:5684";

    fn parsed(cfg: &Config) -> Value {
        serde_json::from_str(&kea_config(cfg)).expect("kea_config is JSON")
    }

    fn entries<'a>(v: &'a Value, family: &str, list: &str) -> &'a Vec<Value> {
        v[family][list]
            .as_array()
            .unwrap_or_else(|| panic!("{family}.{list} in {v}"))
    }

    fn codes(v: &Value, family: &str, list: &str) -> Vec<u64> {
        entries(v, family, list)
            .iter()
            .map(|e| e["code"].as_u64().unwrap())
            .collect()
    }

    fn data_of(v: &Value, family: &str, code: u64) -> String {
        let entry = entries(v, family, "option-data")
            .iter()
            .find(|e| e["code"] == code)
            .unwrap();
        assert_eq!(entry["csv-format"], false);
        entry["data"].as_str().unwrap().to_string()
    }

    #[test]
    fn rfc3396_serves_everything_with_the_same_bytes() {
        let der: Vec<u8> = (0..600).map(|i| i as u8).collect();
        let mut cfg = config(WireFormat::Rfc3396, Some(URI), Some(der.clone()));
        cfg.dhcpv4.extra_options = vec![ExtraOption {
            code: 6,
            data: vec![198, 18, 0, 53],
        }];
        cfg.dhcpv6.information_refresh_time = Some(86400);
        let v = parsed(&cfg);
        assert_eq!(codes(&v, "Dhcp4", "option-def"), [224, 225]);
        assert_eq!(codes(&v, "Dhcp4", "option-data"), [224, 225, 6]);
        assert_eq!(codes(&v, "Dhcp6", "option-def"), [65001, 65002]);
        assert_eq!(codes(&v, "Dhcp6", "option-data"), [65001, 65002, 32]);
        let defs = entries(&v, "Dhcp4", "option-def");
        assert_eq!(defs[0]["name"], KEA_NAME_URI);
        assert_eq!(defs[0]["type"], "string");
        assert_eq!(defs[0]["space"], "dhcp4");
        assert_eq!(defs[1]["type"], "binary");
        assert_eq!(entries(&v, "Dhcp6", "option-def")[0]["space"], "dhcp6");
        assert_eq!(data_of(&v, "Dhcp4", 224), hex_upper(URI.as_bytes()));
        assert_eq!(data_of(&v, "Dhcp4", 225), hex_upper(&der));
        assert_eq!(data_of(&v, "Dhcp4", 6), "C6120035");
        assert_eq!(data_of(&v, "Dhcp6", 65002), hex_upper(&der));
        assert_eq!(data_of(&v, "Dhcp6", 32), "00015180");
        // 600 octets over DHCPv4 need RFC 3396 splitting on Kea's side: said so.
        assert!(v["Dhcp4"]["user-context"]["comment"]
            .as_str()
            .unwrap()
            .contains("RFC 3396"));
        assert!(v["Dhcp6"].get("user-context").is_none());
    }

    #[test]
    fn draft00_leaves_the_v4_certificate_out_and_says_why() {
        let der: Vec<u8> = (0..600).map(|i| i as u8).collect();
        let v = parsed(&config(WireFormat::Draft00, Some(URI), Some(der.clone())));
        assert_eq!(codes(&v, "Dhcp4", "option-def"), [224]);
        assert_eq!(codes(&v, "Dhcp4", "option-data"), [224]);
        assert_eq!(entries(&v, "Dhcp4", "option-def")[0]["type"], "binary");
        assert_eq!(
            data_of(&v, "Dhcp4", 224),
            format!("0000{}", hex_upper(URI.as_bytes()))
        );
        let comment = v["Dhcp4"]["user-context"]["comment"].as_str().unwrap();
        assert!(comment.contains("3 instances of option 225"), "{comment}");
        // DHCPv6 has no fragments: Kea serves the certificate there.
        assert_eq!(data_of(&v, "Dhcp6", 65002), hex_upper(&der));
    }

    #[test]
    fn ietf00_certificates_carry_the_cert_encoding() {
        let der: Vec<u8> = (0..100).map(|i| i as u8).collect();
        let v = parsed(&config(WireFormat::Ietf00, None, Some(der.clone())));
        let expected = format!("04{}", hex_upper(&der));
        assert_eq!(data_of(&v, "Dhcp4", 225), expected);
        assert_eq!(data_of(&v, "Dhcp6", 65002), expected);
        assert_eq!(codes(&v, "Dhcp4", "option-def"), [225]);
        assert!(
            v["Dhcp4"].get("user-context").is_none(),
            "101 octets fit one option"
        );
    }

    #[test]
    fn disabled_families_are_left_out() {
        let mut cfg = config(WireFormat::Draft00, Some(URI), None);
        cfg.dhcpv4.enabled = false;
        let v = parsed(&cfg);
        assert!(v.get("Dhcp4").is_none());
        assert_eq!(codes(&v, "Dhcp6", "option-data"), [65001]);
    }
}
