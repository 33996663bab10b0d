//! PKCS#8 DER for Ed25519 private keys. Reading (v1, RFC 5208, and v2,
//! RFC 5958, whose public key must match) is aws-lc-rs's parser; this module
//! only writes the fixed 48-byte v1 form the official CLI stores and reports
//! which version a key was read from.

use aws_lc_rs::encoding::AsBigEndian as _;
use aws_lc_rs::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

/// Length of an Ed25519 seed and of an Ed25519 public key.
pub(crate) const ED25519_KEY_LEN: usize = 32;

/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }`
/// up to the seed bytes.
const V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why bytes are not an Ed25519 PKCS#8 private key (aws-lc-rs's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the PKCS#8 DER is not an Ed25519 private key ({reason})")]
pub struct Pkcs8Error {
    reason: &'static str,
}

/// Which PKCS#8 version a key was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkcs8Version {
    /// RFC 5208 `PrivateKeyInfo` (version 0), no public key.
    V1,
    /// RFC 5958 `OneAsymmetricKey` (version 1), optionally with the public key.
    V2,
}

/// The parts of a parsed Ed25519 PKCS#8 key.
pub(crate) struct ParsedPkcs8 {
    pub(crate) seed: Zeroizing<[u8; ED25519_KEY_LEN]>,
    pub(crate) version: Pkcs8Version,
}

/// Writes the 48-byte PKCS#8 v1 DER for an Ed25519 seed.
pub(crate) fn encode_v1(seed: &[u8; ED25519_KEY_LEN]) -> Zeroizing<Vec<u8>> {
    let mut der = Zeroizing::new(Vec::with_capacity(V1_PREFIX.len() + ED25519_KEY_LEN));
    der.extend_from_slice(&V1_PREFIX);
    der.extend_from_slice(seed);
    der
}

/// Reads an Ed25519 PKCS#8 v1 or v2 DER key with aws-lc-rs; anything else is refused.
pub(crate) fn parse(der: &[u8]) -> Result<ParsedPkcs8, Pkcs8Error> {
    let rewritten = rfc5958_public_key_form(der);
    let der = rewritten.as_deref().map_or(der, |der| der.as_slice());
    // aws-lc-rs ignores bytes after the outer SEQUENCE; a stored key must not have any.
    if outer_len(der) != Some(der.len()) {
        return Err(Pkcs8Error {
            reason: "bytes follow the outer SEQUENCE or it is cut short",
        });
    }
    let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|err| Pkcs8Error {
        reason: err.description_(),
    })?;
    let unreadable = || Pkcs8Error {
        reason: "the seed could not be read back",
    };
    let seed_bytes = pair
        .seed()
        .and_then(|seed| seed.as_be_bytes())
        .map_err(|_| unreadable())?;
    let mut seed = Zeroizing::new([0u8; ED25519_KEY_LEN]);
    if seed_bytes.as_ref().len() != ED25519_KEY_LEN {
        return Err(unreadable());
    }
    seed.copy_from_slice(seed_bytes.as_ref());
    Ok(ParsedPkcs8 {
        seed,
        version: version_of(der),
    })
}

/// Early v2 writers (*ring* 0.16) wrapped the public key as `[1] { BIT STRING }`
/// (`a1 23 03 21 00 <key>`); RFC 5958, and aws-lc-rs, want `[1] IMPLICIT BIT
/// STRING` (`81 21 00 <key>`). Rewrites that one fixed 85-byte layout.
fn rfc5958_public_key_form(der: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    const OLD_TAG: [u8; 5] = [0xa1, 0x23, 0x03, 0x21, 0x00];
    let seed_end = V1_PREFIX.len() + ED25519_KEY_LEN;
    if der.len() != seed_end + OLD_TAG.len() + ED25519_KEY_LEN
        || der.get(..2) != Some(&[0x30, 0x53][..])
        || der.get(seed_end..seed_end + OLD_TAG.len()) != Some(&OLD_TAG[..])
    {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(der.len() - 2));
    out.extend_from_slice(&[0x30, 0x51]);
    out.extend_from_slice(der.get(2..seed_end)?);
    out.extend_from_slice(&[0x81, 0x21, 0x00]);
    out.extend_from_slice(der.get(seed_end + OLD_TAG.len()..)?);
    Some(out)
}

