//! Review of issue 16 (the CA bundle is now read by the `pem` crate): bundles 25e3845 read and
//! the pem-based reader refuses. They failed at the reviewed commit and pass since the framing
//! is read line by line again; each says what 25e3845 returned.

use codex_login::http_client::parse_pem_certificates;

/// `MAA=` is the DER `30 00`, the smallest SEQUENCE both readers take as a certificate.
const EMPTY_SEQUENCE: [u8; 2] = [0x30, 0x00];

/// 25e3845 read a PEM block line by line and skipped blank lines inside it. `pem` takes
/// everything before the first blank line of a block as RFC 1421 header lines, so a blank
/// line inside (or at the end of) a certificate's base64 now fails the whole bundle
/// ("has a malformed header line").
#[test]
fn review_a_blank_line_inside_a_certificate_block_is_still_read() {
    for text in [
        "-----BEGIN CERTIFICATE-----\nMAA=\n\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMA\n\nA=\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\r\nMAA=\r\n\r\n-----END CERTIFICATE-----\r\n",
    ] {
        assert_eq!(
            parse_pem_certificates(text.as_bytes()),
            Ok(vec![EMPTY_SEQUENCE.to_vec()]),
            "25e3845 read one certificate from {text:?}"
        );
    }
}

/// 25e3845 skipped every non-certificate block without decoding it, so a bundle that also
/// carries a damaged (or non-base64, e.g. a placeholder) private key block still gave its
/// certificates. Now any broken block of any label fails the whole bundle.
#[test]
fn review_a_broken_key_block_next_to_a_certificate_is_still_skipped() {
    let text = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\
                -----BEGIN PRIVATE KEY-----\n<redacted>\n-----END PRIVATE KEY-----\n";
    assert_eq!(
        parse_pem_certificates(text.as_bytes()),
        Ok(vec![EMPTY_SEQUENCE.to_vec()]),
        "25e3845 skipped the key block"
    );
}

/// 25e3845 read the certificate's extent with its own DER length reader, which took a
/// non-canonical long-form length (`30 81 01 00`) and handed the bytes to the TLS stack,
/// whose strict DER reader (webpki) refuses it anyway. The `der` crate refuses it at parse
/// time, with the block named: kept on purpose.
#[test]
fn review_a_non_canonical_der_length_is_refused_when_read() {
    let text = "-----BEGIN CERTIFICATE-----\nMIEBAA==\n-----END CERTIFICATE-----\n";
    assert_eq!(
        parse_pem_certificates(text.as_bytes()),
        Err(codex_login::http_client::PemProblem::Malformed(
            "the CERTIFICATE block starting on line 1 does not hold a DER certificate".to_owned()
        ))
    );
}

/// A BEGIN line without its closing dashes, followed on the same line by key material (a
/// hand-edited or flattened key file): 25e3845 did not take the line for a BEGIN line and
/// skipped it. Now the text after `-----BEGIN ` is taken as the block's label and quoted in
/// the error, which `HttpClientError` puts in front of every command: the key leaks to
/// stderr.
#[test]
fn review_a_malformed_begin_line_is_never_quoted() {
    let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCSECRETKEYMATERIAL";
    let text = format!(
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\
         -----BEGIN PRIVATE KEY {secret}\nAAAA\n-----END PRIVATE KEY-----\n"
    );
    let parsed = parse_pem_certificates(text.as_bytes());
    assert!(
        !format!("{parsed:?}").contains(secret),
        "the key material is quoted: {parsed:?}"
    );
    assert_eq!(
        parsed,
        Ok(vec![EMPTY_SEQUENCE.to_vec()]),
        "25e3845 skipped the line"
    );
}
