//! Logout: remove the credentials from every store (under the cross-process lock, so a refresh
//! in flight cannot write them back), then revoke the tokens at the issuer and report that
//! result separately.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use codex_auth_provider::SecretString;
use tracing::{info, warn};
use url::Url;

use super::error_text::error_chain;
use super::token_endpoint::parse_token_endpoint_error;
use crate::auth_dot_json::{AuthDotJson, AuthMode};
use crate::auth_lock::DEFAULT_LOCK_WAIT;
use crate::auth_manager::AuthManager;
use crate::config::CodexConfig;
use crate::http_client::{ClientOptions, HttpClientFactory, ensure_credential_safe_url};
use crate::issuer_guard::{ForeignIssuerError, TokenUse, ensure_minting_issuer, minting_issuer};
pub use crate::logout_core::LogoutError;
use crate::logout_core::{ClearedStores, clear_stores};
use crate::refresh::{CLIENT_ID, DEFAULT_ISSUER};
use crate::secret_scrub::{SentSecrets, read_error_body};
use crate::storage::{CredentialStoreMode, SharedAuthStorage, storage_for_mode};

pub(crate) use crate::endpoints::revoke_endpoint;
/// How long a revoke request may take.
pub(crate) const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of a logout.
#[derive(Debug, Clone)]
pub struct LogoutOptions {
    /// `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The configured store.
    pub store_mode: CredentialStoreMode,
    /// A store to use instead of the one `store_mode` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
    /// The revoke endpoint (`<issuer>/oauth/revoke` unless overridden).
    pub revoke_url: String,
    /// OAuth client id sent with a refresh-token revocation.
    pub client_id: String,
    /// The factory every HTTP client comes from.
    pub http: HttpClientFactory,
    /// Timeout of the revoke request.
    pub revoke_timeout: Duration,
    /// How long to wait for `auth.json.lock`.
    pub lock_wait: Duration,
}

impl LogoutOptions {
    /// Defaults: file store, the OpenAI revoke endpoint, 10 s revoke timeout.
    pub fn new(codex_home: PathBuf, http: HttpClientFactory) -> Self {
        Self {
            codex_home,
            store_mode: CredentialStoreMode::File,
            storage: None,
            revoke_url: format!("{DEFAULT_ISSUER}/oauth/revoke"),
            client_id: CLIENT_ID.to_owned(),
            http,
            revoke_timeout: REVOKE_TIMEOUT,
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }
}

impl LogoutOptions {
    /// [`LogoutOptions::new`] with home, store and revoke endpoint from `config`
    /// (see `revoke_url_for_config`).
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            store_mode: config.credential_store,
            revoke_url: revoke_url_for_config(config),
            ..Self::new(config.codex_home.clone(), http)
        }
    }
}

/// The revoke endpoint for `config` (already resolved by
/// [`crate::config::load_config`] with [`revoke_endpoint`]'s rules).
pub(crate) fn revoke_url_for_config(config: &CodexConfig) -> String {
    config.revoke_token_url.clone()
}

/// Which token a revocation used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokedTokenKind {
    /// The refresh token (preferred: it ends the whole grant).
    RefreshToken,
    /// The access token (when there is no refresh token).
    AccessToken,
}

impl RevokedTokenKind {
    /// The `token_type_hint` value.
    pub fn hint(self) -> &'static str {
        match self {
            Self::RefreshToken => "refresh_token",
            Self::AccessToken => "access_token",
        }
    }
}

/// What happened at the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The issuer accepted the revocation.
    Revoked(RevokedTokenKind),
    /// The request failed; the local credentials are gone anyway.
    Failed {
        /// Which token we tried to revoke.
        kind: RevokedTokenKind,
        /// Status and message, or the transport error.
        reason: String,
    },
    /// Nothing to revoke (not logged in, an API key, an agent identity, host-supplied tokens,
    /// or an unreadable store).
    NotAttempted(String),
    /// The revoke endpoint is not at the issuer that minted the token, so it was not sent
    /// (the local credentials are gone anyway).
    ForeignIssuer(ForeignIssuerError),
}

