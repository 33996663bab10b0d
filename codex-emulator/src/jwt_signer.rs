//! The emulator's RS256 key: signs id, access and agent identity JWTs and publishes the JWKS.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::EmulatorError;

/// A freshly generated RSA-2048 key with its key id and public JWK.
pub(crate) struct JwtSigner {
    key: KeyPair,
    /// The same public key for jsonwebtoken's verifier.
    decoding: jsonwebtoken::DecodingKey,
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
        let (n, e) = (URL_SAFE_NO_PAD.encode(&n), URL_SAFE_NO_PAD.encode(&e));
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(&n, &e)
            .map_err(|_| EmulatorError::KeyGeneration)?;
        let jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": n,
            "e": e,
        });
        Ok(Self {
            key,
            decoding,
            kid,
            jwk,
        })
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
        // jsonwebtoken checks the shape, the RS256 header and the signature; the claims
        // (`exp`, `aud`, ...) are each route's business, as before.
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_its_own_tokens_and_nothing_else() {
        let signer = JwtSigner::generate().expect("key");
        let other = JwtSigner::generate().expect("key");
        let claims = json!({"sub": "user-1", "exp": 1});
        let token = signer.sign(&claims);
        assert_eq!(
            signer.verify(&token),
            Some(claims.clone()),
            "expired is the route's call"
        );
        assert_eq!(other.verify(&token), None, "another key");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "user-2", "exp": 1}).to_string());
        assert_eq!(signer.verify(&parts.join(".")), None, "tampered payload");
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_eq!(signer.verify(&unsigned), None, "alg none");
        assert_eq!(signer.verify(&format!("{token}.extra")), None, "four parts");
        assert_eq!(signer.verify("not a jwt"), None);
    }
}
