//! Host-supplied ChatGPT tokens (`chatgptAuthTokens`, issue 19).
//!
//! A host program (an IDE extension, an app server) that owns the user's
//! ChatGPT session hands its tokens to this library and refreshes them on
//! request. It implements [`HostTokenProvider`] and installs it for a
//! `CODEX_HOME` with [`install_host_token_provider`]:
//!
//! - `resolve()` returns the host's current tokens (no request); they are put
//!   in the in-memory (ephemeral) store of that `CODEX_HOME`, which every
//!   [`crate::auth_manager::AuthManager`] of the process reads first, so separate managers
//!   share them. They are **never written to disk**.
//! - `refresh(request)` asks the host for new tokens: [`crate::auth_manager::AuthManager`]
//!   calls it before the access token's JWT `exp` (the proactive window of
//!   managed logins) and once after a `401` (reason `unauthorized`, with the
//!   previous account id). The answer is bounded by [`HOST_REFRESH_TIMEOUT`]
//!   (10 s); the access token's JWT claims are parsed, and a token that is not
//!   a JWT fails the refresh ([`HostTokenError::InvalidTokens`]). Tokens for
//!   another account than the previous ones are refused
//!   ([`HostTokenError::AccountMismatch`]), and an answer arriving after the
//!   provider was removed or replaced is dropped.
//!
//! No refresh token exists here: `tokens.refresh_token` is empty and
//! `last_refresh` is the time the host's tokens arrived, as upstream.

use crate::codex_auth::{AuthDataError, CodexAuth};
use crate::storage::{AuthStorage, EphemeralAuthStorage, store_key};
use chrono::{DateTime, Utc};
use codex_auth_provider::{BoxFuture, SecretString};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// How long a host may take to answer a refresh.
pub const HOST_REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

/// Tokens a host supplies (`accessToken`, `chatgptAccountId`, `chatgptPlanType`).
#[derive(Clone)]
pub struct HostTokens {
    /// The ChatGPT access token (a JWT with the usual claims).
    pub access_token: SecretString,
    /// The ChatGPT account (workspace) id.
    pub chatgpt_account_id: String,
    /// The plan; `None` lets the access token's claims decide.
    pub chatgpt_plan_type: Option<String>,
}

impl fmt::Debug for HostTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostTokens")
            .field("access_token", &self.access_token)
            .field("chatgpt_account_id", &self.chatgpt_account_id)
            .field("chatgpt_plan_type", &self.chatgpt_plan_type)
            .finish()
    }
}

/// Why new tokens are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostRefreshReason {
    /// A request was refused with `401` (upstream's only wire reason, `unauthorized`).
    Unauthorized,
    /// The access token is about to expire (ours: upstream hosts refresh on their own).
    Expiring,
}

impl HostRefreshReason {
    /// `unauthorized` or `expiring`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Expiring => "expiring",
        }
    }
}

/// A refresh request (`account/chatgptAuthTokens/refresh` params).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRefreshRequest {
    /// Why.
    pub reason: HostRefreshReason,
    /// The account id of the tokens being replaced (`previousAccountId`).
    pub previous_account_id: Option<String>,
}

/// Why a host refresh failed (upstream's texts for the first three).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HostTokenError {
    /// The host dropped the request.
    #[error("auth refresh request canceled: {0}")]
    Canceled(String),
    /// The host answered with an error.
    #[error("auth refresh request failed: code={code} message={message}")]
    Failed {
        /// The host's error code (JSON-RPC style).
        code: i64,
        /// The host's message.
        message: String,
    },
    /// The host did not answer within [`HOST_REFRESH_TIMEOUT`].
    #[error("auth refresh request timed out after 10s")]
    TimedOut,
    /// The host's tokens cannot be used (the access token is not a JWT, or no account id).
    #[error("the host supplied unusable ChatGPT tokens: {0}")]
    InvalidTokens(#[source] AuthDataError),
    /// No provider is installed for this `CODEX_HOME` (or it was removed or
    /// replaced while the refresh was waiting; its answer is then dropped).
    #[error("no host token provider is installed for this CODEX_HOME")]
    NotInstalled,
    /// The host answered with tokens for another account than the ones being
    /// replaced (`previousAccountId`); they are not adopted.
    #[error("the host supplied tokens for another account than the current login")]
    AccountMismatch,
}