/// The length the outer SEQUENCE claims, header included (short or long form).
fn outer_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    if first & 0x80 == 0 {
        return Some(2 + usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 2 {
        return None;
    }
    let len = der
        .get(2..2 + count)?
        .iter()
        .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
    Some(2 + count + len)
}

/// The version INTEGER of DER that aws-lc-rs already accepted: after the outer
/// SEQUENCE header (short or long length form) comes `02 01 <version>`.
fn version_of(der: &[u8]) -> Pkcs8Version {
    let header = match der.get(1) {
        Some(len) if *len & 0x80 != 0 => 2 + usize::from(*len & 0x7f),
        _ => 2,
    };
    match der.get(header + 2) {
        Some(0x01) => Pkcs8Version::V2,
        _ => Pkcs8Version::V1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7u8; 32];

    fn public_of(seed: &[u8; 32]) -> [u8; 32] {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).unwrap();
        pair.public_key().as_ref().try_into().unwrap()
    }

    fn v2_implicit(seed: &[u8; 32], public: &[u8; 32]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(seed);
        der.extend_from_slice(&[0x81, 0x21, 0x00]);
        der.extend_from_slice(public);
        der
    }

    #[test]
    fn v1_round_trips() {
        let der = encode_v1(&SEED);
        assert_eq!(der.len(), 48);
        let parsed = parse(&der).unwrap();
        assert_eq!(*parsed.seed, SEED);
        assert_eq!(parsed.version, Pkcs8Version::V1);
    }

    #[test]
    fn v2_with_matching_public_key_parses_and_mismatch_is_refused() {
        let parsed = parse(&v2_implicit(&SEED, &public_of(&SEED))).unwrap();
        assert_eq!(parsed.version, Pkcs8Version::V2);
        assert_eq!(*parsed.seed, SEED);
        assert!(parse(&v2_implicit(&SEED, &[9u8; 32])).is_err());

        // The `[1]`-wrapped BIT STRING form early v2 writers (old *ring*) emitted.
        let mut explicit = vec![
            0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        explicit.extend_from_slice(&SEED);
        explicit.extend_from_slice(&[0xa1, 0x23, 0x03, 0x21, 0x00]);
        explicit.extend_from_slice(&public_of(&SEED));
        let parsed = parse(&explicit).unwrap();
        assert_eq!(parsed.version, Pkcs8Version::V2);
        assert_eq!(*parsed.seed, SEED);
    }

    #[test]
    fn rejects_malformed_der() {
        let good = encode_v1(&SEED).to_vec();
        assert!(parse(&good[..47]).is_err());

        let mut trailing = good.clone();
        trailing.push(0);
        assert!(parse(&trailing).is_err());

        let mut wrong_oid = good.clone();
        wrong_oid[11] = 0x71; // 1.3.101.113 = Ed448
        assert!(parse(&wrong_oid).is_err());

        let mut wrong_version = good.clone();
        wrong_version[4] = 0x02;
        assert!(parse(&wrong_version).is_err());

        let mut indefinite = good.clone();
        indefinite[1] = 0x80;
        assert!(parse(&indefinite).is_err());

        let mut long_form = vec![0x30, 0x81, 0x2e];
        long_form.extend_from_slice(&good[2..]);
        assert!(parse(&long_form).is_err(), "non-minimal length accepted");

        let mut v1_with_public = v2_implicit(&SEED, &public_of(&SEED));
        v1_with_public[4] = 0x00;
        assert!(
            parse(&v1_with_public).is_err(),
            "v1 with a public key accepted"
        );

        assert!(parse(&[0x04, 0x00]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn rejects_short_seed() {
        let der = [
            0x30, 0x2d, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x21,
            0x04, 0x1f,
        ]
        .iter()
        .copied()
        .chain([0u8; 31])
        .collect::<Vec<_>>();
        assert!(parse(&der).is_err());
    }
}
