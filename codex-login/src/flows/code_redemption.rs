//! Turning an authorization code into a persisted ChatGPT login: exchange, workspace check,
//! optional API-key exchange, save.

use codex_auth_provider::SecretString;
use tracing::info;

use super::login_claims::{InvalidIdToken, LoginClaims};
use super::persist::{CredentialTarget, PersistError, persist_chatgpt_login};
use super::replaced_login::{ReplacedLoginRevocation, revoke_replaced_login};
use super::token_endpoint::{
    TokenExchangeError, exchange_code_for_tokens, obtain_api_key_best_effort,
};
use super::workspace_check::{WorkspaceRestrictionError, check_login_workspace};

/// What a ChatGPT login needs to redeem a code and save the result.
#[derive(Debug, Clone)]
pub(crate) struct RedemptionContext {
    pub target: CredentialTarget,
    pub issuer: String,
    pub client_id: String,
    pub forced_workspace_ids: Vec<String>,
    /// The client for the issuer's token endpoint (no redirects).
    pub client: reqwest::Client,
    /// Where the tokens of a login this one replaces are revoked (`None`: not revoked).
    pub replaced_login_revocation: Option<ReplacedLoginRevocation>,
}

/// Whether to trade the new id token for an API key as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiKeyExchange {
    /// Browser login: best effort, a failure is ignored.
    #[cfg_attr(not(feature = "browser-login"), allow(dead_code))]
    // used by the browser login server
    BestEffort,
    /// Device-code login: never.
    Skip,
}

/// A login that was saved.
#[derive(Debug, Clone)]
pub(crate) struct RedeemedLogin {
    pub claims: LoginClaims,
    #[cfg_attr(not(feature = "browser-login"), allow(dead_code))]
    // used by the browser login server
    pub api_key_obtained: bool,
}

/// Why a code could not become a saved login.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedemptionError {
    #[error(transparent)]
    TokenExchange(#[from] TokenExchangeError),
    #[error("the issuer returned an id token that is not a JWT: {0}")]
    InvalidIdToken(#[from] InvalidIdToken),
    #[error(transparent)]
    Workspace(#[from] WorkspaceRestrictionError),
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// Exchanges `code`, checks the workspace (nothing is saved on a mismatch), optionally obtains an
/// API key, and saves the tokens.
pub(crate) async fn redeem_authorization_code(
    context: &RedemptionContext,
    code: &SecretString,
    code_verifier: &SecretString,
    redirect_uri: &str,
    api_key_exchange: ApiKeyExchange,
) -> Result<RedeemedLogin, RedemptionError> {
    let tokens = exchange_code_for_tokens(
        &context.client,
        &context.issuer,
        &context.client_id,
        redirect_uri,
        code,
        code_verifier,
    )
    .await?;
    let claims = LoginClaims::from_id_token(tokens.id_token.expose())?;
    check_login_workspace(&context.forced_workspace_ids, &claims)?;
    let api_key = match api_key_exchange {
        ApiKeyExchange::BestEffort => {
            obtain_api_key_best_effort(
                &context.client,
                &context.issuer,
                &context.client_id,
                &tokens.id_token,
            )
            .await
        }
        ApiKeyExchange::Skip => None,
    };
    let replaced = persist_chatgpt_login(
        &context.target,
        &tokens,
        claims.chatgpt_account_id.as_deref(),
        api_key.as_ref(),
    )
    .await?;
    if let (Some(previous), Some(revocation)) = (replaced, &context.replaced_login_revocation) {
        revoke_replaced_login(revocation, &previous, Some(&tokens)).await;
    }
    info!(
        account_id = claims.chatgpt_account_id.as_deref().unwrap_or("<none>"),
        api_key = api_key.is_some(),
        "ChatGPT login saved"
    );
    Ok(RedeemedLogin {
        claims,
        api_key_obtained: api_key.is_some(),
    })
}