/// A host program that supplies and refreshes ChatGPT tokens.
pub trait HostTokenProvider: Send + Sync {
    /// The host's current tokens, if it has any (no request).
    fn resolve(&self) -> Option<HostTokens>;
    /// New tokens from the host.
    fn refresh(
        &self,
        request: HostRefreshRequest,
    ) -> BoxFuture<'_, Result<HostTokens, HostTokenError>>;
}

type Registry = Mutex<HashMap<String, Arc<dyn HostTokenProvider>>>;

fn registry() -> &'static Registry {
    static PROVIDERS: OnceLock<Registry> = OnceLock::new();
    PROVIDERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Installs `provider` for `codex_home` (replacing any other) and puts its
/// current tokens, if any, in that home's in-memory store. Nothing is written
/// to disk. Fails (and installs nothing) when the tokens cannot be used.
pub fn install_host_token_provider(
    codex_home: &Path,
    provider: Arc<dyn HostTokenProvider>,
) -> Result<(), HostTokenError> {
    let current = provider.resolve();
    if let Some(tokens) = current {
        store(codex_home, tokens, Utc::now())?;
    }
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(store_key(codex_home), provider);
    Ok(())
}

/// Removes the provider of `codex_home` and its tokens from memory. Returns
/// whether a provider was installed.
pub fn remove_host_token_provider(codex_home: &Path) -> bool {
    let removed = registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&store_key(codex_home))
        .is_some();
    if removed {
        // The in-memory store cannot fail.
        let _ = EphemeralAuthStorage::new(codex_home).delete();
    }
    removed
}

/// Whether a provider is installed for `codex_home`.
pub fn has_host_token_provider(codex_home: &Path) -> bool {
    provider_for(codex_home).is_some()
}

fn provider_for(codex_home: &Path) -> Option<Arc<dyn HostTokenProvider>> {
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&store_key(codex_home))
        .cloned()
}

/// Builds the snapshot for `tokens` (parsing the access token's JWT claims)
/// and puts its document in the in-memory store of `codex_home`.
fn store(
    codex_home: &Path,
    tokens: HostTokens,
    now: DateTime<Utc>,
) -> Result<CodexAuth, HostTokenError> {
    let auth = CodexAuth::from_external_chatgpt_tokens(
        tokens.access_token,
        &tokens.chatgpt_account_id,
        tokens.chatgpt_plan_type.as_deref(),
        now,
    )
    .map_err(HostTokenError::InvalidTokens)?;
    if let Some(document) = auth.document() {
        // The in-memory store cannot fail.
        let _ = EphemeralAuthStorage::new(codex_home).save(document);
    }
    Ok(auth)
}

/// Asks the provider of `codex_home` for new tokens (bounded by
/// [`HOST_REFRESH_TIMEOUT`]), stores them in memory and returns the snapshot.
pub(crate) async fn refresh_from_host(
    codex_home: &Path,
    previous: &CodexAuth,
    reason: HostRefreshReason,
    now: DateTime<Utc>,
) -> Result<CodexAuth, HostTokenError> {
    let provider = provider_for(codex_home).ok_or(HostTokenError::NotInstalled)?;
    let request = HostRefreshRequest {
        reason,
        previous_account_id: previous.account_id().map(str::to_owned),
    };
    tracing::info!(
        reason = reason.as_str(),
        "asking the host app for new ChatGPT tokens"
    );
    let tokens = tokio::time::timeout(HOST_REFRESH_TIMEOUT, provider.refresh(request))
        .await
        .map_err(|_| HostTokenError::TimedOut)??;
    // Removed (or replaced) while waiting: the answer must not bring back
    // tokens the host program withdrew.
    let still_installed =
        provider_for(codex_home).is_some_and(|current| Arc::ptr_eq(&current, &provider));
    if !still_installed {
        return Err(HostTokenError::NotInstalled);
    }
    // A refresh replaces the tokens of one account; another account's tokens
    // would silently switch identities.
    if let Some(previous_account) = previous.account_id()
        && previous_account != tokens.chatgpt_account_id
    {
        tracing::warn!("the host answered a refresh with another account's tokens; dropped");
        return Err(HostTokenError::AccountMismatch);
    }
    store(codex_home, tokens, now)
}
