//! Workload identity federation: a machine proves who it is with a token from the identity
//! system it runs on (an OIDC JWT, a SPIFFE JWT-SVID), and the issuer exchanges it for a
//! short-lived ChatGPT access token. Nothing long-lived is stored.
//!
//! - `config`: selection (the official `OPENAI_FEDERATION_RULE_ID` +
//!   `OPENAI_IDENTITY_TOKEN_FILE` [+ `OPENAI_WORKLOAD_IDENTITY_CONTEXT`], or a
//!   `[workload_identity]` table in `config.toml`) and the token endpoint;
//! - `subject_token`: the assertion, fetched fresh at every exchange (rotation);
//! - `exchange`: the jwt-bearer form POST and the checks on its answer;
//! - `cache`: the current token, in memory and in a 0600 file shared by processes.
//!
//! [`WorkloadIdentity`] is one process's session: single flight, re-exchange at
//! `min(120 s, lifetime/2)` before expiry, the first identity pinned for the process's life.

mod cache;
mod config;
mod error;
mod exchange;
mod subject_token;

pub use config::{
    RULE_ID_ENV_VAR, RawEnv, SubjectSource, TOKEN_FILE_ENV_VAR, WorkloadIdentityConfig,
    raw_process_env, resolve,
};
pub use error::WorkloadIdentityError;
pub use exchange::FederatedIdentity;

use std::fmt;

use chrono::{DateTime, Utc};
use codex_auth_provider::SecretString;
use sha2::{Digest as _, Sha256};

use crate::auth_lock::{AuthFileLock, DEFAULT_LOCK_WAIT};
use crate::http_client::{ClientOptions, HttpClientFactory};
use cache::{CachedToken, TRANSIENT_RETRY_MS, now_ms, token_hash};

/// A federated access token, ready to use.
#[derive(Clone)]
pub struct WorkloadToken {
    /// The ChatGPT access token.
    pub access_token: SecretString,
    /// Whom it belongs to.
    pub identity: FederatedIdentity,
    /// `chatgpt_plan_type`, when the issuer sent it.
    pub plan_type: Option<String>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Its lifetime as the issuer granted it (`expires_in`): what a fresh exchange would give.
    pub lifetime: chrono::Duration,
    /// This process's generation number of the token (pass it to [`WorkloadIdentity::refresh`]).
    pub generation: u64,
}

impl fmt::Debug for WorkloadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadToken")
            .field("access_token", &"[REDACTED]")
            .field("identity", &self.identity)
            .field("plan_type", &self.plan_type)
            .field("expires_at", &self.expires_at)
            .field("lifetime", &self.lifetime)
            .field("generation", &self.generation)
            .finish()
    }
}

#[derive(Default)]
struct SessionState {
    current: Option<CachedToken>,
    pinned: Option<FederatedIdentity>,
    generation: u64,
}

/// One process's workload identity session.
pub struct WorkloadIdentity {
    config: WorkloadIdentityConfig,
    client: reqwest::Client,
    fingerprint: String,
    state: tokio::sync::Mutex<SessionState>,
}

