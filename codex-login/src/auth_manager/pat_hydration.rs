//! Issue 19: a personal access token is hydrated by the whoami call before
//! the manager hands it out. Whoami's answer is kept in the cached snapshot
//! only (no metadata cache on disk); every reload hydrates again, as upstream.

use super::AuthManager;
use super::errors::RefreshTokenError;
use crate::endpoints::authapi_base_url_for_issuer;
use crate::personal_access_token::{authapi_base_url_or, hydrate_personal_access_token};
use crate::refresh::RefreshFailureReason;

impl AuthManager {
    /// Hydrates a cached personal access token that is not hydrated yet. A
    /// refused token (401/403) leaves the manager logged out with the error as
    /// its load error (a new login is needed), unless a newer load replaced the
    /// snapshot meanwhile; a transient failure keeps the unhydrated snapshot,
    /// so the next `auth()` / `try_auth()` checks again.
    pub(super) async fn hydrate_personal_access_token(&self) -> Result<(), RefreshTokenError> {
        if !self.pat_needs_hydration() {
            return Ok(());
        }
        // One whoami per load, however many callers wait.
        let _gate = self.refresh_gate.lock().await;
        if !self.pat_needs_hydration() {
            return Ok(());
        }
        let (Some(resolved), generation) = self.snapshot() else {
            return Ok(());
        };
        let client = self.http_client()?;
        // `CODEX_AUTHAPI_BASE_URL`, else the configured accounts API (derived
        // from the issuer), never production for a staging/emulator issuer.
        let configured = self
            .agent_identity
            .authapi_base_url
            .clone()
            .unwrap_or_else(|| authapi_base_url_for_issuer(&self.issuer));
        let base = authapi_base_url_or(&|name| (self.env)(name), &configured);
        match hydrate_personal_access_token(&resolved.auth, &client, &base).await {
            Ok(auth) => {
                if self.snapshot().1 == generation {
                    self.adopt(auth, resolved.source);
                }
                Ok(())
            }
            Err(err) if err.is_refused() => {
                // Refused (401/403): the token needs a new login. Logged out only
                // if no newer load happened while whoami was in flight.
                let message = err.to_string();
                if self.snapshot().1 == generation {
                    self.apply_load(Err(message.clone()));
                }
                Err(RefreshTokenError::Permanent {
                    reason: RefreshFailureReason::Other,
                    message,
                })
            }
            // Transient (timeout, 5xx, connection): the unhydrated snapshot stays,
            // so the next call checks again (review finding 5).
            Err(err) => Err(RefreshTokenError::Transient(err.to_string())),
        }
    }

    fn pat_needs_hydration(&self) -> bool {
        self.auth_cached().is_some_and(|auth| {
            auth.personal_access_token()
                .is_some_and(|pat| pat.metadata.is_none())
        })
    }
}
