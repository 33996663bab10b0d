//! Ed25519 agent keys: the private key the client holds and the public key it registers.

pub(crate) mod sealed_task_id;

use crate::pkcs8::{self, ED25519_KEY_LEN, Pkcs8Error, Pkcs8Version};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use codex_auth_provider::SecretString;
use ring::rand::SecureRandom as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Length of an Ed25519 signature in bytes.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// The key type word in OpenSSH public keys and in their wire blob.
const SSH_ED25519: &str = "ssh-ed25519";

/// Domain string mixed into freshly generated seeds.
const SEED_DOMAIN: &[u8] = b"codex-agent-identity-ed25519-v1";

/// Standard base64 that accepts input with or without `=` padding.
pub(crate) const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The private key text is not standard base64.
    #[error("the agent private key is not valid base64")]
    Base64,
    /// The private key text is not a `-----BEGIN PRIVATE KEY-----` PEM block.
    #[error("the agent private key is not a PKCS#8 PEM block (BEGIN PRIVATE KEY)")]
    Pem,
    /// The DER is not an Ed25519 PKCS#8 key.
    #[error("the agent private key is not an Ed25519 PKCS#8 key: {0}")]
    Pkcs8(#[from] Pkcs8Error),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The cryptography library refused the seed.
    #[error("the Ed25519 seed was rejected")]
    Rejected,
    /// A public key line is not the one-line `ssh-ed25519 <base64>` form.
    #[error("the public key is not an `ssh-ed25519` line: {0}")]
    SshPublicKey(&'static str),
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature text is not standard base64 of 64 bytes.
    #[error("the signature is not standard base64 of a 64-byte Ed25519 signature")]
    Encoding,
    /// The signature does not match the message and public key.
    #[error("the Ed25519 signature does not verify")]
    Invalid,
}

/// An agent's Ed25519 private key; `Debug` shows only the public fingerprint.
#[derive(Clone)]
pub struct AgentKey {
    seed: Zeroizing<[u8; ED25519_KEY_LEN]>,
    pair: Arc<Ed25519KeyPair>,
    public: AgentPublicKey,
}

impl AgentKey {
    /// A new random key: the seed is the first half of SHA-512 over a domain
    /// string and 64 bytes from the operating system's random generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut entropy = Zeroizing::new([0u8; 64]);
        ring::rand::SystemRandom::new()
            .fill(entropy.as_mut())
            .map_err(|_| KeyError::Random)?;
        let digest = Sha512::new()
            .chain_update(SEED_DOMAIN)
            .chain_update(entropy.as_ref())
            .finalize();
        let mut seed = Zeroizing::new([0u8; ED25519_KEY_LEN]);
        seed.copy_from_slice(&digest[..ED25519_KEY_LEN]);
        Self::from_seed(&seed)
    }

    /// The key whose 32-byte Ed25519 seed (RFC 8032 private key) is `seed`.
    pub fn from_seed(seed: &[u8; ED25519_KEY_LEN]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::Rejected)?;
        let mut public = [0u8; ED25519_KEY_LEN];
        public.copy_from_slice(pair.public_key().as_ref());
        Ok(Self {
            seed: Zeroizing::new(*seed),
            pair: Arc::new(pair),
            public: AgentPublicKey(public),
        })
    }

    /// Reads a PKCS#8 v1 or v2 DER key; a v2 public key must match the private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = pkcs8::parse(der)?;
        Self::from_seed(&parsed.seed)
    }

    /// Reads the stored form: standard base64 (padding optional) of PKCS#8 v1 or v2 DER.
    pub fn from_pkcs8_base64(text: &str) -> Result<Self, KeyError> {
        let der = Zeroizing::new(
            STANDARD_ANY_PADDING
                .decode(text.trim())
                .map_err(|_| KeyError::Base64)?,
        );
        Self::from_pkcs8_der(&der)
    }

    /// Reads a `-----BEGIN PRIVATE KEY-----` PEM block (as `openssl genpkey` writes).
    pub fn from_pkcs8_pem(text: &str) -> Result<Self, KeyError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let text = text.trim();
        let body = text
            .strip_prefix(BEGIN)
            .and_then(|rest| rest.strip_suffix(END))
            .ok_or(KeyError::Pem)?;
        let joined: Zeroizing<String> =
            Zeroizing::new(body.chars().filter(|c| !c.is_whitespace()).collect());
        Self::from_pkcs8_base64(&joined)
    }

    /// Which PKCS#8 version `der` holds, without building a key:
    /// `1` for PKCS#8 v1 (RFC 5208), `2` for v2 (RFC 5958).
    pub fn pkcs8_version(der: &[u8]) -> Result<u8, KeyError> {
        Ok(match pkcs8::parse(der)?.version {
            Pkcs8Version::V1 => 1,
            Pkcs8Version::V2 => 2,
        })
    }

    /// The 48-byte PKCS#8 v1 DER of this key (the form the official CLI reads).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        pkcs8::encode_v1(&self.seed)
    }

    /// Standard base64 (with padding) of [`AgentKey::to_pkcs8_der`]: the stored `agent_private_key`.
    pub fn to_pkcs8_base64(&self) -> SecretString {
        SecretString::new(STANDARD.encode(self.to_pkcs8_der().as_slice()))
    }

    /// The public half.
    pub fn public_key(&self) -> &AgentPublicKey {
        &self.public
    }

    /// The one-line OpenSSH form `ssh-ed25519 <base64>` sent at registration.
    pub fn public_key_ssh(&self) -> String {
        self.public.to_ssh()
    }

    /// `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints, for display.
    pub fn fingerprint(&self) -> String {
        self.public.fingerprint()
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// Standard base64 (with padding) of the signature of `message`.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        STANDARD.encode(self.sign(message))
    }

    /// The seed, for deriving the X25519 key that opens sealed task ids.
    pub(crate) fn seed(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.seed
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentKey")
            .field("private_key", &codex_auth_provider::REDACTED)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// An agent's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgentPublicKey([u8; ED25519_KEY_LEN]);

impl AgentPublicKey {
    /// Wraps the 32 raw public-key bytes.
    pub fn from_bytes(bytes: [u8; ED25519_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The 32 raw public-key bytes.
    pub fn as_bytes(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.0
    }

    /// Reads `ssh-ed25519 <base64> [comment]`.
    pub fn from_ssh(line: &str) -> Result<Self, KeyError> {
        let mut words = line.split_whitespace();
        if words.next() != Some(SSH_ED25519) {
            return Err(KeyError::SshPublicKey("it does not start with ssh-ed25519"));
        }
        let blob = words
            .next()
            .and_then(|b64| STANDARD_ANY_PADDING.decode(b64).ok())
            .ok_or(KeyError::SshPublicKey("the key blob is not base64"))?;
        let rest = read_ssh_string(&blob)
            .filter(|(name, _)| *name == SSH_ED25519.as_bytes())
            .ok_or(KeyError::SshPublicKey("the blob does not name ssh-ed25519"))?
            .1;
        let key = read_ssh_string(rest)
            .filter(|(key, tail)| key.len() == ED25519_KEY_LEN && tail.is_empty())
            .ok_or(KeyError::SshPublicKey(
                "the blob does not hold one 32-byte key",
            ))?
            .0;
        let mut bytes = [0u8; ED25519_KEY_LEN];
        bytes.copy_from_slice(key);
        Ok(Self(bytes))
    }

    /// The SSH wire blob: length-prefixed `ssh-ed25519`, then the length-prefixed key.
    fn ssh_blob(&self) -> Vec<u8> {
        let mut blob = Vec::with_capacity(4 + SSH_ED25519.len() + 4 + ED25519_KEY_LEN);
        for part in [SSH_ED25519.as_bytes(), &self.0[..]] {
            // Both parts are far shorter than u32::MAX.
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            blob.extend_from_slice(&len.to_be_bytes());
            blob.extend_from_slice(part);
        }
        blob
    }

    /// The one-line OpenSSH form `ssh-ed25519 <base64>`.
    pub fn to_ssh(&self) -> String {
        format!("{SSH_ED25519} {}", STANDARD.encode(self.ssh_blob()))
    }

    /// `SHA256:<base64 without padding>` of the SSH blob, as `ssh-keygen -l` prints.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(self.ssh_blob()))
        )
    }

    /// Checks an Ed25519 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        if signature.len() != SIGNATURE_LEN {
            return Err(SignatureError::Encoding);
        }
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Checks a standard-base64 Ed25519 signature over `message`.
    pub fn verify_base64(&self, message: &[u8], signature: &str) -> Result<(), SignatureError> {
        let bytes = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Encoding)?;
        self.verify(message, &bytes)
    }
}

