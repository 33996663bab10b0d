//! Opening `encrypted_task_id`: a libsodium sealed box addressed to the X25519
//! key derived from the agent's Ed25519 seed.

use crate::key::{AgentKey, STANDARD_ANY_PADDING};
use base64::Engine as _;
use sha2::{Digest as _, Sha512};
use zeroize::Zeroizing;

/// A sealed task id that could not be opened (every cause reports the same, on purpose).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to decrypt the encrypted task id")]
pub struct SealedTaskIdError;

impl AgentKey {
    /// The X25519 secret: SHA-512 of the Ed25519 seed, first 32 bytes, clamped.
    fn x25519_secret(&self) -> crypto_box::SecretKey {
        let digest = Zeroizing::new(Sha512::digest(self.seed()));
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(&digest[..32]);
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        crypto_box::SecretKey::from_bytes(*scalar)
    }

    /// The X25519 public key a server seals task ids to.
    pub fn x25519_public_key(&self) -> [u8; 32] {
        self.x25519_secret().public_key().to_bytes()
    }

    /// Opens a standard-base64 sealed box holding a UTF-8 task id.
    pub fn open_sealed_task_id(&self, encrypted: &str) -> Result<String, SealedTaskIdError> {
        let sealed = STANDARD_ANY_PADDING
            .decode(encrypted.trim())
            .map_err(|_| SealedTaskIdError)?;
        let plain = self
            .x25519_secret()
            .unseal(&sealed)
            .map_err(|_| SealedTaskIdError)?;
        String::from_utf8(plain).map_err(|_| SealedTaskIdError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_box::aead::OsRng;

    #[test]
    fn opens_a_box_sealed_to_the_derived_key_and_nothing_else() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let public = crypto_box::PublicKey::from(key.x25519_public_key());
        let sealed = public.seal(&mut OsRng, b"task-123").unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(&sealed);
        assert_eq!(key.open_sealed_task_id(&text).unwrap(), "task-123");

        let other = AgentKey::from_seed(&[8u8; 32]).unwrap();
        assert_eq!(other.open_sealed_task_id(&text), Err(SealedTaskIdError));
        assert_eq!(
            key.open_sealed_task_id("not base64!"),
            Err(SealedTaskIdError)
        );

        let bad_utf8 = public.seal(&mut OsRng, &[0xff, 0xfe]).unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(&bad_utf8);
        assert_eq!(key.open_sealed_task_id(&text), Err(SealedTaskIdError));
    }
}
