//! When a managed ChatGPT access token is refreshed before it expires.
//!
//! Upstream refreshes 5 minutes before `exp`. An issuer whose access tokens
//! live less than that would make every token due the moment it arrives, so
//! one command would refresh again and again. Two rules prevent it:
//!
//! - the window is bounded by the token's lifetime: `min(5 min, lifetime / 2)`,
//!   the lifetime being `exp - iat` of the access token JWT, else
//!   `exp - last_refresh`;
//! - a token this manager just received from the issuer is not proactively
//!   refreshed again while it has not expired (a command never spends two
//!   refresh tokens on one access token).

use super::{AuthManager, PROACTIVE_REFRESH_WINDOW, token_fingerprint};
use crate::auth_dot_json::AuthMode;
use crate::codex_auth::CodexAuth;
use crate::resolution::CredentialSource;
use crate::token_claims::decode_jwt_payload;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::sync::PoisonError;

/// The access token's lifetime: `exp - iat` of its JWT, else `exp - last_refresh`;
/// `None` when unknown or not positive.
pub fn access_token_lifetime(auth: &CodexAuth) -> Option<Duration> {
    let expires_at = auth.access_token_expires_at()?;
    let issued_at = auth
        .chatgpt_tokens()
        .and_then(|tokens| jwt_issued_at(tokens.access_token.expose()))
        .or_else(|| auth.last_refresh())?;
    let lifetime = expires_at - issued_at;
    (lifetime > Duration::zero()).then_some(lifetime)
}

/// How long before `exp` a token with `lifetime` is refreshed:
/// `min(5 min, lifetime / 2)`, or 5 minutes when the lifetime is unknown.
pub fn proactive_refresh_window(lifetime: Option<Duration>) -> Duration {
    match lifetime {
        Some(lifetime) => PROACTIVE_REFRESH_WINDOW.min(lifetime / 2),
        None => PROACTIVE_REFRESH_WINDOW,
    }
}

/// Whether an access token expiring at `expires_at` is due at `now`, given
/// the window for `auth`.
pub(super) fn access_token_due(
    auth: &CodexAuth,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    expires_at <= now + proactive_refresh_window(access_token_lifetime(auth))
}

fn jwt_issued_at(jwt: &str) -> Option<DateTime<Utc>> {
    let claims = decode_jwt_payload(jwt).ok()?;
    let seconds = match claims.get("iat")? {
        Value::Number(number) => number.as_i64()?,
        _ => return None,
    };
    DateTime::from_timestamp(seconds, 0)
}

impl AuthManager {
    /// Puts credentials this manager just received from the issuer in the
    /// cache, remembering their access token so that the same command does not
    /// refresh them again while they are valid.
    pub(super) fn adopt_received(&self, auth: CodexAuth, source: CredentialSource) {
        let received = auth
            .chatgpt_tokens()
            .map(|tokens| token_fingerprint(&tokens.access_token));
        self.adopt(auth, source);
        let mut state = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        state.received_access_token = received;
    }

    /// Whether `auth` holds the access token this manager last received from
    /// the issuer, and it has not expired yet.
    pub(super) fn just_received(&self, auth: &CodexAuth) -> bool {
        if auth.auth_mode() != AuthMode::Chatgpt {
            return false;
        }
        let Some(tokens) = auth.chatgpt_tokens() else {
            return false;
        };
        let now = self.clock.now();
        if tokens.access_token_expires_at.is_some_and(|exp| exp <= now) {
            return false;
        }
        let state = self.cached.read().unwrap_or_else(PoisonError::into_inner);
        state
            .received_access_token
            .as_deref()
            .is_some_and(|received| received == token_fingerprint(&tokens.access_token))
    }
}
