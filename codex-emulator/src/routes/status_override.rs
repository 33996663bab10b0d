//! The middleware that answers a queued status override (see `Faults`) before
//! the real handler runs.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::shared::Shared;
use crate::stats::Counters;

/// Middleware: answers a matching status override before the real handler runs.
pub(crate) async fn apply_status_overrides(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/_emulator") {
        let taken = shared.world().faults.take_override(path);
        if let Some((status, body)) = taken {
            Counters::bump(&shared.counters.faults_injected);
            tracing::info!(path, status, "fault injected: status override");
            return canned_response(status, body);
        }
    }
    next.run(request).await
}

/// Builds the canned response of a status override.
fn canned_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = (status, Body::from(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
