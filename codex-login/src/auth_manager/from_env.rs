//! The one-call front door: an [`AuthManager`] set up from the environment
//! and `config.toml`, the way the `codex` command sets itself up.

use super::{AuthManager, AuthManagerConfig};
use crate::config::{CodexConfig, ConfigError, load_config};
use crate::environment::{EnvLookup, SharedEnv, shared_process_env};
use crate::http_client::{HttpClientError, HttpClientFactory};
use crate::resolution::{
    ChainSource, Resolution, ResolveError, ResolveOptions, WorkloadIdentityInputs,
    resolve_credentials_report,
};
use crate::storage::EphemeralAuthStorage;
use crate::workload_identity::RawEnv;
use crate::workload_identity::WorkloadIdentityError;
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
    /// The credentials come from one walk of the credential chain
    /// ([`crate::resolution::resolve_credentials_report`]), as in the `codex`
    /// command, and the manager starts from its answer. Workload identity
    /// heads the chain: a complete setup (`OPENAI_FEDERATION_RULE_ID` plus
    /// `OPENAI_IDENTITY_TOKEN_FILE`, or `[workload_identity]` in `config.toml`)
    /// makes the manager use only the federated token (exchanged when first
    /// needed); a partial or broken setup is [`FromEnvError::WorkloadIdentity`],
    /// never a fallback to stored credentials or `CODEX_API_KEY`.
    ///
    /// The walk runs on a blocking thread (a keyring read is bounded by its
    /// timeout); not being logged in, or credentials that cannot be read, is
    /// not an error here: the manager then hands out no provider (see
    /// [`AuthManager::load_error`]).
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
        manager_config.env = env.clone();
        // The profile `CODEX_PROFILE` names, as the `codex` command chooses it. A
        // broken workload identity setup is still the error reported first.
        let profile = match crate::profiles::profile_from_env(&lookup) {
            Ok(profile) => profile,
            Err(err) => {
                let storage = EphemeralAuthStorage::new(&config.codex_home);
                let raw = |name: &str| env(name).map(OsString::from);
                // The workload identity source reads no store and fails with nothing else.
                if let Err(ResolveError::WorkloadIdentity(err)) = ChainSource::WorkloadIdentity
                    .load(&storage, &chain_options(&config, &lookup, &raw))
                {
                    return Err(FromEnvError::WorkloadIdentity(err));
                }
                return Err(FromEnvError::Profile(err));
            }
        };
        let storage = crate::profiles::storage_for_profile(
            &config.codex_home,
            profile.as_ref(),
            config.credential_store,
        );
        manager_config.profile = profile;
        manager_config.storage = Some(Arc::clone(&storage));
        // One walk of the credential chain, workload identity first (issue 19),
        // on a blocking thread (a keyring read is bounded by its timeout); the
        // manager starts from its answer instead of loading a second time.
        let walk_env = env.clone();
        let report = tokio::task::spawn_blocking(move || {
            let lookup = |name: &str| walk_env(name);
            let raw = |name: &str| walk_env(name).map(OsString::from);
            resolve_credentials_report(
                storage.as_ref(),
                &chain_options(&config, &lookup, &raw),
                false,
            )
        })
        .await
        .map_err(FromEnvError::Load)?;
        let winner = match report {
            Ok(report) => report.winner,
            Err(ResolveError::WorkloadIdentity(err)) => {
                return Err(FromEnvError::WorkloadIdentity(err));
            }
            // As `AuthManager::new`: remembered as the load error, logged out.
            Err(err) => {
                manager_config.http = Some(http);
                return Ok(Arc::new(Self::with_loaded(
                    manager_config,
                    Err(err.to_string()),
                )));
            }
        };
        let manager = match winner {
            Some(Resolution::WorkloadIdentity(selected)) => {
                let session = (*selected)
                    .session(&http)
                    .map_err(FromEnvError::WorkloadIdentity)?;
                manager_config.workload_identity = Some(Arc::new(session));
                manager_config.http = Some(http);
                // With a session the manager reads no store.
                Self::new(manager_config)
            }
            Some(Resolution::Credentials(resolved)) => {
                manager_config.http = Some(http);
                Self::with_resolved(manager_config, resolved)
            }
            None => {
                manager_config.http = Some(http);
                Self::with_loaded(manager_config, Ok(None))
            }
        };
        Ok(Arc::new(manager))
    }
}

/// The chain as the `codex` command walks it: `CODEX_API_KEY` enabled, workload identity read.
fn chain_options<'a>(
    config: &'a CodexConfig,
    env: EnvLookup<'a>,
    raw: RawEnv<'a>,
) -> ResolveOptions<'a> {
    ResolveOptions {
        codex_home: &config.codex_home,
        store_mode: config.credential_store,
        enable_codex_api_key_env: true,
        env,
        workload_identity: Some(WorkloadIdentityInputs { config, env: raw }),
    }
}