impl fmt::Display for Revocation {
    /// `revoked: <token kind>`, `not_revoked: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Revoked(kind) => write!(f, "revoked: {}", kind.hint()),
            Self::Failed { kind, reason } => {
                write!(
                    f,
                    "not_revoked: revoking the {} failed: {reason}",
                    kind.hint()
                )
            }
            Self::NotAttempted(reason) => write!(f, "not_revoked: {reason}"),
            Self::ForeignIssuer(err) => write!(f, "not_revoked: {err}"),
        }
    }
}

/// The result of a logout: local removal and server revocation, reported separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// Whether any store held credentials that were removed.
    pub removed: bool,
    /// What happened at the issuer.
    pub revocation: Revocation,
}

/// A token to revoke and its kind.
pub(crate) struct RevocationTarget {
    pub token: SecretString,
    pub kind: RevokedTokenKind,
    /// The issuer that minted the token (the id token's `iss`), when known.
    pub minted_by: Option<String>,
}

/// The token a stored login should be revoked with: its refresh token, else its access token;
/// only managed ChatGPT logins have one.
pub(crate) fn revocation_target(document: &AuthDotJson) -> Result<RevocationTarget, String> {
    match document.resolved_mode() {
        AuthMode::Chatgpt => {}
        AuthMode::ApiKey => return Err("API key logins have no token to revoke".to_owned()),
        AuthMode::AgentIdentity => {
            return Err("agent identity logins have no token to revoke".to_owned());
        }
        AuthMode::ChatgptAuthTokens => {
            return Err("host-supplied tokens are revoked by their host".to_owned());
        }
        // issue 19: there is no revoke endpoint for a personal access token.
        AuthMode::PersonalAccessToken => {
            return Err("personal access tokens are revoked by a workspace admin".to_owned());
        }
    }
    let Some(tokens) = &document.tokens else {
        return Err("the stored ChatGPT login has no tokens".to_owned());
    };
    let minted_by = minting_issuer(document);
    if !tokens.refresh_token.is_empty() {
        return Ok(RevocationTarget {
            token: tokens.refresh_token.clone(),
            kind: RevokedTokenKind::RefreshToken,
            minted_by,
        });
    }
    if !tokens.access_token.is_empty() {
        return Ok(RevocationTarget {
            token: tokens.access_token.clone(),
            kind: RevokedTokenKind::AccessToken,
            minted_by,
        });
    }
    Err("the stored ChatGPT login has empty tokens".to_owned())
}

/// The token the cleared login should be revoked with, or why there is none.
fn target_of(previous: Result<Option<AuthDotJson>, String>) -> Result<RevocationTarget, String> {
    match previous {
        Ok(Some(document)) => revocation_target(&document),
        Ok(None) => Err("not logged in".to_owned()),
        Err(reason) => Err(reason),
    }
}

/// Sends the logout's revoke request.
async fn revoke(options: &LogoutOptions, target: &RevocationTarget) -> Revocation {
    send_revocation(
        &options.http,
        &options.revoke_url,
        &options.client_id,
        options.revoke_timeout,
        target,
    )
    .await
}

/// Sends one revoke request with upstream's JSON body through the default client.
pub(crate) async fn send_revocation(
    http: &HttpClientFactory,
    revoke_url: &str,
    client_id: &str,
    timeout: Duration,
    target: &RevocationTarget,
) -> Revocation {
    let kind = target.kind;
    let failed = |reason: String| Revocation::Failed { kind, reason };
    let url = match Url::parse(revoke_url) {
        Ok(url) => url,
        Err(err) => return failed(format!("invalid revoke URL: {err}")),
    };
    if let Err(err) = ensure_credential_safe_url(&url) {
        return failed(err.to_string());
    }
    if let Err(err) = ensure_minting_issuer(target.minted_by.as_deref(), &url, TokenUse::Revoke) {
        return Revocation::ForeignIssuer(err);
    }
    let client = match http.client(&ClientOptions {
        request_timeout: timeout,
        ..ClientOptions::default()
    }) {
        Ok(client) => client,
        Err(err) => return failed(err.to_string()),
    };
    let body = match kind {
        RevokedTokenKind::RefreshToken => serde_json::json!({
            "token": target.token.expose(),
            "token_type_hint": kind.hint(),
            "client_id": client_id,
        }),
        RevokedTokenKind::AccessToken => serde_json::json!({
            "token": target.token.expose(),
            "token_type_hint": kind.hint(),
        }),
    };
    match client.post(url).json(&body).send().await {
        Ok(response) if response.status().is_success() => Revocation::Revoked(kind),
        Ok(response) => {
            let status = response.status();
            let sent = SentSecrets::new().with(&target.token);
            let body = read_error_body(response, &sent).await;
            let detail = sent.shown(&parse_token_endpoint_error(&body));
            failed(format!(
                "failed to revoke {}: {status}: {detail}",
                kind.hint()
            ))
        }
        Err(err) => failed(error_chain(&err)),
    }
}

