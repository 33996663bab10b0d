//! Agent identity: runtime registration, task registration and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_body;
use crate::agent_keys::{parse_ssh_public_key_line, seal_to_agent_key, verify_signature};
use crate::api_error::ApiError;
use crate::backend_auth::{Accepts, authenticate, check_timestamp};
use crate::ids::short_id;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::world::AgentTask;

/// The ABOM of a registering agent.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Fields are required on the wire; their values are not used.
struct Abom {
    agent_version: String,
    agent_harness_id: String,
    running_location: String,
}

/// The agent registration body.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // `abom`, `capabilities` and `ttl` are validated for shape only.
struct RegisterAgentRequest {
    abom: Abom,
    agent_public_key: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    ttl: Option<Value>,
}

/// `POST /api/accounts/v1/agent/register`: needs a live Bearer access token.
pub(crate) async fn register(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = match authenticate(&shared, &headers, Accepts::BearerOnly) {
        Ok(principal) => principal,
        Err(error) => return error.into_response(),
    };
    let request: RegisterAgentRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let public_key = match parse_ssh_public_key_line(&request.agent_public_key) {
        Ok(key) => key,
        Err(reason) => {
            return ApiError::coded(StatusCode::BAD_REQUEST, "invalid_agent_public_key", reason)
                .into_response();
        }
    };
    let agent_runtime_id = {
        let mut world = shared.world();
        shared.register_agent_runtime(&mut world, public_key, principal.account)
    };
    tracing::info!(agent_runtime_id, "agent runtime registered");
    Json(json!({"agent_runtime_id": agent_runtime_id})).into_response()
}

/// The task registration body: exactly a timestamp and a signature.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterTaskRequest {
    timestamp: String,
    signature: String,
}

/// `POST /api/accounts/v1/agent/{id}/task/register`: the Ed25519 signature over
/// `<id>:<timestamp>` is the only credential.
pub(crate) async fn register_task(
    State(shared): State<Arc<Shared>>,
    Path(agent_runtime_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = register_task_inner(&shared, &agent_runtime_id, &headers, &body);
    match outcome {
        Ok(body) => {
            Counters::bump(&shared.counters.task_registrations);
            tracing::info!(agent_runtime_id, "agent task registered");
            Json(body).into_response()
        }
        Err(error) => {
            Counters::bump(&shared.counters.task_registrations_rejected);
            tracing::info!(
                agent_runtime_id,
                status = error.status().as_u16(),
                "task registration rejected"
            );
            error.into_response()
        }
    }
}

fn register_task_inner(
    shared: &Shared,
    agent_runtime_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let request: RegisterTaskRequest = json_body(headers, body)?;
    let public_key = shared
        .world()
        .agents
        .get(agent_runtime_id)
        .map(|runtime| runtime.public_key)
        .ok_or_else(|| {
            ApiError::coded(
                StatusCode::NOT_FOUND,
                "agent_runtime_not_found",
                "Unknown agent runtime.",
            )
        })?;
    check_timestamp(&request.timestamp)
        .map_err(|reason| ApiError::coded(StatusCode::UNAUTHORIZED, "invalid_timestamp", reason))?;
    let message = format!("{agent_runtime_id}:{}", request.timestamp);
    verify_signature(&public_key, &message, &request.signature)
        .map_err(|reason| ApiError::coded(StatusCode::UNAUTHORIZED, "invalid_signature", reason))?;
    let task_id = short_id("task_");
    shared.world().agent_tasks.insert(
        task_id.clone(),
        AgentTask {
            agent_runtime_id: agent_runtime_id.to_owned(),
        },
    );
    if shared.config.encrypt_task_ids {
        let sealed = seal_to_agent_key(&public_key, task_id.as_bytes()).map_err(|reason| {
            ApiError::coded(StatusCode::INTERNAL_SERVER_ERROR, "server_error", reason)
        })?;
        Ok(json!({"encrypted_task_id": sealed}))
    } else {
        Ok(json!({"task_id": task_id}))
    }
}

/// `GET /backend-api/wham/agent-identities/jwks` (and `/.well-known/jwks.json`).
pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Counters::bump(&shared.counters.jwks_requests);
    Json(shared.signer.jwks())
}