impl fmt::Debug for AgentPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AgentPublicKey")
            .field(&self.fingerprint())
            .finish()
    }
}

/// Splits a big-endian u32 length-prefixed string off the front of `input`.
fn read_ssh_string(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_round_trip_through_base64() {
        let a = AgentKey::generate().unwrap();
        let b = AgentKey::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
        let text = a.to_pkcs8_base64();
        let back = AgentKey::from_pkcs8_base64(text.expose()).unwrap();
        assert_eq!(back.public_key(), a.public_key());
        assert_eq!(AgentKey::pkcs8_version(&a.to_pkcs8_der()).unwrap(), 1);
    }

    #[test]
    fn ssh_line_round_trips_and_rejects_garbage() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let line = key.public_key_ssh();
        assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        assert_eq!(
            AgentPublicKey::from_ssh(&format!("{line} comment")).unwrap(),
            *key.public_key()
        );
        assert!(AgentPublicKey::from_ssh("ssh-rsa AAAA").is_err());
        assert!(AgentPublicKey::from_ssh("ssh-ed25519 !!!").is_err());
        assert!(AgentPublicKey::from_ssh("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5").is_err());
    }

    #[test]
    fn v2_with_wrong_public_key_is_refused() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let mut der = vec![
            0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[7u8; 32]);
        der.extend_from_slice(&[0x81, 0x21, 0x00]);
        der.extend_from_slice(key.public_key().as_bytes());
        assert!(AgentKey::from_pkcs8_der(&der).is_ok());
        let last = der.len() - 1;
        der[last] ^= 1;
        assert!(matches!(
            AgentKey::from_pkcs8_der(&der).err(),
            Some(KeyError::Pkcs8(_))
        ));
    }

    #[test]
    fn sign_and_verify() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let sig = key.sign_base64(b"hello");
        key.public_key().verify_base64(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify_base64(b"hellp", &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.public_key().verify_base64(b"hello", "AAAA"),
            Err(SignatureError::Encoding)
        );
    }

    #[test]
    fn debug_does_not_show_the_seed() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("[REDACTED]"));
        assert!(debug.contains("SHA256:"));
        assert!(!debug.contains(key.to_pkcs8_base64().expose()));
    }
}