/// Logs out: under `auth.json.lock`, reads the stored login and removes it from every store;
/// then revokes its refresh token (else access token) at the issuer with a 10 s timeout. A
/// revocation failure is reported in the outcome and never keeps credentials on disk.
pub async fn logout_with_revoke(options: &LogoutOptions) -> Result<LogoutOutcome, LogoutError> {
    let configured = options
        .storage
        .clone()
        .unwrap_or_else(|| storage_for_mode(&options.codex_home, options.store_mode));
    let cleared = clear_stores(&options.codex_home, configured, options.lock_wait).await?;
    Ok(revoke_cleared(options, cleared).await)
}

/// [`logout_with_revoke`] on the manager's store (`options`' home, store and lock wait are
/// replaced by the manager's): the same clearing step as `AuthManager::logout`, holding the
/// manager's refresh gate and reloading it, then the revocation.
pub async fn logout_manager_with_revoke(
    manager: &AuthManager,
    options: LogoutOptions,
) -> Result<LogoutOutcome, LogoutError> {
    let cleared = manager.clear_stored_login().await?;
    Ok(revoke_cleared(&options, cleared).await)
}

/// The second half of every logout: revoke what was cleared (a failure is reported in the
/// outcome, never an error: the local credentials are gone anyway).
async fn revoke_cleared(options: &LogoutOptions, cleared: ClearedStores) -> LogoutOutcome {
    let removed = cleared.removed;
    let revocation = match target_of(cleared.previous) {
        Ok(target) => revoke(options, &target).await,
        Err(reason) => Revocation::NotAttempted(reason),
    };
    match &revocation {
        Revocation::Failed { reason, .. } => {
            warn!(%reason, "token revocation failed; local credentials were removed anyway");
        }
        Revocation::ForeignIssuer(err) => {
            warn!(error = %err, "token not revoked; local credentials were removed anyway");
        }
        other => info!(removed, revocation = %other, "logged out"),
    }
    LogoutOutcome {
        removed,
        revocation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_endpoint_precedence() {
        assert_eq!(
            revoke_endpoint(
                Some("http://127.0.0.1:9/x"),
                Some("http://a/b"),
                "https://i"
            ),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(
            revoke_endpoint(
                None,
                Some("http://127.0.0.1:1234/oauth/token?unified=true"),
                "https://i"
            ),
            "http://127.0.0.1:1234/oauth/revoke"
        );
        assert_eq!(
            revoke_endpoint(None, None, "https://auth.example/"),
            "https://auth.example/oauth/revoke"
        );
    }

    #[test]
    fn revoke_url_follows_config_overrides() {
        let home = tempfile::tempdir().unwrap();
        let load = |pairs: &'static [(&'static str, &'static str)]| {
            let env = move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            };
            crate::config::load_config_in(home.path().to_path_buf(), &[], &env).unwrap()
        };
        assert_eq!(
            revoke_url_for_config(&load(&[])),
            "https://auth.openai.com/oauth/revoke"
        );
        assert_eq!(
            revoke_url_for_config(&load(&[(
                "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                "http://127.0.0.1:1234/oauth/token?unified=true"
            )])),
            "http://127.0.0.1:1234/oauth/revoke"
        );
        assert_eq!(
            revoke_url_for_config(&load(&[
                (
                    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                    "http://127.0.0.1:1234/oauth/token"
                ),
                (
                    "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
                    "http://127.0.0.1:9/revoke"
                ),
            ])),
            "http://127.0.0.1:9/revoke"
        );
    }

    #[test]
    fn revocation_display() {
        assert_eq!(
            Revocation::Revoked(RevokedTokenKind::RefreshToken).to_string(),
            "revoked: refresh_token"
        );
        assert_eq!(
            Revocation::NotAttempted("not logged in".to_owned()).to_string(),
            "not_revoked: not logged in"
        );
    }
}
