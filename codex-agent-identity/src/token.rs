//! The agent identity JWT as a secret value: a leaf module, so the stored
//! record can hold a JWT without depending on how JWTs are checked.

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
}

impl fmt::Debug for AgentIdentityJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AgentIdentityJwt").field(&self.0).finish()
    }
}
