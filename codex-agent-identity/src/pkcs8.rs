//! PKCS#8 DER for Ed25519 private keys: writes v1 (RFC 5208, what the
//! official CLI accepts) and reads v1 and v2 (RFC 5958) with a small strict
//! DER reader.

use zeroize::Zeroizing;

/// Length of an Ed25519 seed and of an Ed25519 public key.
pub(crate) const ED25519_KEY_LEN: usize = 32;

/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }`
/// up to the seed bytes.
const V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The content octets of the id-Ed25519 object identifier (1.3.101.112).
const ED25519_OID: [u8; 3] = [0x2b, 0x65, 0x70];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// `[0] IMPLICIT Attributes` (constructed).
const TAG_ATTRIBUTES: u8 = 0xa0;
/// `[1] IMPLICIT BIT STRING` public key, as RFC 5958 specifies.
const TAG_PUBLIC_KEY_IMPLICIT: u8 = 0x81;
/// `[1]` wrapping a BIT STRING, as early v2 writers (old *ring*) emitted.
const TAG_PUBLIC_KEY_EXPLICIT: u8 = 0xa1;

/// Why bytes are not an Ed25519 PKCS#8 private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs8Error {
    /// The DER ended before a complete element was read.
    #[error("the PKCS#8 DER ends early")]
    Truncated,
    /// A DER length is indefinite, not minimal, or longer than this reader supports.
    #[error("the PKCS#8 DER has an invalid length encoding")]
    BadLength,
    /// An element had a different tag than the structure requires.
    #[error("the PKCS#8 DER has tag 0x{found:02x} where 0x{expected:02x} ({what}) belongs")]
    UnexpectedTag {
        /// What the element should have been.
        what: &'static str,
        /// The tag required there.
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// The version is neither 0 (v1) nor 1 (v2), or a v1 key carries a public key.
    #[error("unsupported PKCS#8 version")]
    BadVersion,
    /// The algorithm is not Ed25519, or carries parameters.
    #[error("the PKCS#8 key is not an Ed25519 key")]
    NotEd25519,
    /// The private key is not a 32-byte Ed25519 seed.
    #[error("the PKCS#8 private key is not a 32-byte Ed25519 seed")]
    BadSeed,
    /// The embedded public key is malformed or does not belong to the private key.
    #[error("the PKCS#8 public key is malformed or does not match the private key")]
    PublicKeyMismatch,
    /// Bytes follow the end of the structure.
    #[error("the PKCS#8 DER has trailing bytes")]
    TrailingBytes,
}

/// Which PKCS#8 version a key was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkcs8Version {
    /// RFC 5208 `PrivateKeyInfo` (version 0), no public key.
    V1,
    /// RFC 5958 `OneAsymmetricKey` (version 1), optionally with the public key.
    V2,
}

/// The parts of a parsed Ed25519 PKCS#8 key.
pub(crate) struct ParsedPkcs8 {
    pub(crate) seed: Zeroizing<[u8; ED25519_KEY_LEN]>,
    pub(crate) public_key: Option<[u8; ED25519_KEY_LEN]>,
    pub(crate) version: Pkcs8Version,
}

/// Writes the 48-byte PKCS#8 v1 DER for an Ed25519 seed.
pub(crate) fn encode_v1(seed: &[u8; ED25519_KEY_LEN]) -> Zeroizing<Vec<u8>> {
    let mut der = Zeroizing::new(Vec::with_capacity(V1_PREFIX.len() + ED25519_KEY_LEN));
    der.extend_from_slice(&V1_PREFIX);
    der.extend_from_slice(seed);
    der
}

/// Reads an Ed25519 PKCS#8 v1 or v2 DER key; anything else is refused.
pub(crate) fn parse(der: &[u8]) -> Result<ParsedPkcs8, Pkcs8Error> {
    let mut outer = DerReader::new(der);
    let body = outer.expect(TAG_SEQUENCE, "PrivateKeyInfo SEQUENCE")?;
    outer.finish()?;

    let mut fields = DerReader::new(body);
    let version = match fields.expect(TAG_INTEGER, "version INTEGER")? {
        [0x00] => Pkcs8Version::V1,
        [0x01] => Pkcs8Version::V2,
        _ => return Err(Pkcs8Error::BadVersion),
    };

    let algorithm = fields.expect(TAG_SEQUENCE, "AlgorithmIdentifier SEQUENCE")?;
    let mut algorithm = DerReader::new(algorithm);
    if algorithm.expect(TAG_OID, "algorithm OID")? != ED25519_OID {
        return Err(Pkcs8Error::NotEd25519);
    }
    // RFC 8410: the parameters MUST be absent.
    if !algorithm.is_empty() {
        return Err(Pkcs8Error::NotEd25519);
    }

    let private_key = fields.expect(TAG_OCTET_STRING, "privateKey OCTET STRING")?;
    let mut curve_private_key = DerReader::new(private_key);
    let seed_bytes = curve_private_key.expect(TAG_OCTET_STRING, "CurvePrivateKey OCTET STRING")?;
    curve_private_key.finish()?;
    let mut seed = Zeroizing::new([0u8; ED25519_KEY_LEN]);
    if seed_bytes.len() != ED25519_KEY_LEN {
        return Err(Pkcs8Error::BadSeed);
    }
    seed.copy_from_slice(seed_bytes);

    if fields.peek_tag() == Some(TAG_ATTRIBUTES) {
        fields.expect(TAG_ATTRIBUTES, "attributes")?;
    }

    let public_key = match fields.peek_tag() {
        None => None,
        Some(TAG_PUBLIC_KEY_IMPLICIT) => Some(public_key_bits(
            fields.expect(TAG_PUBLIC_KEY_IMPLICIT, "publicKey")?,
        )?),
        Some(TAG_PUBLIC_KEY_EXPLICIT) => {
            let wrapped = fields.expect(TAG_PUBLIC_KEY_EXPLICIT, "publicKey")?;
            let mut inner = DerReader::new(wrapped);
            let bits = inner.expect(TAG_BIT_STRING, "publicKey BIT STRING")?;
            inner.finish()?;
            Some(public_key_bits(bits)?)
        }
        Some(found) => {
            return Err(Pkcs8Error::UnexpectedTag {
                what: "publicKey or end of key",
                expected: TAG_PUBLIC_KEY_IMPLICIT,
                found,
            });
        }
    };
    fields.finish()?;

    if version == Pkcs8Version::V1 && public_key.is_some() {
        return Err(Pkcs8Error::BadVersion);
    }
    Ok(ParsedPkcs8 {
        seed,
        public_key,
        version,
    })
}

/// The content of a BIT STRING holding a 32-byte key: zero unused bits, then the key.
fn public_key_bits(content: &[u8]) -> Result<[u8; ED25519_KEY_LEN], Pkcs8Error> {
    match content.split_first() {
        Some((0x00, key)) if key.len() == ED25519_KEY_LEN => {
            let mut out = [0u8; ED25519_KEY_LEN];
            out.copy_from_slice(key);
            Ok(out)
        }
        _ => Err(Pkcs8Error::PublicKeyMismatch),
    }
}

/// A forward-only reader of DER tag-length-value elements.
struct DerReader<'a> {
    input: &'a [u8],
}

impl<'a> DerReader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    fn finish(&self) -> Result<(), Pkcs8Error> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(Pkcs8Error::TrailingBytes)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Pkcs8Error> {
        if self.input.len() < n {
            return Err(Pkcs8Error::Truncated);
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Pkcs8Error> {
        self.take(1)?.first().copied().ok_or(Pkcs8Error::Truncated)
    }

    /// Reads one element, requires its tag to be `expected`, and returns its content.
    fn expect(&mut self, expected: u8, what: &'static str) -> Result<&'a [u8], Pkcs8Error> {
        let found = self.byte()?;
        if found != expected {
            return Err(Pkcs8Error::UnexpectedTag {
                what,
                expected,
                found,
            });
        }
        let len = self.length()?;
        self.take(len)
    }

    /// Reads a definite, minimally encoded length of at most two length bytes.
    fn length(&mut self) -> Result<usize, Pkcs8Error> {
        let first = self.byte()?;
        match first {
            0x00..=0x7f => Ok(usize::from(first)),
            0x81 => {
                let len = self.byte()?;
                if len < 0x80 {
                    return Err(Pkcs8Error::BadLength);
                }
                Ok(usize::from(len))
            }
            0x82 => {
                let hi = self.byte()?;
                let lo = self.byte()?;
                let len = (usize::from(hi) << 8) | usize::from(lo);
                if len < 0x100 {
                    return Err(Pkcs8Error::BadLength);
                }
                Ok(len)
            }
            _ => Err(Pkcs8Error::BadLength),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7u8; 32];

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
        assert!(parsed.public_key.is_none());
    }

    #[test]
    fn v2_implicit_and_explicit_public_key_forms_parse() {
        let public = [9u8; 32];
        let parsed = parse(&v2_implicit(&SEED, &public)).unwrap();
        assert_eq!(parsed.version, Pkcs8Version::V2);
        assert_eq!(parsed.public_key, Some(public));

        let mut explicit = vec![
            0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        explicit.extend_from_slice(&SEED);
        explicit.extend_from_slice(&[0xa1, 0x23, 0x03, 0x21, 0x00]);
        explicit.extend_from_slice(&public);
        assert_eq!(parse(&explicit).unwrap().public_key, Some(public));
    }

    #[test]
    fn rejects_malformed_der() {
        let good = encode_v1(&SEED).to_vec();
        assert_eq!(parse(&good[..47]).err(), Some(Pkcs8Error::Truncated));

        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(parse(&trailing).err(), Some(Pkcs8Error::TrailingBytes));

        let mut wrong_oid = good.clone();
        wrong_oid[11] = 0x71; // 1.3.101.113 = Ed448
        assert_eq!(parse(&wrong_oid).err(), Some(Pkcs8Error::NotEd25519));

        let mut wrong_version = good.clone();
        wrong_version[4] = 0x02;
        assert_eq!(parse(&wrong_version).err(), Some(Pkcs8Error::BadVersion));

        let mut long_form = vec![0x30, 0x81, 0x2e];
        long_form.extend_from_slice(&good[2..]);
        assert_eq!(parse(&long_form).err(), Some(Pkcs8Error::BadLength));

        let mut indefinite = good.clone();
        indefinite[1] = 0x80;
        assert_eq!(parse(&indefinite).err(), Some(Pkcs8Error::BadLength));

        let mut v1_with_public = v2_implicit(&SEED, &[1u8; 32]);
        v1_with_public[4] = 0x00;
        assert_eq!(parse(&v1_with_public).err(), Some(Pkcs8Error::BadVersion));

        assert!(matches!(
            parse(&[0x04, 0x00]),
            Err(Pkcs8Error::UnexpectedTag { .. })
        ));
        assert_eq!(parse(&[]).err(), Some(Pkcs8Error::Truncated));
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
        assert_eq!(parse(&der).err(), Some(Pkcs8Error::BadSeed));
    }
}
