//! Registering agents and tasks with the AuthAPI accounts service.

use crate::assertion::format_timestamp;
use crate::endpoints::{
    EndpointError, agent_register_url, check_secure_url, task_register_url, trim_base,
};
use crate::ids::{AgentRuntimeId, IdError, TaskId};
use crate::key::sealed_task_id::SealedTaskIdError;
use crate::key::{AgentKey, AgentPublicKey, KeyError, SignatureError};
use crate::retry::RegistrationRetryPolicy;
use chrono::{DateTime, Utc};
use codex_auth_provider::bounded_body::{BodyReadError, MAX_AUTH_RESPONSE_BYTES, read_capped_text};
use codex_auth_provider::{AuthProvider as _, BearerAuth, SecretString, SentSecrets};
use http::HeaderMap;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Timeout of one agent registration request.
pub(crate) const AGENT_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout of one task registration request.
pub(crate) const TASK_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest response body (in characters) kept in an error.
pub(crate) const ERROR_BODY_LIMIT: usize = 512;
/// The capability the Codex CLI registers agents with.
pub(crate) const RESPONSES_API_CAPABILITY: &str = "responsesapi";

/// Which registration call an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationOperation {
    /// `POST {authapi}/v1/agent/register`.
    RegisterAgent,
    /// `POST {authapi}/v1/agent/{id}/task/register`.
    RegisterTask,
}

impl fmt::Display for RegistrationOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RegisterAgent => "agent registration",
            Self::RegisterTask => "task registration",
        })
    }
}

/// Why an agent or task could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Retries ran out on 429, 5xx or transport failures; a ChatGPT login may fall back to Bearer.
    #[error("{operation} is unavailable after {attempts} attempt(s): {message}")]
    Unavailable {
        /// The call that failed.
        operation: RegistrationOperation,
        /// How many requests were sent.
        attempts: u32,
        /// What the last attempt ran into.
        message: String,
    },
    /// The server refused the request with a status that is not retried (for example 403).
    #[error("{operation} was refused with HTTP {status}: {body}")]
    Rejected {
        /// The call that failed.
        operation: RegistrationOperation,
        /// The HTTP status.
        status: u16,
        /// The response body, cut to [`RegistrationClient::ERROR_BODY_LIMIT`] characters.
        body: String,
    },
    /// A successful response did not carry what it should.
    #[error("{operation} returned an unusable response: {reason}")]
    InvalidResponse {
        /// The call that failed.
        operation: RegistrationOperation,
        /// What was wrong with it.
        reason: String,
    },
    /// The server returned an id that cannot be used safely.
    #[error("{operation} returned an unusable id: {source}")]
    InvalidId {
        /// The call that failed.
        operation: RegistrationOperation,
        /// Why the id was refused.
        source: IdError,
    },
    /// The `encrypted_task_id` could not be opened with the agent's key.
    #[error(transparent)]
    SealedTaskId(#[from] SealedTaskIdError),
    /// The AuthAPI base URL is unusable.
    #[error("the agent identity AuthAPI base URL is unusable: {0}")]
    Endpoint(#[from] EndpointError),
    /// A new agent key could not be generated.
    #[error("could not generate an agent key: {0}")]
    Key(#[from] KeyError),
    /// The ChatGPT access token cannot be sent as a header value.
    #[error("the ChatGPT access token is not valid header text")]
    InvalidAccessToken,
}

impl RegistrationError {
    /// Whether retries ran out, so a ChatGPT login may fall back to Bearer for the session.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The HTTP status of a refused request.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The agent bill of materials sent at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Abom {
    /// The client's version, e.g. `0.169.0`.
    pub agent_version: String,
    /// `codex-app` for the VS Code extension, `codex-cli` otherwise.
    pub agent_harness_id: String,
    /// `<session source>-<OS>`, e.g. `cli-linux`.
    pub running_location: String,
}

impl Abom {
    /// The ABOM for `session_source` (e.g. `cli`, `vscode`, `exec`) on this operating system.
    pub fn for_session(agent_version: impl Into<String>, session_source: &str) -> Self {
        let agent_harness_id = if session_source.eq_ignore_ascii_case("vscode") {
            "codex-app"
        } else {
            "codex-cli"
        };
        Self {
            agent_version: agent_version.into(),
            agent_harness_id: agent_harness_id.to_owned(),
            running_location: format!("{session_source}-{}", std::env::consts::OS),
        }
    }
}

/// The JSON body of `POST {authapi}/v1/agent/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRegistrationRequest {
    /// Who is registering.
    pub abom: Abom,
    /// The `ssh-ed25519 …` public key line.
    pub agent_public_key: String,
    /// What the agent may do; the CLI sends `["responsesapi"]`.
    pub capabilities: Vec<String>,
    /// Requested lifetime; the CLI sends `null`.
    pub ttl: Option<u64>,
}

impl AgentRegistrationRequest {
    /// The request the Codex CLI sends: `responsesapi` capability, no ttl.
    pub fn new(abom: Abom, public_key: &AgentPublicKey) -> Self {
        Self {
            abom,
            agent_public_key: public_key.to_ssh(),
            capabilities: vec![RESPONSES_API_CAPABILITY.to_owned()],
            ttl: None,
        }
    }
}

/// The JSON body of `POST {authapi}/v1/agent/{id}/task/register`; the signature is the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRegistrationBody {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// Standard base64 Ed25519 signature over `<agent_runtime_id>:<timestamp>`.
    pub signature: String,
}

