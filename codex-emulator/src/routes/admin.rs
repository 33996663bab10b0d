//! The `/_emulator/...` admin endpoints for tests and demos (loopback only, no auth).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_body;
use crate::agent_keys::{generate_agent_key, public_key_from_pkcs8_base64};
use crate::api_error::ApiError;
use crate::config::SeedAccount;
use crate::faults::Faults;
use crate::shared::{IssueTokens, Shared};

/// The admin sub-router (nested under `/_emulator`).
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/agent-identity-jwt", post(agent_identity_jwt))
        .route("/tokens", post(tokens))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/settings", post(settings))
        .route("/refresh-tokens/expire", post(expire_refresh_token))
        .route("/access-tokens/expire", post(expire_access_tokens))
        .route("/agent-tasks/forget", post(forget_agent_tasks))
        .route("/refresh-tokens/invalidate", post(invalidate_refresh_token))
        .route("/device-codes/approve", post(approve_device_code))
        .route("/login-account", post(set_login_account))
        .route("/personal-access-tokens", post(mint_personal_access_token))
        .route(
            "/personal-access-tokens/revoke",
            post(revoke_personal_access_token),
        )
        .route("/federation-rules", post(set_federation_rule))
        .route("/federation-log", get(federation_log))
        .route("/oidc/subject-token", post(subject_token))
        .route("/oidc/actions-request-token", get(actions_request_token))
}

/// Parses an optional JSON body: empty means the default.
fn optional_json<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        json_body(headers, body)
    }
}

/// `POST /_emulator/access-tokens/expire`: every live access token now gets `401 token_expired`.
async fn expire_access_tokens(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "expired": shared.expire_access_tokens() }))
}

/// `POST /_emulator/agent-tasks/forget`: every registered agent task is dropped.
async fn forget_agent_tasks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "forgotten": shared.forget_agent_tasks() }))
}

/// `GET /_emulator/stats`.
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(shared.counters.snapshot()))
}

/// Body of `POST /_emulator/agent-identity-jwt` (no `Debug`: it holds a private key).
#[derive(Default, Deserialize)]
#[serde(default)]
struct MintRequest {
    agent_private_key: Option<String>,
}

/// `POST /_emulator/agent-identity-jwt`: a signed agent identity JWT with a registered key.
async fn agent_identity_jwt(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: MintRequest = match optional_json(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let (private_key, public_key) = match request.agent_private_key {
        Some(private_key) => match public_key_from_pkcs8_base64(&private_key) {
            Ok(public_key) => (private_key.trim().to_owned(), public_key),
            Err(error) => {
                return ApiError::coded(
                    StatusCode::BAD_REQUEST,
                    "invalid_agent_private_key",
                    error.to_string(),
                )
                .into_response();
            }
        },
        None => {
            let key = generate_agent_key();
            (key.private_key_pkcs8_base64, key.public_key)
        }
    };
    let minted = shared.mint_agent_identity(private_key, public_key);
    Json(json!({"jwt": minted.jwt, "agent_runtime_id": minted.agent_runtime_id})).into_response()
}

/// Body of `POST /_emulator/tokens`; a missing TTL means the emulator's current TTL.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokensRequest {
    access_token_ttl_secs: Option<i64>,
    account: Option<SeedAccount>,
}

