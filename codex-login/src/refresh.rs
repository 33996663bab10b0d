//! The refresh request and the classification of its failures.
//!
//! The request is the JSON `POST` the official CLI sends to the token
//! endpoint. A failure is permanent (the refresh token is dead: expired,
//! reused, revoked, or refused with `401`), transient (server error, rate
//! limit, connection refused: trying later may work), or of unknown outcome
//! (the request was sent but no answer came back: the server may already
//! have rotated the token, so it must not be sent again blindly).

use crate::http_client::{CredentialUrlError, ensure_credential_safe_url};
use crate::secret_scrub::{SentSecrets, read_error_body};
use codex_auth_provider::SecretString;
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use url::Url;

pub(crate) use crate::endpoints::{CLIENT_ID, DEFAULT_ISSUER, REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR};
/// How long one refresh request may take. Shorter than the default lock
/// wait, so processes queued behind a slow refresh do not give up first.
pub const REFRESH_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Shown when the refresh token has expired.
pub const REFRESH_TOKEN_EXPIRED_MESSAGE: &str = "Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again.";
/// Shown when the refresh token was already used.
pub const REFRESH_TOKEN_REUSED_MESSAGE: &str = "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.";
/// Shown when the refresh token was revoked.
pub const REFRESH_TOKEN_INVALIDATED_MESSAGE: &str = "Your access token could not be refreshed because your refresh token was revoked. Please log out and sign in again.";
/// Shown for any other permanent refresh failure.
pub const REFRESH_TOKEN_UNKNOWN_MESSAGE: &str =
    "Your access token could not be refreshed. Please log out and sign in again.";
/// Shown when the stored credentials now belong to someone else (or are gone).
pub const REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE: &str = "Your access token could not be refreshed because you have since logged out or signed in to another account. Please sign in again.";
/// Shown when a refresh request got no answer after it was sent.
pub const REFRESH_OUTCOME_UNKNOWN_MESSAGE: &str = "The token refresh request was interrupted after it was sent, so the server may already have used your refresh token. It was not sent again; if requests keep failing, log out and sign in again.";

/// Why a refresh token was refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshFailureReason {
    /// `refresh_token_expired`.
    Expired,
    /// `refresh_token_reused`.
    Exhausted,
    /// `refresh_token_invalidated`.
    Revoked,
    /// Any other permanent refusal.
    Other,
}

impl RefreshFailureReason {
    /// Upstream's message for this reason.
    pub fn user_message(self) -> &'static str {
        match self {
            Self::Expired => REFRESH_TOKEN_EXPIRED_MESSAGE,
            Self::Exhausted => REFRESH_TOKEN_REUSED_MESSAGE,
            Self::Revoked => REFRESH_TOKEN_INVALIDATED_MESSAGE,
            Self::Other => REFRESH_TOKEN_UNKNOWN_MESSAGE,
        }
    }
}

/// Why the refresh was made; sent as `refresh_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshReason {
    /// The access token expires within the refresh window (`proactive_expiry`).
    ProactiveExpiry,
    /// A request was refused with `401` (`unauthorized`).
    Unauthorized,
    /// A caller asked for a refresh explicitly (`manual`).
    Manual,
}

impl RefreshReason {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProactiveExpiry => "proactive_expiry",
            Self::Unauthorized => "unauthorized",
            Self::Manual => "manual",
        }
    }
}

/// The outcome of one refresh request when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshRequestError {
    /// The refresh token is dead; sending it again cannot help.
    #[error("{}", reason.user_message())]
    Permanent {
        /// Why.
        reason: RefreshFailureReason,
        /// HTTP status.
        status: u16,
    },
    /// A temporary failure; the token was not used (or was refused in a way
    /// that leaves it valid). Message as upstream:
    /// `Failed to refresh token: <status>: <message>`, or the network error.
    #[error("{0}")]
    Transient(String),
    /// The request was sent but no usable answer came back.
    #[error("{REFRESH_OUTCOME_UNKNOWN_MESSAGE} ({detail})")]
    OutcomeUnknown {
        /// What happened, without secrets.
        detail: String,
    },
    /// The refresh URL may not carry credentials.
    #[error(transparent)]
    UnsafeUrl(#[from] CredentialUrlError),
}

/// The tokens a successful refresh returned; each may be missing, in which
/// case the old value is kept.
#[derive(Debug, Clone, Default)]
pub struct RefreshedTokens {
    /// New id token.
    pub id_token: Option<SecretString>,
    /// New access token.
    pub access_token: Option<SecretString>,
    /// New refresh token.
    pub refresh_token: Option<SecretString>,
}

/// The JSON body of a refresh request, keys in the order the official CLI sends.
pub fn refresh_request_body(refresh_token: &SecretString, reason: RefreshReason) -> Value {
    serde_json::json!({
        "client_id": CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_reason": reason.as_str(),
        "refresh_token": refresh_token.expose(),
    })
}

/// The refresh URL: an explicit override, else `<issuer>/oauth/token`.
pub fn refresh_token_url(override_url: Option<&str>, issuer: &str) -> String {
    match override_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => url.to_owned(),
        None => format!("{}/oauth/token", issuer.trim_end_matches('/')),
    }
}

/// The error code in a token-endpoint error body: `error.code` when `error`
/// is an object, `error` when it is a string, else top-level `code`;
/// lower-cased.
pub fn extract_error_code(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    let code = match object.get("error") {
        Some(Value::Object(error)) => error.get("code").and_then(Value::as_str),
        Some(Value::String(code)) => Some(code.as_str()),
        _ => None,
    }
    .or_else(|| object.get("code").and_then(Value::as_str))?;
    Some(code.to_ascii_lowercase())
}

