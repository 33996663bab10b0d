//! API-key login (`codex login --with-api-key`) and access-token login (`--with-access-token`).

use codex_agent_identity::{AgentIdentityJwt, JwtError};
use codex_auth_provider::SecretString;
use tracing::info;

use super::persist::{CredentialTarget, PersistError, save_document};
use super::replaced_login::{ReplacedLoginRevocation, revoke_replaced_login};
use crate::agent_identity::{AgentWorkspaceError, check_agent_workspace};
use crate::auth_dot_json::AuthDotJson;
use crate::config::CodexConfig;
use crate::http_client::HttpClientFactory;
use crate::restrictions::{
    ForcedLoginMethod, LoginKind, LoginMethodDisabled, ensure_login_method_allowed,
};

/// Why an API key could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyLoginError {
    /// Nothing but whitespace was given.
    #[error("the API key is empty")]
    Empty,
    /// The key holds a character that cannot be sent in an HTTP header.
    #[error(
        "the API key contains {found} at position {position}; an API key is printable ASCII without spaces"
    )]
    InvalidCharacter {
        /// What was found (never the key itself).
        found: &'static str,
        /// 1-based character position.
        position: usize,
    },
    /// The key could not be saved.
    #[error("could not save the API key: {0}")]
    Persist(#[from] PersistError),
}

/// Why an access token (agent identity JWT) login failed. Nothing is written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenLoginError {
    /// Nothing but whitespace was given.
    #[error("the access token is empty")]
    Empty,
    /// `forced_login_method = "api"` forbids access-token login.
    #[error(transparent)]
    MethodDisabled(#[from] LoginMethodDisabled),
    /// No longer returned: `at-...` tokens log in as personal access tokens (issue 19).
    #[error(
        "the access token is a personal access token (at-...), which this version does not support; use an agent identity token"
    )]
    PersonalAccessTokenUnsupported,
    /// The JWT is malformed, unsigned, signed with an untrusted key or the
    /// wrong algorithm, expired, or has the wrong issuer or audience (or the
    /// JWKS could not be fetched).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The identity belongs to a workspace the configuration does not allow.
    #[error(transparent)]
    Workspace(#[from] AgentWorkspaceError),
    /// The personal access token could not be hydrated (whoami, issue 19).
    #[error(transparent)]
    PersonalAccessToken(#[from] crate::personal_access_token::PersonalAccessTokenError),
    /// The personal access token belongs to a workspace the configuration does not allow.
    #[error(transparent)]
    PersonalAccessTokenWorkspace(super::workspace_check::WorkspaceRestrictionError),
    /// The HTTP client for the JWKS request could not be built.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// The token could not be saved.
    #[error("could not save the access token: {0}")]
    Persist(#[from] PersistError),
}

/// What `login --with-api-key` needs besides the target and the key.
#[derive(Debug, Clone)]
pub struct ApiKeyLoginOptions {
    /// Revoke the ChatGPT login the key replaces (`None`: leave its grant alone).
    pub revoke_replaced_login: Option<ReplacedLoginRevocation>,
}

impl ApiKeyLoginOptions {
    /// The options `config` names: the replaced login is revoked at its revoke endpoint.
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            revoke_replaced_login: Some(ReplacedLoginRevocation::from_config(config, http)),
        }
    }
}

/// What `login --with-access-token` needs besides the target and the token.
#[derive(Debug, Clone)]
pub struct AccessTokenLoginOptions {
    /// Builds the client for the JWKS request.
    pub http: HttpClientFactory,
    /// The base the JWKS is fetched under ([`CodexConfig::jwks_base_url`]).
    pub jwks_base_url: String,
    /// Workspaces the identity must belong to (empty: any).
    pub forced_chatgpt_workspace_ids: Vec<String>,
    /// The login method an administrator forces.
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// Revoke the ChatGPT login the token replaces (`None`: leave its grant alone).
    pub revoke_replaced_login: Option<ReplacedLoginRevocation>,
    /// The whoami base for personal access tokens
    /// ([`CodexConfig::authapi_base_url`]); `CODEX_AUTHAPI_BASE_URL` overrides it.
    pub authapi_base_url: String,
}

impl AccessTokenLoginOptions {
    /// The options `config` names, with `http` for the JWKS request.
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            revoke_replaced_login: Some(ReplacedLoginRevocation::from_config(config, http.clone())),
            http,
            jwks_base_url: config.jwks_base_url(),
            authapi_base_url: config.authapi_base_url(),
            forced_chatgpt_workspace_ids: config.forced_chatgpt_workspace_ids.clone(),
            forced_login_method: config.forced_login_method,
        }
    }
}

