//! `AuthManager`: the process's shared, cached credentials, refreshed
//! without races.
//!
//! Refresh protocol (the same for a proactive refresh, an explicit one and
//! the refresh step of 401 recovery):
//!
//! 1. single flight inside the process: one async gate; a caller that waited
//!    on it and finds the credentials already changed does nothing;
//! 2. across processes: the exclusive lock on `$CODEX_HOME/auth.json.lock`
//!    is taken *before* deciding anything;
//! 3. the store is re-read under the lock; newer credentials for the same
//!    account/user are adopted without a request, another account's are
//!    refused, a vanished login is reported;
//! 4. a refresh token that already failed for good is never sent again;
//! 5. one request; on success the new document is written (atomically,
//!    fsynced) *before* the lock is released and before any caller sees it;
//! 6. on failure the store is never touched; a `refresh_token_reused`
//!    answer or an answer that never came (timeout, dropped connection)
//!    makes us re-read the store rather than resend the token.

mod agent_readiness;
mod agent_task_recovery;
mod auth_source;
mod backend;
mod config;
mod errors;
mod failure_memory;
mod from_env;
mod guard_errors;
mod host_refresh;
mod identity_guard;
mod pat_hydration;
mod preloaded;
mod recovery;
mod refresh;
mod refresh_window;
mod restriction_guard;
mod save_rescue;
mod workload;

pub use guard_errors::{ForeignIdentityError, GuardError, RefreshNotSaved, SpentTokenGuard};

pub use backend::BackendClientError;
pub use config::AuthManagerConfig;
pub use errors::{RefreshOutcome, RefreshTokenError};
pub use from_env::FromEnvError;
pub use recovery::NO_MORE_RECOVERY_STEPS_MESSAGE;
pub use refresh_window::{access_token_lifetime, proactive_refresh_window};

pub use crate::personal_access_token::{
    PersonalAccessTokenAuth, PersonalAccessTokenError, PersonalAccessTokenMetadata,
    authapi_base_url, authapi_base_url_or, hydrate_personal_access_token,
};
pub use crate::refresh_failure_record::{
    REFRESH_FAILURE_FILE_NAME, RecordedFailure, recorded_failure,
};