/// A human message from an error body: `error.message`, else
/// `error_description`, else the raw text, else `Unknown error`.
pub fn extract_error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|value| {
        let object = value.as_object()?;
        object
            .get("error")
            .and_then(Value::as_object)
            .and_then(|error| error.get("message"))
            .or_else(|| object.get("error_description"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    match from_json {
        Some(message) => message,
        None if body.trim().is_empty() => "Unknown error".to_owned(),
        None => body.trim().chars().take(512).collect(),
    }
}

/// Classifies a non-success answer of the token endpoint.
///
/// Permanent: HTTP 401, or a known code at any status
/// (`refresh_token_expired`, `refresh_token_reused`,
/// `refresh_token_invalidated`, `invalid_grant`). Everything else (5xx, 429,
/// 408, other 4xx) is transient.
pub fn classify_refresh_failure(status: u16, body: &str) -> RefreshRequestError {
    let code = extract_error_code(body);
    let reason = match code.as_deref() {
        Some("refresh_token_expired") => Some(RefreshFailureReason::Expired),
        Some("refresh_token_reused") => Some(RefreshFailureReason::Exhausted),
        Some("refresh_token_invalidated") => Some(RefreshFailureReason::Revoked),
        Some("invalid_grant") => Some(RefreshFailureReason::Other),
        _ if status == 401 => Some(RefreshFailureReason::Other),
        _ => None,
    };
    match reason {
        Some(reason) => RefreshRequestError::Permanent { reason, status },
        None => RefreshRequestError::Transient(format!(
            "Failed to refresh token: {status}: {}",
            extract_error_message(body)
        )),
    }
}

/// Classifies a transport failure: failing to connect means nothing was
/// sent (transient); anything after that (timeout, dropped connection, an
/// unreadable answer) means the server may have acted (outcome unknown).
pub fn classify_transport_failure(err: &reqwest::Error) -> RefreshRequestError {
    let detail = describe_transport_error(err);
    if err.is_connect() || err.is_builder() {
        RefreshRequestError::Transient(format!("Failed to refresh token: {detail}"))
    } else {
        RefreshRequestError::OutcomeUnknown { detail }
    }
}

fn describe_transport_error(err: &reqwest::Error) -> String {
    // reqwest errors may carry the URL; ours holds no secret (the token is in
    // the body), but strip it anyway to keep messages short.
    let kind = if err.is_timeout() {
        "the request timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the response could not be read"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(inner) = source {
        innermost = Some(inner.to_string());
        source = inner.source();
    }
    let proxy = codex_auth_provider::proxy_env::proxy_note_for_error(err);
    match innermost {
        Some(inner) => format!("{kind}: {inner}{proxy}"),
        None => format!("{kind}{proxy}"),
    }
}

/// Sends one refresh request. Never retries.
pub async fn send_refresh_request(
    client: &reqwest::Client,
    url: &Url,
    refresh_token: &SecretString,
    reason: RefreshReason,
) -> Result<RefreshedTokens, RefreshRequestError> {
    ensure_credential_safe_url(url)?;
    let response = client
        .post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(refresh_request_body(refresh_token, reason).to_string())
        .timeout(REFRESH_REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|err| classify_transport_failure(&err))?;
    let status = response.status();
    if !status.is_success() {
        // A server or proxy may echo the request: keep the token out of the
        // error text (which is shown and logged), and read a bounded body.
        let sent = SentSecrets::new().with(refresh_token);
        let body = read_error_body(response, &sent).await;
        return Err(match classify_refresh_failure(status.as_u16(), &body) {
            RefreshRequestError::Transient(message) => {
                RefreshRequestError::Transient(sent.shown(&message))
            }
            other => other,
        });
    }
    let body = codex_auth_provider::bounded_body::read_capped_text(
        response,
        codex_auth_provider::bounded_body::MAX_AUTH_RESPONSE_BYTES,
    )
    .await
    .map_err(|err| match err {
        codex_auth_provider::bounded_body::BodyReadError::Transport(err) => {
            classify_transport_failure(&err)
        }
        too_large => RefreshRequestError::OutcomeUnknown {
            detail: too_large.to_string(),
        },
    })?;
    parse_refresh_response(&body).ok_or_else(|| RefreshRequestError::OutcomeUnknown {
        detail: format!(
            "the token endpoint answered {status} with a body that is not a token response \
             (a JSON object with a non-empty access_token string)"
        ),
    })
}

/// Reads a successful refresh answer: a JSON object with a non-empty `access_token` string;
/// `id_token` and `refresh_token` may be missing (or `null`, or empty), in which case the old
/// values are kept, but must be strings when present. Anything else is `None`: the issuer
/// answered, so the refresh token may be spent, but there is nothing usable to save.
pub fn parse_refresh_response(body: &str) -> Option<RefreshedTokens> {
    let value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    let token = |key: &str| -> Result<Option<SecretString>, ()> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(SecretString::from(text.as_str()))),
            Some(_) => Err(()),
        }
    };
    let tokens = RefreshedTokens {
        id_token: token("id_token").ok()?,
        access_token: token("access_token").ok()?,
        refresh_token: token("refresh_token").ok()?,
    };
    tokens.access_token.is_some().then_some(tokens)
}

impl fmt::Display for RefreshReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