impl fmt::Debug for WorkloadIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadIdentity")
            .field("rule_id", &self.config.rule_id)
            .field("source", &self.config.source.label())
            .field("token_url", &self.config.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl WorkloadIdentity {
    /// A session for `config`; its HTTP client never follows redirects.
    pub fn new(
        config: WorkloadIdentityConfig,
        http: &HttpClientFactory,
    ) -> Result<Self, WorkloadIdentityError> {
        let client = http
            .client(&ClientOptions {
                default_headers: true,
                follow_redirects: false,
                ..ClientOptions::default()
            })
            .map_err(WorkloadIdentityError::HttpClient)?;
        let mut hasher = Sha256::new();
        for part in [
            config.rule_id.as_str(),
            config.token_url.as_str(),
            &source_key(&config.source),
            config.context.as_deref().unwrap_or("\u{0}none"),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        Ok(Self {
            fingerprint: hex::encode(hasher.finalize()),
            config,
            client,
            state: tokio::sync::Mutex::new(SessionState::default()),
        })
    }

    /// The setup.
    pub fn config(&self) -> &WorkloadIdentityConfig {
        &self.config
    }

    /// `workload-identity:<source>` as `whoami` shows it.
    pub fn source_label(&self) -> String {
        self.config.source_label()
    }

    /// The identity pinned by the first token, if one was obtained.
    pub async fn pinned_identity(&self) -> Option<FederatedIdentity> {
        self.state.lock().await.pinned.clone()
    }

    /// The current token: the cached one until its refresh point, else one exchange (single
    /// flight: callers queued behind it get its result). A transient failure while the
    /// current token is still valid keeps it and retries after at most 30 s.
    pub async fn token(&self) -> Result<WorkloadToken, WorkloadIdentityError> {
        let mut state = self.state.lock().await;
        let now = now_ms();
        if let Some(current) = &state.current
            && now < current.refresh_at_ms
        {
            return Ok(to_token(current));
        }
        match self.obtain(&mut state, None).await {
            Ok(token) => Ok(token),
            Err(err) if err.is_transient() => match &mut state.current {
                Some(current) if now < current.expires_at_ms => {
                    tracing::warn!("keeping the current workload identity token: {err}");
                    current.refresh_at_ms = (now + TRANSIENT_RETRY_MS).min(current.expires_at_ms);
                    Ok(to_token(current))
                }
                _ => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// After a `401` for the token of `rejected_generation`: a newer token if another caller
    /// already got one, else a forced exchange (never the rejected token again).
    pub async fn refresh(
        &self,
        rejected_generation: u64,
    ) -> Result<WorkloadToken, WorkloadIdentityError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && current.generation != rejected_generation
        {
            return Ok(to_token(current));
        }
        let rejected = state
            .current
            .take()
            .map(|current| token_hash(&current.answer.access_token));
        self.obtain(&mut state, rejected).await
    }

    /// A token from the shared cache (under the lock) or from one exchange. The caller's own
    /// assertion is read first, outside the lock, and a cached token is adopted only if it was
    /// exchanged for that very assertion: a refused, garbage or rotated subject never inherits
    /// another subject's token.
    async fn obtain(
        &self,
        state: &mut SessionState,
        rejected: Option<String>,
    ) -> Result<WorkloadToken, WorkloadIdentityError> {
        let assertion = subject_token::read(&self.config.source, &self.client).await?;
        if !self.config.shared_cache {
            let token = self.exchange_once(&assertion).await?;
            return adopt(state, token);
        }
        let subject_hash = token_hash(&assertion);
        let home = &self.config.codex_home;
        let _ = std::fs::create_dir_all(home);
        let lock = match AuthFileLock::acquire(home, DEFAULT_LOCK_WAIT).await {
            Ok(lock) => Some(lock),
            Err(err) => {
                tracing::warn!("exchanging without the shared workload identity cache: {err}");
                None
            }
        };
        let path = config::cache_path(home);
        if lock.is_some()
            && let Some(shared) = cache::load(&path, &self.fingerprint, &subject_hash)
            && now_ms() < shared.refresh_at_ms
            && rejected.as_deref() != Some(token_hash(&shared.answer.access_token).as_str())
        {
            return adopt(state, shared);
        }
        let token = self.exchange_once(&assertion).await?;
        if lock.is_some()
            && let Err(err) = cache::store(&path, &self.fingerprint, &subject_hash, &token)
        {
            tracing::warn!("could not write {}: {err}", path.display());
        }
        adopt(state, token)
    }

    /// Sends one exchange for `assertion`.
    async fn exchange_once(
        &self,
        assertion: &SecretString,
    ) -> Result<CachedToken, WorkloadIdentityError> {
        let sent_at = now_ms();
        let answer = exchange::exchange(
            &self.client,
            &self.config.token_url,
            &self.config.rule_id,
            assertion,
            self.config.context.as_deref(),
        )
        .await?;
        Ok(CachedToken::new(answer, sent_at))
    }
}

/// What of the source goes into the cache key: the label, plus the whole argv of a command
/// and the request URL, audience and (hashed) request token of GitHub Actions.
fn source_key(source: &SubjectSource) -> String {
    match source {
        SubjectSource::Command(argv) => format!("command:{}", argv.join("\u{0}")),
        SubjectSource::GithubActions {
            request_url,
            request_token,
            audience,
        } => format!(
            "github-actions:{request_url}\u{0}{audience}\u{0}{}",
            token_hash(request_token)
        ),
        other => other.label(),
    }
}

/// Checks the pinned identity, numbers the token and makes it current.
fn adopt(
    state: &mut SessionState,
    mut token: CachedToken,
) -> Result<WorkloadToken, WorkloadIdentityError> {
    match &state.pinned {
        Some(pinned) if *pinned != token.answer.identity => {
            return Err(WorkloadIdentityError::IdentityChanged);
        }
        Some(_) => {}
        None => state.pinned = Some(token.answer.identity.clone()),
    }
    state.generation += 1;
    token.generation = state.generation;
    let out = to_token(&token);
    state.current = Some(token);
    Ok(out)
}

fn to_token(cached: &CachedToken) -> WorkloadToken {
    WorkloadToken {
        access_token: cached.answer.access_token.clone(),
        identity: cached.answer.identity.clone(),
        plan_type: cached.answer.plan_type.clone(),
        expires_at: DateTime::<Utc>::from_timestamp_millis(cached.expires_at_ms)
            .unwrap_or_else(Utc::now),
        lifetime: chrono::Duration::seconds(i64::try_from(cached.answer.expires_in).unwrap_or(0)),
        generation: cached.generation,
    }
}
