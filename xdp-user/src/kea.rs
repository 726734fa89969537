//! `kea-config --family v4|v6`: one complete Kea 2.2 config (`Dhcp4` or `Dhcp6`) that makes
//! a Kea server, the slow path, serve the LwM2M options with the bytes the fast path sends.
//! The bytes come from compile.rs (the data of each encoded option, split by options.rs), so the two cannot drift
//! apart; `kea-dhcp4 -t` / `kea-dhcp6 -t` accept the output as printed (tests/tests/netns_kea.rs).
//!
//! What Kea 2.2 can and cannot do, found with the real servers:
//! - It sends one instance of a code (a second `option-data` entry of the same code replaces
//!   the first), so the draft-00 DHCPv4 certificate cannot be given as one entry per fragment.
//! - It splits a DHCPv4 option longer than 255 octets into consecutive options (RFC 3396) of
//!   253 data octets each (255 minus the option header; RFC 3396 allows 255). So an RFC 3396
//!   certificate reaches the client as the same concatenated data as from the fast path, cut
//!   at other places; and draft-00 fragments of 251 certificate octets (seq + 251 = 253) come
//!   out as one fragment per option: the same certificate after reassembly, in fragments two
//!   octets shorter than the fast path's.

use serde_json::{json, Value};
use xdp_common::maps::Family;

use crate::{
    compile::{self, EncodedOption},
    config::{Config, SlowPathMode},
    options::{
        self, WireFormat, DRAFT00_MAX_FRAGMENT, DRAFT00_SEQ_LEN, NAME_CERTIFICATE, NAME_URI,
        V4_OPTION_MAX_DATA, V4_OPT_HDR_LEN,
    },
};

/// Kea option names for the LwM2M options (names must not clash with Kea's standard ones).
pub const KEA_NAME_URI: &str = "lwm2m-bootstrap-uri";
pub const KEA_NAME_CERTIFICATE: &str = "lwm2m-server-certificate";

/// Data octets in each option Kea 2.2 makes when it splits a long DHCPv4 option.
pub const KEA_V4_SPLIT_DATA: usize = V4_OPTION_MAX_DATA - V4_OPT_HDR_LEN;
/// Certificate octets per draft-00 fragment given to Kea, so that each option of Kea's split
/// is exactly one fragment.
pub const KEA_DRAFT00_FRAGMENT: usize = KEA_V4_SPLIT_DATA - DRAFT00_SEQ_LEN;

/// Placeholder subnets: documentation ranges the operator replaces with the served link's.
const PLACEHOLDER_SUBNET4: &str = "192.0.2.0/24";
const PLACEHOLDER_POOL4: &str = "192.0.2.100 - 192.0.2.199";
const PLACEHOLDER_SUBNET6: &str = "2001:db8:1::/64";
const PLACEHOLDER_POOL6: &str = "2001:db8:1::1000 - 2001:db8:1::1fff";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeaError {
    #[error(
        "kea-config --family {flag}: {table}.enabled = false in {path}, so the fast path \
         serves nothing there for Kea to match; choose --family {other} or enable {table}"
    )]
    FamilyDisabled {
        flag: &'static str,
        other: &'static str,
        table: &'static str,
        path: String,
    },
}

/// The `--family` value of `family`.
pub fn family_flag(family: Family) -> &'static str {
    match family {
        Family::V4 => "v4",
        Family::V6 => "v6",
    }
}

