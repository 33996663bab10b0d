//! Workload identity in the commands (issue 19): the session for the setup that won the
//! credential chain (`ChainSource::WorkloadIdentity`, resolved with the rest in
//! [`crate::context::resolve`]), and the `AuthManager` that uses only it. A selected but
//! broken setup is a resolution error, never a fallback to stored credentials.

use std::sync::Arc;

use codex_login::config::CodexConfig;
use codex_login::resolution::SelectedWorkloadIdentity;
use codex_login::workload_identity::{WorkloadIdentity, WorkloadIdentityError};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, auth_manager::RefreshTokenError,
    codex_auth::CodexAuth,
};

use crate::{context, exit};

/// The session for the setup the chain selected (no request is sent yet), or why the HTTP
/// client cannot be built.
pub fn start(selected: SelectedWorkloadIdentity) -> Result<Arc<WorkloadIdentity>, String> {
    let http = context::http_factory()?;
    selected
        .session(&http)
        .map(Arc::new)
        .map_err(|err| err.to_string())
}

/// A manager that uses only `session`.
pub fn manager(
    config: &CodexConfig,
    session: Arc<WorkloadIdentity>,
) -> Result<Arc<AuthManager>, String> {
    let mut manager_config = AuthManagerConfig::from_codex_config(config);
    manager_config.http = Some(context::http_factory()?);
    manager_config.workload_identity = Some(session);
    Ok(AuthManager::shared(manager_config))
}

/// The exit code for a failed exchange: a setup or issuer refusal needs a change (5, as a login
/// that must be redone), a transient failure is a network error (4).
pub fn failure_code(err: &RefreshTokenError) -> u8 {
    match err {
        RefreshTokenError::Transient(_) | RefreshTokenError::OutcomeUnknown(_) => {
            exit::NETWORK_ERROR
        }
        _ => exit::NEEDS_LOGIN,
    }
}

/// `codex login status` with workload identity: one live exchange, as the official CLI does.
pub fn status(config: &CodexConfig, session: Arc<WorkloadIdentity>) -> u8 {
    let outcome = context::runtime().and_then(|runtime| {
        let manager = manager(config, session)?;
        runtime.block_on(async move {
            match manager.try_auth().await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("Not logged in".to_owned()),
                Err(err) => Err(err.to_string()),
            }
        })
    });
    match outcome {
        Ok(()) => {
            eprintln!("Logged in using workload identity");
            exit::OK
        }
        Err(err) => {
            eprintln!("Error checking login status: {err}");
            exit::FAILURE
        }
    }
}

/// The current federated credentials through a fresh manager (for `codex token`): when the
/// current token expires within `min_valid` and the rule's tokens live longer than that, one
/// fresh exchange is forced first (as a ChatGPT login is refreshed); the caller warns if the
/// token is still too short-lived.
pub fn current_auth(
    config: &CodexConfig,
    session: Arc<WorkloadIdentity>,
    min_valid: chrono::Duration,
) -> Result<CodexAuth, (u8, String)> {
    let runtime = context::runtime().map_err(|err| (exit::NETWORK_ERROR, err))?;
    let manager = manager(config, session.clone()).map_err(|err| (exit::FAILURE, err))?;
    let session_failure = |err: WorkloadIdentityError| {
        let code = if err.is_transient() {
            exit::NETWORK_ERROR
        } else {
            exit::NEEDS_LOGIN
        };
        (code, err.to_string())
    };
    runtime.block_on(async move {
        let auth = current(&manager).await?;
        if auth
            .access_token_expires_at()
            .is_none_or(|expires_at| expires_at - min_valid > chrono::Utc::now())
        {
            return Ok(auth);
        }
        // Only when a fresh token can be valid that long (else the caller just warns).
        let token = session.token().await.map_err(session_failure)?;
        if token.lifetime <= min_valid {
            return Ok(auth);
        }
        session
            .refresh(token.generation)
            .await
            .map_err(session_failure)?;
        current(&manager).await
    })
}

async fn current(manager: &AuthManager) -> Result<CodexAuth, (u8, String)> {
    match manager.try_auth().await {
        Ok(Some(auth)) => Ok(auth),
        Ok(None) => Err((exit::FAILURE, "Not logged in".to_owned())),
        Err(err) => Err((failure_code(&err), err.to_string())),
    }
}

/// The line `whoami` adds about the federated identity.
pub async fn identity_note(session: &WorkloadIdentity) -> Option<String> {
    let identity = session.pinned_identity().await?;
    Some(format!(
        "workload identity (rule {}, {}): account {}, membership {}, user {}",
        session.config().rule_id,
        session.config().configured_by,
        identity.account_id,
        identity.account_user_id,
        identity.user_id
    ))
}
