//! Device-code login: `deviceauth/usercode`, `deviceauth/token` polling, the `/codex/device`
//! approval page and the `/deviceauth/callback` redirect target.

use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::authorize::issue_authorization_code;
use super::json_body;
use crate::api_error::ApiError;
use crate::html;
use crate::ids::{random_bytes, short_id, user_code};
use crate::protocol::{CLIENT_ID, DEFAULT_SCOPE, DEVICE_CODE_TTL_SECS, now_secs, s256_challenge};
use crate::shared::Shared;
use crate::stats::Counters;
use crate::world::{DeviceCode, DeviceCodeState, PendingAuthorization};

/// The user-code request body.
#[derive(Debug, Deserialize)]
struct UserCodeRequest {
    client_id: Option<String>,
}

/// `POST /api/accounts/deviceauth/usercode`.
pub(crate) async fn usercode(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: UserCodeRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    if request.client_id.as_deref() != Some(CLIENT_ID) {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client_id must be the Codex CLI client id.",
        )
        .into_response();
    }
    let device_auth_id = short_id("deviceauth_");
    let code = user_code();
    let expires_at = now_secs() + DEVICE_CODE_TTL_SECS;
    let mut world = shared.world();
    let auto_approve = world.settings.auto_approve;
    let interval = world.settings.device_poll_interval_secs;
    world.device_codes.insert(
        device_auth_id.clone(),
        DeviceCode {
            user_code: code.clone(),
            state: if auto_approve {
                DeviceCodeState::Approved
            } else {
                DeviceCodeState::Pending
            },
            expires_at,
        },
    );
    drop(world);
    Counters::bump(&shared.counters.device_codes_issued);
    if auto_approve {
        Counters::bump(&shared.counters.device_codes_approved);
    }
    let expires = chrono::DateTime::from_timestamp(expires_at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Json(json!({
        "device_auth_id": device_auth_id,
        "user_code": code,
        "interval": interval.to_string(),
        "expires_at": expires,
    }))
    .into_response()
}

/// The device-token poll body (no `Debug`: `device_auth_id` and `user_code` redeem a login).
#[derive(Deserialize)]
struct PollRequest {
    device_auth_id: Option<String>,
    user_code: Option<String>,
}

/// `POST /api/accounts/deviceauth/token`: 403 while pending; the code and PKCE pair once approved.
pub(crate) async fn poll(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: PollRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let (Some(device_auth_id), Some(code)) = (request.device_auth_id, request.user_code) else {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Both device_auth_id and user_code are required.",
        )
        .into_response();
    };
    let mut world = shared.world();
    let Some(device) = world.device_codes.get_mut(&device_auth_id) else {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "deviceauth_unknown",
            "Unknown device_auth_id.",
        )
        .into_response();
    };
    if device.user_code != code {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "deviceauth_unknown",
            "user_code does not belong to this device_auth_id.",
        )
        .into_response();
    }
    if device.expires_at <= now_secs() && device.state != DeviceCodeState::Exchanged {
        return ApiError::coded(
            StatusCode::GONE,
            "deviceauth_expired",
            "The device code has expired.",
        )
        .into_response();
    }
    match device.state {
        DeviceCodeState::Pending => {
            drop(world);
            Counters::bump(&shared.counters.device_polls_pending);
            ApiError::coded(
                StatusCode::FORBIDDEN,
                "deviceauth_authorization_pending",
                "The user has not approved this device code yet.",
            )
            .into_response()
        }
        DeviceCodeState::Denied => ApiError::coded(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "The user denied this device code.",
        )
        .into_response(),
        DeviceCodeState::Exchanged => ApiError::coded(
            StatusCode::BAD_REQUEST,
            "deviceauth_already_exchanged",
            "This device code was already exchanged.",
        )
        .into_response(),
        DeviceCodeState::Approved => {
            device.state = DeviceCodeState::Exchanged;
            let verifier = URL_SAFE_NO_PAD.encode(random_bytes::<64>());
            let challenge = s256_challenge(&verifier);
            let pending = PendingAuthorization {
                redirect_uri: format!("{}/deviceauth/callback", shared.urls.issuer),
                code_challenge: challenge.clone(),
                state: String::new(),
                scope: DEFAULT_SCOPE.to_owned(),
            };
            let authorization_code = issue_authorization_code(&shared, &mut world, &pending);
            Json(json!({
                "authorization_code": authorization_code,
                "code_challenge": challenge,
                "code_verifier": verifier,
            }))
            .into_response()
        }
    }
}

/// Query of the device page (`?user_code=` pre-fills the form).
#[derive(Debug, Deserialize)]
pub(crate) struct DevicePageQuery {
    user_code: Option<String>,
}

/// `GET /codex/device`: the form where a human enters the code.
pub(crate) async fn page(Query(query): Query<DevicePageQuery>) -> Html<String> {
    Html(html::device_page(
        query.user_code.as_deref().unwrap_or_default(),
        None,
    ))
}

/// The device form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct DeviceForm {
    user_code: String,
    decision: Option<String>,
}

/// `POST /codex/device`: approves (or denies) the entered code.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<DeviceForm>,
) -> Response {
    let deny = form.decision.as_deref() == Some("deny");
    let matched = shared.decide_device_code(&form.user_code, !deny);
    if !matched {
        return (
            StatusCode::BAD_REQUEST,
            Html(html::device_page(
                &form.user_code,
                Some("Unknown, expired or already used code."),
            )),
        )
            .into_response();
    }
    let message = if deny {
        "The device sign-in was denied."
    } else {
        "Device approved. Return to your terminal to finish signing in."
    };
    Html(html::message_page("Device sign-in", message)).into_response()
}

/// `GET /deviceauth/callback`: the device flow's redirect URI (never visited by the CLI).
pub(crate) async fn callback() -> Html<String> {
    Html(html::message_page(
        "Device sign-in",
        "You can close this window.",
    ))
}
