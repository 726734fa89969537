//! What `check` and `encode` print about a compiled config: per family what is served and
//! how large it is on the wire, and the encoded options as annotated hex.

use std::fmt::Write as _;

use xdp_common::{
    maps::{Family, BIT_CERTIFICATE, BIT_URI, MAX_BLOCK_LEN},
    wire::{dhcpv4 as v4, ipv4, udp},
};

use crate::{
    compile::{Compiled, EncodedOption},
    options::{instances, WireFormat, DRAFT00_SEQ_LEN, NAME_CERTIFICATE, NAME_IRT, NAME_URI},
};

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

/// An LwM2M option the config leaves out, as `check` lists it.
fn not_served(out: &mut String, name: &str, code: u16) {
    let _ = writeln!(out, "  {name} (code {code}): not configured, not served");
}

impl Compiled {
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
                    hex::encode(&data[..2]),
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

    /// The first line of `check` and `encode`: wire format and policy.
    fn headline(&self) -> String {
        format!(
            "wire format {}, policy {}\n",
            self.about.wire_format, self.about.policy
        )
    }

    /// For the `encode` subcommand: every option of each family, its code and lengths, and a
    /// hex dump of its bytes with a note per instance (fragment / split).
    pub fn annotated_hex(&self) -> String {
        let about = &self.about;
        let mut out = self.headline();
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
        let mut out = self.headline();
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
                _ => not_served(&mut out, NAME_URI, codes[0]),
            }
            match (find(BIT_CERTIFICATE), &about.certificate) {
                (Some(o), Some((subject, sha256, der_len))) => {
                    let _ = writeln!(
                        out,
                        "  {NAME_CERTIFICATE} (code {}): subject {subject:?}, {der_len} octets DER, sha256 {}, {}",
                        o.code,
                        hex::encode(sha256),
                        self.size_note(family, o)
                    );
                }
                _ => not_served(&mut out, NAME_CERTIFICATE, codes[1]),
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
            // IP + UDP + a DHCPACK with this option alone after the head.
            let datagram = ipv4::HDR_LEN + udp::HDR_LEN + v4::ack_message_len(option.bytes.len());
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
mod tests {
    use crate::{
        compile::{compile, tests::full_config},
        config::tests::config,
        options::{
            tests::{fake_cert, URI},
            WireFormat,
        },
    };

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
}
