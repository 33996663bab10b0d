//! The 401 recovery state machine.
//!
//! A client that gets `401` calls [`UnauthorizedRecovery::next`] once per
//! retry. For ChatGPT logins this program manages, the steps are:
//! `reload` (adopt newer stored credentials for the same account and user,
//! without a request), then `refresh_token` (one guarded refresh against the
//! issuer), then `done`. Other logins have no steps.

use crate::auth_dot_json::AuthMode;
use crate::auth_manager::{AuthManager, RefreshMode, RefreshOutcome, RefreshTokenError};
use crate::refresh::{RefreshFailureReason, RefreshReason};

/// Upstream's message when no recovery step is left.
pub const NO_MORE_RECOVERY_STEPS_MESSAGE: &str = "No more recovery steps available.";

/// A recovery step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecoveryStep {
    /// Re-read the store and adopt newer credentials for the same identity.
    Reload,
    /// Refresh against the issuer.
    RefreshToken,
    /// Ask the host app for new tokens ([`crate::host_tokens`]).
    ExternalRefresh,
    /// Nothing left.
    Done,
}

impl RecoveryStep {
    /// `reload`, `refresh_token`, `external_refresh` or `done`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Reload => "reload",
            Self::RefreshToken => "refresh_token",
            Self::ExternalRefresh => "external_refresh",
            Self::Done => "done",
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryStepResult {
    /// Whether the credentials changed (so a retry can succeed).
    pub auth_state_changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unavailable {
    Ready,
    NotChatgptAuth,
    NoExternalAuth,
    NotRefreshable,
}

/// The 401 recovery state machine for one request.
#[derive(Debug)]
pub struct UnauthorizedRecovery<'a> {
    manager: &'a AuthManager,
    step: RecoveryStep,
    external: bool,
    unavailable: Unavailable,
}

impl AuthManager {
    /// The 401 recovery state machine for the current credentials.
    pub fn unauthorized_recovery(&self) -> UnauthorizedRecovery<'_> {
        UnauthorizedRecovery::new(self)
    }
}

impl<'a> UnauthorizedRecovery<'a> {
    fn new(manager: &'a AuthManager) -> Self {
        let mode = manager.auth_cached().map(|auth| auth.auth_mode());
        let (step, external, unavailable) = match mode {
            Some(AuthMode::Chatgpt) => (RecoveryStep::Reload, false, Unavailable::Ready),
            // issue 19: host-supplied tokens are refreshed by the host's provider.
            Some(AuthMode::ChatgptAuthTokens) if manager.host_can_refresh() => {
                (RecoveryStep::ExternalRefresh, true, Unavailable::Ready)
            }
            // Without a provider, nothing here can refresh them.
            Some(AuthMode::ChatgptAuthTokens) => {
                (RecoveryStep::Done, true, Unavailable::NoExternalAuth)
            }
            // issue 19: a personal access token cannot be refreshed.
            Some(AuthMode::PersonalAccessToken) => {
                (RecoveryStep::Done, false, Unavailable::NotRefreshable)
            }
            _ => (RecoveryStep::Done, false, Unavailable::NotChatgptAuth),
        };
        Self {
            manager,
            step,
            external,
            unavailable,
        }
    }

    /// Whether [`UnauthorizedRecovery::next`] has a step to run.
    pub fn has_next(&self) -> bool {
        self.step != RecoveryStep::Done
    }

    /// `managed` or `external`.
    pub fn mode_name(&self) -> &'static str {
        if self.external { "external" } else { "managed" }
    }

    /// The name of the next step (`reload`, `refresh_token`, `done`).
    pub fn step_name(&self) -> &'static str {
        self.step.name()
    }

    /// `ready`, `not_chatgpt_auth`, `no_external_auth`, `not_refreshable_auth`
    /// or `recovery_exhausted`.
    pub fn unavailable_reason(&self) -> &'static str {
        match (self.unavailable, self.step) {
            (Unavailable::NotChatgptAuth, _) => "not_chatgpt_auth",
            (Unavailable::NoExternalAuth, _) => "no_external_auth",
            (Unavailable::NotRefreshable, _) => "not_refreshable_auth",
            (Unavailable::Ready, RecoveryStep::Done) => "recovery_exhausted",
            (Unavailable::Ready, _) => "ready",
        }
    }

    /// A sentence explaining why there is nothing (left) to try.
    pub fn unavailable_message(&self) -> &'static str {
        match self.unavailable_reason() {
            "not_chatgpt_auth" => "Only ChatGPT logins can recover from 401 Unauthorized.",
            "not_refreshable_auth" => {
                "A personal access token cannot be refreshed; create a new one and log in again."
            }
            "no_external_auth" => {
                "Tokens supplied by the host app can only be refreshed by the host app."
            }
            _ => NO_MORE_RECOVERY_STEPS_MESSAGE,
        }
    }

    /// Runs the next step.
    pub async fn next(&mut self) -> Result<RecoveryStepResult, RefreshTokenError> {
        match self.step {
            RecoveryStep::Reload => {
                // Move on whatever happens: a failed reload is not retried.
                self.step = RecoveryStep::RefreshToken;
                let changed = self.manager.reload_same_identity().await?;
                Ok(RecoveryStepResult {
                    auth_state_changed: changed,
                })
            }
            // A host provider's refresh goes through the same `run_refresh` (it asks the
            // host instead of the issuer).
            RecoveryStep::RefreshToken | RecoveryStep::ExternalRefresh => {
                self.step = RecoveryStep::Done;
                let generation = self.manager.snapshot().1;
                let outcome = self
                    .manager
                    .run_refresh(
                        RefreshMode::Authority,
                        RefreshReason::Unauthorized,
                        generation,
                    )
                    .await?;
                Ok(RecoveryStepResult {
                    auth_state_changed: outcome != RefreshOutcome::NotNeeded,
                })
            }
            RecoveryStep::Done => Err(RefreshTokenError::Permanent {
                reason: RefreshFailureReason::Other,
                message: NO_MORE_RECOVERY_STEPS_MESSAGE.to_owned(),
            }),
        }
    }
}
