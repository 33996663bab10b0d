//! Offline signs that stored credentials cannot be used without a new login,
//! and whether the access token has expired (issue 14, point 3).

use chrono::Utc;
use codex_login::auth_dot_json::AuthMode;
use codex_login::auth_manager::{RecordedFailure, recorded_failure};
use codex_login::codex_auth::CodexAuth;
use codex_login::resolution::CredentialSource;
use std::path::Path;

/// Why the credentials need a new login, when they do: an expired token that
/// nothing can refresh, or a stored refresh token whose refresh was refused for
/// good (the `auth.json.refresh-failure` record names it).
pub fn needs_new_login(
    codex_home: &Path,
    auth: &CodexAuth,
    source: &CredentialSource,
) -> Option<String> {
    let now = Utc::now();
    match auth.auth_mode() {
        AuthMode::Chatgpt => {
            let tokens = auth.chatgpt_tokens()?;
            let expired = tokens.access_token_expires_at.is_some_and(|exp| exp <= now);
            if expired && tokens.refresh_token.is_empty() {
                return Some(
                    "Your access token has expired and there is no refresh token.".to_owned(),
                );
            }
            refused_for_good(codex_home, auth, source)
        }
        AuthMode::ChatgptAuthTokens => {
            let tokens = auth.chatgpt_tokens()?;
            tokens
                .access_token_expires_at
                .is_some_and(|exp| exp <= now)
                .then(|| "The access token supplied by the host app has expired.".to_owned())
        }
        AuthMode::AgentIdentity => auth
            .agent_identity()
            .and_then(|identity| identity.expires_at)
            .is_some_and(|exp| exp <= now)
            .then(|| "Your agent identity token has expired.".to_owned()),
        // issue 19: a personal access token has no expiry; whoami refuses a dead one.
        AuthMode::ApiKey | AuthMode::PersonalAccessToken => None,
    }
}

/// The refusal recorded beside the store for this login's refresh token.
fn refused_for_good(
    codex_home: &Path,
    auth: &CodexAuth,
    source: &CredentialSource,
) -> Option<String> {
    if !matches!(
        source,
        CredentialSource::File(_) | CredentialSource::Keyring
    ) {
        return None;
    }
    let refresh_token = auth.refresh_token().filter(|token| !token.is_empty())?;
    match recorded_failure(codex_home, refresh_token)? {
        RecordedFailure::Permanent { message, .. } => Some(format!(
            "The last refresh of the stored login was refused: {message}"
        )),
        _ => None,
    }
}

/// Whether the access token (or agent identity token) has expired; `None`
/// when its expiry is unknown.
pub fn access_token_expired(auth: &CodexAuth) -> Option<bool> {
    auth.access_token_expires_at()
        .map(|expires_at| expires_at <= Utc::now())
}
