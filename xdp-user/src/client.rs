//! The LwM2M device's side (draft §6): build the information-only requests, check the
//! replies, and reassemble the certificate. Used by `probe` and by tests; its option walkers
//! are written apart from options.rs so that they check it rather than mirror it.

use std::net::Ipv4Addr;

use xdp_common::wire::{dhcpv4 as v4, dhcpv6 as v6, Field};

use crate::options::{
    WireFormat, CERT_ENCODING_X509_SIGNATURE, DRAFT00_SEQ_LEN, DRAFT00_URI_RESERVED_LEN,
};

/// What a reply said about LwM2M bootstrap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bootstrap {
    pub uri: Option<String>,
    /// The reassembled certificate, DER, checked to parse as X.509.
    pub certificate: Option<Vec<u8>>,
    /// ietf-00 only: the cert-encoding octet that preceded it.
    pub certificate_encoding: Option<u8>,
}

/// The rest of a DHCPACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpV4Info {
    /// Option 54.
    pub server_id: Ipv4Addr,
    pub ciaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 6],
    /// Every option instance in order (pads and End left out).
    pub options: Vec<(u8, Vec<u8>)>,
}

/// The rest of a DHCPv6 REPLY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpV6Info {
    /// Option 2.
    pub server_duid: Vec<u8>,
    /// Option 1, when echoed.
    pub client_duid: Option<Vec<u8>>,
    /// Option 32, seconds.
    pub information_refresh_time: Option<u32>,
    /// Every top-level option in order.
    pub options: Vec<(u16, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{len} octets: too short for a {what} (at least {min})")]
    TooShort {
        what: &'static str,
        len: usize,
        min: usize,
    },
    #[error("not the reply we wait for: {0}")]
    NotAReply(String),
    #[error("transaction id {got:#x} is not ours ({expected:#x})")]
    WrongXid { expected: u32, got: u32 },
    #[error("malformed options: {0}")]
    Malformed(String),
    #[error("the reply has no {0}")]
    Missing(&'static str),
    #[error("option {code} appears {count} times; it is sent once")]
    Repeated { code: u16, count: usize },
    #[error("server status {code}: {message:?}")]
    Status { code: u16, message: String },
    #[error("bootstrap URI: {0}")]
    BadUri(String),
    #[error("certificate fragment {index} has {len} octets, less than its sequence number")]
    FragmentTooShort { index: usize, len: usize },
    #[error("certificate fragment seq {0} is missing")]
    FragmentMissing(u16),
    #[error("certificate fragment seq {0} appears twice")]
    FragmentDuplicate(u16),
    #[error("certificate encoding {0} is not X.509 Certificate - Signature (4)")]
    CertificateEncoding(u8),
    #[error("certificate: {0}")]
    BadCertificate(String),
}

/// A DHCPINFORM (BOOTP payload): option 53 = 8, 61 (type 1 + MAC), 55 (`prl`, split per
/// RFC 3396 if longer than 255), 57 when `max_size` is given, End, padded to 300 octets.
pub fn build_inform(
    xid: u32,
    chaddr: [u8; 6],
    ciaddr: Ipv4Addr,
    prl: &[u8],
    max_size: Option<u16>,
) -> Vec<u8> {
    let mut msg = vec![0u8; v4::field::OPTIONS.start];
    msg[v4::field::OP] = v4::OP_BOOTREQUEST;
    msg[v4::field::HTYPE] = v4::HTYPE_ETHERNET;
    msg[v4::field::HLEN] = v4::HLEN_ETHERNET;
    msg[v4::field::XID].copy_from_slice(&xid.to_be_bytes());
    msg[v4::field::CIADDR].copy_from_slice(&ciaddr.octets());
    msg[v4::field::CHADDR][..chaddr.len()].copy_from_slice(&chaddr);
    msg[v4::field::MAGIC_COOKIE].copy_from_slice(&v4::MAGIC_COOKIE);
    msg.extend([v4::OPT_MESSAGE_TYPE, 1, v4::MSG_INFORM]);
    // The client identifier of a MAC: its hardware type, then the address (RFC 2132 §9.14).
    msg.extend([
        v4::OPT_CLIENT_ID,
        1 + chaddr.len() as u8,
        v4::HTYPE_ETHERNET,
    ]);
    msg.extend(chaddr);
    for chunk in prl.chunks(usize::from(u8::MAX)) {
        msg.extend([v4::OPT_PARAMETER_REQUEST_LIST, chunk.len() as u8]);
        msg.extend(chunk);
    }
    if let Some(size) = max_size {
        msg.extend([v4::OPT_MAX_MESSAGE_SIZE, 2]);
        msg.extend(size.to_be_bytes());
    }
    msg.push(v4::OPT_END);
    if msg.len() < v4::MIN_MESSAGE_LEN {
        msg.resize(v4::MIN_MESSAGE_LEN, v4::OPT_PAD);
    }
    msg
}

/// RFC 5612: the enterprise number reserved for documentation.
pub const EXAMPLE_ENTERPRISE: u32 = 32473;

/// Append a Vendor Class option (RFC 8415 §21.16) holding one `len`-octet item under the
/// documentation enterprise number (nothing when `len` is 0). It pads a request: on veth a
/// reply can only grow into the request's own buffer (ARCHITECTURE.md, "Traps").
pub fn pad_with_vendor_class(msg: &mut Vec<u8>, len: u16) {
    if len == 0 {
        return;
    }
    msg.extend(v6::OPT_VENDOR_CLASS.to_be_bytes());
    msg.extend((4 + 2 + len).to_be_bytes());
    msg.extend(EXAMPLE_ENTERPRISE.to_be_bytes());
    msg.extend(len.to_be_bytes());
    msg.extend(std::iter::repeat_n(b'-', usize::from(len)));
}

/// A DHCPv6 INFORMATION-REQUEST: Client Identifier (`duid`), ORO (`oro`), Elapsed Time 0.
///
/// # Panics
/// If `duid` is longer than a DUID may be (128) or `oro` does not fit one option.
pub fn build_information_request(xid: [u8; 3], duid: &[u8], oro: &[u16]) -> Vec<u8> {
    assert!(
        duid.len() <= v6::MAX_DUID_LEN,
        "a DUID has at most {} octets",
        v6::MAX_DUID_LEN
    );
    assert!(
        oro.len() * 2 <= usize::from(u16::MAX),
        "ORO too long for one option"
    );
    let mut msg = vec![0; v6::HDR_LEN];
    msg[v6::field::MSG_TYPE] = v6::MSG_INFORMATION_REQUEST;
    msg[v6::field::TRANSACTION_ID].copy_from_slice(&xid);
    let mut option = |code: u16, data: &[u8]| {
        msg.extend(code.to_be_bytes());
        msg.extend((data.len() as u16).to_be_bytes());
        msg.extend(data);
    };
    option(v6::OPT_CLIENTID, duid);
    option(
        v6::OPT_ORO,
        &oro.iter()
            .flat_map(|c| c.to_be_bytes())
            .collect::<Vec<u8>>(),
    );
    option(v6::OPT_ELAPSED_TIME, &0u16.to_be_bytes());
    msg
}

/// The DHCPv4 options field: every instance in order, pads dropped, up to End.
fn walk_v4_options(options: &[u8]) -> Result<Vec<(u8, &[u8])>, ClientError> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Some(&code) = options.get(at) else {
            return Err(ClientError::Malformed("no End option".into()));
        };
        match code {
            v4::OPT_PAD => at += 1,
            v4::OPT_END => return Ok(out),
            _ => {
                let Some(&len) = options.get(at + 1) else {
                    return Err(ClientError::Malformed(format!(
                        "option {code} has no length octet"
                    )));
                };
                let end = at + 2 + usize::from(len);
                if end > options.len() {
                    return Err(ClientError::Malformed(format!(
                        "option {code} (len {len}) runs {} octets past the end",
                        end - options.len()
                    )));
                }
                out.push((code, &options[at + 2..end]));
                at = end;
            }
        }
    }
}

