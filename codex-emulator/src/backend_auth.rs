//! Authentication of backend and agent-registration requests: Bearer access tokens and
//! `AgentAssertion` headers, plus the `ChatGPT-Account-ID` and FedRAMP routing checks.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::agent_keys::verify_signature;
use crate::api_error::ApiError;
use crate::config::SeedAccount;
use crate::protocol::{TIMESTAMP_WINDOW_SECS, now_secs};
use crate::shared::Shared;
use crate::stats::Counters;

/// Name of the account header (case-insensitive on the wire).
const CHATGPT_ACCOUNT_ID: &str = "chatgpt-account-id";
/// Name of the FedRAMP routing header.
const X_OPENAI_FEDRAMP: &str = "x-openai-fedramp";

/// Which credential authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A live Bearer access token.
    Bearer,
    /// A verified AgentAssertion for a registered runtime and task.
    Agent {
        agent_runtime_id: String,
        task_id: String,
    },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub(crate) account: SeedAccount,
    pub(crate) credential: Credential,
}

/// Which authorization schemes a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepts {
    /// Bearer access tokens only (agent registration).
    BearerOnly,
    /// Bearer access tokens or AgentAssertions (backend routes).
    BearerOrAssertion,
}

/// The four members of an AgentAssertion token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionEnvelope {
    agent_runtime_id: String,
    signature: String,
    task_id: String,
    timestamp: String,
}

/// Authenticates `headers` and checks the account and FedRAMP headers against the credential.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    accepts: Accepts,
) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        Counters::bump(&shared.counters.bearer_rejected);
        return Err(ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "missing_authorization",
            "Missing bearer or agent assertion authentication in header.",
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let principal = if scheme.eq_ignore_ascii_case("bearer") {
        authenticate_bearer(shared, token)?
    } else if scheme.eq_ignore_ascii_case("agentassertion") && accepts == Accepts::BearerOrAssertion
    {
        match verify_assertion(shared, token) {
            Ok(principal) => principal,
            Err(reason) => {
                Counters::bump(&shared.counters.assertions_rejected);
                tracing::info!(reason, "AgentAssertion rejected");
                return Err(ApiError::coded(
                    StatusCode::UNAUTHORIZED,
                    "invalid_agent_assertion",
                    format!("AgentAssertion rejected: {reason}."),
                ));
            }
        }
    } else {
        Counters::bump(&shared.counters.bearer_rejected);
        let expected = match accepts {
            Accepts::BearerOnly => "Bearer",
            Accepts::BearerOrAssertion => "Bearer or AgentAssertion",
        };
        return Err(ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "invalid_authorization_scheme",
            format!("The Authorization header must use the {expected} scheme."),
        ));
    };
    check_routing_headers(shared, headers, &principal)?;
    if let Credential::Agent { .. } = principal.credential {
        Counters::bump(&shared.counters.assertions_ok);
    } else {
        Counters::bump(&shared.counters.bearer_ok);
    }
    Ok(principal)
}

/// Accepts a live access token issued by this emulator.
fn authenticate_bearer(shared: &Shared, token: &str) -> Result<Principal, ApiError> {
    // issue 19: a live personal access token authenticates as its account.
    if token.trim().starts_with("at-")
        && let Some(record) = shared.live_personal_access_token(token)
    {
        return Ok(Principal {
            account: record.account,
            credential: Credential::Bearer,
        });
    }
    let world = shared.world();
    let rejected = |code: &str, message: &str| {
        Counters::bump(&shared.counters.bearer_rejected);
        tracing::info!(code, "bearer token rejected");
        Err(ApiError::coded(StatusCode::UNAUTHORIZED, code, message))
    };
    let Some(record) = world.access_tokens.get(token.trim()) else {
        return rejected(
            "invalid_token",
            "Could not parse your authentication token. Please try signing in again.",
        );
    };
    if record.revoked {
        return rejected(
            "token_invalidated",
            "Your authentication token has been invalidated. Please try signing in again.",
        );
    }
    if record.expires_at <= now_secs() {
        return rejected(
            "token_expired",
            "Provided authentication token is expired. Please try signing in again.",
        );
    }
    Ok(Principal {
        account: record.account.clone(),
        credential: Credential::Bearer,
    })
}

/// Verifies an AgentAssertion token; the error names what was wrong.
fn verify_assertion(shared: &Shared, token: &str) -> Result<Principal, String> {
    let raw = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| "token is not base64url without padding".to_owned())?;
    let envelope: AssertionEnvelope = serde_json::from_slice(&raw).map_err(|e| {
        format!("token is not a JSON object with exactly agent_runtime_id, signature, task_id, timestamp ({e})")
    })?;
    if envelope.agent_runtime_id.contains(':') || envelope.task_id.contains(':') {
        return Err("identifiers must not contain ':'".to_owned());
    }
    check_timestamp(&envelope.timestamp)?;
    let world = shared.world();
    let runtime = world
        .agents
        .get(&envelope.agent_runtime_id)
        .ok_or_else(|| "unknown agent_runtime_id".to_owned())?;
    let task = world
        .agent_tasks
        .get(&envelope.task_id)
        .ok_or_else(|| "unknown task_id".to_owned())?;
    if task.agent_runtime_id != envelope.agent_runtime_id {
        return Err("task_id belongs to a different agent runtime".to_owned());
    }
    let message = format!(
        "{}:{}:{}",
        envelope.agent_runtime_id, envelope.task_id, envelope.timestamp
    );
    verify_signature(&runtime.public_key, &message, &envelope.signature).map_err(str::to_owned)?;
    Ok(Principal {
        account: runtime.account.clone(),
        credential: Credential::Agent {
            agent_runtime_id: envelope.agent_runtime_id,
            task_id: envelope.task_id,
        },
    })
}

/// Requires an RFC 3339 timestamp within ±5 minutes of the server clock.
pub(crate) fn check_timestamp(timestamp: &str) -> Result<(), String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(timestamp)
        .map_err(|_| format!("timestamp `{timestamp}` is not RFC 3339"))?;
    let skew = (parsed.timestamp() - now_secs()).abs();
    if skew > TIMESTAMP_WINDOW_SECS {
        return Err(format!(
            "timestamp is {skew}s away from the server clock (window ±{TIMESTAMP_WINDOW_SECS}s)"
        ));
    }
    Ok(())
}

/// `ChatGPT-Account-ID` must name the credential's account; FedRAMP accounts must route.
fn check_routing_headers(
    shared: &Shared,
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<(), ApiError> {
    if let Some(value) = headers.get(CHATGPT_ACCOUNT_ID) {
        let claimed = value.to_str().unwrap_or_default();
        if claimed != principal.account.account_id {
            Counters::bump(&shared.counters.account_mismatches);
            return Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                "account_mismatch",
                "The ChatGPT-Account-ID header does not match the authenticated account.",
            ));
        }
    }
    if principal.account.fedramp {
        let routed = headers
            .get(X_OPENAI_FEDRAMP)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !routed {
            return Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                "fedramp_routing_required",
                "FedRAMP accounts must send X-OpenAI-Fedramp: true.",
            ));
        }
    }
    Ok(())
}

/// Extractor for `/wham/...` routes: counts the request and authenticates it.
#[derive(Debug, Clone)]
pub(crate) struct BackendCaller(pub(crate) Principal);

impl FromRequestParts<Arc<Shared>> for BackendCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Counters::bump(&shared.counters.backend_requests);
        authenticate(shared, &parts.headers, Accepts::BearerOrAssertion).map(BackendCaller)
    }
}
