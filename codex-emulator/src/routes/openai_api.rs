//! `GET /v1/models`: the one OpenAI API route the emulator serves, so a client can prove an
//! API key works (`codex whoami --check`). It accepts only keys this emulator minted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::api_error::ApiError;
use crate::shared::Shared;
use crate::stats::Counters;

/// Lists one model for a known API key; a missing or unknown key gets the API's 401.
pub(crate) async fn models(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let known = !key.is_empty() && shared.world().api_keys.contains_key(key);
    if !known {
        Counters::bump(&shared.counters.api_key_checks_rejected);
        // The real API names the key (masked); never echo it whole.
        return Err(ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "Incorrect API key provided.",
        ));
    }
    Counters::bump(&shared.counters.api_key_checks_ok);
    Ok(Json(json!({
        "object": "list",
        "data": [{"id": "gpt-emu", "object": "model", "owned_by": "codex-emulator"}],
    })))
}
