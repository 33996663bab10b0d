//! The errors and outcomes of refresh (logout's error is `flows::LogoutError`).

use super::guard_errors::GuardError;
use crate::agent_identity::AgentIdentityError;
use crate::auth_lock::AuthLockError;
use crate::refresh::{REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE, RefreshFailureReason};
use crate::refresh_failure_record::RecordedFailure;
use crate::storage::StorageError;
use codex_auth_provider::AuthErrorKind;
use std::sync::Arc;

/// Why a refresh (or the reload guarding it) did not produce usable credentials.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshTokenError {
    /// The credentials cannot be refreshed; the user must sign in again.
    /// `message` is upstream's exact text.
    #[error("{message}")]
    Permanent {
        /// Why.
        reason: RefreshFailureReason,
        /// The message to show.
        message: String,
    },
    /// A temporary failure; the stored credentials are unchanged and a later
    /// attempt may work.
    #[error("{0}")]
    Transient(String),
    /// The request was sent but no answer came back; the token was not sent
    /// again, and the store was re-read and found unchanged.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// The store could not be read or written (or the lock not taken).
    #[error("{0}")]
    Storage(Arc<StorageError>),
    /// The cross-process lock could not be taken.
    #[error("{0}")]
    Lock(Arc<AuthLockError>),
    /// The refresh endpoint or HTTP client is misconfigured.
    #[error("{0}")]
    Config(String),
    /// An agent identity could not be made ready: its JWT failed
    /// verification, its workspace is not allowed, or registering its agent
    /// or run task failed.
    #[error(transparent)]
    AgentIdentity(AgentIdentityError),
    /// A guard stopped the refresh or the use (foreign issuer or identity, an unsaved
    /// refresh, an administrator's restriction); see [`GuardError`].
    #[error(transparent)]
    Guard(GuardError),
}

impl RefreshTokenError {
    pub(super) fn permanent(reason: RefreshFailureReason) -> Self {
        Self::Permanent {
            reason,
            message: reason.user_message().to_owned(),
        }
    }

    pub(super) fn account_mismatch() -> Self {
        Self::Permanent {
            reason: RefreshFailureReason::Other,
            message: REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE.to_owned(),
        }
    }

    /// The permanent-failure reason, if this is a permanent failure.
    pub fn failed_reason(&self) -> Option<RefreshFailureReason> {
        match self {
            Self::Permanent { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// What kind of failure this is (the CLI's exit code follows it).
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            Self::Permanent { .. } => AuthErrorKind::NeedsLogin,
            Self::Transient(_) | Self::OutcomeUnknown(_) => AuthErrorKind::Transient,
            Self::Storage(err) => err.kind(),
            Self::Lock(err) => err.kind(),
            Self::Config(_) => AuthErrorKind::Config,
            Self::AgentIdentity(err) => err.kind(),
            Self::Guard(err) => err.kind(),
        }
    }

    /// Whether a new login is needed.
    pub fn requires_new_login(&self) -> bool {
        match self {
            Self::Permanent { .. } => true,
            Self::AgentIdentity(err) => err.requires_new_login(),
            Self::Guard(err) => err.requires_new_login(),
            _ => false,
        }
    }
}

impl RefreshTokenError {
    /// What the refresh-failure record keeps for this error: permanent refusals, unknown
    /// outcomes, and answers a guard refused to save (the token may be spent: recorded as
    /// an unknown outcome). Other errors are not recorded.
    pub(crate) fn to_record(&self) -> Option<RecordedFailure> {
        match self {
            Self::OutcomeUnknown(message) => Some(RecordedFailure::OutcomeUnknown(message.clone())),
            Self::Permanent { reason, message } => Some(RecordedFailure::Permanent {
                reason: *reason,
                message: message.clone(),
            }),
            Self::Guard(guard) => Some(RecordedFailure::OutcomeUnknown(guard.to_string())),
            _ => None,
        }
    }
}

impl From<RecordedFailure> for RefreshTokenError {
    fn from(failure: RecordedFailure) -> Self {
        match failure {
            RecordedFailure::OutcomeUnknown(message) => Self::OutcomeUnknown(message),
            RecordedFailure::Permanent { reason, message } => Self::Permanent { reason, message },
        }
    }
}

impl From<StorageError> for RefreshTokenError {
    fn from(err: StorageError) -> Self {
        Self::Storage(Arc::new(err))
    }
}

impl From<AuthLockError> for RefreshTokenError {
    fn from(err: AuthLockError) -> Self {
        Self::Lock(Arc::new(err))
    }
}

/// What a successful refresh call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// One refresh request was sent and its tokens saved.
    Refreshed,
    /// Newer credentials for the same account were found in the store (or
    /// set by another caller in this process) and adopted; nothing was sent.
    Adopted,
    /// Nothing needed doing (the credentials were fresh).
    NotNeeded,
}
