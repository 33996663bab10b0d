//! The checks that stop a refresh answer, or the credentials in use, before they do harm:
//! tokens for another identity are not saved, tokens are not sent to an issuer that did not
//! mint them, a refresh whose result could not be saved is reported plainly, and an
//! administrator's restrictions are enforced on every use. [`GuardError`] is what they return,
//! inside [`super::RefreshTokenError::Guard`].

use codex_auth_provider::SecretString;

use crate::codex_auth::CodexAuth;
use crate::issuer_guard::{TokenUse, ensure_minting_issuer, issuer_of_id_token, minting_issuer};
use crate::refresh::RefreshedTokens;
use crate::resolution::CredentialSource;
use crate::token_claims::{IdTokenClaims, decode_jwt_payload};

use super::guard_errors::{ForeignIdentityError, GuardError};
use super::{AuthManager, RefreshTokenError};

/// Refuses to send `base`'s refresh token to `url` unless it is at the issuer that minted it.
pub(super) fn ensure_refresh_at_minting_issuer(
    base: &CodexAuth,
    url: &url::Url,
) -> Result<(), RefreshTokenError> {
    let minted_by = base.document().and_then(minting_issuer);
    ensure_minting_issuer(minted_by.as_deref(), url, TokenUse::Refresh)
        .map_err(|err| RefreshTokenError::Guard(GuardError::ForeignIssuer(err)))
}

impl AuthManager {
    /// [`check_refreshed_identity`] with this manager's forced workspaces. On a mismatch the
    /// old refresh token may be spent, but the tokens are not ours to keep: nothing is saved
    /// and the token is remembered and recorded so no process sends it again.
    pub(super) async fn refuse_foreign_identity(
        &self,
        base: &CodexAuth,
        tokens: &RefreshedTokens,
        source: &CredentialSource,
        refresh_token: &SecretString,
    ) -> Result<(), RefreshTokenError> {
        let Err(err) = check_refreshed_identity(base, tokens, &self.forced_chatgpt_workspace_ids)
        else {
            return Ok(());
        };
        let error = RefreshTokenError::Guard(GuardError::ForeignIdentity(err));
        self.remember_failure(refresh_token, &error);
        self.record_failure(source, refresh_token, &error).await;
        Err(error)
    }
}

/// The identity claims of one JWT.
#[derive(Debug, Default)]
struct Identity {
    issuer: Option<String>,
    subject: Option<String>,
    user: Option<String>,
    account: Option<String>,
}

impl Identity {
    fn of_jwt(jwt: &str) -> Option<Self> {
        let claims = decode_jwt_payload(jwt).ok()?;
        let parsed = IdTokenClaims::from_claims(&claims);
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .filter(|sub| !sub.is_empty())
            .map(str::to_owned);
        Some(Self {
            issuer: issuer_of_id_token(jwt),
            subject,
            user: parsed.chatgpt_user_id,
            account: parsed.chatgpt_account_id,
        })
    }
}

fn differs(expected: Option<&str>, actual: Option<&str>) -> Option<(String, String)> {
    match (expected, actual) {
        (Some(expected), Some(actual)) if expected != actual => {
            Some((expected.to_owned(), actual.to_owned()))
        }
        _ => None,
    }
}

/// Checks a refresh answer against the login it refreshed (`base`) before anything is saved:
/// the same issuer (a stored `iss` must be repeated by a new id token), the same user and
/// account in the new id token and access token wherever both sides name one, and, when
/// `forced_workspaces` is set, an allowed workspace.
pub(crate) fn check_refreshed_identity(
    base: &CodexAuth,
    tokens: &RefreshedTokens,
    forced_workspaces: &[String],
) -> Result<(), ForeignIdentityError> {
    let stored = base.chatgpt_tokens();
    let old_id = stored
        .and_then(|tokens| tokens.raw_id_token.as_ref())
        .and_then(|jwt| Identity::of_jwt(jwt.expose()))
        .unwrap_or_default();
    let old_access = stored
        .and_then(|tokens| Identity::of_jwt(tokens.access_token.expose()))
        .unwrap_or_default();
    let old_user = base.chatgpt_user_id().or(old_id.user.as_deref());
    let old_account = base.account_id().or(old_id.account.as_deref());

    let new_id = tokens
        .id_token
        .as_ref()
        .and_then(|jwt| Identity::of_jwt(jwt.expose()));
    let new_access = tokens
        .access_token
        .as_ref()
        .and_then(|jwt| Identity::of_jwt(jwt.expose()));

    if let (Some(expected), Some(new_id)) = (&old_id.issuer, &new_id)
        && new_id.issuer.as_deref() != Some(expected.as_str())
    {
        return Err(ForeignIdentityError::AnotherIssuer {
            expected: expected.clone(),
            actual: new_id
                .issuer
                .clone()
                .unwrap_or_else(|| "no issuer".to_owned()),
        });
    }
    // A forced workspace is checked first, so the error names the restriction.
    if !forced_workspaces.is_empty() {
        let account = new_id
            .as_ref()
            .and_then(|identity| identity.account.as_deref())
            .or(new_access
                .as_ref()
                .and_then(|identity| identity.account.as_deref()))
            .or(old_account);
        if !account.is_some_and(|account| forced_workspaces.iter().any(|id| id == account)) {
            return Err(ForeignIdentityError::WorkspaceNotAllowed {
                allowed: forced_workspaces.to_vec(),
                actual: account.unwrap_or("no workspace").to_owned(),
            });
        }
    }
    let mut user_checks = Vec::new();
    let mut account_checks = Vec::new();
    if let Some(new_id) = &new_id {
        user_checks.push(differs(
            old_id.subject.as_deref(),
            new_id.subject.as_deref(),
        ));
        user_checks.push(differs(old_user, new_id.user.as_deref()));
        account_checks.push(differs(old_account, new_id.account.as_deref()));
    }
    if let Some(new_access) = &new_access {
        user_checks.push(differs(
            old_access.subject.as_deref(),
            new_access.subject.as_deref(),
        ));
        user_checks.push(differs(old_user, new_access.user.as_deref()));
        account_checks.push(differs(old_account, new_access.account.as_deref()));
    }
    if let Some((expected, actual)) = user_checks.into_iter().flatten().next() {
        return Err(ForeignIdentityError::AnotherUser { expected, actual });
    }
    if let Some((expected, actual)) = account_checks.into_iter().flatten().next() {
        return Err(ForeignIdentityError::AnotherAccount { expected, actual });
    }
    Ok(())
}
