//! How an [`crate::auth_manager::AuthManager`] verifies and registers agent identities.

use crate::config::DEFAULT_CHATGPT_BASE_URL;
use codex_agent_identity::{RegistrationFailureCache, RegistrationRetryPolicy};
use std::fmt;
use std::sync::Arc;

/// The version sent as `abom.agent_version` when registering agents.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The session source used in the agent bill of materials unless told otherwise.
pub const DEFAULT_SESSION_SOURCE: &str = "cli";

/// Agent identity settings of an [`crate::auth_manager::AuthManagerConfig`].
#[derive(Clone)]
pub struct AgentIdentityOptions {
    /// The ChatGPT backend base URL; the JWKS base is derived from it unless set.
    pub chatgpt_base_url: String,
    /// The AuthAPI base; `None` means `CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL`,
    /// else `<issuer>/api/accounts`.
    pub authapi_base_url: Option<String>,
    /// The JWKS base; `None` means `CODEX_AGENT_IDENTITY_JWKS_BASE_URL`, else
    /// derived from `chatgpt_base_url`.
    pub jwks_base_url: Option<String>,
    /// The session source for the ABOM (`cli`, `vscode`, `exec`, ...).
    pub session_source: String,
    /// Retries of agent and task registration (default: 3 attempts with backoff).
    pub retry: RegistrationRetryPolicy,
    /// Where failed ChatGPT bootstraps are remembered; `None` uses the
    /// process-wide cache (one hour per account, user and AuthAPI base).
    pub failure_cache: Option<Arc<RegistrationFailureCache>>,
}

impl Default for AgentIdentityOptions {
    fn default() -> Self {
        Self {
            chatgpt_base_url: DEFAULT_CHATGPT_BASE_URL.to_owned(),
            authapi_base_url: None,
            jwks_base_url: None,
            session_source: DEFAULT_SESSION_SOURCE.to_owned(),
            retry: RegistrationRetryPolicy::default(),
            failure_cache: None,
        }
    }
}

impl fmt::Debug for AgentIdentityOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentIdentityOptions")
            .field("chatgpt_base_url", &self.chatgpt_base_url)
            .field("authapi_base_url", &self.authapi_base_url)
            .field("jwks_base_url", &self.jwks_base_url)
            .field("session_source", &self.session_source)
            .field("retry", &self.retry)
            .field("own_failure_cache", &self.failure_cache.is_some())
            .finish()
    }
}

impl AgentIdentityOptions {
    /// The failure cache in use.
    pub fn failures(&self) -> &RegistrationFailureCache {
        match &self.failure_cache {
            Some(cache) => cache,
            None => RegistrationFailureCache::global(),
        }
    }
}