/// The top-level DHCPv6 options: every one in order; they must fill `options` exactly.
fn walk_v6_options(options: &[u8]) -> Result<Vec<(u16, &[u8])>, ClientError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < options.len() {
        if at + v6::OPT_HDR_LEN > options.len() {
            return Err(ClientError::Malformed(format!(
                "{} stray octets at the end",
                options.len() - at
            )));
        }
        let header = &options[at..at + v6::OPT_HDR_LEN];
        let code = u16::from_be_bytes(header[v6::option::CODE].try_into().expect("2"));
        let len = u16::from_be_bytes(header[v6::option::LENGTH].try_into().expect("2"));
        let len = usize::from(len);
        let end = at + v6::OPT_HDR_LEN + len;
        if end > options.len() {
            return Err(ClientError::Malformed(format!(
                "option {code} (len {len}) runs {} octets past the end",
                end - options.len()
            )));
        }
        out.push((code, &options[at + v6::OPT_HDR_LEN..end]));
        at = end;
    }
    Ok(out)
}

fn instances_of<'a, C: PartialEq + Copy>(options: &[(C, &'a [u8])], code: C) -> Vec<&'a [u8]> {
    options
        .iter()
        .filter(|(c, _)| *c == code)
        .map(|(_, data)| *data)
        .collect()
}

/// The one instance of `code`, if any.
fn single<'a>(options: &[(u16, &'a [u8])], code: u16) -> Result<Option<&'a [u8]>, ClientError> {
    match instances_of(options, code).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(ClientError::Repeated {
            code,
            count: many.len(),
        }),
    }
}

fn uri_text(bytes: Vec<u8>) -> Result<String, ClientError> {
    if bytes.is_empty() {
        return Err(ClientError::BadUri("empty".into()));
    }
    String::from_utf8(bytes).map_err(|e| ClientError::BadUri(format!("not UTF-8: {e}")))
}

/// Checks that `der` is exactly one DER X.509 certificate.
fn check_der(der: &[u8]) -> Result<(), ClientError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], _)) => Ok(()),
        Ok((rest, _)) => Err(ClientError::BadCertificate(format!(
            "{} octets after the DER",
            rest.len()
        ))),
        Err(e) => Err(ClientError::BadCertificate(format!("not DER X.509: {e}"))),
    }
}

