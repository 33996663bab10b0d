//! The extra trusted CA bundle (`CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`)
//! and its PEM parsing.

use super::{CODEX_CA_CERTIFICATE_ENV_VAR, HttpClientError, SSL_CERT_FILE_ENV_VAR};
use crate::environment::EnvLookup;
use std::path::PathBuf;

/// Extra trusted roots: the variable that named the bundle, the file, the certificates.
pub type CustomCa = (&'static str, PathBuf, Vec<reqwest::Certificate>);

/// Loads the extra CA bundle: `CODEX_CA_CERTIFICATE` when set, else
/// `SSL_CERT_FILE`, else none. Returns the variable used, the file and the
/// certificates.
pub fn load_custom_ca(env: EnvLookup<'_>) -> Result<Option<CustomCa>, HttpClientError> {
    let chosen = [CODEX_CA_CERTIFICATE_ENV_VAR, SSL_CERT_FILE_ENV_VAR]
        .into_iter()
        .find_map(|variable| {
            env(variable)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (variable, PathBuf::from(value)))
        });
    let Some((variable, path)) = chosen else {
        return Ok(None);
    };
    let bytes =
        crate::bounded_file::read_regular_file(&path, crate::bounded_file::MAX_CA_FILE_BYTES)
            .map_err(|source| HttpClientError::CaFileUnreadable {
                variable,
                path: path.clone(),
                source,
            })?;
    let ders = parse_pem_certificates(&bytes).map_err(|problem| match problem {
        PemProblem::NoCertificates => HttpClientError::CaNoCertificates {
            variable,
            path: path.clone(),
        },
        PemProblem::Malformed(problem) => HttpClientError::CaMalformed {
            variable,
            path: path.clone(),
            problem,
        },
    })?;
    let mut certs = Vec::with_capacity(ders.len());
    for (index, der) in ders.iter().enumerate() {
        let cert =
            reqwest::Certificate::from_der(der).map_err(|err| HttpClientError::CaMalformed {
                variable,
                path: path.clone(),
                problem: format!("certificate #{} is not usable: {err}", index + 1),
            })?;
        certs.push(cert);
    }
    Ok(Some((variable, path, certs)))
}

/// What is wrong with a PEM bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemProblem {
    /// No `CERTIFICATE` / `TRUSTED CERTIFICATE` block at all.
    NoCertificates,
    /// A block is broken; the text says how.
    Malformed(String),
}

/// The labels of the blocks that hold a certificate.
const CERTIFICATE_LABELS: [&str; 3] = ["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"];

/// Extracts the DER bytes of every `CERTIFICATE`, `TRUSTED CERTIFICATE` and
/// `X509 CERTIFICATE` block of a PEM bundle; other blocks are skipped unread.
///
/// The framing is read line by line here, because the `pem` crate reads a
/// bundle differently from every TLS tool: it takes the lines before a blank
/// line inside a block for RFC 1421 headers and fails the whole bundle on one
/// broken block of any label (a damaged key next to good certificates).
/// Base64 is the `base64` crate's and the certificate's extent inside a block
/// is read from its DER header by the RustCrypto `der` crate. For `TRUSTED
/// CERTIFICATE` (OpenSSL's form with trust settings appended) only the
/// certificate itself is kept. Errors name a block by its line and, when it is
/// a certificate label, by that label; nothing else from the file is quoted
/// (a malformed line of a key block could be key material).
pub fn parse_pem_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PemProblem> {
    use base64::Engine as _;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PemProblem::Malformed("the file is not text (invalid UTF-8)".to_owned()))?;
    let mut certs = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((line_no, line)) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let named = if CERTIFICATE_LABELS.contains(&label) {
            format!("the {label} block")
        } else {
            "a block".to_owned()
        };
        let end_marker = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for (_, inner) in lines.by_ref() {
            let inner = inner.trim();
            if inner == end_marker {
                closed = true;
                break;
            }
            if inner.starts_with("-----") {
                break;
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(PemProblem::Malformed(format!(
                "{named} starting on line {} has no matching END line",
                line_no + 1
            )));
        }
        if !CERTIFICATE_LABELS.contains(&label) {
            continue;
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| {
                PemProblem::Malformed(format!(
                    "{named} starting on line {} is not valid base64",
                    line_no + 1
                ))
            })?;
        let cert = first_der_sequence(&der).ok_or_else(|| {
            PemProblem::Malformed(format!(
                "{named} starting on line {} does not hold a DER certificate",
                line_no + 1
            ))
        })?;
        if label != "TRUSTED CERTIFICATE" && cert.len() != der.len() {
            return Err(PemProblem::Malformed(format!(
                "{named} starting on line {} has trailing bytes after the certificate",
                line_no + 1
            )));
        }
        certs.push(cert.to_vec());
    }
    if certs.is_empty() {
        return Err(PemProblem::NoCertificates);
    }
    Ok(certs)
}

/// The complete DER SEQUENCE (header and content) at the start of `der`, as
/// read by the `der` crate; `None` when `der` does not start with one.
pub(super) fn first_der_sequence(der: &[u8]) -> Option<&[u8]> {
    use der::{Decode as _, Tagged as _};
    let (element, rest) = der::AnyRef::from_der_partial(der).ok()?;
    if element.tag() != der::Tag::Sequence {
        return None;
    }
    der.get(..der.len().checked_sub(rest.len())?)
}
