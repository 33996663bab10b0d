//! PKCE (RFC 7636, method `S256`) verifier/challenge pairs and the OAuth `state` value.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_auth_provider::SecretString;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The only PKCE method we send.
pub(crate) const CODE_CHALLENGE_METHOD: &str = "S256";

/// A PKCE verifier and its S256 challenge; the verifier stays secret until the code exchange.
#[derive(Debug, Clone)]
pub struct PkceCodes {
    /// The random verifier (86 base64url characters from 64 random bytes).
    pub code_verifier: SecretString,
    /// `base64url(SHA-256(verifier))`, safe to put in the authorize URL.
    pub code_challenge: String,
}

impl PkceCodes {
    /// Generates a fresh verifier from 64 random bytes and derives its challenge.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let code_challenge = code_challenge_for(&verifier);
        Self {
            code_verifier: SecretString::new(verifier),
            code_challenge,
        }
    }
}

/// The S256 challenge for a verifier: base64url without padding of its SHA-256.
pub(crate) fn code_challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh OAuth `state`: 32 random bytes, base64url without padding.
pub(crate) fn generate_state() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::new(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_86_url_safe_chars_and_challenge_matches() {
        let codes = PkceCodes::generate();
        let verifier = codes.code_verifier.expose();
        assert_eq!(verifier.len(), 86);
        assert!(
            verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(codes.code_challenge, code_challenge_for(verifier));
        assert_ne!(
            PkceCodes::generate().code_verifier.expose(),
            codes.code_verifier.expose()
        );
    }

    #[test]
    fn challenge_known_answer() {
        // Computed independently with Python's hashlib + base64.urlsafe_b64encode.
        assert_eq!(
            code_challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
    }

    #[test]
    fn state_is_43_chars() {
        assert_eq!(generate_state().expose().len(), 43);
    }
}
