//! Calls to the issuer's `/oauth/token`: authorization-code exchange and the API-key token exchange.

use codex_auth_provider::SecretString;
use codex_auth_provider::bounded_body::{MAX_AUTH_RESPONSE_BYTES, read_capped_text};
use serde::Deserialize;
use tracing::{debug, warn};

use super::error_text::error_chain;
use crate::issuer_guard::{
    ForeignIssuerError, TokenUse, ensure_minting_issuer, issuer_of_id_token,
};
use crate::secret_scrub::{SentSecrets, read_error_body};

/// `grant_type` of the RFC 8693 token exchange that turns an id token into an API key.
pub(crate) const TOKEN_EXCHANGE_GRANT_TYPE: &str =
    "urn:ietf:params:oauth:grant-type:token-exchange";
/// `subject_token_type` for an id token.
pub(crate) const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `requested_token` value asking for an OpenAI API key.
pub(crate) const REQUESTED_API_KEY: &str = "openai-api-key";

/// The three tokens a successful authorization-code exchange returns.
#[derive(Debug, Clone)]
pub struct ExchangedTokens {
    /// The OIDC id token (a JWT carrying email, plan and workspace claims).
    pub id_token: SecretString,
    /// The bearer access token.
    pub access_token: SecretString,
    /// The rotating refresh token.
    pub refresh_token: SecretString,
}

/// Why a call to the token endpoint failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenExchangeError {
    /// The endpoint answered with a non-success status.
    #[error("token endpoint returned status {status}: {detail}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The most specific message found in the body.
        detail: String,
    },
    /// The request did not complete (connection, TLS, timeout).
    #[error("token request to {url} failed: {message}")]
    Request {
        /// The endpoint URL (holds no secrets).
        url: String,
        /// The transport error chain.
        message: String,
    },
    /// A success status whose body lacked the expected tokens.
    #[error("token endpoint returned an unexpected response: {0}")]
    InvalidResponse(String),
    /// The token would have gone to an issuer that did not mint it; nothing was sent.
    #[error(transparent)]
    ForeignIssuer(#[from] ForeignIssuerError),
}

/// The token endpoint for an issuer: `<issuer>/oauth/token`.
pub(crate) fn token_endpoint(issuer: &str) -> String {
    format!("{}/oauth/token", issuer.trim_end_matches('/'))
}

/// POSTs `form` to the token endpoint and returns the body of a success answer; a transport
/// failure or a non-success status becomes the matching [`TokenExchangeError`]. An error body
/// is read only up to a bound, and nothing of `sent` survives in the error's text.
async fn post_token_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    sent: &SentSecrets,
) -> Result<String, TokenExchangeError> {
    let request_failed = |err: reqwest::Error| TokenExchangeError::Request {
        url: url.to_owned(),
        message: error_chain(&err),
    };
    let response = client
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(request_failed)?;
    let status = response.status();
    if !status.is_success() {
        let body = read_error_body(response, sent).await;
        return Err(TokenExchangeError::Status {
            status: status.as_u16(),
            detail: sent.shown(&parse_token_endpoint_error(&body)),
        });
    }
    read_capped_text(response, MAX_AUTH_RESPONSE_BYTES)
        .await
        .map_err(|err| TokenExchangeError::Request {
            url: url.to_owned(),
            message: error_chain(&err),
        })
}

/// Parses a success body into `T` (the body itself is never put in the error: it holds tokens;
/// the parser's message is scrubbed of `sent` as well).
fn parse_success_body<T: serde::de::DeserializeOwned>(
    body: &str,
    sent: &SentSecrets,
) -> Result<T, TokenExchangeError> {
    serde_json::from_str(body).map_err(|err| {
        TokenExchangeError::InvalidResponse(
            sent.shown(&format!("body is not the expected JSON ({err})")),
        )
    })
}

#[derive(Deserialize)]
struct CodeExchangeResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
}

