//! Personal access tokens (`at-…`, issue 19).
//!
//! A ChatGPT Business/Enterprise member can create a "Codex access token"
//! tied to their user and workspace. It is given to `codex login
//! --with-access-token` (stored) or `CODEX_ACCESS_TOKEN` (per process), told
//! apart from an agent identity JWT by its `at-` prefix
//! ([`classify_codex_access_token`]), and *hydrated* on every load: one
//! `GET <authapi>/v1/user-auth-credential/whoami` with `Authorization: Bearer
//! at-…` names the account, user, e-mail, plan and FedRAMP flag
//! ([`fetch_personal_access_token_metadata`]). There is no local metadata
//! cache and no refresh: a refused token needs a new one.
//!
//! The token is a secret: it lives in [`SecretString`], is sent only over
//! HTTPS or plain HTTP to loopback, and is scrubbed from every error text.

use crate::environment::EnvLookup;
use crate::http_client::{CredentialUrlError, ensure_credential_safe_url};
pub use crate::personal_access_token_auth::{PersonalAccessTokenAuth, PersonalAccessTokenMetadata};
use crate::secret_scrub::SentSecrets;
use crate::token_claims::PlanType;
use codex_auth_provider::SecretString;
use codex_auth_provider::bounded_body::{MAX_AUTH_RESPONSE_BYTES, read_capped};
use std::time::Duration;

/// The prefix that marks a personal access token.
pub(crate) const PERSONAL_ACCESS_TOKEN_PREFIX: &str = "at-";
/// Overrides the accounts API base URL the whoami call goes to.
pub(crate) const CODEX_AUTHAPI_BASE_URL_ENV_VAR: &str = "CODEX_AUTHAPI_BASE_URL";
/// The accounts API base URL used without an override.
pub(crate) const DEFAULT_AUTHAPI_BASE_URL: &str = "https://auth.openai.com/api/accounts";
/// The whoami path under the accounts API base URL.
pub(crate) const WHOAMI_PATH: &str = "/v1/user-auth-credential/whoami";
/// The whoami request gives up after this long.
pub(crate) const WHOAMI_TIMEOUT: Duration = Duration::from_secs(30);
/// What upstream (reqwest) says when the whoami answer is not the expected JSON.
pub(crate) const WHOAMI_DECODE_ERROR: &str = "error decoding response body";

/// What a `CODEX_ACCESS_TOKEN` / `--with-access-token` value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessTokenKind {
    /// Starts with `at-`: a personal access token.
    PersonalAccessToken,
    /// Anything else: an agent identity JWT.
    AgentIdentityJwt,
}

/// Classifies an access token by its prefix (the value is trimmed first).
pub(crate) fn classify_codex_access_token(token: &str) -> AccessTokenKind {
    if token.trim().starts_with(PERSONAL_ACCESS_TOKEN_PREFIX) {
        AccessTokenKind::PersonalAccessToken
    } else {
        AccessTokenKind::AgentIdentityJwt
    }
}

/// The accounts API base URL: `CODEX_AUTHAPI_BASE_URL` (trimmed, trailing `/`
/// removed, empty ignored), else `https://auth.openai.com/api/accounts`.
pub fn authapi_base_url(env: EnvLookup<'_>) -> String {
    authapi_base_url_or(env, DEFAULT_AUTHAPI_BASE_URL)
}

/// The whoami base: `CODEX_AUTHAPI_BASE_URL` (trimmed, trailing `/` removed,
/// empty ignored), else `configured` (the issuer-derived
/// [`crate::config::CodexConfig::authapi_base_url`], so a staging or emulator
/// issuer is asked, not production; the official 0.169.0 always asks
/// production, see docs/OBSERVED.md).
pub fn authapi_base_url_or(env: EnvLookup<'_>, configured: &str) -> String {
    env(CODEX_AUTHAPI_BASE_URL_ENV_VAR)
        .map(|value| value.trim().trim_end_matches('/').to_owned())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| configured.trim_end_matches('/').to_owned())
}

#[derive(serde::Deserialize)]
struct WhoamiResponse {
    email: Option<String>,
    chatgpt_user_id: String,
    chatgpt_account_id: String,
    chatgpt_plan_type: String,
    chatgpt_account_is_fedramp: bool,
}