/// The Kea config of `family` as pretty JSON: `{"Dhcp4": {...}}` or `{"Dhcp6": {...}}`.
///
/// # Panics
/// If `cfg` cannot be encoded, which `Config::parse` rules out.
pub fn kea_config(cfg: &Config, family: Family) -> Result<String, KeaError> {
    let enabled = match family {
        Family::V4 => cfg.dhcpv4.enabled,
        Family::V6 => cfg.dhcpv6.enabled,
    };
    if !enabled {
        let (table, other) = match family {
            Family::V4 => ("dhcpv4", Family::V6),
            Family::V6 => ("dhcpv6", Family::V4),
        };
        return Err(KeaError::FamilyDisabled {
            flag: family_flag(family),
            other: family_flag(other),
            table,
            path: cfg.source.display().to_string(),
        });
    }
    let compiled = compile::compile(cfg).expect("a validated config always encodes");
    let (root, server) = match family {
        Family::V4 => ("Dhcp4", server(cfg, Family::V4, &compiled.v4)),
        Family::V6 => ("Dhcp6", server(cfg, Family::V6, &compiled.v6)),
    };
    let doc = json!({ root: server });
    Ok(serde_json::to_string_pretty(&doc).expect("JSON values always serialize"))
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

/// draft-00 DHCPv4 certificate data for Kea: fragments of [`KEA_DRAFT00_FRAGMENT`] octets,
/// each after its sequence number, one after the other.
fn draft00_for_kea(der: &[u8]) -> Vec<u8> {
    der.chunks(KEA_DRAFT00_FRAGMENT)
        .zip(0u16..)
        .flat_map(|(fragment, seq)| {
            seq.to_be_bytes()
                .into_iter()
                .chain(fragment.iter().copied())
        })
        .collect()
}

/// The whole `Dhcp4` / `Dhcp6` map.
fn server(cfg: &Config, family: Family, options: &[EncodedOption]) -> Value {
    let format = cfg.lwm2m.wire_format;
    let (space, subnets, subnet, pool) = match family {
        Family::V4 => ("dhcp4", "subnet4", PLACEHOLDER_SUBNET4, PLACEHOLDER_POOL4),
        Family::V6 => ("dhcp6", "subnet6", PLACEHOLDER_SUBNET6, PLACEHOLDER_POOL6),
    };
    let mut defs = Vec::new();
    let mut data = Vec::new();
    for option in options {
        let parts = instances(family, option);
        // What a receiver sees: the instances concatenated (RFC 3396 for split options).
        let mut payload = parts.concat();
        let mut entry = json!({
            "code": option.code,
            "space": space,
            "csv-format": false,
        });
        let is_uri = option.name == NAME_URI;
        let is_cert = option.name == NAME_CERTIFICATE;
        if is_uri || is_cert {
            let name = if is_uri {
                KEA_NAME_URI
            } else {
                KEA_NAME_CERTIFICATE
            };
            let mut def = json!({
                "name": name,
                "code": option.code,
                "space": space,
                "comment": format!("LwM2M bootstrap option, wire format {format} (lwm2m-xdp)"),
            });
            let (kind, records) = lwm2m_type(family, format, is_uri);
            def["type"] = json!(kind);
            if let Some(records) = records {
                def["record-types"] = json!(records);
            }
            defs.push(def);
            entry["name"] = json!(name);
            if is_cert && family == Family::V4 && format == WireFormat::Draft00 {
                let der = &cfg.lwm2m.certificate.as_ref().expect("encoded, so set").der;
                payload = draft00_for_kea(der);
                entry["comment"] = json!(format!(
                    "draft-00 fragments (seq + up to {KEA_DRAFT00_FRAGMENT} octets) one after \
                     the other: Kea 2.2 sends one option {code} and splits it into options of \
                     {KEA_V4_SPLIT_DATA} octets, one fragment each. The fast path's fragments \
                     carry {} octets: other bytes, the same certificate.",
                    DRAFT00_MAX_FRAGMENT,
                    code = option.code
                ));
            }
        }
        if family == Family::V4
            && payload.len() > V4_OPTION_MAX_DATA
            && entry.get("comment").is_none()
        {
            entry["comment"] = json!(format!(
                "{} octets: Kea 2.2 splits them into options of {KEA_V4_SPLIT_DATA} octets \
                 (RFC 3396), the fast path into options of {V4_OPTION_MAX_DATA}; the client \
                 joins either to the same data",
                payload.len()
            ));
        }
        entry["data"] = json!(hex_upper(&payload));
        data.push(entry);
    }

    let names: Vec<&str> = cfg.interfaces.iter().map(|i| i.name.as_str()).collect();
    let mut interfaces = match cfg.slow_path.mode {
        SlowPathMode::Local => json!({
            "interfaces": names,
            "comment": "the interfaces lwm2m-xdp serves: it passes Kea what it does not answer",
        }),
        SlowPathMode::Relay => json!({
            "interfaces": ["*"],
            "comment": format!(
                "EDIT: this Kea runs upstream of lwm2m-xdp's relay (on {}); list the \
                 interfaces the relayed requests arrive on",
                names.join(", ")
            ),
        }),
    };
    if family == Family::V4 && cfg.slow_path.mode == SlowPathMode::Relay {
        // Relayed DHCPv4 arrives on UDP sockets; raw sockets are for direct clients.
        interfaces["dhcp-socket-type"] = json!("udp");
    }
    json!({
        "comment": format!(
            "lwm2m-xdp kea-config --family {} from {}: the LwM2M options with the fast path's \
             bytes, wire format {format}",
            family_flag(family),
            cfg.source.display()
        ),
        "interfaces-config": interfaces,
        "lease-database": { "type": "memfile", "lfc-interval": 3600 },
        "option-def": defs,
        "option-data": data,
        subnets: [{
            "id": 1,
            "subnet": subnet,
            "pools": [{ "pool": pool }],
            "comment": format!(
                "EDIT: a placeholder; the subnet and pool of the link on {}",
                names.join(", ")
            ),
        }],
    })
}

/// The Kea option type of an LwM2M option, and its record fields when it is a record.
fn lwm2m_type(
    family: Family,
    format: WireFormat,
    is_uri: bool,
) -> (&'static str, Option<&'static str>) {
    match (family, format, is_uri) {
        // reserved(2) = 0, then the URI.
        (Family::V4, WireFormat::Draft00, true) => ("record", Some("uint16, string")),
        (_, _, true) => ("string", None),
        // cert-encoding(1), then the certificate.
        (_, WireFormat::Ietf00, false) => ("record", Some("uint8, binary")),
        (_, _, false) => ("binary", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{tests::config, ExtraOption, SlowPathMode};

    const URI: &str = "coaps://bootstrap.example.net:5684";

    fn parsed(cfg: &Config, family: Family) -> Value {
        serde_json::from_str(&kea_config(cfg, family).unwrap()).expect("kea_config is JSON")
    }

    fn entries<'a>(v: &'a Value, root: &str, list: &str) -> &'a Vec<Value> {
        v[root][list]
            .as_array()
            .unwrap_or_else(|| panic!("{root}.{list} in {v}"))
    }

    fn codes(v: &Value, root: &str, list: &str) -> Vec<u64> {
        entries(v, root, list)
            .iter()
            .map(|e| e["code"].as_u64().unwrap())
            .collect()
    }

    fn data_of(v: &Value, root: &str, code: u64) -> String {
        let entry = entries(v, root, "option-data")
            .iter()
            .find(|e| e["code"] == code)
            .unwrap();
        assert_eq!(entry["csv-format"], false);
        entry["data"].as_str().unwrap().to_string()
    }

    #[test]
    fn one_server_per_family_with_a_placeholder_subnet() {
        let cfg = config(WireFormat::Rfc3396, Some(URI), None);
        let v4 = parsed(&cfg, Family::V4);
        assert_eq!(v4.as_object().unwrap().len(), 1, "only Dhcp4: {v4}");
        assert_eq!(
            v4["Dhcp4"]["interfaces-config"]["interfaces"],
            json!(["eth0"])
        );
        assert_eq!(v4["Dhcp4"]["subnet4"][0]["subnet"], PLACEHOLDER_SUBNET4);
        assert!(v4["Dhcp4"]["subnet4"][0]["comment"]
            .as_str()
            .unwrap()
            .starts_with("EDIT"));
        assert_eq!(v4["Dhcp4"]["lease-database"]["type"], "memfile");
        let v6 = parsed(&cfg, Family::V6);
        assert_eq!(v6.as_object().unwrap().len(), 1, "only Dhcp6: {v6}");
        assert_eq!(v6["Dhcp6"]["subnet6"][0]["subnet"], PLACEHOLDER_SUBNET6);
        assert!(v6["Dhcp6"]["comment"]
            .as_str()
            .unwrap()
            .contains("--family v6"));
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
        let v = parsed(&cfg, Family::V4);
        assert_eq!(codes(&v, "Dhcp4", "option-def"), [224, 225]);
        assert_eq!(codes(&v, "Dhcp4", "option-data"), [224, 225, 6]);
        let defs = entries(&v, "Dhcp4", "option-def");
        assert_eq!(defs[0]["name"], KEA_NAME_URI);
        assert_eq!(defs[0]["type"], "string");
        assert_eq!(defs[0]["space"], "dhcp4");
        assert_eq!(defs[1]["type"], "binary");
        assert_eq!(data_of(&v, "Dhcp4", 224), hex_upper(URI.as_bytes()));
        assert_eq!(data_of(&v, "Dhcp4", 225), hex_upper(&der));
        assert_eq!(data_of(&v, "Dhcp4", 6), "C6120035");
        // 600 octets over DHCPv4: split by Kea, said so.
        let cert = &entries(&v, "Dhcp4", "option-data")[1];
        assert!(cert["comment"].as_str().unwrap().contains("RFC 3396"));

        let v = parsed(&cfg, Family::V6);
        assert_eq!(codes(&v, "Dhcp6", "option-def"), [65001, 65002]);
        assert_eq!(codes(&v, "Dhcp6", "option-data"), [65001, 65002, 32]);
        assert_eq!(entries(&v, "Dhcp6", "option-def")[0]["space"], "dhcp6");
        assert_eq!(data_of(&v, "Dhcp6", 65002), hex_upper(&der));
        assert_eq!(data_of(&v, "Dhcp6", 32), "00015180");
        assert!(entries(&v, "Dhcp6", "option-data")[1]
            .get("comment")
            .is_none());
    }

    #[test]
    fn draft00_v4_certificate_is_cut_where_kea_splits() {
        let der = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/certs/bootstrap-1000.der"),
        )
        .unwrap();
        let v = parsed(
            &config(WireFormat::Draft00, Some(URI), Some(der.clone())),
            Family::V4,
        );
        assert_eq!(codes(&v, "Dhcp4", "option-def"), [224, 225]);
        let defs = entries(&v, "Dhcp4", "option-def");
        assert_eq!(
            (&defs[0]["type"], &defs[0]["record-types"]),
            (&json!("record"), &json!("uint16, string"))
        );
        assert_eq!(
            data_of(&v, "Dhcp4", 224),
            format!("0000{}", hex_upper(URI.as_bytes()))
        );
        // What Kea's split makes of the data: options of 253 octets, each seq + fragment.
        let hex = data_of(&v, "Dhcp4", 225);
        let data: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let pieces: Vec<&[u8]> = data.chunks(KEA_V4_SPLIT_DATA).collect();
        assert_eq!(pieces.len(), 4, "1000 octets in fragments of 251");
        for (seq, piece) in (0u16..).zip(&pieces) {
            assert_eq!(piece[..2], seq.to_be_bytes(), "piece {seq}");
        }
        assert_eq!(
            crate::client::reassemble_v4_certificate(WireFormat::Draft00, &pieces).unwrap(),
            der
        );
        let cert = &entries(&v, "Dhcp4", "option-data")[1];
        assert!(cert["comment"].as_str().unwrap().contains("251"), "{cert}");
        // DHCPv6 has no fragments: the fast path's bytes.
        let v = parsed(
            &config(WireFormat::Draft00, Some(URI), Some(der.clone())),
            Family::V6,
        );
        assert_eq!(data_of(&v, "Dhcp6", 65002), hex_upper(&der));
        assert_eq!(entries(&v, "Dhcp6", "option-def")[0]["type"], "string");
    }

    #[test]
    fn ietf00_certificates_carry_the_cert_encoding() {
        let der: Vec<u8> = (0..100).map(|i| i as u8).collect();
        let cfg = config(WireFormat::Ietf00, None, Some(der.clone()));
        let expected = format!("04{}", hex_upper(&der));
        for (family, root, code) in [(Family::V4, "Dhcp4", 225), (Family::V6, "Dhcp6", 65002)] {
            let v = parsed(&cfg, family);
            assert_eq!(data_of(&v, root, code), expected);
            assert_eq!(codes(&v, root, "option-def"), [code]);
            let def = &entries(&v, root, "option-def")[0];
            assert_eq!(def["record-types"], "uint8, binary");
            assert!(entries(&v, root, "option-data")[0].get("comment").is_none());
        }
    }

    #[test]
    fn a_disabled_family_is_an_error_naming_the_other() {
        let mut cfg = config(WireFormat::Draft00, Some(URI), None);
        cfg.dhcpv4.enabled = false;
        let err = kea_config(&cfg, Family::V4).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("dhcpv4.enabled = false"), "{text}");
        assert!(text.contains("--family v6"), "{text}");
        assert_eq!(
            codes(&parsed(&cfg, Family::V6), "Dhcp6", "option-data"),
            [65001]
        );
    }

    #[test]
    fn relay_mode_listens_for_relayed_requests() {
        let mut cfg = config(WireFormat::Draft00, Some(URI), None);
        cfg.slow_path.mode = SlowPathMode::Relay;
        let v = parsed(&cfg, Family::V4);
        let ifc = &v["Dhcp4"]["interfaces-config"];
        assert_eq!(ifc["interfaces"], json!(["*"]));
        assert_eq!(ifc["dhcp-socket-type"], "udp");
        let v = parsed(&cfg, Family::V6);
        assert!(v["Dhcp6"]["interfaces-config"]
            .get("dhcp-socket-type")
            .is_none());
    }
}