use crate::agent_identity::AgentIdentityOptions;
use crate::auth_dot_json::AuthDotJson;
use crate::auth_dot_json::AuthMode;
use crate::clock::Clock;
use crate::codex_auth::CodexAuth;
use crate::environment::SharedEnv;
use crate::http_client::HttpClientFactory;
use crate::logout_core::{ClearedStores, LogoutError, clear_stores};
use crate::refresh::RefreshReason;
use crate::resolution::{CredentialSource, ResolveOptions, ResolvedAuth, resolve_credentials};
use crate::storage::{CredentialStoreMode, EphemeralAuthStorage, SharedAuthStorage, StorageError};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use codex_agent_identity::TaskId;
use codex_auth_provider::SecretString;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Refresh when the access token expires within this window (at most half
/// the token's lifetime, see [`proactive_refresh_window`]).
pub const PROACTIVE_REFRESH_WINDOW: ChronoDuration = ChronoDuration::minutes(5);
/// Without an `exp`, refresh when `last_refresh` is older than this.
pub const LAST_REFRESH_MAX_AGE: ChronoDuration = ChronoDuration::days(8);

#[derive(Debug, Clone, Default)]
struct CachedState {
    resolved: Option<ResolvedAuth>,
    load_error: Option<String>,
    generation: u64,
    /// Fingerprint of the access token last received from the issuer.
    received_access_token: Option<String>,
}

/// The shared credential cache of a process. See the module docs for the
/// refresh protocol.
pub struct AuthManager {
    codex_home: PathBuf,
    store_mode: CredentialStoreMode,
    storage: SharedAuthStorage,
    enable_codex_api_key_env: bool,
    issuer: String,
    refresh_token_url: Option<String>,
    env: SharedEnv,
    clock: Arc<dyn Clock>,
    lock_wait: Duration,
    http: Mutex<Option<HttpClientFactory>>,
    client: Mutex<Option<reqwest::Client>>,
    cached: RwLock<CachedState>,
    failures: Mutex<HashMap<String, RefreshTokenError>>,
    refresh_gate: tokio::sync::Mutex<()>,
    use_agent_identity: bool,
    forced_chatgpt_workspace_ids: Vec<String>,
    forced_login_method: Option<crate::config::ForcedLoginMethod>,
    agent_identity: AgentIdentityOptions,
    /// Serialises readying agent identities (one registration at a time).
    agent_gate: tokio::sync::Mutex<()>,
    /// Set once ChatGPT agent identity registration ran out of retries: Bearer
    /// for the rest of the session.
    agent_fallback: AtomicBool,
    /// Run tasks registered by this manager, by agent runtime id.
    agent_run_tasks: Mutex<HashMap<String, TaskId>>,
    /// Issue 19: the workload identity session; when set, nothing else is consulted.
    workload_identity: Option<Arc<crate::workload_identity::WorkloadIdentity>>,
    /// The generation of the federated token last adopted.
    workload_generation: Mutex<u64>,
}

impl fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthManager")
            .field("codex_home", &self.codex_home)
            .field("store_mode", &self.store_mode)
            .field("auth", &self.auth_cached())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshMode {
    /// `auth()`: only if the token is within the refresh window.
    Proactive,
    /// `refresh_token()`: adopt newer stored credentials, else refresh.
    Guarded,
    /// `refresh_token_from_authority()` / 401: refresh unless the store
    /// already holds newer credentials.
    Authority,
}

impl AuthManager {
    /// Creates the manager and loads credentials once (synchronously; a
    /// keyring read is bounded by its timeout). A load error is remembered
    /// ([`AuthManager::load_error`]) and treated as logged out.
    pub fn new(config: AuthManagerConfig) -> Self {
        let manager = Self::unloaded(config);
        // Issue 19: workload identity never falls back to stored credentials.
        if manager.workload_identity.is_some() {
            manager.apply_load(Ok(None));
            return manager;
        }
        let loaded = load_resolved(
            manager.storage.as_ref(),
            &manager.codex_home,
            manager.store_mode,
            manager.enable_codex_api_key_env,
            &manager.env,
        );
        manager.apply_load(loaded);
        manager
    }

    fn unloaded(config: AuthManagerConfig) -> Self {
        let storage = config.storage.clone().unwrap_or_else(|| {
            crate::profiles::storage_for_profile(
                &config.codex_home,
                config.profile.as_ref(),
                config.store_mode,
            )
        });
        Self {
            codex_home: config.codex_home,
            store_mode: config.store_mode,
            storage,
            enable_codex_api_key_env: config.enable_codex_api_key_env,
            issuer: config.issuer,
            refresh_token_url: config.refresh_token_url,
            env: config.env,
            clock: config.clock,
            lock_wait: config.lock_wait,
            http: Mutex::new(config.http),
            client: Mutex::new(None),
            cached: RwLock::new(CachedState::default()),
            failures: Mutex::new(HashMap::new()),
            refresh_gate: tokio::sync::Mutex::new(()),
            use_agent_identity: config.use_agent_identity,
            forced_chatgpt_workspace_ids: config.forced_chatgpt_workspace_ids,
            forced_login_method: config.forced_login_method,
            agent_identity: config.agent_identity,
            agent_gate: tokio::sync::Mutex::new(()),
            agent_fallback: AtomicBool::new(false),
            agent_run_tasks: Mutex::new(HashMap::new()),
            workload_identity: config.workload_identity,
            workload_generation: Mutex::new(0),
        }
    }

    /// [`AuthManager::new`] wrapped in an `Arc`.
    pub fn shared(config: AuthManagerConfig) -> Arc<Self> {
        Arc::new(Self::new(config))
    }

    /// `CODEX_HOME`.
    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// The configured store.
    pub fn storage(&self) -> &SharedAuthStorage {
        &self.storage
    }

    /// The configured store mode.
    pub fn store_mode(&self) -> CredentialStoreMode {
        self.store_mode
    }

    /// The cached snapshot; no I/O.
    pub fn auth_cached(&self) -> Option<CodexAuth> {
        self.read_state().resolved.map(|resolved| resolved.auth)
    }

    /// The cached snapshot with the source it came from; no I/O.
    pub fn resolved_cached(&self) -> Option<ResolvedAuth> {
        self.read_state().resolved
    }

    /// Why the last load failed, if it did (the manager then acts logged out).
    pub fn load_error(&self) -> Option<String> {
        self.read_state().load_error
    }

    /// Warnings recorded by the store (for example an `auto` fallback to the file).
    pub fn storage_warnings(&self) -> Vec<String> {
        self.storage.warnings()
    }

    /// Whether `auth` should be refreshed now: managed ChatGPT tokens whose
    /// access token expires within the window (5 minutes, at most half its
    /// lifetime), or, without an `exp`, whose `last_refresh` is older than 8
    /// days. A token this manager just received is not due until it expires.
    pub fn needs_proactive_refresh(&self, auth: &CodexAuth) -> bool {
        // issue 19: host-supplied tokens are due by their JWT `exp` when a host can refresh.
        (needs_proactive_refresh(auth, self.clock.now()) || self.host_refresh_due(auth))
            && !self.just_received(auth)
    }

    /// The current snapshot, refreshed first when it is about to expire and,
    /// for an agent identity, with its run task registered. A failed refresh
    /// is logged and the old snapshot returned (a still valid access token
    /// keeps working through a transient failure); an agent identity that
    /// could not be readied gives `None`, never a snapshot that cannot sign.
    pub async fn auth(&self) -> Option<CodexAuth> {
        match self.try_auth().await {
            Ok(auth) => auth,
            Err(RefreshTokenError::AgentIdentity(err)) => {
                tracing::warn!("could not ready the agent identity: {err}");
                None
            }
            Err(RefreshTokenError::Guard(GuardError::Restricted(err))) => {
                tracing::warn!("{err}");
                None
            }
            Err(err) => {
                tracing::warn!("could not refresh the access token: {err}");
                self.auth_cached()
            }
        }
    }

    /// Like [`AuthManager::auth`], but reports failures. Before an agent
    /// identity snapshot is handed out its JWT is verified (JWKS), its
    /// workspace checked and its run task registered (once per run); with
    /// `use_agent_identity`, a managed ChatGPT login gets its bound identity
    /// (or Bearer for the session when registration is unavailable).
    pub async fn try_auth(&self) -> Result<Option<CodexAuth>, RefreshTokenError> {
        // Issue 19: workload identity.
        if let Some(session) = &self.workload_identity {
            return self.workload_auth(session).await;
        }
        // issue 19: a personal access token is hydrated (whoami) before any use.
        self.hydrate_personal_access_token().await?;
        self.enforce_restrictions().await?;
        let (resolved, generation) = self.snapshot();
        let Some(resolved) = resolved else {
            return Ok(None);
        };
        if self.needs_proactive_refresh(&resolved.auth) {
            self.run_refresh(
                RefreshMode::Proactive,
                RefreshReason::ProactiveExpiry,
                generation,
            )
            .await?;
        }
        self.ready_agent_identity()
            .await
            .map_err(RefreshTokenError::AgentIdentity)
    }

    /// Re-reads the credentials (env, ephemeral store, configured store).
    /// Returns whether they changed. A load error leaves the manager logged
    /// out, as upstream.
    pub async fn reload(&self) -> bool {
        // Issue 19: a workload identity session is the only source.
        if self.workload_identity.is_some() {
            return false;
        }
        let loaded = self.load_blocking().await;
        self.apply_load(loaded)
    }

    /// Guarded refresh: under the lock, adopt newer stored credentials for
    /// the same account if there are any, else send one refresh request.
    pub async fn refresh_token(&self) -> Result<RefreshOutcome, RefreshTokenError> {
        // Issue 19: a forced exchange.
        if let Some(session) = &self.workload_identity {
            return self.workload_refresh(session).await;
        }
        let generation = self.snapshot().1;
        self.run_refresh(RefreshMode::Guarded, RefreshReason::Manual, generation)
            .await
    }

    /// Refresh against the issuer even if the token looks fresh (the
    /// second step of 401 recovery). Still adopts newer stored credentials
    /// instead of spending a stale refresh token, and still refuses a token
    /// that already failed for good.
    pub async fn refresh_token_from_authority(&self) -> Result<RefreshOutcome, RefreshTokenError> {
        // Issue 19: a forced exchange.
        if let Some(session) = &self.workload_identity {
            return self.workload_refresh(session).await;
        }
        let generation = self.snapshot().1;
        self.run_refresh(
            RefreshMode::Authority,
            RefreshReason::Unauthorized,
            generation,
        )
        .await
    }

    /// Removes the credentials from every store (ephemeral, configured, and
    /// `auth.json` when the configured store is another; under the
    /// cross-process lock, so a refresh in flight cannot write them back),
    /// then reloads. Returns whether anything was removed. Revoking the tokens
    /// at the issuer as well is `flows::logout_manager_with_revoke`; both go
    /// through the same clearing step as `codex logout`.
    pub async fn logout(&self) -> Result<bool, LogoutError> {
        self.clear_stored_login()
            .await
            .map(|cleared| cleared.removed)
    }

    /// Logout's clearing step on this manager's store, holding the refresh
    /// gate; reloads afterwards whether or not it succeeded.
    pub(crate) async fn clear_stored_login(&self) -> Result<ClearedStores, LogoutError> {
        let _gate = self.refresh_gate.lock().await;
        let result =
            clear_stores(&self.codex_home, Arc::clone(&self.storage), self.lock_wait).await;
        if result.is_ok() {
            self.agent_fallback
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
        self.reload().await;
        result
    }

    /// The remembered permanent failure for `auth`'s refresh token, if any.
    pub fn refresh_failure_for(&self, auth: &CodexAuth) -> Option<RefreshTokenError> {
        let token = auth.refresh_token()?;
        self.failure_for(token)
    }

    // ----- internals shared with the recovery state machine -----

    pub(crate) fn snapshot(&self) -> (Option<ResolvedAuth>, u64) {
        let state = self.read_state();
        (state.resolved, state.generation)
    }

    fn read_state(&self) -> CachedState {
        self.cached
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the cache after a load; returns whether the credentials changed.
    fn apply_load(&self, loaded: Result<Option<ResolvedAuth>, String>) -> bool {
        let mut state = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        let (resolved, load_error) = match loaded {
            Ok(resolved) => (resolved, None),
            Err(message) => {
                tracing::warn!("could not load credentials: {message}");
                (None, Some(message))
            }
        };
        let changed = match (&state.resolved, &resolved) {
            (None, None) => false,
            (Some(old), Some(new)) => {
                !old.auth.same_credentials(&new.auth) || old.source != new.source
            }
            _ => true,
        };
        if changed {
            state.generation += 1;
        }
        state.resolved = resolved;
        state.load_error = load_error;
        changed
    }

    /// Puts a snapshot in the cache (after adopting or refreshing).
    fn adopt(&self, auth: CodexAuth, source: CredentialSource) {
        let mut state = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        state.resolved = Some(ResolvedAuth { auth, source });
        state.load_error = None;
        state.generation += 1;
    }

    async fn load_blocking(&self) -> Result<Option<ResolvedAuth>, String> {
        let storage = Arc::clone(&self.storage);
        let home = self.codex_home.clone();
        let mode = self.store_mode;
        let enable = self.enable_codex_api_key_env;
        let env = Arc::clone(&self.env);
        tokio::task::spawn_blocking(move || {
            load_resolved(storage.as_ref(), &home, mode, enable, &env)
        })
        .await
        .unwrap_or_else(|err| Err(format!("the credential loading task failed: {err}")))
    }

    /// The store the cached credentials live in, when they can be refreshed.
    fn store_for(&self, source: &CredentialSource) -> Option<SharedAuthStorage> {
        match source {
            CredentialSource::File(_) | CredentialSource::Keyring => {
                Some(Arc::clone(&self.storage))
            }
            CredentialSource::Ephemeral => {
                Some(Arc::new(EphemeralAuthStorage::new(&self.codex_home)))
            }
            CredentialSource::Env(_) | CredentialSource::WorkloadIdentity(_) => None,
        }
    }
}

/// Whether `auth` should be refreshed at `now` (see [`AuthManager::needs_proactive_refresh`]).
pub fn needs_proactive_refresh(auth: &CodexAuth, now: DateTime<Utc>) -> bool {
    if auth.auth_mode() != AuthMode::Chatgpt {
        return false;
    }
    if let Some(expires_at) = auth.access_token_expires_at() {
        return refresh_window::access_token_due(auth, expires_at, now);
    }
    match auth.last_refresh() {
        Some(last_refresh) => last_refresh < now - LAST_REFRESH_MAX_AGE,
        None => false,
    }
}

fn token_fingerprint(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose().as_bytes()))
}

fn load_resolved(
    storage: &dyn crate::storage::AuthStorage,
    codex_home: &Path,
    store_mode: CredentialStoreMode,
    enable_codex_api_key_env: bool,
    env: &SharedEnv,
) -> Result<Option<ResolvedAuth>, String> {
    let lookup = |name: &str| env(name);
    let options = ResolveOptions {
        codex_home,
        store_mode,
        enable_codex_api_key_env,
        env: &lookup,
        // The session, if any, was chosen when the manager was built.
        workload_identity: None,
    };
    resolve_credentials(storage, &options).map_err(|err| err.to_string())
}

async fn read_store(store: &SharedAuthStorage) -> Result<Option<CodexAuth>, RefreshTokenError> {
    let store = Arc::clone(store);
    let document: Option<AuthDotJson> = run_blocking(move || store.load()).await?;
    match document {
        None => Ok(None),
        Some(document) => CodexAuth::from_auth_dot_json(document)
            .map(Some)
            .map_err(|problem| {
                RefreshTokenError::Config(format!(
                    "the stored credentials cannot be used: {problem}"
                ))
            }),
    }
}

async fn run_blocking<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    match tokio::task::spawn_blocking(op).await {
        Ok(result) => result,
        Err(err) => Err(StorageError::Io {
            action: "run a storage task for",
            path: PathBuf::from("auth.json"),
            source: std::io::Error::other(err.to_string()),
        }),
    }
}
