//! `codex login --with-access-token` with a personal access token (`at-…`,
//! issue 19): checks the forced login method, hydrates the token with the
//! whoami call, checks the workspace, and only then saves
//! `{"OPENAI_API_KEY": null, "personal_access_token": "at-…"}` (no
//! `auth_mode`, as upstream). On any error nothing is written.

use super::api_key::{AccessTokenLoginError, AccessTokenLoginOptions};
use super::persist::{CredentialTarget, save_document};
use super::replaced_login::revoke_replaced_login;
use super::restrictions::{LoginKind, ensure_login_method_allowed};
use super::workspace_check::WorkspaceRestrictionError;
use crate::auth_dot_json::AuthDotJson;
use crate::personal_access_token::fetch_personal_access_token_metadata;
use codex_auth_provider::SecretString;
use tracing::info;

/// Logs in with a personal access token. `authapi_base_url` is the whoami
/// base ([`crate::personal_access_token::authapi_base_url`]); the other
/// settings come from `options` (its JWKS base is not used).
pub async fn login_with_personal_access_token(
    target: &CredentialTarget,
    token: &SecretString,
    options: &AccessTokenLoginOptions,
    authapi_base_url: &str,
) -> Result<(), AccessTokenLoginError> {
    let token = SecretString::new(token.expose().trim());
    if token.is_empty() {
        return Err(AccessTokenLoginError::Empty);
    }
    ensure_login_method_allowed(LoginKind::AccessToken, options.forced_login_method)?;
    let client = options
        .http
        .default_client()
        .map_err(|err| AccessTokenLoginError::HttpClient(err.to_string()))?;
    let metadata = fetch_personal_access_token_metadata(&client, authapi_base_url, &token).await?;
    let allowed = &options.forced_chatgpt_workspace_ids;
    if !allowed.is_empty() && !allowed.contains(&metadata.chatgpt_account_id) {
        return Err(AccessTokenLoginError::PersonalAccessTokenWorkspace(
            WorkspaceRestrictionError::NotAllowed {
                allowed: allowed.clone(),
                actual: metadata.chatgpt_account_id,
            },
        ));
    }
    let replaced = save_document(target, AuthDotJson::personal_access_token(token)).await?;
    info!(store = %target.store_mode, account_id = %metadata.chatgpt_account_id, "personal access token login saved");
    if let (Some(revocation), Some(previous)) = (options.revoke_replaced_login.as_ref(), replaced) {
        revoke_replaced_login(revocation, &previous, None).await;
    }
    Ok(())
}