/// The ietf-00 certificate data without its cert-encoding octet, which must be 4.
fn strip_cert_encoding(data: &[u8]) -> Result<&[u8], ClientError> {
    match data.split_first() {
        Some((&CERT_ENCODING_X509_SIGNATURE, der)) => Ok(der),
        Some((&other, _)) => Err(ClientError::CertificateEncoding(other)),
        None => Err(ClientError::BadCertificate("empty option".into())),
    }
}

/// The certificate from the data of its DHCPv4 option instances, in packet order:
/// draft-00 puts fragments in sequence-number order (gaps, duplicates and a missing seq 0
/// are errors); rfc3396 / ietf-00 concatenate (RFC 3396), ietf-00 then drops the
/// cert-encoding. The result must parse as DER X.509.
pub fn reassemble_v4_certificate(
    format: WireFormat,
    instances: &[&[u8]],
) -> Result<Vec<u8>, ClientError> {
    if instances.is_empty() {
        return Err(ClientError::Missing("certificate option"));
    }
    let der = match format {
        WireFormat::Draft00 => {
            let mut fragments = Vec::with_capacity(instances.len());
            for (index, data) in instances.iter().enumerate() {
                if data.len() < DRAFT00_SEQ_LEN {
                    return Err(ClientError::FragmentTooShort {
                        index,
                        len: data.len(),
                    });
                }
                let (seq, fragment) = data.split_at(DRAFT00_SEQ_LEN);
                fragments.push((u16::from_be_bytes(seq.try_into().expect("2")), fragment));
            }
            fragments.sort_by_key(|(seq, _)| *seq);
            for (expected, pair) in (0u16..).zip(&fragments) {
                match pair.0.cmp(&expected) {
                    std::cmp::Ordering::Equal => {}
                    std::cmp::Ordering::Less => return Err(ClientError::FragmentDuplicate(pair.0)),
                    std::cmp::Ordering::Greater => {
                        return Err(ClientError::FragmentMissing(expected))
                    }
                }
            }
            fragments
                .iter()
                .flat_map(|(_, fragment)| fragment.iter().copied())
                .collect()
        }
        WireFormat::Rfc3396 => instances.concat(),
        WireFormat::Ietf00 => strip_cert_encoding(&instances.concat())?.to_vec(),
    };
    check_der(&der)?;
    Ok(der)
}

/// The bootstrap URI from the data of its DHCPv4 option instances.
fn v4_uri(
    format: WireFormat,
    code: u8,
    instances: &[&[u8]],
) -> Result<Option<String>, ClientError> {
    let bytes = match (format, instances) {
        (_, []) => return Ok(None),
        (WireFormat::Draft00, [one]) => match one.get(DRAFT00_URI_RESERVED_LEN..) {
            Some(uri) => uri.to_vec(),
            None => {
                return Err(ClientError::BadUri(
                    "shorter than its reserved field".into(),
                ))
            }
        },
        (WireFormat::Draft00, many) => {
            return Err(ClientError::Repeated {
                code: code.into(),
                count: many.len(),
            })
        }
        (WireFormat::Rfc3396 | WireFormat::Ietf00, all) => all.concat(),
    };
    uri_text(bytes).map(Some)
}

/// Checks a DHCPACK to our INFORM (`xid`) and takes the LwM2M options out of it.
pub fn decode_v4_reply(
    format: WireFormat,
    uri_code: u8,
    cert_code: u8,
    bootp: &[u8],
    xid: u32,
) -> Result<(DhcpV4Info, Bootstrap), ClientError> {
    if bootp.len() < v4::field::OPTIONS.start {
        return Err(ClientError::TooShort {
            what: "BOOTP message",
            len: bootp.len(),
            min: v4::field::OPTIONS.start,
        });
    }
    if bootp[v4::field::OP] != v4::OP_BOOTREPLY {
        return Err(ClientError::NotAReply(format!(
            "op {}, not BOOTREPLY (2)",
            bootp[v4::field::OP]
        )));
    }
    if bootp[v4::field::MAGIC_COOKIE] != v4::MAGIC_COOKIE {
        return Err(ClientError::NotAReply("no DHCP magic cookie".into()));
    }
    let got = u32::from_be_bytes(bootp[v4::field::XID].try_into().expect("4 octets"));
    if got != xid {
        return Err(ClientError::WrongXid { expected: xid, got });
    }
    let options = walk_v4_options(&bootp[v4::field::OPTIONS])?;
    if !instances_of(&options, v4::OPT_OVERLOAD).is_empty() {
        return Err(ClientError::Malformed(
            "option overload (52) is not supported".into(),
        ));
    }
    match instances_of(&options, v4::OPT_MESSAGE_TYPE).as_slice() {
        [[v4::MSG_ACK]] => {}
        [] => return Err(ClientError::Missing("message type (53)")),
        other => {
            return Err(ClientError::NotAReply(format!(
                "message type {:?}, not DHCPACK (5)",
                other.concat()
            )))
        }
    }
    let server_id = match instances_of(&options, v4::OPT_SERVER_ID).as_slice() {
        [id] => <[u8; 4]>::try_from(*id).map(Ipv4Addr::from).map_err(|_| {
            ClientError::Malformed(format!("server identifier of {} octets", id.len()))
        })?,
        [] => return Err(ClientError::Missing("server identifier (54)")),
        many => {
            return Err(ClientError::Repeated {
                code: v4::OPT_SERVER_ID.into(),
                count: many.len(),
            })
        }
    };
    let cert_instances = instances_of(&options, cert_code);
    let certificate = match cert_instances.as_slice() {
        [] => None,
        some => Some(reassemble_v4_certificate(format, some)?),
    };
    let bootstrap = Bootstrap {
        uri: v4_uri(format, uri_code, &instances_of(&options, uri_code))?,
        certificate_encoding: (format == WireFormat::Ietf00 && certificate.is_some())
            .then_some(CERT_ENCODING_X509_SIGNATURE),
        certificate,
    };
    let addr = |field: Field| Ipv4Addr::from(<[u8; 4]>::try_from(&bootp[field]).expect("4"));
    let info = DhcpV4Info {
        server_id,
        ciaddr: addr(v4::field::CIADDR),
        giaddr: addr(v4::field::GIADDR),
        chaddr: bootp[v4::field::CHADDR][..6].try_into().expect("6 octets"),
        options: options.iter().map(|(c, d)| (*c, d.to_vec())).collect(),
    };
    Ok((info, bootstrap))
}