/// Why a personal access token could not be hydrated (upstream's texts).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalAccessTokenError {
    /// The request could not be sent or its answer not received.
    #[error("failed to request personal access token metadata: {message}")]
    Request {
        /// What went wrong (scrubbed of the token).
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A non-2xx answer.
    #[error("personal access token metadata request failed with status {0}")]
    Status(reqwest::StatusCode),
    /// A 2xx answer that is not the expected JSON (or too large).
    #[error("failed to decode personal access token metadata: {0}")]
    Decode(String),
    /// The accounts API base URL is not a URL.
    #[error("failed to request personal access token metadata: invalid URL {url}: {source}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// The accounts API base URL may not carry credentials.
    #[error(transparent)]
    InsecureUrl(#[from] CredentialUrlError),
}

impl PersonalAccessTokenError {
    /// Whether the server refused the token (401/403): a new token is needed.
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Status(status) if *status == reqwest::StatusCode::UNAUTHORIZED
            || *status == reqwest::StatusCode::FORBIDDEN)
    }
}

/// `GET <authapi_base_url>/v1/user-auth-credential/whoami` with the token as
/// bearer. The body is read with a cap; error texts never contain the token.
pub(crate) async fn fetch_personal_access_token_metadata(
    client: &reqwest::Client,
    authapi_base_url: &str,
    token: &SecretString,
) -> Result<PersonalAccessTokenMetadata, PersonalAccessTokenError> {
    let raw = format!("{}{WHOAMI_PATH}", authapi_base_url.trim_end_matches('/'));
    let url = url::Url::parse(&raw).map_err(|source| PersonalAccessTokenError::InvalidUrl {
        url: raw.clone(),
        source,
    })?;
    ensure_credential_safe_url(&url)?;
    let secrets = SentSecrets::new().with(token);
    let mut authorization = http::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| {
            PersonalAccessTokenError::Decode("the token is not a valid header value".to_owned())
        })?;
    authorization.set_sensitive(true);
    let response = client
        .get(url)
        .header(http::header::AUTHORIZATION, authorization)
        .timeout(WHOAMI_TIMEOUT)
        .send()
        .await
        .map_err(|source| PersonalAccessTokenError::Request {
            message: secrets.scrub(&source.to_string()),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        tracing::debug!(%status, "personal access token metadata request refused");
        return Err(PersonalAccessTokenError::Status(status));
    }
    let body = read_capped(response, MAX_AUTH_RESPONSE_BYTES)
        .await
        .map_err(|err| PersonalAccessTokenError::Decode(secrets.scrub(&err.to_string())))?;
    // Upstream's words (reqwest's); the parser's detail goes to the log, scrubbed.
    let parsed: WhoamiResponse = serde_json::from_slice(&body).map_err(|err| {
        tracing::info!(detail = %secrets.scrub(&err.to_string()), "the whoami answer is not the expected JSON");
        PersonalAccessTokenError::Decode(WHOAMI_DECODE_ERROR.to_owned())
    })?;
    Ok(PersonalAccessTokenMetadata {
        email: parsed.email.filter(|email| !email.is_empty()),
        chatgpt_user_id: parsed.chatgpt_user_id,
        chatgpt_account_id: parsed.chatgpt_account_id,
        plan_type: PlanType::from_wire(&parsed.chatgpt_plan_type),
        is_fedramp: parsed.chatgpt_account_is_fedramp,
    })
}

/// `auth` hydrated with whoami's answer when it is a personal access token
/// not yet hydrated; any other snapshot is returned as is (no request).
pub async fn hydrate_personal_access_token(
    auth: &crate::codex_auth::CodexAuth,
    client: &reqwest::Client,
    authapi_base_url: &str,
) -> Result<crate::codex_auth::CodexAuth, PersonalAccessTokenError> {
    let Some(pat) = auth.personal_access_token() else {
        return Ok(auth.clone());
    };
    if pat.metadata.is_some() {
        return Ok(auth.clone());
    }
    let metadata =
        fetch_personal_access_token_metadata(client, authapi_base_url, &pat.token).await?;
    Ok(auth.with_personal_access_token_metadata(metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_prefix() {
        assert_eq!(
            classify_codex_access_token("  at-abc\n"),
            AccessTokenKind::PersonalAccessToken
        );
        assert_eq!(
            classify_codex_access_token("eyJhbGciOi.x.y"),
            AccessTokenKind::AgentIdentityJwt
        );
        assert_eq!(
            classify_codex_access_token("AT-abc"),
            AccessTokenKind::AgentIdentityJwt
        );
    }

    #[test]
    fn base_url_override_is_trimmed_and_empty_is_ignored() {
        let set = |value: &'static str| move |_: &str| Some(value.to_owned());
        assert_eq!(
            authapi_base_url(&set(" http://127.0.0.1:9/api/accounts/ ")),
            "http://127.0.0.1:9/api/accounts"
        );
        assert_eq!(authapi_base_url(&set("  ")), DEFAULT_AUTHAPI_BASE_URL);
        assert_eq!(authapi_base_url(&|_: &str| None), DEFAULT_AUTHAPI_BASE_URL);
    }
}