/// Exchanges an authorization code (with its PKCE verifier) for tokens, as a form-encoded POST.
pub(crate) async fn exchange_code_for_tokens(
    client: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    redirect_uri: &str,
    code: &SecretString,
    code_verifier: &SecretString,
) -> Result<ExchangedTokens, TokenExchangeError> {
    let url = token_endpoint(issuer);
    debug!(%url, "exchanging authorization code for tokens");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", code_verifier.expose()),
    ];
    let sent = SentSecrets::new().with(code).with(code_verifier);
    let body = post_token_form(client, &url, &form, &sent).await?;
    let parsed: CodeExchangeResponse = parse_success_body(&body, &sent)?;
    let missing = |name: &str| TokenExchangeError::InvalidResponse(format!("missing `{name}`"));
    Ok(ExchangedTokens {
        id_token: SecretString::new(parsed.id_token.ok_or_else(|| missing("id_token"))?),
        access_token: SecretString::new(
            parsed.access_token.ok_or_else(|| missing("access_token"))?,
        ),
        refresh_token: SecretString::new(
            parsed
                .refresh_token
                .ok_or_else(|| missing("refresh_token"))?,
        ),
    })
}

#[derive(Deserialize)]
struct ApiKeyExchangeResponse {
    access_token: Option<String>,
}

/// Trades an id token for an OpenAI API key (RFC 8693 token exchange).
pub async fn obtain_api_key(
    client: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    id_token: &SecretString,
) -> Result<SecretString, TokenExchangeError> {
    let url = token_endpoint(issuer);
    debug!(%url, "exchanging id token for an API key");
    if let Ok(destination) = url::Url::parse(&url) {
        ensure_minting_issuer(
            issuer_of_id_token(id_token.expose()).as_deref(),
            &destination,
            TokenUse::Exchange,
        )?;
    }
    let form = [
        ("grant_type", TOKEN_EXCHANGE_GRANT_TYPE),
        ("client_id", client_id),
        ("requested_token", REQUESTED_API_KEY),
        ("subject_token", id_token.expose()),
        ("subject_token_type", ID_TOKEN_TYPE),
    ];
    let sent = SentSecrets::new().with(id_token);
    let body = post_token_form(client, &url, &form, &sent).await?;
    let parsed: ApiKeyExchangeResponse = parse_success_body(&body, &sent)?;
    match parsed.access_token {
        Some(key) if !key.is_empty() => Ok(SecretString::new(key)),
        _ => Err(TokenExchangeError::InvalidResponse(
            "missing `access_token`".to_owned(),
        )),
    }
}

/// Best-effort [`obtain_api_key`]: a failure is logged and yields `None`.
pub(crate) async fn obtain_api_key_best_effort(
    client: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    id_token: &SecretString,
) -> Option<SecretString> {
    match obtain_api_key(client, issuer, client_id, id_token).await {
        Ok(key) => Some(key),
        Err(err) => {
            warn!(error = %err, "API key token exchange failed; continuing without an API key");
            None
        }
    }
}

/// The most specific human message in a token endpoint error body.
///
/// Order: `error_description`, then `error.message`, then the error code (`error` as a string
/// or `error.code`), then the raw text, then `unknown error`.
pub(crate) fn parse_token_endpoint_error(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "unknown error".to_owned();
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed)
    else {
        return trimmed.to_owned();
    };
    let non_empty = |value: Option<&serde_json::Value>| {
        value
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    if let Some(description) = non_empty(map.get("error_description")) {
        return description;
    }
    match map.get("error") {
        Some(serde_json::Value::Object(error)) => {
            if let Some(message) = non_empty(error.get("message")) {
                return message;
            }
            if let Some(code) = non_empty(error.get("code")) {
                return code;
            }
        }
        Some(serde_json::Value::String(code)) if !code.trim().is_empty() => {
            return code.trim().to_owned();
        }
        _ => {}
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_error_description() {
        assert_eq!(
            parse_token_endpoint_error(
                r#"{"error":"invalid_grant","error_description":"Code expired"}"#
            ),
            "Code expired"
        );
    }

    #[test]
    fn reads_nested_error_message_then_code() {
        assert_eq!(
            parse_token_endpoint_error(r#"{"error":{"code":"bad","message":"Bad thing"}}"#),
            "Bad thing"
        );
        assert_eq!(
            parse_token_endpoint_error(r#"{"error":{"code":"bad_code"}}"#),
            "bad_code"
        );
    }

    #[test]
    fn falls_back_to_code_string() {
        assert_eq!(
            parse_token_endpoint_error(r#"{"error":"invalid_grant"}"#),
            "invalid_grant"
        );
    }

    #[test]
    fn preserves_plain_text_and_handles_empty() {
        assert_eq!(
            parse_token_endpoint_error("  upstream exploded \n"),
            "upstream exploded"
        );
        assert_eq!(parse_token_endpoint_error(""), "unknown error");
        assert_eq!(parse_token_endpoint_error("{}"), "{}");
    }
}
