//! The one-call front door: an [`AuthManager`] set up from the environment
//! and `config.toml`, the way the `codex` command sets itself up.

use super::{AuthManager, AuthManagerConfig};
use crate::config::{ConfigError, load_config};
use crate::environment::{SharedEnv, shared_process_env};
use crate::http_client::{HttpClientError, HttpClientFactory};
use crate::workload_identity::{self, WorkloadIdentity, WorkloadIdentityError};
use std::ffi::OsString;
use std::sync::Arc;

/// Why [`AuthManager::from_env`] could not set up a manager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FromEnvError {
    /// `CODEX_HOME` or `config.toml` (or an environment override) is invalid.
    #[error("cannot load the Codex configuration: {0}")]
    Config(#[source] ConfigError),
    /// The CA bundle named by `CODEX_CA_CERTIFICATE` / `SSL_CERT_FILE` cannot be used.
    #[error("cannot set up HTTP clients: {0}")]
    Http(#[source] HttpClientError),
    /// `CODEX_PROFILE` does not name a valid profile.
    #[error("CODEX_PROFILE: {0}")]
    Profile(#[source] crate::profiles::ProfileNameError),
    /// The blocking load of the credentials did not finish.
    #[error("the credential load task failed: {0}")]
    Load(#[source] tokio::task::JoinError),
    /// Workload identity is selected (`OPENAI_FEDERATION_RULE_ID` /
    /// `OPENAI_IDENTITY_TOKEN_FILE` or `[workload_identity]`) but the setup is
    /// partial or broken. Stored credentials are never used instead.
    #[error("{0}")]
    WorkloadIdentity(#[source] WorkloadIdentityError),
}

impl AuthManager {
    /// A shared manager configured like the `codex` command: `CODEX_HOME`
    /// (default `~/.codex`), its `config.toml` (issuer, ChatGPT base URL,
    /// credential store, agent identity settings), the environment overrides
    /// (`CODEX_ISSUER`, `CODEX_REFRESH_TOKEN_URL_OVERRIDE`, `CODEX_API_KEY`,
    /// `CODEX_ACCESS_TOKEN`, ...), and HTTP clients with the extra CA bundle
    /// (`CODEX_CA_CERTIFICATE` / `SSL_CERT_FILE`) and the proxy variables.
    ///
    /// Workload identity wins over everything else, as in the `codex`
    /// command: a complete setup (`OPENAI_FEDERATION_RULE_ID` plus
    /// `OPENAI_IDENTITY_TOKEN_FILE`, or `[workload_identity]` in `config.toml`)
    /// makes the manager use only the federated token; a partial or broken
    /// setup is [`FromEnvError::WorkloadIdentity`], never a fallback to stored
    /// credentials or `CODEX_API_KEY`.
    ///
    /// The credentials are loaded once on a blocking thread (a keyring read
    /// is bounded by its timeout); not being logged in is not an error here:
    /// the manager then hands out no provider.
    pub async fn from_env() -> Result<Arc<Self>, FromEnvError> {
        Self::from_env_lookup(shared_process_env()).await
    }

    /// [`AuthManager::from_env`] reading variables from `env` instead of the
    /// process environment (embedders with their own environment, tests).
    pub async fn from_env_lookup(env: SharedEnv) -> Result<Arc<Self>, FromEnvError> {
        let lookup = |name: &str| env(name);
        let config = load_config(&[], &lookup).map_err(FromEnvError::Config)?;
        let http = HttpClientFactory::from_env(&lookup).map_err(FromEnvError::Http)?;
        let mut manager_config = AuthManagerConfig::from_codex_config(&config);
        manager_config.enable_codex_api_key_env = true;
        // Workload identity first: it overrides every stored credential, and a
        // selected but partial setup stops here (issue 19, review finding 1).
        let raw = |name: &str| env(name).map(OsString::from);
        if let Some(setup) =
            workload_identity::resolve(&config, &raw).map_err(FromEnvError::WorkloadIdentity)?
        {
            let session =
                WorkloadIdentity::new(setup, &http).map_err(FromEnvError::WorkloadIdentity)?;
            manager_config.workload_identity = Some(Arc::new(session));
        }
        manager_config.http = Some(http);
        manager_config.env = env.clone();
        // The profile `CODEX_PROFILE` names, as the `codex` command chooses it.
        manager_config.profile =
            crate::profiles::profile_from_env(&lookup).map_err(FromEnvError::Profile)?;
        tokio::task::spawn_blocking(move || Self::shared(manager_config))
            .await
            .map_err(FromEnvError::Load)
    }
}
