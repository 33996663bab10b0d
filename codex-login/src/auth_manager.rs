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
mod from_env;
mod identity_guard;
mod preloaded;
pub mod refresh_window;
mod restriction_guard;
mod save_rescue;

pub use identity_guard::{ForeignIdentityError, GuardError};
pub use save_rescue::{RefreshNotSaved, SpentTokenGuard};

pub use from_env::FromEnvError;

use crate::agent_identity::{AgentIdentityError, AgentIdentityOptions};
use crate::auth_dot_json::AuthMode;
use crate::auth_dot_json::{AuthDotJson, StoredIdToken, StoredTimestamp};
use crate::auth_lock::{AuthFileLock, AuthLockError, DEFAULT_LOCK_WAIT};
use crate::clock::{Clock, SystemClock};
use crate::codex_auth::CodexAuth;
use crate::config::CodexConfig;
use crate::environment::{SharedEnv, shared_process_env};
use crate::http_client::HttpClientFactory;
use crate::recovery::UnauthorizedRecovery;
use crate::refresh::{
    DEFAULT_ISSUER, REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE, REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR,
    RefreshFailureReason, RefreshReason, RefreshRequestError, refresh_token_url,
    send_refresh_request,
};
use crate::resolution::{CredentialSource, ResolveOptions, ResolvedAuth, resolve_credentials};
use crate::storage::{
    AuthStorage, CredentialStoreMode, EphemeralAuthStorage, SharedAuthStorage, StorageError,
};
use agent_task_recovery::AgentTaskRecovery;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use codex_agent_identity::TaskId;
use codex_auth_provider::{
    AuthSource, AuthSourceError, BoxFuture, RecoveryOutcome, SecretString, SharedAuthProvider,
    UnauthorizedContext,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Refresh when the access token expires within this window (at most half
/// the token's lifetime, see [`refresh_window`]).
pub const PROACTIVE_REFRESH_WINDOW: ChronoDuration = ChronoDuration::minutes(5);
/// Without an `exp`, refresh when `last_refresh` is older than this.
pub const LAST_REFRESH_MAX_AGE: ChronoDuration = ChronoDuration::days(8);

/// Why a refresh (or the reload guarding it) did not produce usable credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshTokenError {
    /// The credentials cannot be refreshed; the user must sign in again.
    /// `message` is upstream's exact text.
    #[error("{message}")]
    Permanent {
        /// Why.
        reason: RefreshFailureReason,
        /// The message to show.
        message: String,
    },
    /// A temporary failure; the stored credentials are unchanged and a later
    /// attempt may work.
    #[error("{0}")]
    Transient(String),
    /// The request was sent but no answer came back; the token was not sent
    /// again, and the store was re-read and found unchanged.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// The store could not be read or written (or the lock not taken).
    #[error("{0}")]
    Storage(Arc<StorageError>),
    /// The cross-process lock could not be taken.
    #[error("{0}")]
    Lock(Arc<AuthLockError>),
    /// The refresh endpoint or HTTP client is misconfigured.
    #[error("{0}")]
    Config(String),
    /// An agent identity could not be made ready: its JWT failed
    /// verification, its workspace is not allowed, or registering its agent
    /// or run task failed.
    #[error(transparent)]
    AgentIdentity(AgentIdentityError),
    /// A guard stopped the refresh or the use (foreign issuer or identity, an unsaved
    /// refresh, an administrator's restriction); see [`GuardError`].
    #[error(transparent)]
    Guard(GuardError),
}

impl RefreshTokenError {
    fn permanent(reason: RefreshFailureReason) -> Self {
        Self::Permanent {
            reason,
            message: reason.user_message().to_owned(),
        }
    }

    fn account_mismatch() -> Self {
        Self::Permanent {
            reason: RefreshFailureReason::Other,
            message: REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE.to_owned(),
        }
    }

    /// The permanent-failure reason, if this is a permanent failure.
    pub fn failed_reason(&self) -> Option<RefreshFailureReason> {
        match self {
            Self::Permanent { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// Whether a new login is needed.
    pub fn requires_new_login(&self) -> bool {
        match self {
            Self::Permanent { .. } => true,
            Self::AgentIdentity(err) => err.requires_new_login(),
            Self::Guard(err) => err.requires_new_login(),
            _ => false,
        }
    }
}

impl From<StorageError> for RefreshTokenError {
    fn from(err: StorageError) -> Self {
        Self::Storage(Arc::new(err))
    }
}

impl From<AuthLockError> for RefreshTokenError {
    fn from(err: AuthLockError) -> Self {
        Self::Lock(Arc::new(err))
    }
}

/// What a successful refresh call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// One refresh request was sent and its tokens saved.
    Refreshed,
    /// Newer credentials for the same account were found in the store (or
    /// set by another caller in this process) and adopted; nothing was sent.
    Adopted,
    /// Nothing needed doing (the credentials were fresh).
    NotNeeded,
}

/// Why logout could not finish.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The cross-process lock could not be taken.
    #[error(transparent)]
    Lock(#[from] AuthLockError),
    /// A store could not be cleared.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How an [`AuthManager`] is set up.
#[derive(Clone)]
pub struct AuthManagerConfig {
    /// `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The configured store (`cli_auth_credentials_store`).
    pub store_mode: CredentialStoreMode,
    /// A store to use instead of the one `store_mode` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
    /// Use this profile instead of the active login (see [`crate::profiles`]); ignored when
    /// `storage` is set.
    pub profile: Option<crate::profiles::ProfileName>,
    /// Whether `CODEX_API_KEY` may be used.
    pub enable_codex_api_key_env: bool,
    /// The issuer; refresh goes to `<issuer>/oauth/token` unless overridden.
    pub issuer: String,
    /// The refresh URL; `None` means `CODEX_REFRESH_TOKEN_URL_OVERRIDE`, else
    /// `<issuer>/oauth/token`.
    pub refresh_token_url: Option<String>,
    /// The environment.
    pub env: SharedEnv,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// How long to wait for another process's refresh.
    pub lock_wait: Duration,
    /// The HTTP client factory; `None` builds one from `env`.
    pub http: Option<HttpClientFactory>,
    /// `[features] use_agent_identity`: a managed ChatGPT login also signs
    /// requests as an agent identity bound to its account and user.
    pub use_agent_identity: bool,
    /// Workspaces an agent identity must belong to (empty: any); checked
    /// before its run task is registered. Also enforced on every use of a
    /// ChatGPT login and on every refresh answer.
    pub forced_chatgpt_workspace_ids: Vec<String>,
    /// `forced_login_method`, enforced on every use.
    pub forced_login_method: Option<crate::flows::ForcedLoginMethod>,
    /// Endpoints, retries and failure memory for agent identities.
    pub agent_identity: AgentIdentityOptions,
}

impl fmt::Debug for AuthManagerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthManagerConfig")
            .field("codex_home", &self.codex_home)
            .field("store_mode", &self.store_mode)
            .field("storage", &self.storage)
            .field("profile", &self.profile)
            .field("enable_codex_api_key_env", &self.enable_codex_api_key_env)
            .field("issuer", &self.issuer)
            .field("refresh_token_url", &self.refresh_token_url)
            .field("clock", &self.clock)
            .field("lock_wait", &self.lock_wait)
            .field("use_agent_identity", &self.use_agent_identity)
            .field(
                "forced_chatgpt_workspace_ids",
                &self.forced_chatgpt_workspace_ids,
            )
            .field("forced_login_method", &self.forced_login_method)
            .field("agent_identity", &self.agent_identity)
            .finish_non_exhaustive()
    }
}

impl AuthManagerConfig {
    /// Defaults: file store, `CODEX_API_KEY` ignored, production issuer,
    /// process environment, system clock, 30 s lock wait.
    pub fn new(codex_home: impl Into<PathBuf>) -> Self {
        Self {
            codex_home: codex_home.into(),
            store_mode: CredentialStoreMode::File,
            storage: None,
            profile: None,
            enable_codex_api_key_env: false,
            issuer: DEFAULT_ISSUER.to_owned(),
            refresh_token_url: None,
            env: shared_process_env(),
            clock: Arc::new(SystemClock),
            lock_wait: DEFAULT_LOCK_WAIT,
            http: None,
            use_agent_identity: false,
            forced_chatgpt_workspace_ids: Vec::new(),
            forced_login_method: None,
            agent_identity: AgentIdentityOptions::default(),
        }
    }

    /// The settings `config` names: store, issuer, refresh URL, ChatGPT,
    /// AuthAPI and JWKS bases, forced workspaces and `use_agent_identity`.
    /// `CODEX_API_KEY` stays ignored and the process environment is used.
    pub fn from_codex_config(config: &CodexConfig) -> Self {
        let mut manager = Self::new(config.codex_home.clone());
        manager.store_mode = config.credential_store;
        manager.issuer = config.issuer.clone();
        manager.refresh_token_url = Some(config.refresh_token_url.clone());
        manager.use_agent_identity = config.use_agent_identity;
        manager.forced_chatgpt_workspace_ids = config.forced_chatgpt_workspace_ids.clone();
        manager.forced_login_method = config.forced_login_method;
        manager.agent_identity.chatgpt_base_url = config.chatgpt_base_url.clone();
        manager.agent_identity.authapi_base_url = Some(config.authapi_base_url());
        manager.agent_identity.jwks_base_url = Some(config.jwks_base_url());
        manager
    }
}

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
    forced_login_method: Option<crate::flows::ForcedLoginMethod>,
    agent_identity: AgentIdentityOptions,
    /// Serialises readying agent identities (one registration at a time).
    agent_gate: tokio::sync::Mutex<()>,
    /// Set once ChatGPT agent identity registration ran out of retries: Bearer
    /// for the rest of the session.
    agent_fallback: AtomicBool,
    /// Run tasks registered by this manager, by agent runtime id.
    agent_run_tasks: Mutex<HashMap<String, TaskId>>,
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
        needs_proactive_refresh(auth, self.clock.now()) && !self.just_received(auth)
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
        let loaded = self.load_blocking().await;
        self.apply_load(loaded)
    }

    /// Guarded refresh: under the lock, adopt newer stored credentials for
    /// the same account if there are any, else send one refresh request.
    pub async fn refresh_token(&self) -> Result<RefreshOutcome, RefreshTokenError> {
        let generation = self.snapshot().1;
        self.run_refresh(RefreshMode::Guarded, RefreshReason::Manual, generation)
            .await
    }

    /// Refresh against the issuer even if the token looks fresh (the
    /// second step of 401 recovery). Still adopts newer stored credentials
    /// instead of spending a stale refresh token, and still refuses a token
    /// that already failed for good.
    pub async fn refresh_token_from_authority(&self) -> Result<RefreshOutcome, RefreshTokenError> {
        let generation = self.snapshot().1;
        self.run_refresh(
            RefreshMode::Authority,
            RefreshReason::Unauthorized,
            generation,
        )
        .await
    }

    /// Removes the credentials from the in-memory store and the configured
    /// store (under the cross-process lock, so a refresh in flight cannot
    /// write them back), then reloads. Returns whether anything was removed.
    pub async fn logout(&self) -> Result<bool, LogoutError> {
        let _gate = self.refresh_gate.lock().await;
        let lock = AuthFileLock::acquire(&self.codex_home, self.lock_wait).await?;
        let removed_ephemeral = EphemeralAuthStorage::new(&self.codex_home).delete()?;
        let storage = Arc::clone(&self.storage);
        let removed = run_blocking(move || storage.delete()).await?;
        drop(lock);
        self.agent_fallback
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.reload().await;
        Ok(removed_ephemeral || removed)
    }

    /// The 401 recovery state machine for the current credentials.
    pub fn unauthorized_recovery(&self) -> UnauthorizedRecovery<'_> {
        UnauthorizedRecovery::new(self)
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

    fn failure_for(&self, refresh_token: &SecretString) -> Option<RefreshTokenError> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token_fingerprint(refresh_token))
            .cloned()
    }

    fn remember_failure(&self, refresh_token: &SecretString, error: &RefreshTokenError) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token_fingerprint(refresh_token), error.clone());
    }

    /// The failure any process recorded beside `auth.json` for `refresh_token`
    /// (see [`crate::refresh_failure_record`]); in-memory credentials have none.
    async fn recorded_failure(
        &self,
        source: &CredentialSource,
        refresh_token: &SecretString,
    ) -> Option<RefreshTokenError> {
        if matches!(source, CredentialSource::Ephemeral) {
            return None;
        }
        let home = self.codex_home.clone();
        let token = refresh_token.clone();
        tokio::task::spawn_blocking(move || {
            crate::refresh_failure_record::recorded_failure(&home, &token)
        })
        .await
        .ok()
        .flatten()
    }

    /// Records for every process that `refresh_token` must not be sent again.
    /// A failure to write the record is logged; the refresh error stands.
    async fn record_failure(
        &self,
        source: &CredentialSource,
        refresh_token: &SecretString,
        error: &RefreshTokenError,
    ) {
        if matches!(source, CredentialSource::Ephemeral) {
            return;
        }
        let home = self.codex_home.clone();
        let token = refresh_token.clone();
        let error = error.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::refresh_failure_record::record_failure(&home, &token, &error)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("could not record the failed refresh: {err}"),
            Err(err) => tracing::warn!("could not record the failed refresh: {err}"),
        }
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
            CredentialSource::Env(_) => None,
        }
    }

    fn refresh_url(&self) -> Result<url::Url, RefreshTokenError> {
        let override_url = self
            .refresh_token_url
            .clone()
            .or_else(|| (self.env)(REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR));
        let text = refresh_token_url(override_url.as_deref(), &self.issuer);
        url::Url::parse(&text).map_err(|err| {
            RefreshTokenError::Config(format!("the refresh token URL is not a valid URL: {err}"))
        })
    }

    fn http_client(&self) -> Result<reqwest::Client, RefreshTokenError> {
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let mut factory = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        if factory.is_none() {
            let env = Arc::clone(&self.env);
            let built = HttpClientFactory::from_env(&move |name: &str| env(name))
                .map_err(|err| RefreshTokenError::Config(err.to_string()))?;
            *factory = Some(built);
        }
        let built = factory
            .as_ref()
            .ok_or_else(|| RefreshTokenError::Config("no HTTP client factory".to_owned()))?
            .default_client()
            .map_err(|err| RefreshTokenError::Config(err.to_string()))?;
        *client = Some(built.clone());
        Ok(built)
    }

    /// Re-reads the store without the lock and adopts newer credentials for
    /// the same identity. Used by the reload step of 401 recovery. Returns
    /// whether the cache changed.
    pub(crate) async fn reload_same_identity(&self) -> Result<bool, RefreshTokenError> {
        let (resolved, _) = self.snapshot();
        let Some(cached) = resolved else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let Some(store) = self.store_for(&cached.source) else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let stored = read_store(&store).await?;
        let Some(stored) = stored else {
            return Err(RefreshTokenError::account_mismatch());
        };
        if stored.same_credentials(&cached.auth) {
            return Ok(false);
        }
        if !same_identity(&cached.auth, &stored) {
            return Err(RefreshTokenError::account_mismatch());
        }
        self.adopt(stored, cached.source);
        Ok(true)
    }

    /// The refresh protocol described in the module docs.
    pub(crate) async fn run_refresh(
        &self,
        mode: RefreshMode,
        reason: RefreshReason,
        observed_generation: u64,
    ) -> Result<RefreshOutcome, RefreshTokenError> {
        self.enforce_restrictions().await?;
        let _gate = self.refresh_gate.lock().await;

        let (resolved, generation) = self.snapshot();
        let Some(cached) = resolved else {
            return Err(RefreshTokenError::account_mismatch());
        };
        match mode {
            RefreshMode::Proactive if !self.needs_proactive_refresh(&cached.auth) => {
                return Ok(if generation == observed_generation {
                    RefreshOutcome::NotNeeded
                } else {
                    RefreshOutcome::Adopted
                });
            }
            RefreshMode::Guarded | RefreshMode::Authority if generation != observed_generation => {
                // Another caller in this process changed the credentials
                // while we waited: theirs are at least as new as ours.
                return Ok(RefreshOutcome::Adopted);
            }
            _ => {}
        }
        if cached.auth.auth_mode() != AuthMode::Chatgpt {
            return Err(RefreshTokenError::Permanent {
                reason: RefreshFailureReason::Other,
                message: "Only ChatGPT logins managed by Codex can be refreshed.".to_owned(),
            });
        }
        let Some(store) = self.store_for(&cached.source) else {
            return Err(RefreshTokenError::Permanent {
                reason: RefreshFailureReason::Other,
                message: "Credentials from the environment cannot be refreshed.".to_owned(),
            });
        };

        let lock = AuthFileLock::acquire(&self.codex_home, self.lock_wait).await?;

        let Some(stored) = read_store(&store).await? else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let base = if !stored.same_credentials(&cached.auth) {
            if !same_identity(&cached.auth, &stored) {
                return Err(RefreshTokenError::account_mismatch());
            }
            self.adopt(stored.clone(), cached.source.clone());
            if mode != RefreshMode::Proactive || !self.needs_proactive_refresh(&stored) {
                return Ok(RefreshOutcome::Adopted);
            }
            stored
        } else {
            // Same credentials; the stored copy also carries any fields
            // another writer added, which the rewrite must keep.
            stored
        };

        let Some(refresh_token) = base.refresh_token().filter(|t| !t.is_empty()).cloned() else {
            return Err(RefreshTokenError::permanent(RefreshFailureReason::Other));
        };
        if let Some(previous) = self.failure_for(&refresh_token) {
            return Err(previous);
        }
        if let Some(recorded) = self.recorded_failure(&cached.source, &refresh_token).await {
            // Another process already spent (or lost) this token: never send it again.
            self.remember_failure(&refresh_token, &recorded);
            return Err(recorded);
        }
        {
            let store = Arc::clone(&store);
            run_blocking(move || store.check_writable()).await?;
        }
        let url = self.refresh_url()?;
        identity_guard::ensure_refresh_at_minting_issuer(&base, &url)?;
        let client = self.http_client()?;

        match send_refresh_request(&client, &url, &refresh_token, reason).await {
            Ok(tokens) => {
                self.refuse_foreign_identity(&base, &tokens, &cached.source, &refresh_token)
                    .await?;
                let mut document = base.document().cloned().unwrap_or_default();
                if let Some(stored_tokens) = document.tokens.as_mut() {
                    if let Some(id_token) = tokens.id_token {
                        stored_tokens.id_token = Some(StoredIdToken::Jwt(id_token));
                    }
                    if let Some(access_token) = tokens.access_token {
                        stored_tokens.access_token = access_token;
                    }
                    if let Some(new_refresh) = tokens.refresh_token {
                        stored_tokens.refresh_token = new_refresh;
                    }
                }
                document.last_refresh = Some(StoredTimestamp::new(self.clock.now()));
                let refreshed = match CodexAuth::from_auth_dot_json(document.clone()) {
                    Ok(refreshed) => refreshed,
                    Err(problem) => {
                        // The issuer answered, so the old refresh token may be spent, but
                        // its tokens cannot be used: save nothing and never resend it.
                        let error = RefreshTokenError::OutcomeUnknown(format!(
                            "{} (the token endpoint answered with tokens that cannot be \
                             used: {problem})",
                            crate::refresh::REFRESH_OUTCOME_UNKNOWN_MESSAGE
                        ));
                        self.remember_failure(&refresh_token, &error);
                        self.record_failure(&cached.source, &refresh_token, &error)
                            .await;
                        return Err(error);
                    }
                };
                if let Err(error) = save_rescue::save_refreshed(
                    &store,
                    &document,
                    &refresh_token,
                    &self.codex_home,
                    &cached.source,
                )
                .await
                {
                    // Keep what was received: this process goes on with the new tokens.
                    self.adopt_received(refreshed, cached.source);
                    return Err(error);
                }
                drop(lock);
                self.adopt_received(refreshed, cached.source);
                Ok(RefreshOutcome::Refreshed)
            }
            Err(RefreshRequestError::Permanent {
                reason: failure, ..
            }) => {
                if failure == RefreshFailureReason::Exhausted
                    && let Some(outcome) = self
                        .adopt_if_store_moved(&store, &base, &cached.source)
                        .await?
                {
                    return Ok(outcome);
                }
                let error = RefreshTokenError::permanent(failure);
                self.remember_failure(&refresh_token, &error);
                self.record_failure(&cached.source, &refresh_token, &error)
                    .await;
                Err(error)
            }
            Err(RefreshRequestError::Transient(message)) => {
                Err(RefreshTokenError::Transient(message))
            }
            Err(err @ RefreshRequestError::OutcomeUnknown { .. }) => {
                if let Some(outcome) = self
                    .adopt_if_store_moved(&store, &base, &cached.source)
                    .await?
                {
                    return Ok(outcome);
                }
                let error = RefreshTokenError::OutcomeUnknown(err.to_string());
                self.remember_failure(&refresh_token, &error);
                self.record_failure(&cached.source, &refresh_token, &error)
                    .await;
                Err(error)
            }
            Err(err @ RefreshRequestError::UnsafeUrl(_)) => {
                Err(RefreshTokenError::Config(err.to_string()))
            }
        }
    }

    /// After a reuse refusal or a lost answer: if the store now holds other
    /// credentials for the same identity (someone else refreshed), adopt them.
    async fn adopt_if_store_moved(
        &self,
        store: &SharedAuthStorage,
        base: &CodexAuth,
        source: &CredentialSource,
    ) -> Result<Option<RefreshOutcome>, RefreshTokenError> {
        let Some(stored) = read_store(store).await? else {
            return Ok(None);
        };
        if stored.same_credentials(base) || !same_identity(base, &stored) {
            return Ok(None);
        }
        self.adopt(stored, source.clone());
        Ok(Some(RefreshOutcome::Adopted))
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

/// Whether `stored` may replace `cached` without a new login: the same
/// account and the same user where both are known. A missing account id on
/// either side is unknown, not different: the same user is then enough, in
/// both directions. Without any identity to compare, it may not.
pub fn same_identity(cached: &CodexAuth, stored: &CodexAuth) -> bool {
    let accounts = (cached.account_id(), stored.account_id());
    let users = (cached.chatgpt_user_id(), stored.chatgpt_user_id());
    if let (Some(a), Some(b)) = users
        && a != b
    {
        return false;
    }
    match accounts {
        (Some(a), Some(b)) => a == b,
        _ => matches!(users, (Some(a), Some(b)) if a == b),
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

impl AuthSource for AuthManager {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        Box::pin(async move {
            match self.try_auth().await {
                Ok(Some(auth)) => Ok(auth.provider()),
                Ok(None) => Err(AuthSourceError::NotLoggedIn(
                    self.load_error()
                        .unwrap_or_else(|| "Not logged in".to_owned()),
                )),
                Err(RefreshTokenError::AgentIdentity(err)) => {
                    // Never hand out a snapshot that cannot sign, nor Bearer
                    // after a hard agent identity failure.
                    Err(if err.requires_new_login() {
                        AuthSourceError::ReauthRequired(err.to_string())
                    } else if matches!(err, AgentIdentityError::Storage(_)) {
                        AuthSourceError::Storage(err.to_string())
                    } else {
                        AuthSourceError::Transient(err.to_string())
                    })
                }
                Err(RefreshTokenError::Guard(GuardError::Restricted(err))) => {
                    Err(AuthSourceError::ReauthRequired(err.to_string()))
                }
                Err(err) => {
                    // A still-valid access token keeps working through a
                    // failed proactive refresh.
                    let now = self.clock.now();
                    if let Some(auth) = self.auth_cached()
                        && auth.access_token_expires_at().is_none_or(|exp| exp > now)
                    {
                        tracing::warn!("using the current access token; refresh failed: {err}");
                        return Ok(auth.provider());
                    }
                    Err(match err {
                        RefreshTokenError::Permanent { message, .. } => {
                            AuthSourceError::ReauthRequired(message)
                        }
                        err @ RefreshTokenError::Guard(_) if err.requires_new_login() => {
                            AuthSourceError::ReauthRequired(err.to_string())
                        }
                        RefreshTokenError::Transient(message)
                        | RefreshTokenError::OutcomeUnknown(message) => {
                            AuthSourceError::Transient(message)
                        }
                        other => AuthSourceError::Storage(other.to_string()),
                    })
                }
            }
        })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        _context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        Box::pin(async move {
            // A request signed as an agent identity failed on its run task,
            // which no token reload or refresh fixes: the task is replaced
            // once instead (the client retries only once).
            let agent_identity = self.auth_cached().is_some_and(|auth| {
                auth.auth_mode() == AuthMode::AgentIdentity || auth.agent_assertion_auth().is_some()
            });
            if agent_identity {
                match self.reregister_agent_task().await {
                    Ok(AgentTaskRecovery::Replaced) => return RecoveryOutcome::Retry,
                    Ok(AgentTaskRecovery::NotAgentIdentity) => {}
                    Err(err) => {
                        return RecoveryOutcome::GiveUp(format!(
                            "could not register a new run task for the agent identity: {err}"
                        ));
                    }
                }
            }
            let mut recovery = self.unauthorized_recovery();
            while recovery.has_next() {
                match recovery.next().await {
                    Ok(step) if step.auth_state_changed => return RecoveryOutcome::Retry,
                    Ok(_) => {}
                    Err(err) => return RecoveryOutcome::GiveUp(err.to_string()),
                }
            }
            RecoveryOutcome::GiveUp(recovery.unavailable_message().to_owned())
        })
    }
}
