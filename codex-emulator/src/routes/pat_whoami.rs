//! `GET /api/accounts/v1/user-auth-credential/whoami` (issue 19): what a
//! personal access token (`Authorization: Bearer at-…`) belongs to.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::ApiError;
use crate::shared::Shared;
use crate::stats::Counters;

/// Answers the five fields for a live token; `401` otherwise. The
/// `whoami_delay_ms` fault stalls the answer; status overrides apply as on
/// every route.
pub(super) async fn whoami(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    Counters::bump(&shared.counters.pat_whoami_requests);
    let delay = shared.world().faults.whoami_delay_ms;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(token) = token.filter(|token| token.starts_with("at-")) else {
        Counters::bump(&shared.counters.pat_whoami_rejected);
        return ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "missing_authorization",
            "A personal access token is required (Authorization: Bearer at-...).",
        )
        .into_response();
    };
    let Some(record) = shared.live_personal_access_token(&token) else {
        Counters::bump(&shared.counters.pat_whoami_rejected);
        return ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "invalid_personal_access_token",
            "The personal access token is unknown or revoked.",
        )
        .into_response();
    };
    let account = record.account;
    Json(json!({
        "email": if record.null_email { None } else { Some(account.email) },
        "chatgpt_user_id": account.user_id,
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan_type,
        "chatgpt_account_is_fedramp": account.fedramp,
    }))
    .into_response()
}
