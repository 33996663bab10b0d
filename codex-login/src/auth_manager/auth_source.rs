//! The `AuthSource` impl: how HTTP clients get credentials and 401 recovery.

use super::AuthManager;
use super::agent_task_recovery::AgentTaskRecovery;
use super::errors::RefreshTokenError;
use super::guard_errors::GuardError;
use crate::auth_dot_json::AuthMode;
use codex_auth_provider::{
    AuthErrorKind, AuthSource, AuthSourceError, BoxFuture, RecoveryOutcome, SharedAuthProvider,
    UnauthorizedContext,
};

impl AuthSource for AuthManager {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        Box::pin(async move {
            match self.try_auth().await {
                Ok(Some(auth)) => Ok(auth.provider()),
                Ok(None) => Err(AuthSourceError::new(
                    AuthErrorKind::NotLoggedIn,
                    self.load_error()
                        .unwrap_or_else(|| "Not logged in".to_owned()),
                )),
                // Never hand out a snapshot that cannot sign, nor Bearer after a hard agent
                // identity failure; never use credentials a restriction forbids.
                Err(
                    err @ (RefreshTokenError::AgentIdentity(_)
                    | RefreshTokenError::Guard(GuardError::Restricted(_))),
                ) => Err(AuthSourceError::new(err.kind(), err)),
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
                    Err(AuthSourceError::new(err.kind(), err))
                }
            }
        })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        _context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        Box::pin(async move {
            // Issue 19: workload identity recovers by one forced exchange.
            if let Some(session) = &self.workload_identity {
                return match self.workload_refresh(session).await {
                    Ok(_) => RecoveryOutcome::Retry,
                    Err(err) => RecoveryOutcome::GiveUp(err.to_string()),
                };
            }
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