/// Checks a DHCPv6 REPLY to our INFORMATION-REQUEST (`xid`) and takes the LwM2M options out.
pub fn decode_v6_reply(
    format: WireFormat,
    uri_code: u16,
    cert_code: u16,
    msg: &[u8],
    xid: [u8; 3],
) -> Result<(DhcpV6Info, Bootstrap), ClientError> {
    if msg.len() < v6::HDR_LEN {
        return Err(ClientError::TooShort {
            what: "DHCPv6 message",
            len: msg.len(),
            min: v6::HDR_LEN,
        });
    }
    if msg[v6::field::MSG_TYPE] != v6::MSG_REPLY {
        return Err(ClientError::NotAReply(format!(
            "message type {}, not REPLY (7)",
            msg[v6::field::MSG_TYPE]
        )));
    }
    if msg[v6::field::TRANSACTION_ID] != xid {
        let as_u32 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]);
        return Err(ClientError::WrongXid {
            expected: as_u32(&xid),
            got: as_u32(&msg[v6::field::TRANSACTION_ID]),
        });
    }
    let options = walk_v6_options(&msg[v6::field::OPTIONS])?;
    if let Some(status) = single(&options, v6::OPT_STATUS_CODE)? {
        let code = status
            .get(v6::status::CODE)
            .map_or(u16::MAX, |c| u16::from_be_bytes(c.try_into().expect("2")));
        if code != v6::STATUS_SUCCESS {
            let message =
                String::from_utf8_lossy(status.get(v6::status::MESSAGE).unwrap_or_default())
                    .into_owned();
            return Err(ClientError::Status { code, message });
        }
    }
    let server_duid =
        single(&options, v6::OPT_SERVERID)?.ok_or(ClientError::Missing("server identifier (2)"))?;
    let information_refresh_time = single(&options, v6::OPT_INFORMATION_REFRESH_TIME)?
        .map(|d| {
            <[u8; 4]>::try_from(d).map(u32::from_be_bytes).map_err(|_| {
                ClientError::Malformed(format!("information refresh time of {} octets", d.len()))
            })
        })
        .transpose()?;
    let uri = single(&options, uri_code)?
        .map(|d| uri_text(d.to_vec()))
        .transpose()?;
    let (certificate, certificate_encoding) = match single(&options, cert_code)? {
        None => (None, None),
        Some(data) => {
            let (der, encoding) = match format {
                WireFormat::Ietf00 => (
                    strip_cert_encoding(data)?,
                    Some(CERT_ENCODING_X509_SIGNATURE),
                ),
                WireFormat::Draft00 | WireFormat::Rfc3396 => (data, None),
            };
            check_der(der)?;
            (Some(der.to_vec()), encoding)
        }
    };
    let info = DhcpV6Info {
        server_duid: server_duid.to_vec(),
        client_duid: single(&options, v6::OPT_CLIENTID)?.map(<[u8]>::to_vec),
        information_refresh_time,
        options: options.iter().map(|(c, d)| (*c, d.to_vec())).collect(),
    };
    Ok((
        info,
        Bootstrap {
            uri,
            certificate,
            certificate_encoding,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        compile,
        config::tests::{certs_dir, config},
        options,
    };
    use dhcproto::{v4 as d4, v6 as d6, Decodable, Decoder};
    use xdp_common::maps::Family;

    const XID: u32 = 0x1234_5678;
    const XID6: [u8; 3] = [0xab, 0xcd, 0xef];
    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const SERVER_DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99];
    const URI: &str = "coaps://bootstrap.example.net:5684";

    fn cert(size: usize) -> Vec<u8> {
        std::fs::read(certs_dir().join(format!("bootstrap-{size}.der"))).unwrap()
    }

    /// A DHCPACK the way the fast path lays it out, around `options`.
    fn ack(xid: u32, options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; v4::field::OPTIONS.start];
        m[v4::field::OP] = v4::OP_BOOTREPLY;
        m[v4::field::HTYPE] = v4::HTYPE_ETHERNET;
        m[v4::field::HLEN] = v4::HLEN_ETHERNET;
        m[v4::field::XID].copy_from_slice(&xid.to_be_bytes());
        m[v4::field::CIADDR].copy_from_slice(&[198, 18, 0, 10]);
        m[v4::field::CHADDR][..MAC.len()].copy_from_slice(&MAC);
        m[v4::field::MAGIC_COOKIE].copy_from_slice(&v4::MAGIC_COOKIE);
        m.extend(v4::ack_head([198, 18, 0, 1]));
        m.extend(options);
        m.push(v4::OPT_END);
        m.resize(m.len().max(v4::MIN_MESSAGE_LEN), v4::OPT_PAD);
        m
    }

    /// A DHCPv6 REPLY around `options`.
    fn reply(xid: [u8; 3], options: &[u8]) -> Vec<u8> {
        let mut m = vec![v6::MSG_REPLY];
        m.extend(xid);
        m.extend(v6::OPT_SERVERID.to_be_bytes());
        m.extend((SERVER_DUID.len() as u16).to_be_bytes());
        m.extend(SERVER_DUID);
        m.extend(options);
        m
    }

    fn served(format: WireFormat, der: Vec<u8>) -> compile::Compiled {
        compile::compile(&config(format, Some(URI), Some(der))).unwrap()
    }

    fn block_bytes(compiled: &compile::Compiled, family: Family, mask: u32) -> Vec<u8> {
        assert!(compiled.block(family, mask).len > 0, "block fits");
        compiled.concatenated(family, mask)
    }

    #[test]
    fn inform_fixture() {
        let msg = build_inform(
            XID,
            MAC,
            Ipv4Addr::new(198, 18, 0, 10),
            &[224, 225],
            Some(1500),
        );
        assert_eq!(msg.len(), 300);
        let mut expected = vec![
            1, 1, 6, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 198, 18, 0, 10,
        ];
        expected.extend([0; 12]);
        expected.extend(MAC);
        expected.extend([0; 10 + 64 + 128]);
        expected.extend([99, 130, 83, 99]);
        expected.extend([
            53, 1, 8, 61, 7, 1, 2, 0, 0, 0, 0, 1, 55, 2, 224, 225, 57, 2, 0x05, 0xdc, 255,
        ]);
        expected.resize(300, 0);
        assert_eq!(msg, expected);
    }

    #[test]
    fn inform_decodes_with_dhcproto() {
        let prl = [1, 3, 6, 224, 225];
        let msg = build_inform(XID, MAC, Ipv4Addr::new(198, 18, 0, 10), &prl, Some(1400));
        let parsed = d4::Message::decode(&mut Decoder::new(&msg)).unwrap();
        assert_eq!(parsed.opcode(), d4::Opcode::BootRequest);
        assert_eq!(parsed.htype(), d4::HType::Eth);
        assert_eq!(parsed.xid(), XID);
        assert_eq!(parsed.ciaddr(), Ipv4Addr::new(198, 18, 0, 10));
        assert_eq!(parsed.yiaddr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(&parsed.chaddr()[..6], &MAC);
        let opts = parsed.opts();
        assert_eq!(opts.msg_type(), Some(d4::MessageType::Inform));
        assert_eq!(
            opts.get(d4::OptionCode::ParameterRequestList),
            Some(&d4::DhcpOption::ParameterRequestList(
                prl.iter().map(|&c| c.into()).collect()
            ))
        );
        assert_eq!(
            opts.get(d4::OptionCode::MaxMessageSize),
            Some(&d4::DhcpOption::MaxMessageSize(1400))
        );
        let mut client_id = vec![1];
        client_id.extend(MAC);
        assert_eq!(
            opts.get(d4::OptionCode::ClientIdentifier),
            Some(&d4::DhcpOption::ClientIdentifier(client_id))
        );

        let without_57 = build_inform(XID, MAC, Ipv4Addr::new(198, 18, 0, 10), &prl, None);
        let parsed = d4::Message::decode(&mut Decoder::new(&without_57)).unwrap();
        assert_eq!(parsed.opts().get(d4::OptionCode::MaxMessageSize), None);
    }

    #[test]
    fn a_long_prl_is_split_per_rfc3396() {
        let prl: Vec<u8> = (1..=254).chain(1..=10).collect();
        let msg = build_inform(XID, MAC, Ipv4Addr::new(198, 18, 0, 10), &prl, None);
        let options = walk_v4_options(&msg[v4::field::OPTIONS]).unwrap();
        let parts = instances_of(&options, v4::OPT_PARAMETER_REQUEST_LIST);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [255, 9]);
        assert_eq!(parts.concat(), prl);
    }

    #[test]
    fn information_request_fixture_and_dhcproto() {
        let msg =
            build_information_request(XID6, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1], &[65001, 65002, 83]);
        assert_eq!(
            msg,
            [
                11, 0xab, 0xcd, 0xef, //
                0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1, //
                0, 6, 0, 6, 0xfd, 0xe9, 0xfd, 0xea, 0, 83, //
                0, 8, 0, 2, 0, 0,
            ]
        );
        let parsed = d6::Message::decode(&mut Decoder::new(&msg)).unwrap();
        assert_eq!(parsed.msg_type(), d6::MessageType::InformationRequest);
        assert_eq!(parsed.xid(), XID6);
        assert_eq!(
            parsed.opts().get(d6::OptionCode::ClientId),
            Some(&d6::DhcpOption::ClientId(vec![
                0, 3, 0, 1, 2, 0, 0, 0, 0, 1
            ]))
        );
        assert_eq!(
            parsed.opts().get(d6::OptionCode::ORO),
            Some(&d6::DhcpOption::ORO(d6::ORO {
                opts: vec![65001.into(), 65002.into(), 83.into()]
            }))
        );
        assert_eq!(
            parsed.opts().get(d6::OptionCode::ElapsedTime),
            Some(&d6::DhcpOption::ElapsedTime(0))
        );
    }

    #[test]
    fn v4_round_trip_in_every_format_and_size() {
        for format in WireFormat::ALL {
            for size in [300, 1000, 1150, 1400] {
                let der = cert(size);
                let compiled = served(format, der.clone());
                let msg = ack(XID, &block_bytes(&compiled, Family::V4, 0b11));
                let (info, got) = decode_v4_reply(format, 224, 225, &msg, XID).unwrap();
                assert_eq!(got.uri.as_deref(), Some(URI), "{format} {size}");
                assert_eq!(got.certificate.as_ref(), Some(&der), "{format} {size}");
                let encoding = (format == WireFormat::Ietf00).then_some(4);
                assert_eq!(got.certificate_encoding, encoding);
                assert_eq!(info.server_id, Ipv4Addr::new(198, 18, 0, 1));
                assert_eq!(info.ciaddr, Ipv4Addr::new(198, 18, 0, 10));
                assert_eq!(info.chaddr, MAC);
                assert_eq!(info.options[0], (53, vec![5]));
            }
        }
    }

    #[test]
    fn v6_round_trip_in_every_format_and_size() {
        for format in WireFormat::ALL {
            for size in [300, 1000, 1150, 1400] {
                let der = cert(size);
                let mut cfg = config(format, Some(URI), Some(der.clone()));
                cfg.dhcpv6.information_refresh_time = Some(3600);
                let compiled = compile::compile(&cfg).unwrap();
                let msg = reply(XID6, &block_bytes(&compiled, Family::V6, 0b111));
                let (info, got) = decode_v6_reply(format, 65001, 65002, &msg, XID6).unwrap();
                assert_eq!(got.uri.as_deref(), Some(URI));
                assert_eq!(got.certificate.as_ref(), Some(&der), "{format} {size}");
                assert_eq!(
                    got.certificate_encoding,
                    (format == WireFormat::Ietf00).then_some(4)
                );
                assert_eq!(info.server_duid, SERVER_DUID);
                assert_eq!(info.client_duid, None);
                assert_eq!(info.information_refresh_time, Some(3600));
            }
        }
    }

    #[test]
    fn only_the_requested_options_come_back() {
        let compiled = served(WireFormat::Draft00, cert(300));
        let uri_only = ack(XID, &block_bytes(&compiled, Family::V4, 0b01));
        let (_, got) = decode_v4_reply(WireFormat::Draft00, 224, 225, &uri_only, XID).unwrap();
        assert_eq!((got.uri.as_deref(), got.certificate), (Some(URI), None));
        let cert_only = reply(XID6, &block_bytes(&compiled, Family::V6, 0b10));
        let (_, got) =
            decode_v6_reply(WireFormat::Draft00, 65001, 65002, &cert_only, XID6).unwrap();
        assert_eq!((got.uri, got.certificate), (None, Some(cert(300))));
    }

    #[test]
    fn dhcproto_concatenates_our_rfc3396_split() {
        // An independent RFC 3396 reader agrees with options.rs.
        for format in [WireFormat::Rfc3396, WireFormat::Ietf00] {
            let der = cert(1000);
            let msg = ack(
                XID,
                &block_bytes(&served(format, der.clone()), Family::V4, 0b11),
            );
            let parsed = d4::Message::decode(&mut Decoder::new(&msg)).unwrap();
            let Some(d4::DhcpOption::Unknown(cert_opt)) =
                parsed.opts().get(d4::OptionCode::Unknown(225))
            else {
                panic!("no option 225 in {:?}", parsed.opts());
            };
            let expected = if format == WireFormat::Ietf00 {
                [&[4][..], &der].concat()
            } else {
                der
            };
            assert_eq!(cert_opt.data(), &expected[..]);
            let Some(d4::DhcpOption::Unknown(uri_opt)) =
                parsed.opts().get(d4::OptionCode::Unknown(224))
            else {
                panic!("no option 224");
            };
            assert_eq!(uri_opt.data(), URI.as_bytes());
        }
    }

    #[test]
    fn dhcproto_reads_our_v6_options() {
        let der = cert(1150);
        let msg = reply(
            XID6,
            &block_bytes(&served(WireFormat::Draft00, der.clone()), Family::V6, 0b11),
        );
        let parsed = d6::Message::decode(&mut Decoder::new(&msg)).unwrap();
        assert_eq!(parsed.msg_type(), d6::MessageType::Reply);
        let data = |code: u16| match parsed.opts().get(d6::OptionCode::from(code)) {
            Some(d6::DhcpOption::Unknown(u)) => u.data().to_vec(),
            other => panic!("option {code}: {other:?}"),
        };
        assert_eq!(data(65001), URI.as_bytes());
        assert_eq!(data(65002), der);
    }

    /// The draft-00 fragments (instance data) of a certificate, as options.rs makes them.
    fn draft00_fragments(der: &[u8]) -> Vec<Vec<u8>> {
        let bytes = options::v4_certificate(WireFormat::Draft00, 225, der);
        let with_end = [&bytes[..], &[255]].concat();
        let options = walk_v4_options(&with_end).unwrap();
        options.into_iter().map(|(_, d)| d.to_vec()).collect()
    }

    #[test]
    fn draft00_fragments_are_put_in_sequence_order() {
        let der = cert(1000);
        let mut fragments = draft00_fragments(&der);
        assert_eq!(fragments.len(), 4);
        fragments.swap(0, 3);
        fragments.swap(1, 2);
        let refs: Vec<&[u8]> = fragments.iter().map(Vec::as_slice).collect();
        assert_eq!(
            reassemble_v4_certificate(WireFormat::Draft00, &refs).unwrap(),
            der
        );

        // Out of order on the wire too.
        let mut options = Vec::new();
        for f in &fragments {
            options.extend([225, f.len() as u8]);
            options.extend(f);
        }
        let (_, got) =
            decode_v4_reply(WireFormat::Draft00, 224, 225, &ack(XID, &options), XID).unwrap();
        assert_eq!(got.certificate, Some(der));
    }

    #[test]
    fn draft00_gaps_duplicates_and_a_missing_first_fragment_are_rejected() {
        let fragments = draft00_fragments(&cert(1000));
        let refs = |idx: &[usize]| -> Vec<&[u8]> {
            idx.iter().map(|&i| fragments[i].as_slice()).collect()
        };
        let r = |idx: &[usize]| reassemble_v4_certificate(WireFormat::Draft00, &refs(idx));
        assert_eq!(r(&[0, 1, 3]), Err(ClientError::FragmentMissing(2)));
        assert_eq!(r(&[1, 2, 3]), Err(ClientError::FragmentMissing(0)));
        assert_eq!(r(&[0, 1, 1, 2, 3]), Err(ClientError::FragmentDuplicate(1)));
        assert_eq!(r(&[0, 1, 2, 3, 3]), Err(ClientError::FragmentDuplicate(3)));
        // Complete in sequence but the last fragment lost: the DER is cut short.
        assert!(matches!(r(&[0, 1, 2]), Err(ClientError::BadCertificate(_))));
        assert_eq!(
            reassemble_v4_certificate(WireFormat::Draft00, &[&fragments[0], &[0]]),
            Err(ClientError::FragmentTooShort { index: 1, len: 1 })
        );
        assert_eq!(
            reassemble_v4_certificate(WireFormat::Draft00, &[]),
            Err(ClientError::Missing("certificate option"))
        );
    }

    #[test]
    fn bad_der_and_bad_encodings_are_rejected() {
        let der = cert(300);
        let mut broken = der.clone();
        broken[1] ^= 0x40; // the outer SEQUENCE length
        for format in [WireFormat::Draft00, WireFormat::Rfc3396] {
            let bytes = options::v4_certificate(format, 225, &broken);
            let msg = ack(XID, &bytes);
            assert!(
                matches!(
                    decode_v4_reply(format, 224, 225, &msg, XID),
                    Err(ClientError::BadCertificate(_))
                ),
                "{format}"
            );
        }
        let mut trailing = der.clone();
        trailing.push(0);
        let err = reassemble_v4_certificate(WireFormat::Rfc3396, &[&trailing]).unwrap_err();
        assert_eq!(
            err,
            ClientError::BadCertificate("1 octets after the DER".into())
        );
        let raw_key = [&[15u8][..], &der].concat();
        assert_eq!(
            reassemble_v4_certificate(WireFormat::Ietf00, &[&raw_key]),
            Err(ClientError::CertificateEncoding(15))
        );

        let mut v6 = options::v6_certificate(WireFormat::Ietf00, 65002, &der).unwrap();
        v6[4] = 15;
        assert_eq!(
            decode_v6_reply(WireFormat::Ietf00, 65001, 65002, &reply(XID6, &v6), XID6).unwrap_err(),
            ClientError::CertificateEncoding(15)
        );
        let v6_broken = options::v6_certificate(WireFormat::Draft00, 65002, &broken).unwrap();
        assert!(matches!(
            decode_v6_reply(
                WireFormat::Draft00,
                65001,
                65002,
                &reply(XID6, &v6_broken),
                XID6
            ),
            Err(ClientError::BadCertificate(_))
        ));
    }

    #[test]
    fn truncated_replies_are_rejected() {
        let compiled = served(WireFormat::Rfc3396, cert(300));
        let msg = ack(XID, &block_bytes(&compiled, Family::V4, 0b11));
        let end_option = msg.iter().rposition(|&b| b == 255).unwrap();
        for len in 0..=end_option {
            assert!(
                decode_v4_reply(WireFormat::Rfc3396, 224, 225, &msg[..len], XID).is_err(),
                "cut at {len}"
            );
        }
        assert_eq!(
            decode_v4_reply(WireFormat::Rfc3396, 224, 225, &msg[..100], XID).unwrap_err(),
            ClientError::TooShort {
                what: "BOOTP message",
                len: 100,
                min: 240
            }
        );

        let msg6 = reply(XID6, &block_bytes(&compiled, Family::V6, 0b11));
        let cert_start = msg6.len() - 300 - 4;
        for len in (0..v6::HDR_LEN).chain(cert_start + 1..msg6.len()) {
            assert!(
                decode_v6_reply(WireFormat::Rfc3396, 65001, 65002, &msg6[..len], XID6).is_err(),
                "cut at {len}"
            );
        }
    }

    #[test]
    fn wrong_replies_are_rejected() {
        let good = ack(
            XID,
            &options::v4_uri(WireFormat::Draft00, 224, URI).unwrap(),
        );
        let check = |msg: &[u8]| decode_v4_reply(WireFormat::Draft00, 224, 225, msg, XID);
        assert!(check(&good).is_ok());
        let mut request = good.clone();
        request[v4::field::OP] = v4::OP_BOOTREQUEST;
        assert!(matches!(check(&request), Err(ClientError::NotAReply(_))));
        let mut no_cookie = good.clone();
        no_cookie[v4::field::MAGIC_COOKIE.start] = 0;
        assert!(matches!(check(&no_cookie), Err(ClientError::NotAReply(_))));
        assert_eq!(
            decode_v4_reply(WireFormat::Draft00, 224, 225, &good, 7),
            Err(ClientError::WrongXid {
                expected: 7,
                got: XID
            })
        );
        // The head: 53 (code, length, type) then 54 (code, length, address).
        let head = v4::field::OPTIONS.start;
        let mut nak = good.clone();
        nak[head + 2] = v4::MSG_NAK;
        assert!(matches!(check(&nak), Err(ClientError::NotAReply(m)) if m.contains("not DHCPACK")));
        let mut no_server_id = good.clone();
        no_server_id.splice(head + 3..head + v4::ACK_HEAD_LEN, [0; 6]); // option 54 becomes pads
        assert_eq!(
            check(&no_server_id),
            Err(ClientError::Missing("server identifier (54)"))
        );
        let mut past_end = good.clone();
        past_end.truncate(260); // inside the URI option
        assert!(
            matches!(check(&past_end), Err(ClientError::Malformed(m)) if m.contains("past the end"))
        );
        let two_uris = ack(
            XID,
            &[
                options::v4_uri(WireFormat::Draft00, 224, URI).unwrap(),
                options::v4_uri(WireFormat::Draft00, 224, URI).unwrap(),
            ]
            .concat(),
        );
        assert_eq!(
            check(&two_uris),
            Err(ClientError::Repeated {
                code: 224,
                count: 2
            })
        );
        let not_utf8 = ack(XID, &[224, 4, 0, 0, 0xff, 0xfe]);
        assert!(matches!(check(&not_utf8), Err(ClientError::BadUri(_))));

        let good6 = reply(XID6, &options::v6_uri(65001, URI).unwrap());
        let check6 = |msg: &[u8]| decode_v6_reply(WireFormat::Draft00, 65001, 65002, msg, XID6);
        assert!(check6(&good6).is_ok());
        let mut advertise = good6.clone();
        advertise[v6::field::MSG_TYPE] = v6::MSG_ADVERTISE;
        assert!(matches!(check6(&advertise), Err(ClientError::NotAReply(_))));
        assert_eq!(
            decode_v6_reply(WireFormat::Draft00, 65001, 65002, &good6, [0, 0, 1]),
            Err(ClientError::WrongXid {
                expected: 1,
                got: 0xabcdef
            })
        );
        let no_server = [
            &[7, 0xab, 0xcd, 0xef][..],
            &options::v6_uri(65001, URI).unwrap(),
        ]
        .concat();
        assert_eq!(
            check6(&no_server),
            Err(ClientError::Missing("server identifier (2)"))
        );
        let failed = reply(XID6, &[0, 13, 0, 6, 0, 1, b'n', b'o', b'p', b'e']);
        assert_eq!(
            check6(&failed),
            Err(ClientError::Status {
                code: 1,
                message: "nope".into()
            })
        );
        let twice = reply(
            XID6,
            &[
                options::v6_uri(65001, URI).unwrap(),
                options::v6_uri(65001, URI).unwrap(),
            ]
            .concat(),
        );
        assert_eq!(
            check6(&twice),
            Err(ClientError::Repeated {
                code: 65001,
                count: 2
            })
        );
    }
}