/// `POST /_emulator/tokens`: a token triple in a fresh family.
async fn tokens(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    match optional_json::<TokensRequest>(&headers, &body) {
        Ok(request) => {
            let access_token_ttl_secs = request
                .access_token_ttl_secs
                .unwrap_or_else(|| shared.world().settings.access_token_ttl_secs);
            let spec = IssueTokens {
                access_token_ttl_secs,
                account: request.account,
            };
            Json(json!(shared.issue_chatgpt_tokens(spec))).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /_emulator/faults`: the faults still armed.
async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(shared.world().faults.clone()))
}

/// `POST /_emulator/faults`: replaces the injected faults (`Faults` JSON).
async fn set_faults(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match optional_json::<Faults>(&headers, &body) {
        Ok(faults) => {
            shared.world().faults = faults;
            Json(json!({"ok": true})).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Body of `POST /_emulator/settings`; absent fields stay unchanged.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SettingsRequest {
    access_token_ttl_secs: Option<i64>,
    auto_approve: Option<bool>,
    device_poll_interval_secs: Option<u64>,
}

/// `POST /_emulator/settings`.
async fn settings(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: SettingsRequest = match optional_json(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut world = shared.world();
    if let Some(ttl) = request.access_token_ttl_secs {
        world.settings.access_token_ttl_secs = ttl;
    }
    if let Some(auto) = request.auto_approve {
        world.settings.auto_approve = auto;
    }
    if let Some(interval) = request.device_poll_interval_secs {
        world.settings.device_poll_interval_secs = interval;
    }
    let settings = &world.settings;
    Json(json!({
        "access_token_ttl_secs": settings.access_token_ttl_secs,
        "auto_approve": settings.auto_approve,
        "device_poll_interval_secs": settings.device_poll_interval_secs,
    }))
    .into_response()
}

/// Body naming one refresh token (no `Debug`: it holds the token).
#[derive(Deserialize)]
struct RefreshTokenRequest {
    refresh_token: String,
}

/// Answers whether a refresh token was found.
fn found_or_404(found: bool) -> Response {
    if found {
        Json(json!({"ok": true})).into_response()
    } else {
        ApiError::coded(StatusCode::NOT_FOUND, "not_found", "Unknown refresh token.")
            .into_response()
    }
}

/// `POST /_emulator/refresh-tokens/expire`.
async fn expire_refresh_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_body::<RefreshTokenRequest>(&headers, &body) {
        Ok(request) => found_or_404(shared.set_refresh_state(&request.refresh_token, true)),
        Err(error) => error.into_response(),
    }
}

/// `POST /_emulator/refresh-tokens/invalidate`.
async fn invalidate_refresh_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_body::<RefreshTokenRequest>(&headers, &body) {
        Ok(request) => found_or_404(shared.set_refresh_state(&request.refresh_token, false)),
        Err(error) => error.into_response(),
    }
}

/// Body naming one device user code.
#[derive(Debug, Deserialize)]
struct UserCodeRequest {
    user_code: String,
}

/// `POST /_emulator/device-codes/approve`: approves like a human at `/codex/device`.
async fn approve_device_code(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_body::<UserCodeRequest>(&headers, &body) {
        Ok(request) if shared.decide_device_code(&request.user_code, true) => {
            Json(json!({"ok": true})).into_response()
        }
        Ok(_) => ApiError::coded(
            StatusCode::NOT_FOUND,
            "not_found",
            "No pending device code with that user code.",
        )
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /_emulator/login-account`: later logins (browser, device code) sign in as this
/// account instead of the seed; an empty body goes back to the seed. Tokens already issued
/// keep their account, so tests can hold logins of several accounts at once.
async fn set_login_account(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match json_body::<SeedAccount>(&headers, &body) {
            Ok(account) => Some(account),
            Err(error) => return error.into_response(),
        }
    };
    let mut world = shared.world();
    world.settings.login_account = account;
    let current = world
        .settings
        .login_account
        .clone()
        .unwrap_or_else(|| shared.config.seed.clone());
    Json(json!({"login_account": current})).into_response()
}

/// `POST /_emulator/personal-access-tokens` (body: `PersonalAccessTokenSpec`, optional):
/// `{"token": "at-…"}` (issue 19).
async fn mint_personal_access_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match optional_json::<crate::PersonalAccessTokenSpec>(&headers, &body) {
        Ok(spec) => {
            Json(json!({ "token": shared.mint_personal_access_token(spec) })).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Body of `POST /_emulator/personal-access-tokens/revoke` (no `Debug`: it holds a token).
#[derive(Deserialize)]
struct RevokePat {
    token: String,
}

/// `POST /_emulator/personal-access-tokens/revoke`: `{"revoked": bool}`.
async fn revoke_personal_access_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_body::<RevokePat>(&headers, &body) {
        Ok(request) => Json(json!({
            "revoked": shared.revoke_personal_access_token(&request.token)
        }))
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /_emulator/federation-rules`: adds or replaces a rule (`FederationRule` JSON).
async fn set_federation_rule(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_body::<crate::federation::FederationRule>(&headers, &body) {
        Ok(rule) => {
            let id = rule.id.clone();
            shared.world().federation_rules.insert(id.clone(), rule);
            Json(json!({ "id": id })).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /_emulator/federation-log`: every workload identity exchange answered.
async fn federation_log(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(shared.world().federation_log.clone()))
}

/// `POST /_emulator/oidc/subject-token`: a subject token (`SubjectTokenSpec` JSON, optional).
async fn subject_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match optional_json::<crate::federation::SubjectTokenSpec>(&headers, &body) {
        Ok(spec) => Json(json!({ "token": shared.mint_subject_token(&spec) })).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /_emulator/oidc/actions-request-token`: the bearer the Actions-style endpoint wants.
async fn actions_request_token(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "token": shared.world().actions_request_token.clone() }))
}
