//! `BrowserLoginError`: why a browser login did not complete, and the mapping
//! of an OAuth `error` redirect to it. A sibling of `browser` and
//! `callback_server` (both use it, it uses neither), so the two have no cycle.

use crate::flows::callback_port::CallbackBindError;
use crate::flows::code_redemption::RedemptionError;
use crate::flows::login_claims::InvalidIdToken;
use crate::flows::pages::ErrorPage;
use crate::flows::persist::PersistError;
use crate::flows::token_endpoint::TokenExchangeError;
use crate::flows::workspace_check::WorkspaceRestrictionError;
use crate::http_client::{CredentialUrlError, HttpClientError};
use std::time::Duration;

/// The message shown when the workspace has no Codex entitlement.
pub(crate) const MISSING_ENTITLEMENT_MESSAGE: &str = "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex.";

/// Why a browser login did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserLoginError {
    /// No callback port could be bound.
    #[error(transparent)]
    Bind(#[from] CallbackBindError),
    /// The HTTP client could not be built (for example a bad CA bundle).
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
    /// The issuer URL does not parse.
    #[error("invalid issuer URL {issuer:?}: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The issuer is not HTTPS (or plain HTTP to loopback).
    #[error(transparent)]
    InsecureIssuer(#[from] CredentialUrlError),
    /// The issuer redirected back with an OAuth error (`access_denied`, ...).
    #[error("{message}")]
    AccessDenied {
        /// The OAuth `error` code.
        error: String,
        /// What the user is told.
        message: String,
        /// Whether the workspace lacks a Codex entitlement.
        missing_entitlement: bool,
    },
    /// The callback had no `code`.
    #[error("Missing authorization code. Sign-in could not be completed.")]
    MissingAuthorizationCode,
    /// The code exchange failed.
    #[error("Token exchange failed: {0}")]
    TokenExchange(#[source] TokenExchangeError),
    /// The issuer's id token is not a JWT.
    #[error("the issuer returned an id token that is not a JWT: {0}")]
    InvalidIdToken(#[source] InvalidIdToken),
    /// The tokens belong to a workspace the configuration does not allow; nothing was saved.
    #[error(transparent)]
    Workspace(WorkspaceRestrictionError),
    /// The tokens could not be saved.
    #[error("Sign-in completed but credentials could not be saved locally: {0}")]
    Persist(#[source] PersistError),
    /// Someone requested `/cancel` (for example a newer login on the same port).
    #[error("Login cancelled")]
    Cancelled,
    /// The login was stopped through its [`LoginCancelHandle`](super::LoginCancelHandle).
    #[error("Login was not completed")]
    NotCompleted,
    /// No callback arrived in time.
    #[error("Login timed out after {} seconds without a callback from the browser", .0.as_secs())]
    TimedOut(Duration),
}

impl From<RedemptionError> for BrowserLoginError {
    fn from(err: RedemptionError) -> Self {
        match err {
            RedemptionError::TokenExchange(err) => Self::TokenExchange(err),
            RedemptionError::InvalidIdToken(err) => Self::InvalidIdToken(err),
            RedemptionError::Workspace(err) => Self::Workspace(err),
            RedemptionError::Persist(err) => Self::Persist(err),
        }
    }
}

impl BrowserLoginError {
    /// A short stable code for the failure, as shown on the error page.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Bind(_) => "port_unavailable",
            Self::HttpClient(_) => "http_client",
            Self::InvalidIdToken(_) => "invalid_id_token",
            Self::InvalidIssuer { .. } | Self::InsecureIssuer(_) => "invalid_issuer",
            Self::AccessDenied { .. } => "access_denied",
            Self::MissingAuthorizationCode => "missing_authorization_code",
            Self::TokenExchange(_) => "token_exchange_failed",
            Self::Workspace(_) => "workspace_restriction",
            Self::Persist(_) => "persist_failed",
            Self::Cancelled => "cancelled",
            Self::NotCompleted => "not_completed",
            Self::TimedOut(_) => "timed_out",
        }
    }

    /// Whether the account or workspace was refused (upstream's `PermissionDenied` kind).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::AccessDenied { .. } | Self::Workspace(_))
    }

    /// The page the browser shows for this failure.
    pub fn error_page(&self) -> ErrorPage {
        match self {
            Self::AccessDenied {
                missing_entitlement: true,
                message,
                ..
            } => ErrorPage::missing_entitlement(message.clone()),
            Self::AccessDenied { error, message, .. } => {
                ErrorPage::generic(message.clone(), error, None)
            }
            Self::Persist(err) => ErrorPage::generic(
                "Sign-in completed but credentials could not be saved locally.",
                self.code(),
                Some(err.to_string()),
            ),
            other => ErrorPage::generic(other.to_string(), other.code(), None),
        }
    }
}

/// Maps an OAuth `error` redirect to the login error the user sees.
pub(crate) fn oauth_error_to_login_error(
    error: &str,
    description: Option<&str>,
) -> BrowserLoginError {
    let description = description.map(str::trim).filter(|text| !text.is_empty());
    let missing_entitlement = error == "access_denied"
        && description.is_some_and(|text| {
            text.to_ascii_lowercase()
                .contains("missing_codex_entitlement")
        });
    let message = if missing_entitlement {
        MISSING_ENTITLEMENT_MESSAGE.to_owned()
    } else {
        format!("Sign-in failed: {}", description.unwrap_or(error))
    };
    BrowserLoginError::AccessDenied {
        error: error.to_owned(),
        message,
        missing_entitlement,
    }
}
