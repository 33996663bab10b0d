//! `enforce_login_restrictions`: an administrator's forced login method and workspaces, checked
//! against the credentials in use; on a violation every store is cleared.

use std::path::PathBuf;
use std::time::Duration;

use tracing::warn;

use crate::auth_dot_json::AuthMode;
use crate::auth_lock::{AuthFileLock, DEFAULT_LOCK_WAIT};
use crate::codex_auth::CodexAuth;
use crate::config::CodexConfig;
use crate::environment::EnvLookup;
use crate::resolution::{ResolveOptions, resolve_credentials};
use crate::storage::{CredentialStoreMode, SharedAuthStorage, storage_for_mode, stores_to_clear};

pub(crate) use crate::config::ForcedLoginMethod;

/// The kind of login a user starts, checked against `forced_login_method` before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginKind {
    /// Browser or device-code ChatGPT login.
    Chatgpt,
    /// `--with-api-key`.
    ApiKey,
    /// `--with-access-token` (agent identity JWT).
    AccessToken,
}

/// The requested login method is forbidden by `forced_login_method` (upstream's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginMethodDisabled {
    /// ChatGPT login while API keys are forced.
    #[error("ChatGPT login is disabled. Use API key login instead.")]
    Chatgpt,
    /// API-key login while ChatGPT is forced.
    #[error("API key login is disabled. Use ChatGPT login instead.")]
    ApiKey,
    /// Access-token login while API keys are forced.
    #[error("Access token login is disabled. Use API key login instead.")]
    AccessToken,
}

/// Refuses to start a login the administrator's `forced_login_method` forbids.
pub fn ensure_login_method_allowed(
    kind: LoginKind,
    forced: Option<ForcedLoginMethod>,
) -> Result<(), LoginMethodDisabled> {
    match (kind, forced) {
        (LoginKind::Chatgpt, Some(ForcedLoginMethod::Api)) => Err(LoginMethodDisabled::Chatgpt),
        (LoginKind::ApiKey, Some(ForcedLoginMethod::Chatgpt)) => Err(LoginMethodDisabled::ApiKey),
        (LoginKind::AccessToken, Some(ForcedLoginMethod::Api)) => {
            Err(LoginMethodDisabled::AccessToken)
        }
        _ => Ok(()),
    }
}

/// What an administrator forces.
#[derive(Debug, Clone, Default)]
pub struct LoginRestrictions {
    /// `forced_login_method`: only ChatGPT or only API keys.
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// `forced_chatgpt_workspace_id`: the workspaces a ChatGPT login must belong to.
    pub forced_chatgpt_workspace_ids: Vec<String>,
}

impl LoginRestrictions {
    /// The restrictions in `config`.
    pub fn from_config(config: &CodexConfig) -> Self {
        Self {
            forced_login_method: config.forced_login_method,
            forced_chatgpt_workspace_ids: config.forced_chatgpt_workspace_ids.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        self.forced_login_method.is_none() && self.forced_chatgpt_workspace_ids.is_empty()
    }
}

/// The credentials in use break a restriction; they were removed (or the removal failure is
/// appended to the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{violation}{}", removal_suffix(.removal_error.as_deref()))]
pub struct LoginRestrictionError {
    /// Which restriction was broken.
    pub violation: RestrictionViolation,
    /// Why removing the credentials failed, if it did.
    pub removal_error: Option<String>,
}

fn removal_suffix(removal_error: Option<&str>) -> String {
    removal_error
        .map(|err| format!(" Failed to remove auth.json: {err}"))
        .unwrap_or_default()
}

/// A broken login restriction, with upstream's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestrictionViolation {
    /// API keys are required but a ChatGPT login (or agent identity) is in use.
    #[error("API key login is required, but ChatGPT is currently being used. Logging out.")]
    ApiKeyRequired,
    /// ChatGPT is required but an API key (stored or `CODEX_API_KEY`) is in use.
    #[error("ChatGPT login is required, but an API key is currently being used. Logging out.")]
    ChatgptRequired,
    /// The credentials belong to another workspace.
    #[error(
        "Login is restricted to workspace(s) {}, but current credentials belong to {actual}. Logging out.",
        .allowed.join(", ")
    )]
    WorkspaceMismatch {
        /// The allowed workspaces.
        allowed: Vec<String>,
        /// The workspace of the credentials.
        actual: String,
    },
    /// The credentials name no workspace.
    #[error(
        "Login is restricted to workspace(s) {}, but current credentials lack a workspace identifier. Logging out.",
        .allowed.join(", ")
    )]
    WorkspaceMissing {
        /// The allowed workspaces.
        allowed: Vec<String>,
    },
    /// The credentials could not be read while workspaces are forced.
    #[error(
        "Failed to load ChatGPT credentials while enforcing workspace restrictions: {reason}. Logging out."
    )]
    Unreadable {
        /// Why loading failed.
        reason: String,
    },
}

/// Where to look for credentials when enforcing.
#[derive(Debug, Clone)]
pub struct RestrictionTarget {
    /// `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The configured store.
    pub store_mode: CredentialStoreMode,
    /// A store to use instead of the one `store_mode` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
}

impl RestrictionTarget {
    /// The stores named by `config`.
    pub fn from_config(config: &CodexConfig) -> Self {
        Self {
            codex_home: config.codex_home.clone(),
            store_mode: config.credential_store,
            storage: None,
        }
    }
}