impl TaskRegistrationBody {
    /// Signs `<runtime>:<timestamp>` with `key` for time `at`.
    pub fn sign(key: &AgentKey, runtime: &AgentRuntimeId, at: DateTime<Utc>) -> Self {
        let timestamp = format_timestamp(at);
        let signature = key.sign_base64(task_registration_message(runtime, &timestamp).as_bytes());
        Self {
            timestamp,
            signature,
        }
    }

    /// Checks the signature against the runtime's public key (what the server does).
    pub fn verify(
        &self,
        public_key: &AgentPublicKey,
        runtime: &AgentRuntimeId,
    ) -> Result<(), SignatureError> {
        public_key.verify_base64(
            task_registration_message(runtime, &self.timestamp).as_bytes(),
            &self.signature,
        )
    }
}

/// The message a task registration signs: `<runtime>:<timestamp>`.
pub(crate) fn task_registration_message(runtime: &AgentRuntimeId, timestamp: &str) -> String {
    format!("{}:{timestamp}", runtime.as_str())
}

/// Calls the AuthAPI registration endpoints through a caller-supplied HTTP client.
#[derive(Debug, Clone)]
pub struct RegistrationClient {
    http: reqwest::Client,
    authapi_base_url: String,
    retry: RegistrationRetryPolicy,
    timeout_override: Option<Duration>,
}

/// What one attempt ran into, when it may be tried again.
struct RetryableFailure {
    message: String,
    retry_after: Option<Duration>,
}

impl RegistrationClient {
    /// Longest response body (in characters) kept in an error.
    pub const ERROR_BODY_LIMIT: usize = ERROR_BODY_LIMIT;

    /// A client for `authapi_base_url` (e.g. `https://auth.openai.com/api/accounts`),
    /// which must be HTTPS or loopback HTTP.
    pub fn new(http: &reqwest::Client, authapi_base_url: &str) -> Result<Self, RegistrationError> {
        check_secure_url(authapi_base_url)?;
        Ok(Self {
            http: http.clone(),
            authapi_base_url: trim_base(authapi_base_url).to_owned(),
            retry: RegistrationRetryPolicy::default(),
            timeout_override: None,
        })
    }

    /// Replaces the retry policy (default: 3 attempts, 250 ms doubling backoff).
    pub fn with_retry_policy(mut self, retry: RegistrationRetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses `timeout` for every request instead of the 15 s / 30 s defaults.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_override = Some(timeout);
        self
    }

    /// The AuthAPI base URL, without a trailing slash.
    pub fn authapi_base_url(&self) -> &str {
        &self.authapi_base_url
    }

