//! `AuthManagerConfig`: how an `AuthManager` is set up.

use crate::agent_identity::AgentIdentityOptions;
use crate::auth_lock::DEFAULT_LOCK_WAIT;
use crate::clock::{Clock, SystemClock};
use crate::config::CodexConfig;
use crate::environment::{SharedEnv, shared_process_env};
use crate::http_client::HttpClientFactory;
use crate::refresh::DEFAULT_ISSUER;
use crate::storage::{CredentialStoreMode, SharedAuthStorage};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How an [`AuthManager`](super::AuthManager) is set up.
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
    pub forced_login_method: Option<crate::config::ForcedLoginMethod>,
    /// Endpoints, retries and failure memory for agent identities.
    pub agent_identity: AgentIdentityOptions,
    /// Issue 19: a workload identity session; when set, the manager uses only it (see
    /// [`crate::workload_identity`]).
    pub workload_identity: Option<Arc<crate::workload_identity::WorkloadIdentity>>,
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
            workload_identity: None,
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
