//! `POST /oauth/token`: authorization code + PKCE, rotating refresh tokens with reuse
//! detection, and the API-key token exchange.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::{content_type_is, unique_params};
use crate::api_error::ApiError;
use crate::ids::opaque_token;
use crate::listener::ConnectionHandle;
use crate::protocol::{CLIENT_ID, ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, now_secs, s256_challenge};
use crate::shared::Shared;
use crate::shared::token_issuance::TokenSet;
use crate::stats::Counters;
use crate::world::RefreshState;

/// `POST /oauth/token`: dispatches on content type and grant.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<ConnectionHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    Counters::bump(&shared.counters.token_requests);
    if content_type_is(&headers, "application/json") {
        return refresh_grant(&shared, &connection, &body).await;
    }
    if !content_type_is(&headers, "application/x-www-form-urlencoded") {
        return ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded (authorization_code, \
             token-exchange) or application/json (refresh_token).",
        )
        .into_response();
    }
    let form = match parse_form(&body) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(&shared, &form),
        Some(TOKEN_EXCHANGE_GRANT) => exchange_api_key(&shared, &form),
        Some(crate::federation::JWT_BEARER_GRANT) => {
            return super::federation::exchange(&shared, &form).await;
        }
        Some("refresh_token") => Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The refresh_token grant must be sent as JSON (Content-Type: application/json).",
        )),
        Some(other) => Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant_type `{other}`."),
        )),
        None => Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant_type.",
        )),
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Parses a form body, rejecting repeated parameters.
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    unique_params(body).map_err(|repeated| {
        let description = match repeated {
            Some(key) => format!("Parameter `{key}` appears more than once."),
            None => "Malformed form body.".to_owned(),
        };
        ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
    })
}

/// A required, non-empty form parameter.
fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("Missing {name}."),
            )
        })
}

/// Requires the Codex CLI client id.
fn check_client(client_id: &str) -> Result<(), ApiError> {
    if client_id == CLIENT_ID {
        Ok(())
    } else {
        Err(ApiError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!("Unknown client_id `{client_id}`."),
        ))
    }
}

/// A PKCE verifier: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The authorization_code grant (form body).
fn exchange_code(
    shared: &Shared,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, ApiError> {
    let outcome = exchange_code_inner(shared, form);
    match &outcome {
        Ok(_) => Counters::bump(&shared.counters.code_exchanges_ok),
        Err(error) => {
            Counters::bump(&shared.counters.code_exchanges_rejected);
            tracing::info!(
                status = error.status().as_u16(),
                "authorization code exchange rejected"
            );
        }
    }
    outcome.map(|set| set.response_body())
}

fn exchange_code_inner(
    shared: &Shared,
    form: &HashMap<String, String>,
) -> Result<TokenSet, ApiError> {
    check_client(required(form, "client_id")?)?;
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = required(form, "code_verifier")?;
    if !is_well_formed_verifier(verifier) {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code_verifier must be 43-128 characters of [A-Za-z0-9-._~].",
        ));
    }
    let invalid_grant =
        |description: &str| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let mut world = shared.world();
    let Some(record) = world.authorization_codes.get_mut(code) else {
        return Err(invalid_grant("Unknown authorization code."));
    };
    if record.used {
        // A replayed code revokes whatever was issued from it (RFC 6749 §4.1.2).
        let family = record.issued_family.clone();
        if let Some(family) = family {
            world.revoke_family(&family);
        }
        return Err(invalid_grant("Authorization code was already used."));
    }
    record.used = true;
    if record.expires_at <= now_secs() {
        return Err(invalid_grant("Authorization code has expired."));
    }
    if record.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the one the code was issued for.",
        ));
    }
    let computed = s256_challenge(verifier);
    if !bool::from(computed.as_bytes().ct_eq(record.code_challenge.as_bytes())) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge (PKCE).",
        ));
    }
    let account = record.account.clone();
    let scope = record.scope.clone();
    let ttl = world.settings.access_token_ttl_secs;
    let set = shared.issue_token_set(&mut world, &account, None, &scope, ttl);
    let family_id = world
        .refresh_tokens
        .get(&set.refresh_token)
        .map(|r| r.family_id.clone());
    if let Some(record) = world.authorization_codes.get_mut(code) {
        record.issued_family = family_id;
    }
    Ok(set)
}

