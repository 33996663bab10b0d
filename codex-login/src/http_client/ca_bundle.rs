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
/// `X509 CERTIFICATE` block of a PEM bundle; other well-formed blocks are
/// skipped, a broken block of any label is an error.
///
/// The PEM framing and base64 are the `pem` crate's (`pem::parse_many`); the
/// certificate's extent inside a block is read from its DER header by the
/// RustCrypto `der` crate. For `TRUSTED CERTIFICATE` (OpenSSL's form with
/// trust settings appended) only the certificate itself is kept.
pub fn parse_pem_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PemProblem> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PemProblem::Malformed("the file is not text (invalid UTF-8)".to_owned()))?;
    let starts = block_starts(text);
    let blocks = pem::parse_many(text).map_err(|err| {
        PemProblem::Malformed(
            locate_broken_block(text, &starts)
                .unwrap_or_else(|| format!("the file is not valid PEM ({})", pem_fault(&err))),
        )
    })?;
    // `parse_many` stops quietly at a last BEGIN line that no END line follows.
    if starts.len() > blocks.len()
        && let Some(problem) = locate_broken_block(text, &starts[blocks.len()..])
    {
        return Err(PemProblem::Malformed(problem));
    }
    let mut certs = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let label = block.tag();
        if !CERTIFICATE_LABELS.contains(&label) {
            continue;
        }
        let at = starts
            .get(index)
            .filter(|start| start.label == label)
            .map_or_else(String::new, |start| {
                format!(" starting on line {}", start.line)
            });
        let der = block.contents();
        let cert = first_der_sequence(der).ok_or_else(|| {
            PemProblem::Malformed(format!(
                "the {label} block{at} does not hold a DER certificate"
            ))
        })?;
        if label != "TRUSTED CERTIFICATE" && cert.len() != der.len() {
            return Err(PemProblem::Malformed(format!(
                "the {label} block{at} has trailing bytes after the certificate"
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

/// Where a `-----BEGIN <label>-----` line is, for naming a block in messages
/// (the framing itself is `pem`'s).
#[derive(Debug)]
struct BlockStart<'a> {
    /// Byte offset of the `-----BEGIN ` marker.
    offset: usize,
    /// 1-based line number.
    line: usize,
    /// The label on the BEGIN line.
    label: &'a str,
}

fn block_starts(text: &str) -> Vec<BlockStart<'_>> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("-----BEGIN ") {
            let label = rest.split("-----").next().unwrap_or_default().trim_end();
            starts.push(BlockStart {
                offset: offset + (line.len() - trimmed.len()),
                line: index + 1,
                label,
            });
        }
        offset += line.len();
    }
    starts
}

/// Names the first block among `starts` that `pem` cannot read on its own
/// (from its BEGIN line up to the next one).
fn locate_broken_block(text: &str, starts: &[BlockStart<'_>]) -> Option<String> {
    starts.iter().enumerate().find_map(|(index, start)| {
        let end = starts.get(index + 1).map_or(text.len(), |next| next.offset);
        let err = pem::parse(text.get(start.offset..end)?).err()?;
        Some(format!(
            "the {} block starting on line {} {}",
            start.label,
            start.line,
            pem_fault(&err)
        ))
    })
}

/// What a `pem` error means, in words that never quote the file (a header
/// line of a key block could be key material).
fn pem_fault(err: &pem::PemError) -> &'static str {
    match err {
        pem::PemError::MalformedFraming
        | pem::PemError::MissingEndTag
        | pem::PemError::MismatchedTags(..) => "has no matching END line",
        pem::PemError::InvalidData(_) => "is not valid base64",
        pem::PemError::InvalidHeader(_) => "has a malformed header line",
        pem::PemError::MissingBeginTag => "has an empty label",
        pem::PemError::NotUtf8(_) => "is not text",
        _ => "is not valid PEM",
    }
}