    /// Registers a new agent runtime for the ChatGPT user behind `access_token`.
    pub async fn register_agent(
        &self,
        access_token: &SecretString,
        fedramp: bool,
        request: &AgentRegistrationRequest,
    ) -> Result<AgentRuntimeId, RegistrationError> {
        let operation = RegistrationOperation::RegisterAgent;
        let bearer = BearerAuth::new(access_token).with_fedramp(fedramp);
        if !bearer.has_authorization() {
            return Err(RegistrationError::InvalidAccessToken);
        }
        let url = agent_register_url(&self.authapi_base_url);
        let response = self
            .post_with_retry(
                operation,
                &url,
                bearer.auth_headers(),
                AGENT_REGISTRATION_TIMEOUT,
                || serde_json::to_vec(request),
            )
            .await?;
        let id =
            string_field(&response, &["agent_runtime_id", "agentRuntimeId"]).ok_or_else(|| {
                RegistrationError::InvalidResponse {
                    operation,
                    reason: "no agent_runtime_id in the response".to_owned(),
                }
            })?;
        let runtime = AgentRuntimeId::new(id)
            .map_err(|source| RegistrationError::InvalidId { operation, source })?;
        tracing::info!(agent_runtime_id = %runtime, "registered agent identity");
        Ok(runtime)
    }

    /// Registers a task under `runtime`, signing `<runtime>:<timestamp>` with `key`
    /// (a fresh timestamp per attempt), and returns the plaintext or decrypted task id.
    pub async fn register_task(
        &self,
        key: &AgentKey,
        runtime: &AgentRuntimeId,
    ) -> Result<TaskId, RegistrationError> {
        let operation = RegistrationOperation::RegisterTask;
        let url = task_register_url(&self.authapi_base_url, runtime);
        let response = self
            .post_with_retry(
                operation,
                &url,
                HeaderMap::new(),
                TASK_REGISTRATION_TIMEOUT,
                || serde_json::to_vec(&TaskRegistrationBody::sign(key, runtime, Utc::now())),
            )
            .await?;
        let task = if let Some(plain) = string_field(&response, &["task_id", "taskId"]) {
            plain.to_owned()
        } else if let Some(sealed) =
            string_field(&response, &["encrypted_task_id", "encryptedTaskId"])
        {
            key.open_sealed_task_id(sealed)?
        } else {
            return Err(RegistrationError::InvalidResponse {
                operation,
                reason: "neither task_id nor encrypted_task_id in the response".to_owned(),
            });
        };
        let task = TaskId::new(task)
            .map_err(|source| RegistrationError::InvalidId { operation, source })?;
        tracing::info!(agent_runtime_id = %runtime, "registered agent task");
        Ok(task)
    }

    async fn post_with_retry(
        &self,
        operation: RegistrationOperation,
        url: &str,
        auth_headers: HeaderMap,
        default_timeout: Duration,
        body: impl Fn() -> Result<Vec<u8>, serde_json::Error>,
    ) -> Result<serde_json::Value, RegistrationError> {
        let attempts = self.retry.attempts();
        let timeout = self.timeout_override.unwrap_or(default_timeout);
        let secrets = SentSecrets::from_headers(&auth_headers);
        let mut last_failure = String::new();
        for attempt in 1..=attempts {
            let body = body().map_err(|err| RegistrationError::InvalidResponse {
                operation,
                reason: format!("could not build the request body: {err}"),
            })?;
            let request = self
                .http
                .post(url)
                .timeout(timeout)
                .headers(auth_headers.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body);
            let failure = match request.send().await {
                Ok(response) => match Self::read_response(operation, response, &secrets).await? {
                    Ok(json) => return Ok(json),
                    Err(failure) => failure,
                },
                Err(err) => RetryableFailure {
                    message: describe_transport_error(err),
                    retry_after: None,
                },
            };
            tracing::warn!(
                %operation,
                attempt,
                attempts,
                failure = %failure.message,
                "agent identity registration attempt failed"
            );
            last_failure = failure.message;
            if attempt < attempts {
                tokio::time::sleep(self.retry.backoff(attempt, failure.retry_after)).await;
            }
        }
        Err(RegistrationError::Unavailable {
            operation,
            attempts,
            message: last_failure,
        })
    }

