//! Blanking out of error text the credentials a request carried.

use crate::secret::{REDACTED, SecretString};
use http::HeaderMap;
use std::fmt;

/// Credentials shorter than this are not searched for (they would blank out ordinary text).
const MIN_SECRET_LEN: usize = 8;

/// The credential strings a request carried: every sensitive header value and
/// the part after its scheme word (`Bearer`, `AgentAssertion`).
///
/// Servers sometimes echo a credential in an error body; run such text
/// through [`SentSecrets::scrub`] before it goes into an error or a log line.
#[derive(Clone, Default)]
pub struct SentSecrets {
    secrets: Vec<SecretString>,
}

impl SentSecrets {
    /// Collects the sensitive values of `headers` (see [`crate::sensitive_header_value`]).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut secrets = Vec::new();
        for value in headers.values().filter(|value| value.is_sensitive()) {
            let Ok(text) = value.to_str() else {
                continue;
            };
            if let Some((_, credential)) = text.split_once(' ') {
                secrets.push(SecretString::new(credential.trim()));
            }
            secrets.push(SecretString::new(text));
        }
        secrets.retain(|secret| secret.len() >= MIN_SECRET_LEN);
        // Longest first, so a whole header value is replaced before its credential part.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Self { secrets }
    }

    /// `text` with every known credential replaced by `[REDACTED]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut scrubbed = text.to_owned();
        for secret in &self.secrets {
            if scrubbed.contains(secret.expose()) {
                scrubbed = scrubbed.replace(secret.expose(), REDACTED);
            }
        }
        scrubbed
    }
}

impl fmt::Debug for SentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SentSecrets({} redacted)", self.secrets.len())
    }
}
