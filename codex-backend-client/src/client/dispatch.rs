//! Sending one logical request: auth headers, one credential recovery after
//! a `401`, and bounded retries of busy `GET`s.

use crate::client::{BackendClient, ClientAuth};
use crate::error::{AuthRecovery, BackendError, HttpFailure};
use crate::error_response::{
    body_excerpt, is_credential_error_code, request_id, server_error, www_authenticate_error,
};
use crate::retry::{RetryPolicy, retry_after};
use codex_auth_provider::bounded_body::{BodyReadError, read_capped};
use codex_auth_provider::headers::{CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_auth_provider::{RecoveryOutcome, SentSecrets, SharedAuthProvider, UnauthorizedContext};
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use std::error::Error as _;
use tracing::Instrument;

/// Largest backend response body read (usage answers are a few KiB).
pub(crate) const MAX_BACKEND_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A success response, read in full.
#[derive(Debug)]
pub(crate) struct SuccessResponse {
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    /// The credentials the successful request carried, to blank out of error text.
    pub(crate) secrets: SentSecrets,
}

impl SuccessResponse {
    /// Decodes the body as JSON, or a [`BackendError::Decode`] naming the request.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &str,
    ) -> Result<T, BackendError> {
        let fail = |message: String| {
            let (body, _) = self.excerpt();
            BackendError::Decode {
                method: method.clone(),
                url: url.to_owned(),
                content_type: self.content_type.clone(),
                message,
                body,
            }
        };
        // Every payload is a JSON object; serde's derived structs would also
        // take an array (`[]` as an empty payload), which is never right here.
        let first = self.body.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(fail("expected a JSON object".to_owned()));
        }
        serde_json::from_slice(&self.body).map_err(|err| fail(self.secrets.scrub(&err.to_string())))
    }

    /// A bounded, scrubbed excerpt of the body.
    pub(crate) fn excerpt(&self) -> (String, bool) {
        body_excerpt(&self.body, &self.secrets)
    }
}

impl BackendClient {
    /// Sends a request and returns the success response, or a typed error.
    pub(crate) async fn send(
        &self,
        endpoint: &'static str,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<SuccessResponse, BackendError> {
        let span = tracing::info_span!(
            "backend_request",
            endpoint,
            method = %method,
            url = %url,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.send_in_span(method, url, body).instrument(span).await
    }

    async fn send_in_span(
        &self,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<SuccessResponse, BackendError> {
        let mut provider = self.provider(&method, &url).await?;
        let retries_when_busy = method == Method::GET;
        let mut attempts: u32 = 0;
        // Attempts that count against the retry policy (an auth retry does not).
        let mut busy_attempts: u32 = 1;
        let mut recovery = AuthRecovery::NotAttempted;
        loop {
            attempts += 1;
            let headers = self.request_headers(&provider, body.is_some());
            let secrets = SentSecrets::from_headers(&headers);
            let response = self.send_once(&method, &url, headers, body.clone()).await?;
            let status = response.status();
            let span = tracing::Span::current();
            span.record("status", status.as_u16());
            span.record("attempts", attempts);
            let response_headers = response.headers().clone();
            let content_type = response_headers
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let bytes = read_capped(response, MAX_BACKEND_RESPONSE_BYTES)
                .await
                .map_err(|err| match err {
                    BodyReadError::Transport(err) => transport_error(&method, &url, &err),
                    too_large => BackendError::Decode {
                        method: method.clone(),
                        url: url.to_string(),
                        content_type: content_type.clone(),
                        message: too_large.to_string(),
                        body: String::new(),
                    },
                })?;

            if status.is_success() {
                tracing::debug!(
                    status = status.as_u16(),
                    attempts,
                    "backend request succeeded"
                );
                return Ok(SuccessResponse {
                    content_type,
                    body: bytes.to_vec(),
                    secrets,
                });
            }

            let (body_code, error_message) = server_error(&bytes);
            let error_code = body_code.or_else(|| www_authenticate_error(&response_headers));
            tracing::debug!(
                status = status.as_u16(),
                error_code = error_code.as_deref(),
                request_id = request_id(&response_headers).as_deref(),
                attempts,
                "backend request failed"
            );

            if status == StatusCode::UNAUTHORIZED
                && recovery == AuthRecovery::NotAttempted
                && error_code.as_deref().is_none_or(is_credential_error_code)
                && let ClientAuth::Source(source) = &self.auth
            {
                let context = UnauthorizedContext {
                    error_code: error_code.clone(),
                };
                match source.recover_unauthorized(&context).await {
                    RecoveryOutcome::Retry => {
                        tracing::debug!("credentials recovered after 401; retrying once");
                        recovery = AuthRecovery::Retried;
                        provider = self.provider(&method, &url).await?;
                        continue;
                    }
                    RecoveryOutcome::GiveUp(why) => {
                        tracing::debug!(reason = %why, "auth source could not recover after 401");
                        recovery = AuthRecovery::GaveUp(why);
                    }
                }
            }

            let retry_after = retry_after(&response_headers, chrono::Utc::now());
            if retries_when_busy
                && RetryPolicy::is_retryable_status(status)
                && let Some(wait) = self
                    .retry_policy
                    .wait_before_next(busy_attempts, retry_after)
            {
                tracing::debug!(
                    status = status.as_u16(),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "server busy; retrying"
                );
                tokio::time::sleep(wait).await;
                busy_attempts += 1;
                continue;
            }

            let (body, body_truncated) = body_excerpt(&bytes, &secrets);
            return Err(BackendError::Status(Box::new(HttpFailure {
                method,
                url,
                status,
                content_type,
                error_code,
                error_message: error_message.map(|message| secrets.scrub(&message)),
                request_id: request_id(&response_headers),
                retry_after,
                body,
                body_truncated,
                attempts,
                auth_recovery: recovery,
            })));
        }
    }

    async fn provider(
        &self,
        method: &Method,
        url: &str,
    ) -> Result<SharedAuthProvider, BackendError> {
        match &self.auth {
            ClientAuth::Provider(provider) => Ok(provider.clone()),
            ClientAuth::Source(source) => {
                source
                    .current_provider()
                    .await
                    .map_err(|source| BackendError::Auth {
                        method: method.clone(),
                        url: url.to_owned(),
                        source,
                    })
            }
        }
    }

    /// Headers in the official order: User-Agent, the provider's, the account
    /// override, FedRAMP; then `Content-Type` for a JSON body.
    fn request_headers(&self, provider: &SharedAuthProvider, json_body: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(user_agent) = &self.user_agent {
            headers.insert(USER_AGENT, user_agent.clone());
        }
        provider.add_auth_headers(&mut headers);
        if let Some(account_id) = &self.account_id_override {
            headers.insert(CHATGPT_ACCOUNT_ID, account_id.clone());
        }
        if self.fedramp {
            headers.insert(X_OPENAI_FEDRAMP, HeaderValue::from_static("true"));
        }
        if json_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        headers
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, BackendError> {
        let mut request = self.http.request(method.clone(), url).headers(headers);
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request
            .send()
            .await
            .map_err(|err| transport_error(method, url, &err))
    }
}

/// A transport error with its cause chain (reqwest's messages name the URL, never headers).
fn transport_error(method: &Method, url: &str, err: &reqwest::Error) -> BackendError {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message.push_str(&codex_auth_provider::proxy_env::proxy_note_for_error(err));
    BackendError::Transport {
        method: method.clone(),
        url: url.to_owned(),
        message,
        timed_out: err.is_timeout(),
    }
}
