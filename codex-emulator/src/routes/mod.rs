//! HTTP routes: issuer, device code, agent identity, backend and admin.

mod admin;
mod agent;
mod authorize;
mod backend;
mod device;
mod federation;
mod openai_api;
mod pat_whoami;
mod revoke;
mod status_override;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::api_error::ApiError;
use crate::shared::Shared;
use status_override::apply_status_overrides;

/// Builds the emulator's router over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/oauth/authorize/decision", post(authorize::decision))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/api/accounts/deviceauth/usercode", post(device::usercode))
        .route("/api/accounts/deviceauth/token", post(device::poll))
        .route("/codex/device", get(device::page).post(device::submit))
        .route("/deviceauth/callback", get(device::callback))
        .route("/api/accounts/v1/agent/register", post(agent::register))
        .route(
            "/api/accounts/v1/user-auth-credential/whoami",
            get(pat_whoami::whoami),
        )
        .route(
            "/api/accounts/v1/agent/{agent_runtime_id}/task/register",
            post(agent::register_task),
        )
        .route("/backend-api/wham/agent-identities/jwks", get(agent::jwks))
        // The official CLI treats a JWKS base containing `/backend-api` as a ChatGPT base and
        // appends `/wham/agent-identities/jwks`; fed `jwks_base_url` it asks for this path.
        .route(
            "/backend-api/wham/wham/agent-identities/jwks",
            get(agent::jwks),
        )
        .route("/.well-known/jwks.json", get(agent::jwks))
        .route("/backend-api/wham/usage", get(backend::usage))
        .route(
            "/backend-api/wham/accounts/check",
            get(backend::accounts_check),
        )
        .route("/backend-api/wham/profiles/me", get(backend::profile))
        .route("/backend-api/wham/tasks/list", get(backend::list_tasks))
        .route("/backend-api/wham/tasks", post(backend::create_task))
        .route("/backend-api/wham/tasks/{task_id}", get(backend::get_task))
        .route("/v1/models", get(openai_api::models))
        .route(
            "/oidc/.well-known/openid-configuration",
            get(federation::discovery),
        )
        .route("/oidc/jwks", get(federation::jwks))
        .route("/oidc/actions/token", get(federation::actions_token))
        .nest("/_emulator", admin::router())
        .fallback(not_found)
        .layer(from_fn_with_state(shared.clone(), apply_status_overrides))
        .layer(from_fn(log_request))
        .with_state(shared)
}

/// Logs method, path (never the query: it may hold codes) and status of every request.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(%method, path, status = response.status().as_u16(), "request");
    response
}

/// Answers unknown routes with a JSON 404.
async fn not_found() -> Response {
    ApiError::coded(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such route on codex-emulator.",
    )
    .into_response()
}

/// Whether the request body is declared as `mime` (parameters such as charset ignored).
fn content_type_is(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(mime))
}

/// Parses a URL-encoded query or form body into a map; `Err(Some(name))` names a parameter
/// that appears more than once, `Err(None)` means the encoding is malformed.
fn unique_params(encoded: &[u8]) -> Result<HashMap<String, String>, Option<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded).map_err(|_| None)?;
    let mut params = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        if params.contains_key(&key) {
            return Err(Some(key));
        }
        params.insert(key, value);
    }
    Ok(params)
}

/// Parses a JSON request body, requiring `Content-Type: application/json`.
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if !content_type_is(headers, "application/json") {
        return Err(ApiError::coded(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "Content-Type must be application/json.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Invalid JSON body: {e}."),
        )
    })
}
