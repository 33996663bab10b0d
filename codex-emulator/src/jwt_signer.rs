//! The emulator's RS256 key: signs id, access and agent identity JWTs and publishes the JWKS.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::EmulatorError;

/// A freshly generated RSA-2048 key with its key id and public JWK.
pub(crate) struct JwtSigner {
    key: KeyPair,
    kid: String,
    jwk: Value,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    /// Generates a new RSA-2048 key (once per emulator start).
    pub(crate) fn generate() -> Result<Self, EmulatorError> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| EmulatorError::KeyGeneration)?;
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let digest = Sha256::digest(&n);
        let kid = format!(
            "emulator-{}",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&n),
            "e": URL_SAFE_NO_PAD.encode(&e),
        });
        Ok(Self { key, kid, jwk })
    }

    /// The key id placed in JWT headers and the JWKS.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK set `{"keys": [...]}` holding the public key.
    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": [self.jwk.clone()]})
    }

    /// Signs `claims` as a compact RS256 JWT with the emulator's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(claims, Some(&self.kid))
    }

    /// Signs `claims` as a compact RS256 JWT; `kid` `None` leaves the header without a key id.
    ///
    /// Signing with a valid in-memory key cannot fail in practice; if the crypto library ever
    /// reports a failure the token carries an empty signature, which every verifier rejects.
    pub(crate) fn sign_with_kid(&self, claims: &Value, kid: Option<&str>) -> String {
        let header = match kid {
            Some(kid) => json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
            None => json!({"alg": "RS256", "typ": "JWT"}),
        };
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        let signed = self.key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        );
        if signed.is_err() {
            tracing::error!("RS256 signing failed; returning an unsigned token");
            signature.clear();
        }
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of a compact RS256 JWT whose signature verifies with this key; `None` for
    /// anything else (bad shape, other algorithm, wrong key, tampered payload).
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let public =
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, self.key.public_key().as_ref());
        let signing_input = &token[..header_len(token)?];
        public.verify(signing_input.as_bytes(), &signature).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// The length of `header.payload` in a compact JWT.
fn header_len(token: &str) -> Option<usize> {
    token.rfind('.')
}
