//! The LwM2M option codec (protocol.md, "Wire formats"): the three wire formats, what one
//! option of each carries, the encoders of the URI and certificate options, and the one
//! splitter of encoded bytes back into option instances. It knows no config: its inputs are
//! a format, a code and the bytes to carry.

use std::fmt;

use xdp_common::{maps::Family, wire::dhcpv6 as v6};

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

/// ietf-00 cert-encoding octet (IKEv2 Certificate Encoding): X.509 Certificate - Signature.
pub const CERT_ENCODING_X509_SIGNATURE: u8 = 4;
/// Data octets one DHCPv4 option carries (RFC 2132: a 1-octet length).
pub const V4_OPTION_MAX_DATA: usize = u8::MAX as usize;
/// code(1) len(1).
pub const V4_OPT_HDR_LEN: usize = 2;
/// draft-00 DHCPv4 URI option: reserved(2) = 0 before the URI.
const DRAFT00_URI_RESERVED: [u8; 2] = [0, 0];
pub const DRAFT00_URI_RESERVED_LEN: usize = DRAFT00_URI_RESERVED.len();
/// draft-00 DHCPv4 certificate option: seq(2) before each fragment.
pub const DRAFT00_SEQ_LEN: usize = 2;
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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    /// Data that no single option of its family carries.
    #[error("{family} {name} (code {code}): {len} octets, more than one option carries ({max})")]
    TooLong {
        family: &'static str,
        name: String,
        code: u16,
        len: usize,
        max: usize,
    },
}

/// code(1) len(1) data: one DHCPv4 option; `data` must fit.
pub fn v4_option(code: u8, data: &[u8]) -> Vec<u8> {
    let len = u8::try_from(data.len()).expect("callers split DHCPv4 data at 255 octets");
    let mut out = Vec::with_capacity(V4_OPT_HDR_LEN + data.len());
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

/// code(2) len(2) data: one DHCPv6 option; `name` names it in the error.
pub fn v6_option(name: &str, code: u16, data: &[u8]) -> Result<Vec<u8>, EncodeError> {
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

/// One option instance inside encoded option bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance<'a> {
    /// Where its header starts.
    pub offset: usize,
    /// Where its data ends.
    pub end: usize,
    pub code: u16,
    pub data: &'a [u8],
}

/// Splits encoded option bytes back into their instances (they are ours, so well-formed: a
/// length running past the end is cut there).
pub fn instances(family: Family, bytes: &[u8]) -> Vec<Instance<'_>> {
    let hdr = match family {
        Family::V4 => V4_OPT_HDR_LEN,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Certificate-like bytes: the encoders never look inside.
    pub(crate) fn fake_cert(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    pub(crate) const URI: &str = "coap://a";

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
}
