//! The agent identity JWT as a secret value, and its public entry points
//! (shape check, unverified decode, verification). The rules live below it:
//! `jwt` (shape, claims decoding, errors) and `jwks` (signature verification);
//! neither imports this module, so all `impl AgentIdentityJwt` blocks are here.

use crate::claims::AgentIdentityClaims;
use crate::jwks::JwksCache;
use crate::jwt::{JwtError, JwtHeader, check_jwt_shape, decode_agent_identity_jwt_unverified};
use codex_auth_provider::SecretString;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// An agent identity JWT. It carries the agent's private key, so it is a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentIdentityJwt(SecretString);

impl AgentIdentityJwt {
    /// Wraps a JWT (surrounding whitespace removed).
    pub fn new(jwt: impl Into<String>) -> Self {
        let jwt: Zeroizing<String> = Zeroizing::new(jwt.into());
        Self(SecretString::new(jwt.trim()))
    }

    /// The JWT text.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The JWT as a [`SecretString`].
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }

    /// Checks the shape without verifying: three non-empty base64url segments,
    /// the first two JSON objects. Returns the header fields.
    pub fn check_shape(jwt: &str) -> Result<JwtHeader, JwtError> {
        check_jwt_shape(jwt)
    }

    /// Decodes the claims **without verifying the signature**, for display of a stored token.
    pub fn decode_unverified(jwt: &str) -> Result<AgentIdentityClaims, JwtError> {
        decode_agent_identity_jwt_unverified(jwt)
    }

    /// Verifies `jwt` against the JWKS under `jwks_base_url` with the
    /// process-wide [`JwksCache`] and returns its claims.
    pub async fn verify(
        client: &reqwest::Client,
        jwks_base_url: &str,
        jwt: &str,
    ) -> Result<AgentIdentityClaims, JwtError> {
        JwksCache::global().verify(client, jwks_base_url, jwt).await
    }
}

impl From<SecretString> for AgentIdentityJwt {
    /// Wraps the JWT text exactly as stored (no trimming), so a rewrite of
    /// `auth.json` keeps it byte for byte.
    fn from(jwt: SecretString) -> Self {
        Self(jwt)
    }
}

impl fmt::Debug for AgentIdentityJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AgentIdentityJwt").field(&self.0).finish()
    }
}
