//! The bootstrap server's certificate file: DER or PEM, checked to be one X.509 certificate.

use std::{fs, path::Path};

use sha2::{Digest, Sha256};

use super::model::Certificate;

/// Reads a DER or PEM (one CERTIFICATE block) file and checks that it is an X.509
/// certificate; the error says what is wrong with the file.
pub(super) fn load_certificate(path: &Path) -> Result<Certificate, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let blocks =
            pem::parse_many(&bytes).map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
        match blocks.as_slice() {
            [] => {
                return Err(format!(
                    "{}: bad PEM: no complete BEGIN/END block",
                    path.display()
                ))
            }
            [only] if only.tag() == "CERTIFICATE" => only.contents().to_vec(),
            [only] => {
                return Err(format!(
                    "{}: the PEM block is {:?}; give one CERTIFICATE block",
                    path.display(),
                    only.tag()
                ))
            }
            _ => {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                return Err(format!(
                    "{}: {} PEM blocks ({}); give exactly one CERTIFICATE block, the bootstrap \
                     server's",
                    path.display(),
                    blocks.len(),
                    tags.join(", ")
                ));
            }
        }
    } else {
        bytes
    };
    let subject = x509_subject(&der).map_err(|why| format!("{}: {why}", path.display()))?;
    Ok(Certificate {
        sha256: Sha256::digest(&der).into(),
        der,
        path: path.to_path_buf(),
        subject,
    })
}

/// The subject of a DER X.509 certificate, which must be the whole of `der`.
fn x509_subject(der: &[u8]) -> Result<String, String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, _)) if !rest.is_empty() => Err(format!(
            "{} octets of trailing data after the DER certificate",
            rest.len()
        )),
        Ok((_, cert)) => Ok(cert.subject().to_string()),
        Err(e) => Err(format!("not a DER X.509 certificate: {e}")),
    }
}
