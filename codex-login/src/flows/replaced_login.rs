//! Best-effort server-side revocation of the ChatGPT login that a new login replaced, so no
//! live refresh-token grant is left behind.

use tracing::{debug, info, warn};

use super::logout::{
    REVOKE_TIMEOUT, Revocation, RevokedTokenKind, revocation_target, revoke_endpoint,
    revoke_url_for_config, send_revocation,
};
use super::token_endpoint::ExchangedTokens;
use crate::auth_dot_json::AuthDotJson;
use crate::config::CodexConfig;
use crate::http_client::HttpClientFactory;
use crate::refresh::CLIENT_ID;

/// Where and how the tokens of a login that a new login replaced are revoked.
#[derive(Debug, Clone)]
pub struct ReplacedLoginRevocation {
    /// Builds the client for the revoke request.
    pub http: HttpClientFactory,
    /// The revoke endpoint ([`CodexConfig::revoke_token_url`]).
    pub revoke_url: String,
    /// OAuth client id sent with a refresh-token revocation.
    pub client_id: String,
}

impl ReplacedLoginRevocation {
    /// Revocation at the endpoint `config` names, with the default client id.
    pub fn from_config(config: &CodexConfig, http: HttpClientFactory) -> Self {
        Self {
            http,
            revoke_url: revoke_url_for_config(config),
            client_id: CLIENT_ID.to_owned(),
        }
    }

    /// The revocation a browser or device-code login runs when `enabled`: at `revoke_url`,
    /// else at `<issuer>/oauth/revoke`.
    pub(crate) fn for_login(
        enabled: bool,
        http: &HttpClientFactory,
        client_id: &str,
        revoke_url: Option<&str>,
        issuer: &str,
    ) -> Option<Self> {
        enabled.then(|| Self {
            http: http.clone(),
            revoke_url: revoke_endpoint(revoke_url, None, issuer),
            client_id: client_id.to_owned(),
        })
    }
}

/// Best effort: revokes the replaced login's refresh token (else its access token) with the
/// 10 s timeout, unless it has none or the new login (`new_tokens`) reuses that token. A
/// failure is logged without any token and never fails the new login.
pub(crate) async fn revoke_replaced_login(
    revocation: &ReplacedLoginRevocation,
    previous: &AuthDotJson,
    new_tokens: Option<&ExchangedTokens>,
) {
    let target = match revocation_target(previous) {
        Ok(target) => target,
        Err(reason) => {
            debug!(reason = %reason, "the replaced login has nothing to revoke");
            return;
        }
    };
    let unchanged = new_tokens.is_some_and(|tokens| match target.kind {
        RevokedTokenKind::RefreshToken => target.token == tokens.refresh_token,
        RevokedTokenKind::AccessToken => target.token == tokens.access_token,
    });
    if unchanged {
        debug!("the new login reuses the previous token; nothing to revoke");
        return;
    }
    match send_revocation(
        &revocation.http,
        &revocation.revoke_url,
        &revocation.client_id,
        REVOKE_TIMEOUT,
        &target,
    )
    .await
    {
        Revocation::Revoked(kind) => info!(token = kind.hint(), "revoked the replaced login"),
        other => warn!(outcome = %other, "could not revoke the replaced login; continuing"),
    }
}
