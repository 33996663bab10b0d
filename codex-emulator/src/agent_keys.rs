//! Ed25519 agent keys: OpenSSH public-key lines, PKCS#8 private keys, signatures, sealed boxes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest as _, Sha512};

use crate::error::EmulatorError;
use crate::ids::random_bytes;

/// DER prefix of a PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The key-type name inside OpenSSH Ed25519 public keys.
const SSH_ED25519: &str = "ssh-ed25519";

/// An Ed25519 public key (32 bytes).
pub(crate) type PublicKeyBytes = [u8; 32];

/// A newly generated agent key: its PKCS#8 v1 private key (standard base64) and public key.
pub(crate) struct GeneratedAgentKey {
    pub(crate) private_key_pkcs8_base64: String,
    pub(crate) public_key: PublicKeyBytes,
}

/// Generates a fresh Ed25519 key, encoded as PKCS#8 v1 the way the official CLI expects.
pub(crate) fn generate_agent_key() -> GeneratedAgentKey {
    let seed = random_bytes::<32>();
    let mut pkcs8 = Vec::with_capacity(48);
    pkcs8.extend_from_slice(&PKCS8_V1_ED25519_PREFIX);
    pkcs8.extend_from_slice(&seed);
    GeneratedAgentKey {
        private_key_pkcs8_base64: STANDARD.encode(&pkcs8),
        public_key: public_key_from_seed(&seed),
    }
}

/// Derives the Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5).
fn public_key_from_seed(seed: &[u8; 32]) -> PublicKeyBytes {
    let hash = Sha512::digest(seed);
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&hash[..32]);
    EdwardsPoint::mul_base_clamped(scalar).compress().to_bytes()
}

/// Reads the public key of a standard-base64 PKCS#8 (v1 or v2) Ed25519 private key.
pub(crate) fn public_key_from_pkcs8_base64(
    private_key_pkcs8_base64: &str,
) -> Result<PublicKeyBytes, EmulatorError> {
    let der = STANDARD
        .decode(private_key_pkcs8_base64.trim())
        .map_err(|_| EmulatorError::InvalidAgentKey("not standard base64"))?;
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
        .map_err(|_| EmulatorError::InvalidAgentKey("not an Ed25519 PKCS#8 key"))?;
    let mut public = [0u8; 32];
    public.copy_from_slice(pair.public_key().as_ref());
    Ok(public)
}

/// Formats an OpenSSH `ssh-ed25519 <base64 blob>` public-key line.
#[cfg(test)]
pub(crate) fn ssh_public_key_line(public_key: &PublicKeyBytes) -> String {
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(SSH_ED25519.as_bytes());
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(public_key);
    format!("{SSH_ED25519} {}", STANDARD.encode(blob))
}

/// Parses an OpenSSH `ssh-ed25519 <base64 blob> [comment]` line; the error names the defect.
pub(crate) fn parse_ssh_public_key_line(line: &str) -> Result<PublicKeyBytes, &'static str> {
    let mut parts = line.split_whitespace();
    if parts.next() != Some(SSH_ED25519) {
        return Err("agent_public_key must start with `ssh-ed25519 `");
    }
    let encoded = parts.next().ok_or("agent_public_key has no key blob")?;
    let blob = STANDARD
        .decode(encoded)
        .map_err(|_| "agent_public_key blob is not standard base64")?;
    if blob.len() != 51 {
        return Err("agent_public_key blob must be 51 bytes (ssh-ed25519 wire format)");
    }
    if blob[..4] != 11u32.to_be_bytes()
        || &blob[4..15] != SSH_ED25519.as_bytes()
        || blob[15..19] != 32u32.to_be_bytes()
    {
        return Err("agent_public_key blob is not an ssh-ed25519 key");
    }
    let mut public = [0u8; 32];
    public.copy_from_slice(&blob[19..]);
    if CompressedEdwardsY(public).decompress().is_none() {
        return Err("agent_public_key is not a valid Ed25519 point");
    }
    Ok(public)
}

/// Verifies a standard-base64 Ed25519 `signature` over `message`; the error names the defect.
pub(crate) fn verify_signature(
    public_key: &PublicKeyBytes,
    message: &str,
    signature_base64: &str,
) -> Result<(), &'static str> {
    let signature = STANDARD
        .decode(signature_base64)
        .map_err(|_| "signature is not standard base64")?;
    if signature.len() != 64 {
        return Err("signature must be 64 bytes");
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message.as_bytes(), &signature)
        .map_err(|_| "signature does not verify with the registered key")
}

/// Seals `plaintext` to the X25519 form of an Ed25519 public key (libsodium sealed box),
/// returned in standard base64.
pub(crate) fn seal_to_agent_key(
    public_key: &PublicKeyBytes,
    plaintext: &[u8],
) -> Result<String, &'static str> {
    let montgomery = CompressedEdwardsY(*public_key)
        .decompress()
        .ok_or("agent key is not a valid Ed25519 point")?
        .to_montgomery()
        .to_bytes();
    let recipient = crypto_box::PublicKey::from(montgomery);
    let sealed = recipient
        .seal(&mut crypto_box::aead::OsRng, plaintext)
        .map_err(|_| "sealing the task id failed")?;
    Ok(STANDARD.encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::Ed25519KeyPair;

    #[test]
    fn generated_pkcs8_v1_key_matches_ring_public_key_and_signs() {
        let generated = generate_agent_key();
        let der = STANDARD
            .decode(&generated.private_key_pkcs8_base64)
            .unwrap();
        assert_eq!(der.len(), 48);
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
        assert_eq!(pair.public_key().as_ref(), &generated.public_key);
        let signature = STANDARD.encode(pair.sign(b"rt:2026-01-01T00:00:00Z").as_ref());
        assert!(
            verify_signature(&generated.public_key, "rt:2026-01-01T00:00:00Z", &signature).is_ok()
        );
        assert!(
            verify_signature(&generated.public_key, "rt:2026-01-01T00:00:01Z", &signature).is_err()
        );
    }

    #[test]
    fn ssh_line_round_trips_and_rejects_garbage() {
        let generated = generate_agent_key();
        let line = ssh_public_key_line(&generated.public_key);
        assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        assert_eq!(
            parse_ssh_public_key_line(&format!("{line} comment")).unwrap(),
            generated.public_key
        );
        assert!(parse_ssh_public_key_line("ssh-rsa AAAA").is_err());
        assert!(parse_ssh_public_key_line("ssh-ed25519 !!!").is_err());
        assert!(parse_ssh_public_key_line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5").is_err());
    }

    #[test]
    fn sealed_task_id_opens_with_the_clamped_sha512_of_the_seed() {
        let generated = generate_agent_key();
        let der = STANDARD
            .decode(&generated.private_key_pkcs8_base64)
            .unwrap();
        let seed = &der[16..];
        let hash = Sha512::digest(seed);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&hash[..32]);
        secret[0] &= 248;
        secret[31] &= 127;
        secret[31] |= 64;
        let sealed = seal_to_agent_key(&generated.public_key, b"task_123").unwrap();
        let opened = crypto_box::SecretKey::from(secret)
            .unseal(&STANDARD.decode(sealed).unwrap())
            .unwrap();
        assert_eq!(opened, b"task_123");
    }
}
