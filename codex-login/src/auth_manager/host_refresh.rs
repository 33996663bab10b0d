//! Issue 19: host-supplied tokens (`chatgptAuthTokens`) are refreshed by the
//! host program's [`crate::host_tokens::HostTokenProvider`], proactively
//! before the access token's `exp` and once after a `401`; the result lives
//! only in memory.

use super::errors::{RefreshOutcome, RefreshTokenError};
use super::{AuthManager, refresh_window};
use crate::auth_dot_json::AuthMode;
use crate::codex_auth::CodexAuth;
use crate::host_tokens::{HostRefreshReason, HostTokenError, has_host_token_provider};
use crate::refresh::{RefreshFailureReason, RefreshReason};
use crate::resolution::CredentialSource;

impl AuthManager {
    /// Whether host-supplied tokens are due for a host refresh: a provider is
    /// installed and the access token expires within the proactive window.
    pub(super) fn host_refresh_due(&self, auth: &CodexAuth) -> bool {
        auth.auth_mode() == AuthMode::ChatgptAuthTokens
            && has_host_token_provider(&self.codex_home)
            && auth.access_token_expires_at().is_some_and(|expires_at| {
                refresh_window::access_token_due(auth, expires_at, self.clock.now())
            })
    }

    /// Whether a host can refresh this manager's credentials.
    pub(crate) fn host_can_refresh(&self) -> bool {
        has_host_token_provider(&self.codex_home)
    }

    /// Asks the host for new tokens and caches them (source: in-memory store).
    pub(super) async fn refresh_host_tokens(
        &self,
        previous: &CodexAuth,
        reason: RefreshReason,
    ) -> Result<RefreshOutcome, RefreshTokenError> {
        let reason = match reason {
            RefreshReason::Unauthorized => HostRefreshReason::Unauthorized,
            RefreshReason::ProactiveExpiry | RefreshReason::Manual => HostRefreshReason::Expiring,
        };
        let now = self.clock.now();
        match crate::host_tokens::refresh_from_host(&self.codex_home, previous, reason, now).await {
            Ok(auth) => {
                self.adopt(auth, CredentialSource::Ephemeral);
                Ok(RefreshOutcome::Refreshed)
            }
            Err(err @ (HostTokenError::InvalidTokens(_) | HostTokenError::AccountMismatch)) => {
                Err(RefreshTokenError::Permanent {
                    reason: RefreshFailureReason::Other,
                    message: err.to_string(),
                })
            }
            Err(err) => Err(RefreshTokenError::Transient(err.to_string())),
        }
    }
}