/// Checks the credentials in use (`CODEX_API_KEY` included) against `restrictions`; on a
/// violation clears the in-memory, configured and file stores and returns upstream's message.
/// The check is the same for every auth mode: API keys are ChatGPT-forbidden, everything else
/// (ChatGPT tokens, host-supplied tokens, agent identities) is API-forbidden and must carry an
/// allowed workspace. Blocking: it reads the stores and may wait for `auth.json.lock`.
pub fn enforce_login_restrictions(
    target: &RestrictionTarget,
    restrictions: &LoginRestrictions,
    env: EnvLookup<'_>,
) -> Result<(), LoginRestrictionError> {
    if restrictions.is_empty() {
        return Ok(());
    }
    let storage = target
        .storage
        .clone()
        .unwrap_or_else(|| storage_for_mode(&target.codex_home, target.store_mode));
    let resolved = resolve_credentials(
        storage.as_ref(),
        &ResolveOptions {
            codex_home: &target.codex_home,
            store_mode: target.store_mode,
            enable_codex_api_key_env: true,
            env,
            workload_identity: None,
        },
    );
    let violation = match resolved {
        Ok(None) => None,
        Ok(Some(resolved)) => check_restrictions(&resolved.auth, restrictions),
        Err(err) if !restrictions.forced_chatgpt_workspace_ids.is_empty() => {
            Some(RestrictionViolation::Unreadable {
                reason: err.to_string(),
            })
        }
        Err(err) => {
            warn!(error = %err, "could not read credentials to enforce the forced login method");
            None
        }
    };
    let Some(violation) = violation else {
        return Ok(());
    };
    warn!(%violation, "login restriction violated; removing stored credentials");
    let removal_error = clear_all_stores(target, storage).err();
    Err(LoginRestrictionError {
        violation,
        removal_error,
    })
}

/// The restriction `auth` breaks, if any (no I/O).
pub(crate) fn check_restrictions(
    auth: &CodexAuth,
    restrictions: &LoginRestrictions,
) -> Option<RestrictionViolation> {
    let is_api_key = auth.is_api_key_auth();
    match restrictions.forced_login_method {
        Some(ForcedLoginMethod::Api) if !is_api_key => {
            return Some(RestrictionViolation::ApiKeyRequired);
        }
        Some(ForcedLoginMethod::Chatgpt) if is_api_key => {
            return Some(RestrictionViolation::ChatgptRequired);
        }
        _ => {}
    }
    let allowed = &restrictions.forced_chatgpt_workspace_ids;
    if allowed.is_empty() || is_api_key {
        return None;
    }
    match workspace_of(auth) {
        None => Some(RestrictionViolation::WorkspaceMissing {
            allowed: allowed.clone(),
        }),
        Some(actual) if allowed.contains(&actual) => None,
        Some(actual) => Some(RestrictionViolation::WorkspaceMismatch {
            allowed: allowed.clone(),
            actual,
        }),
    }
}

/// The workspace a credential acts in: the id token's `chatgpt_account_id` for a managed
/// ChatGPT login, the supplied account for host tokens, the JWT's `account_id` for an agent.
fn workspace_of(auth: &CodexAuth) -> Option<String> {
    let id = match auth.auth_mode() {
        AuthMode::Chatgpt => auth
            .chatgpt_tokens()
            .and_then(|tokens| tokens.id_token.chatgpt_account_id.clone()),
        _ => auth.account_id().map(str::to_owned),
    };
    id.filter(|id| !id.is_empty())
}

/// Clears every store under `auth.json.lock` (blocking); the first failure is returned.
pub(crate) fn clear_all_stores(
    target: &RestrictionTarget,
    configured: SharedAuthStorage,
) -> Result<(), String> {
    let lock = AuthFileLock::acquire_blocking(
        &target.codex_home,
        DEFAULT_LOCK_WAIT.min(Duration::from_secs(10)),
    )
    .map_err(|err| err.to_string())?;
    let mut first_error = None;
    for store in stores_to_clear(&target.codex_home, configured) {
        if let Err(err) = store.delete() {
            first_error.get_or_insert(err.to_string());
        }
    }
    drop(lock);
    match first_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_method_refuses_the_other_logins_with_upstream_messages() {
        use ForcedLoginMethod::{Api, Chatgpt};
        assert_eq!(
            ensure_login_method_allowed(LoginKind::Chatgpt, Some(Api))
                .unwrap_err()
                .to_string(),
            "ChatGPT login is disabled. Use API key login instead."
        );
        assert_eq!(
            ensure_login_method_allowed(LoginKind::ApiKey, Some(Chatgpt))
                .unwrap_err()
                .to_string(),
            "API key login is disabled. Use ChatGPT login instead."
        );
        assert_eq!(
            ensure_login_method_allowed(LoginKind::AccessToken, Some(Api)),
            Err(LoginMethodDisabled::AccessToken)
        );
        assert_eq!(
            ensure_login_method_allowed(LoginKind::AccessToken, Some(Chatgpt)),
            Ok(())
        );
        for kind in [
            LoginKind::Chatgpt,
            LoginKind::ApiKey,
            LoginKind::AccessToken,
        ] {
            assert_eq!(ensure_login_method_allowed(kind, None), Ok(()));
        }
    }
}
