//! An administrator's `forced_login_method` and `forced_chatgpt_workspace_id`, enforced on every
//! use of the manager's credentials (before a snapshot is handed out and before a refresh), not
//! only at startup. A violation removes the stored login, exactly as upstream's startup
//! enforcement does, and returns upstream's message; nothing is sent anywhere. When the
//! violating credentials are host-supplied tokens from the in-memory store, only that store is
//! cleared: persistent stores are never deleted because of tokens that never reached them.
//!
//! Agent identities keep their own workspace check (run before any request, with its own
//! message); here they are checked against the forced login method only.

use std::sync::Arc;

use crate::auth_dot_json::AuthMode;
use crate::resolution::CredentialSource;
use crate::restrictions::{
    LoginRestrictionError, LoginRestrictions, RestrictionTarget, check_restrictions,
    clear_all_stores,
};

use crate::storage::{AuthStorage, EphemeralAuthStorage};

use super::guard_errors::GuardError;
use super::{AuthManager, RefreshTokenError};

impl AuthManager {
    /// Checks the cached credentials against the configured restrictions; on a violation
    /// clears every store, reloads (the manager is then logged out) and returns the error.
    pub(super) async fn enforce_restrictions(&self) -> Result<(), RefreshTokenError> {
        if self.forced_login_method.is_none() && self.forced_chatgpt_workspace_ids.is_empty() {
            return Ok(());
        }
        let Some(resolved) = self.snapshot().0 else {
            return Ok(());
        };
        let restrictions = LoginRestrictions {
            forced_login_method: self.forced_login_method,
            forced_chatgpt_workspace_ids: if resolved.auth.auth_mode() == AuthMode::AgentIdentity {
                Vec::new()
            } else {
                self.forced_chatgpt_workspace_ids.clone()
            },
        };
        let Some(violation) = check_restrictions(&resolved.auth, &restrictions) else {
            return Ok(());
        };
        if resolved.source == CredentialSource::Ephemeral {
            // Host-supplied tokens live only in memory: drop them there, and
            // never delete a persistent login because of them (review finding 6).
            tracing::warn!(%violation, "login restriction violated; dropping in-memory tokens");
            let removal_error = EphemeralAuthStorage::new(&self.codex_home)
                .delete()
                .err()
                .map(|err| err.to_string());
            self.reload().await;
            return Err(RefreshTokenError::Guard(GuardError::Restricted(
                LoginRestrictionError {
                    violation,
                    removal_error,
                },
            )));
        }
        tracing::warn!(%violation, "login restriction violated; removing stored credentials");
        let target = RestrictionTarget {
            codex_home: self.codex_home.clone(),
            store_mode: self.store_mode,
            storage: Some(Arc::clone(&self.storage)),
        };
        let configured = Arc::clone(&self.storage);
        let removal_error = match tokio::task::spawn_blocking(move || {
            clear_all_stores(&target, configured)
        })
        .await
        {
            Ok(result) => result.err(),
            Err(err) => Some(err.to_string()),
        };
        self.reload().await;
        Err(RefreshTokenError::Guard(GuardError::Restricted(
            LoginRestrictionError {
                violation,
                removal_error,
            },
        )))
    }
}
