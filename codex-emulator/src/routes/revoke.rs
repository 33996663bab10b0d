//! `POST /oauth/revoke` (RFC 7009, JSON body as the Codex CLI sends it).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::json_body;
use crate::api_error::ApiError;
use crate::protocol::CLIENT_ID;
use crate::shared::Shared;
use crate::stats::Counters;

/// The revoke request body (no `Debug`: it holds the token).
#[derive(Deserialize)]
struct RevokeRequest {
    token: Option<String>,
    token_type_hint: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth/revoke`: a refresh token revokes its whole family; an access token only itself.
/// Unknown tokens still get 200, as RFC 7009 requires.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: RevokeRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let Some(token) = request.token.filter(|t| !t.is_empty()) else {
        return ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_request", "Missing token.")
            .into_response();
    };
    if let Some(client_id) = request.client_id.as_deref()
        && client_id != CLIENT_ID
    {
        return ApiError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!("Unknown client_id `{client_id}`."),
        )
        .into_response();
    }
    match request.token_type_hint.as_deref() {
        None | Some("refresh_token" | "access_token") => {}
        Some(other) => {
            return ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                format!("Unsupported token_type_hint `{other}`."),
            )
            .into_response();
        }
    }
    let mut world = shared.world();
    let revoked = if let Some(family_id) = world
        .refresh_tokens
        .get(&token)
        .map(|r| r.family_id.clone())
    {
        world.revoke_family(&family_id);
        true
    } else if let Some(record) = world.access_tokens.get_mut(&token) {
        record.revoked = true;
        true
    } else {
        false
    };
    drop(world);
    if revoked {
        Counters::bump(&shared.counters.revoked);
        tracing::info!("token revoked");
    }
    Json(json!({})).into_response()
}
