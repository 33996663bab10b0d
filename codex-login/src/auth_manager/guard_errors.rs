//! What the guards of a refresh return: [`GuardError`] (inside
//! [`super::RefreshTokenError::Guard`]), the identity mismatch
//! [`ForeignIdentityError`], and [`RefreshNotSaved`] when a refresh's tokens
//! could not be saved. A leaf of `auth_manager`: `errors`, `identity_guard` and
//! `save_rescue` all use these types, and these use none of them.

use crate::issuer_guard::ForeignIssuerError;
use crate::restrictions::LoginRestrictionError;

/// A guard stopped a refresh or a use of the credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The refresh (or revoke) endpoint is not at the issuer that minted the tokens.
    #[error(transparent)]
    ForeignIssuer(ForeignIssuerError),
    /// The token endpoint answered with tokens of another user, account or issuer, or of a
    /// workspace the configuration does not allow; nothing was saved.
    #[error(transparent)]
    ForeignIdentity(ForeignIdentityError),
    /// The refresh succeeded but its tokens could not be saved.
    #[error(transparent)]
    NotSaved(RefreshNotSaved),
    /// The credentials in use break `forced_login_method` or `forced_chatgpt_workspace_id`;
    /// they were removed and nothing was sent.
    #[error(transparent)]
    Restricted(LoginRestrictionError),
}

impl GuardError {
    /// What kind of failure this is: a restriction, a new login, or (a failed save that
    /// spent no token) a storage failure.
    pub fn kind(&self) -> codex_auth_provider::AuthErrorKind {
        use codex_auth_provider::AuthErrorKind;
        match self {
            Self::Restricted(_) => AuthErrorKind::Restricted,
            _ if self.requires_new_login() => AuthErrorKind::NeedsLogin,
            _ => AuthErrorKind::Storage,
        }
    }

    /// Whether a new login is needed (all but a failed save that spent no token).
    pub fn requires_new_login(&self) -> bool {
        match self {
            Self::NotSaved(err) => err.guard != SpentTokenGuard::NotRotated,
            _ => true,
        }
    }
}

/// Whom a refresh answer belonged to, when it was not the stored login's identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForeignIdentityError {
    /// Another user (`sub`, `chatgpt_user_id`).
    #[error(
        "The token endpoint answered the refresh with tokens for another user ({actual}, not \
         {expected}); nothing was saved. Run `codex login` to sign in again."
    )]
    AnotherUser {
        /// The stored login's user.
        expected: String,
        /// The user the answer named.
        actual: String,
    },
    /// Another ChatGPT account (workspace).
    #[error(
        "The token endpoint answered the refresh with tokens for another account ({actual}, \
         not {expected}); nothing was saved. Run `codex login` to sign in again."
    )]
    AnotherAccount {
        /// The stored login's account.
        expected: String,
        /// The account the answer named.
        actual: String,
    },
    /// An id token minted by another issuer (or naming none where the stored one did).
    #[error(
        "The token endpoint answered the refresh with an id token issued by {actual}, not by \
         {expected} which issued the stored login; nothing was saved. Run `codex login` to sign \
         in again."
    )]
    AnotherIssuer {
        /// The stored id token's `iss`.
        expected: String,
        /// The new id token's `iss` (`no issuer` when it has none).
        actual: String,
    },
    /// The new tokens' workspace is not one `forced_chatgpt_workspace_id` allows.
    #[error(
        "Login is restricted to workspace id(s) {}, but the token endpoint answered the refresh \
         with tokens for {actual}; nothing was saved. Run `codex login` to sign in again.",
        .allowed.join(", ")
    )]
    WorkspaceNotAllowed {
        /// The configured workspaces.
        allowed: Vec<String>,
        /// The workspace of the new tokens (`no workspace` when they name none).
        actual: String,
    },
}

/// What was done about the spent refresh token when the new tokens could not be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpentTokenGuard {
    /// The refresh token was not rotated; the stored one is still good.
    NotRotated,
    /// The spent token is recorded; no process sends it again.
    Recorded,
    /// The spent token was blanked in `auth.json`.
    Removed,
    /// Nothing could be written: the next run may send the spent token.
    Unprotected,
}

/// A refresh succeeded but its tokens could not be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", not_saved_message(.cause, *.guard))]
pub struct RefreshNotSaved {
    /// Why saving failed.
    pub cause: String,
    /// What protects the spent refresh token.
    pub guard: SpentTokenGuard,
}

pub(super) fn not_saved_message(cause: &str, guard: SpentTokenGuard) -> String {
    let head = format!(
        "Your login was refreshed, but the new tokens could not be saved ({cause}). \
         This process keeps using them until it exits."
    );
    let tail = match guard {
        SpentTokenGuard::NotRotated => {
            "The stored login still works; free up space or fix the credential store so the \
             next refresh can be saved."
        }
        SpentTokenGuard::Recorded | SpentTokenGuard::Removed => {
            "The stored refresh token is used up and will not be sent again. Free up space or \
             fix the credential store, then run `codex login` to sign in again."
        }
        SpentTokenGuard::Unprotected => {
            "The stored refresh token is used up and could not be marked as such. Free up \
             space or fix the credential store and run `codex login` now, before Codex runs \
             again."
        }
    };
    format!("{head} {tail}")
}