/// The token exchange of an id token for an API key (form body).
fn exchange_api_key(
    shared: &Shared,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, ApiError> {
    check_client(required(form, "client_id")?)?;
    if required(form, "requested_token")? != "openai-api-key" {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "requested_token must be `openai-api-key`.",
        ));
    }
    if required(form, "subject_token_type")? != ID_TOKEN_TYPE {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("subject_token_type must be `{ID_TOKEN_TYPE}`."),
        ));
    }
    let subject = required(form, "subject_token")?;
    let mut world = shared.world();
    let Some(record) = world.id_tokens.get(subject) else {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "subject_token is not an id token issued by this issuer.",
        ));
    };
    if record.expires_at <= now_secs() {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "subject_token has expired.",
        ));
    }
    let account = record.account.clone();
    let api_key = opaque_token("sk-emu-");
    world.api_keys.insert(api_key.clone(), account);
    drop(world);
    Counters::bump(&shared.counters.api_key_exchanges);
    Ok(json!({
        "access_token": api_key,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
    }))
}

/// The refresh_token grant's JSON body (no `Debug`: it holds the refresh token).
#[derive(Deserialize)]
struct RefreshRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    refresh_token: Option<String>,
}

/// Why a refresh was refused, and which counter it moves.
enum RefreshRefusal {
    Reused,
    Other(ApiError),
}

/// The refresh_token grant (JSON body): single use, rotation, reuse detection.
async fn refresh_grant(shared: &Shared, connection: &ConnectionHandle, body: &[u8]) -> Response {
    let request: RefreshRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => {
            Counters::bump(&shared.counters.refresh_rejected);
            return ApiError::coded(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("Invalid JSON body: {e}."),
            )
            .into_response();
        }
    };
    let delay_ms = shared.world().faults.refresh_delay_ms;
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let outcome = rotate_refresh_token(shared, &request);
    match outcome {
        Ok((set, drop_connection)) => {
            Counters::bump(&shared.counters.refresh_ok);
            if drop_connection {
                Counters::bump(&shared.counters.refresh_dropped);
                tracing::info!("fault injected: refresh processed, connection dropped");
                connection.drop_connection();
            }
            Json(set.response_body()).into_response()
        }
        Err(RefreshRefusal::Reused) => {
            Counters::bump(&shared.counters.refresh_reused);
            tracing::info!("refresh token reuse detected");
            ApiError::coded(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "Your refresh token has already been used to generate a new access token. \
                 Please try signing in again.",
            )
            .into_response()
        }
        Err(RefreshRefusal::Other(error)) => {
            Counters::bump(&shared.counters.refresh_rejected);
            tracing::info!(status = error.status().as_u16(), "refresh rejected");
            error.into_response()
        }
    }
}

/// Checks and rotates a refresh token atomically; returns the new set and whether to drop the
/// connection (fault injection).
fn rotate_refresh_token(
    shared: &Shared,
    request: &RefreshRequest,
) -> Result<(TokenSet, bool), RefreshRefusal> {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        RefreshRefusal::Other(ApiError::coded(status, code, message))
    };
    if request.grant_type.as_deref() != Some("refresh_token") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "JSON bodies are only accepted for grant_type `refresh_token`.",
        ));
    }
    match request.client_id.as_deref() {
        Some(CLIENT_ID) => {}
        Some(_) => {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client_id.",
            ));
        }
        None => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing client_id.",
            ));
        }
    }
    let Some(token) = request.refresh_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing refresh_token.",
        ));
    };
    let mut world = shared.world();
    let Some(record) = world.refresh_tokens.get(token) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Unknown refresh token.",
        ));
    };
    let family_id = record.family_id.clone();
    let state = record.state;
    let expires_at = record.expires_at;
    let Some(family) = world.families.get(&family_id) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Unknown refresh token.",
        ));
    };
    if family.revoked || state == RefreshState::Invalidated {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "refresh_token_invalidated",
            "Your refresh token has been invalidated. Please try signing in again.",
        ));
    }
    if state == RefreshState::Used {
        if shared.config.revoke_family_on_reuse {
            world.revoke_family(&family_id);
        }
        return Err(RefreshRefusal::Reused);
    }
    if expires_at <= now_secs() {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "refresh_token_expired",
            "Your refresh token has expired. Please try signing in again.",
        ));
    }
    let account = family.account.clone();
    let scope = family.scope.clone();
    if let Some(record) = world.refresh_tokens.get_mut(token) {
        record.state = RefreshState::Used;
    }
    let ttl = world.settings.access_token_ttl_secs;
    let set = shared.issue_token_set(&mut world, &account, Some(&family_id), &scope, ttl);
    let drop_connection = world.faults.take_refresh_drop();
    Ok((set, drop_connection))
}
