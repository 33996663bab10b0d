//! JSON error responses in the shapes the real services use.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer: an HTTP status and a JSON body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// The OAuth shape `{"error": "...", "error_description": "..."}` (authorize/code exchange).
    pub(crate) fn oauth(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"error": error, "error_description": description.into()}),
        }
    }

    /// The OpenAI shape `{"error": {"message", "type", "param", "code"}}` (refresh, backend).
    pub(crate) fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({
                "error": {
                    "message": message.into(),
                    "type": "invalid_request_error",
                    "param": null,
                    "code": code,
                },
                "status": status.as_u16(),
            }),
        }
    }

    /// The HTTP status of this error.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