/// Trims and checks an API key: non-empty, printable ASCII, no whitespace inside.
pub(crate) fn validate_api_key(raw: &SecretString) -> Result<SecretString, ApiKeyLoginError> {
    let key = raw.expose().trim();
    if key.is_empty() {
        return Err(ApiKeyLoginError::Empty);
    }
    for (index, ch) in key.chars().enumerate() {
        let found = if ch.is_whitespace() {
            "whitespace"
        } else if ch.is_control() {
            "a control character"
        } else if !ch.is_ascii() {
            "a non-ASCII character"
        } else {
            continue;
        };
        return Err(ApiKeyLoginError::InvalidCharacter {
            found,
            position: index + 1,
        });
    }
    Ok(SecretString::new(key))
}

/// Saves `{"auth_mode": "apikey", "OPENAI_API_KEY": key}`, replacing any previous login, then
/// (best effort, after the lock is released) revokes a replaced ChatGPT login if `options`
/// says so.
pub async fn login_with_api_key(
    target: &CredentialTarget,
    api_key: &SecretString,
    options: &ApiKeyLoginOptions,
) -> Result<(), ApiKeyLoginError> {
    let key = validate_api_key(api_key)?;
    let replaced = save_document(target, AuthDotJson::api_key(key)).await?;
    info!(store = %target.store_mode, "API key login saved");
    revoke_if_replaced(options.revoke_replaced_login.as_ref(), replaced).await;
    Ok(())
}

/// Revokes the replaced document's ChatGPT grant when revocation is configured.
async fn revoke_if_replaced(
    revocation: Option<&ReplacedLoginRevocation>,
    replaced: Option<AuthDotJson>,
) {
    if let (Some(revocation), Some(previous)) = (revocation, replaced) {
        revoke_replaced_login(revocation, &previous, None).await;
    }
}

/// Access-token login with an agent identity JWT (`codex login --with-access-token`): checks
/// the forced login method, verifies the JWT against the JWKS (RS256, trusted `kid`, `iss`,
/// `aud`, `exp`, usable key), checks the workspace, and only then saves
/// `{"auth_mode": "agentIdentity", "OPENAI_API_KEY": null, "agent_identity": "<jwt>"}` as the
/// official CLI does, then (best effort) revokes a replaced ChatGPT login if `options` says so.
/// The run task is registered when the login is first used, not here. On any error nothing is
/// written.
pub async fn login_with_access_token(
    target: &CredentialTarget,
    access_token: &SecretString,
    options: &AccessTokenLoginOptions,
) -> Result<(), AccessTokenLoginError> {
    let jwt = access_token.expose().trim();
    if jwt.is_empty() {
        return Err(AccessTokenLoginError::Empty);
    }
    ensure_login_method_allowed(LoginKind::AccessToken, options.forced_login_method)?;
    // issue 19: `at-…` is a personal access token, hydrated with whoami.
    if jwt.starts_with(crate::personal_access_token::PERSONAL_ACCESS_TOKEN_PREFIX) {
        return super::personal_access_token_login::login_with_personal_access_token(
            target,
            access_token,
            options,
            &crate::personal_access_token::authapi_base_url_or(
                &crate::environment::process_env,
                &options.authapi_base_url,
            ),
        )
        .await;
    }
    AgentIdentityJwt::check_shape(jwt)?;
    let client = options
        .http
        .default_client()
        .map_err(|err| AccessTokenLoginError::HttpClient(err.to_string()))?;
    let claims = AgentIdentityJwt::verify(&client, &options.jwks_base_url, jwt).await?;
    check_agent_workspace(
        &options.forced_chatgpt_workspace_ids,
        Some(claims.account_id.as_str()),
    )?;
    let replaced = save_document(
        target,
        AuthDotJson::agent_identity_jwt(SecretString::new(jwt)),
    )
    .await?;
    info!(
        store = %target.store_mode,
        agent_runtime_id = %claims.agent_runtime_id,
        "access token login saved"
    );
    revoke_if_replaced(options.revoke_replaced_login.as_ref(), replaced).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_rejects_bad_keys_without_echoing_them() {
        assert_eq!(
            validate_api_key(&SecretString::new("  sk-abc\n"))
                .unwrap()
                .expose(),
            "sk-abc"
        );
        assert!(matches!(
            validate_api_key(&SecretString::new(" \n")),
            Err(ApiKeyLoginError::Empty)
        ));
        let err = validate_api_key(&SecretString::new("sk-secret part")).unwrap_err();
        assert!(matches!(
            err,
            ApiKeyLoginError::InvalidCharacter {
                found: "whitespace",
                position: 10
            }
        ));
        assert!(!err.to_string().contains("secret"));
        assert!(matches!(
            validate_api_key(&SecretString::new("sk-é")),
            Err(ApiKeyLoginError::InvalidCharacter { .. })
        ));
    }
}
