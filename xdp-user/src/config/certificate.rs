//! The bootstrap server's certificate file: DER or PEM, checked to be one X.509 certificate.
//! When it is not, the error says what the file is (a private key, a certificate request, a
//! chain, text), in words rather than in the parser's.

use std::{fs, path::Path};

use sha2::{Digest, Sha256};
use x509_parser::der_parser::{ber::BerObjectContent, der::parse_der};

use super::{error::io_cause, model::Certificate};

/// PEM labels (RFC 7468) and what a file holding one is.
const PEM_KINDS: [(&str, &str); 9] = [
    ("PRIVATE KEY", "a private key"),
    ("RSA PRIVATE KEY", "a private key"),
    ("EC PRIVATE KEY", "a private key"),
    ("ENCRYPTED PRIVATE KEY", "a private key"),
    ("PUBLIC KEY", "a public key, not a certificate"),
    (
        "CERTIFICATE REQUEST",
        "a certificate signing request, not a certificate",
    ),
    (
        "NEW CERTIFICATE REQUEST",
        "a certificate signing request, not a certificate",
    ),
    ("X509 CRL", "a certificate revocation list"),
    (
        "TRUSTED CERTIFICATE",
        "an OpenSSL trusted certificate (write it out with `openssl x509`)",
    ),
];

fn pem_kind(tag: &str) -> String {
    PEM_KINDS
        .iter()
        .find(|(label, _)| *label == tag)
        .map_or_else(
            || format!("a PEM {tag:?} block"),
            |(_, kind)| (*kind).to_string(),
        )
}

/// Reads a DER or PEM file and checks that it is one X.509 certificate; the error says what
/// is wrong with the file (never naming the path: the caller's key and value already do).
pub(super) fn load_certificate(path: &Path) -> Result<Certificate, String> {
    let bytes = fs::read(path).map_err(|e| {
        if path.is_dir() {
            "cannot read it: it is a directory".to_string()
        } else {
            format!("cannot read {}: {}", path.display(), io_cause(&e))
        }
    })?;
    let mut notes = Vec::new();
    let der = match find(&bytes, b"-----BEGIN ") {
        Some(start) => {
            let blocks = pem::parse_many(&bytes[start..])
                .map_err(|e| format!("a PEM file, but not a valid one ({e})"))?;
            let certs: Vec<&pem::Pem> =
                blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
            let others: Vec<String> = blocks
                .iter()
                .filter(|b| b.tag() != "CERTIFICATE")
                .map(|b| pem_kind(b.tag()))
                .collect();
            match (certs.as_slice(), others.as_slice()) {
                ([], []) => return Err("a PEM file without a complete BEGIN/END block".into()),
                ([], [only]) => {
                    return Err(format!(
                        "this is {only}; give the bootstrap server's certificate"
                    ))
                }
                ([], _) => {
                    return Err(format!(
                        "this PEM file holds {}, and no CERTIFICATE block",
                        others.join(", ")
                    ))
                }
                ([_], [_, ..]) => {
                    return Err(format!(
                        "besides the CERTIFICATE block this PEM file holds {}; give a file \
                         with the certificate alone (never ship a private key)",
                        others.join(", ")
                    ))
                }
                ([cert], []) => {
                    if start > 0 && !bytes[..start].trim_ascii().is_empty() {
                        notes.push(format!(
                            "PEM with {start} octets of text before the block: using the \
                             CERTIFICATE block"
                        ));
                    }
                    cert.contents().to_vec()
                }
                (many, _) => {
                    return Err(format!(
                        "a chain of {} certificates; give the bootstrap server's certificate \
                         alone (the first block, if it is the server's)",
                        many.len()
                    ))
                }
            }
        }
        None => bytes,
    };
    let subject = x509_subject(&der)?;
    Ok(Certificate {
        sha256: Sha256::digest(&der).into(),
        der,
        path: path.to_path_buf(),
        subject,
        notes,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The subject of a DER X.509 certificate, which must be the whole of `der`.
fn x509_subject(der: &[u8]) -> Result<String, String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) if !rest.is_empty() => Err(format!(
            "a DER certificate followed by {} more octets; give the certificate alone",
            rest.len()
        )),
        Ok((_, cert)) => Ok(cert.subject().to_string()),
        Err(_) => Err(not_a_certificate(der)),
    }
}

/// What a DER or text file that is no certificate is, as far as its shape tells.
fn not_a_certificate(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "the file is empty".into();
    }
    if bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return "a text file without a \"-----BEGIN CERTIFICATE-----\" block (neither PEM nor DER)"
            .into();
    }
    if let Some(whole) = sequence_len(bytes) {
        if whole > bytes.len() {
            return format!(
                "cut short: {} octets, where its DER header announces {whole}",
                bytes.len()
            );
        }
    }
    // A private key (PKCS#1, SEC 1, PKCS#8) is a SEQUENCE that starts with a small INTEGER
    // version; a certificate starts with a SEQUENCE (TBSCertificate).
    if let Ok((_, obj)) = parse_der(bytes) {
        if let BerObjectContent::Sequence(items) = &obj.content {
            if let Some(BerObjectContent::Integer(v)) = items.first().map(|i| &i.content) {
                if v.len() == 1 && v[0] <= 1 {
                    return "this is a private key (DER); give the bootstrap server's certificate"
                        .into();
                }
            }
            return "DER, but not an X.509 certificate (its structure is not a certificate's)"
                .into();
        }
    }
    "neither PEM nor DER: not a certificate file".into()
}

/// The total length a DER SEQUENCE at the start of `bytes` announces (header included).
fn sequence_len(bytes: &[u8]) -> Option<usize> {
    const SEQUENCE: u8 = 0x30;
    if *bytes.first()? != SEQUENCE {
        return None;
    }
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = bytes
        .get(2..2 + n)?
        .iter()
        .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
    Some(2 + n + len)
}
