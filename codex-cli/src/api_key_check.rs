//! `whoami --check` for an API key: one cheap authenticated request,
//! `GET <OPENAI_BASE_URL>/models`, proving the key is accepted.

use crate::context;
use codex_auth_provider::SecretString;
use codex_login::http_client::ensure_credential_safe_url;

/// The OpenAI API base when `OPENAI_BASE_URL` is not set.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The variable that moves it (as upstream reads it).
pub const OPENAI_BASE_URL_ENV_VAR: &str = "OPENAI_BASE_URL";

/// Why the key could not be shown to work.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyCheckError {
    /// The API answered 401 or 403: the key is refused.
    #[error(
        "the API at {url} refused the API key (HTTP {status}); run `codex login --with-api-key` with a valid key"
    )]
    Refused {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// Any other answer, or none (network, TLS, bad URL).
    #[error("could not check the API key at {url}: {reason}")]
    Unavailable {
        /// The URL asked (or configured).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// The models URL under the configured API base.
fn models_url() -> String {
    let base = std::env::var(OPENAI_BASE_URL_ENV_VAR)
        .ok()
        .map(|base| base.trim().to_owned())
        .filter(|base| !base.is_empty())
        .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_owned());
    format!("{}/models", base.trim_end_matches('/'))
}

/// Sends `GET <base>/models` with the key as a Bearer token.
pub fn check_api_key(key: &SecretString) -> Result<(), ApiKeyCheckError> {
    let target = models_url();
    // What errors show: no userinfo or secret-looking query values from OPENAI_BASE_URL.
    let url = codex_login::flows::redact_url_for_log(&target);
    let unavailable = |reason: String| ApiKeyCheckError::Unavailable {
        url: url.clone(),
        reason,
    };
    let parsed = url::Url::parse(&target).map_err(|err| unavailable(err.to_string()))?;
    ensure_credential_safe_url(&parsed).map_err(|err| unavailable(err.to_string()))?;
    let client = context::http_factory()
        .and_then(|http| http.default_client().map_err(|err| err.to_string()))
        .map_err(unavailable)?;
    let runtime = context::runtime().map_err(unavailable)?;
    let status = runtime
        .block_on(async {
            client
                .get(parsed)
                .bearer_auth(key.expose())
                .send()
                .await
                .map(|response| response.status())
        })
        // reqwest's error names the URL, never the headers: no key in it.
        .map_err(|err| unavailable(error_chain(&err)))?;
    match status.as_u16() {
        200..=299 => Ok(()),
        status @ (401 | 403) => Err(ApiKeyCheckError::Refused { url, status }),
        status => Err(unavailable(format!("HTTP {status}"))),
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