    /// Classifies a response: JSON on success, a retryable failure for 429/5xx,
    /// an error for anything else. Credentials the request carried are blanked
    /// out of any body text kept.
    async fn read_response(
        operation: RegistrationOperation,
        response: reqwest::Response,
        secrets: &SentSecrets,
    ) -> Result<Result<serde_json::Value, RetryableFailure>, RegistrationError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = match read_capped_text(response, MAX_AUTH_RESPONSE_BYTES).await {
            Ok(text) => text,
            Err(BodyReadError::Transport(err)) => {
                return Ok(Err(RetryableFailure {
                    message: describe_transport_error(err),
                    retry_after,
                }));
            }
            Err(too_large) => {
                return Err(RegistrationError::InvalidResponse {
                    operation,
                    reason: too_large.to_string(),
                });
            }
        };
        if status.is_success() {
            return serde_json::from_str(&text).map(Ok).map_err(|_| {
                RegistrationError::InvalidResponse {
                    operation,
                    reason: format!(
                        "the body is not JSON: {}",
                        truncate_body(&secrets.scrub(&text))
                    ),
                }
            });
        }
        let body = truncate_body(&secrets.scrub(&text));
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Ok(Err(RetryableFailure {
                message: format!("HTTP {}: {body}", status.as_u16()),
                retry_after,
            }))
        } else {
            Err(RegistrationError::Rejected {
                operation,
                status: status.as_u16(),
                body,
            })
        }
    }
}

/// The first non-empty string among `names` in a JSON object.
fn string_field<'a>(json: &'a serde_json::Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .filter_map(|name| json.get(name).and_then(serde_json::Value::as_str))
        .find(|value| !value.trim().is_empty())
}

/// A response body cut to [`RegistrationClient::ERROR_BODY_LIMIT`] characters.
pub(crate) fn truncate_body(text: &str) -> String {
    match text.char_indices().nth(ERROR_BODY_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A short description of a transport failure that leaves the URL out.
pub(crate) fn describe_transport_error(err: reqwest::Error) -> String {
    let proxy = codex_auth_provider::proxy_env::proxy_note_for_error(&err);
    if err.is_timeout() {
        format!("the request timed out{proxy}")
    } else if err.is_connect() {
        format!("could not connect{proxy}")
    } else {
        format!("the request failed: {}{proxy}", err.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_on_character_boundaries() {
        let long = "é".repeat(600);
        let cut = truncate_body(&long);
        assert_eq!(cut.chars().count(), ERROR_BODY_LIMIT + 1);
        assert_eq!(truncate_body("short"), "short");
    }

    #[test]
    fn abom_and_request_shapes() {
        let abom = Abom::for_session("0.1.0", "cli");
        assert_eq!(abom.agent_harness_id, "codex-cli");
        assert_eq!(
            abom.running_location,
            format!("cli-{}", std::env::consts::OS)
        );
        assert_eq!(
            Abom::for_session("0.1.0", "vscode").agent_harness_id,
            "codex-app"
        );
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let json =
            serde_json::to_value(AgentRegistrationRequest::new(abom, key.public_key())).unwrap();
        assert_eq!(json["capabilities"], serde_json::json!(["responsesapi"]));
        assert!(json["ttl"].is_null());
        assert_eq!(json["agent_public_key"], key.public_key_ssh());
    }

    #[test]
    fn task_body_is_exactly_timestamp_then_signature() {
        let key = AgentKey::from_seed(&[7u8; 32]).unwrap();
        let runtime = AgentRuntimeId::new("ar_1").unwrap();
        let at = crate::assertion::parse_timestamp("2026-11-21T02:54:54Z").unwrap();
        let body = TaskRegistrationBody::sign(&key, &runtime, at);
        let text = serde_json::to_string(&body).unwrap();
        assert!(text.starts_with(r#"{"timestamp":"2026-11-21T02:54:54Z","signature":""#));
        body.verify(key.public_key(), &runtime).unwrap();
        let other = AgentRuntimeId::new("ar_2").unwrap();
        assert!(body.verify(key.public_key(), &other).is_err());
    }
}
