//! Workload identity in the manager (issue 19): with a [`WorkloadIdentity`] installed, stored
//! credentials and `CODEX_API_KEY` are never consulted; every `auth()` takes the session's
//! current token (exchanged again before expiry), and 401 recovery forces one exchange.

use std::sync::{Arc, PoisonError};

use super::AuthManager;
use super::errors::{RefreshOutcome, RefreshTokenError};
use super::guard_errors::GuardError;
use crate::codex_auth::CodexAuth;
use crate::refresh::RefreshFailureReason;
use crate::resolution::CredentialSource;
use crate::restrictions::{LoginRestrictionError, LoginRestrictions, check_restrictions};
use crate::workload_identity::{WorkloadIdentity, WorkloadIdentityError, WorkloadToken};

impl AuthManager {
    /// The installed workload identity session, if any.
    pub fn workload_identity(&self) -> Option<&Arc<WorkloadIdentity>> {
        self.workload_identity.as_ref()
    }

    /// The current federated snapshot (exchanging when due), adopted into the cache.
    pub(super) async fn workload_auth(
        &self,
        session: &WorkloadIdentity,
    ) -> Result<Option<CodexAuth>, RefreshTokenError> {
        let token = session.token().await.map_err(workload_error)?;
        self.adopt_workload(session, token).map(Some)
    }

    /// After a 401: a newer token than the rejected one, or one forced exchange.
    pub(super) async fn workload_refresh(
        &self,
        session: &WorkloadIdentity,
    ) -> Result<RefreshOutcome, RefreshTokenError> {
        let rejected = *self
            .workload_generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let token = session.refresh(rejected).await.map_err(workload_error)?;
        self.adopt_workload(session, token)?;
        Ok(RefreshOutcome::Refreshed)
    }

    fn adopt_workload(
        &self,
        session: &WorkloadIdentity,
        token: WorkloadToken,
    ) -> Result<CodexAuth, RefreshTokenError> {
        let auth = CodexAuth::from_external_chatgpt_tokens(
            token.access_token.clone(),
            &token.identity.account_id,
            token.plan_type.as_deref(),
            self.clock.now(),
        )
        .map_err(|_| workload_error(WorkloadIdentityError::InvalidResponse))?;
        let restrictions = LoginRestrictions {
            forced_login_method: self.forced_login_method,
            forced_chatgpt_workspace_ids: self.forced_chatgpt_workspace_ids.clone(),
        };
        if let Some(violation) = check_restrictions(&auth, &restrictions) {
            return Err(RefreshTokenError::Guard(GuardError::Restricted(
                LoginRestrictionError {
                    violation,
                    removal_error: None,
                },
            )));
        }
        let mut generation = self
            .workload_generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *generation != token.generation {
            *generation = token.generation;
            self.adopt(
                auth.clone(),
                CredentialSource::WorkloadIdentity(session.source_label()),
            );
        }
        Ok(auth)
    }
}

/// Transient failures keep the manager's transient path (a valid token keeps working);
/// everything else is permanent (the setup or the issuer's answer must change).
fn workload_error(err: WorkloadIdentityError) -> RefreshTokenError {
    if err.is_transient() {
        RefreshTokenError::Transient(err.to_string())
    } else {
        RefreshTokenError::Permanent {
            reason: RefreshFailureReason::Other,
            message: err.to_string(),
        }
    }
}
