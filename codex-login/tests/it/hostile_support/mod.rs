//! Hostile servers on loopback for the `hostile_*` tests: an echo server that answers every
//! request with a copy of it (body and headers) in an error, and JWT builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use crate::common::fake_jwt;

/// An id token for `user` in `account`, minted by `iss` (when given).
pub fn id_token(iss: Option<&str>, user: &str, account: &str) -> String {
    let mut claims = json!({
        "sub": user,
        "email": format!("{user}@example.com"),
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "plus",
            "chatgpt_account_id": account,
            "chatgpt_user_id": user,
        }
    });
    if let Some(iss) = iss {
        claims["iss"] = json!(iss);
    }
    fake_jwt(&claims)
}

/// An access token for `user` in `account`, expiring at `exp`.
pub fn access_token(user: &str, account: &str, exp: i64) -> String {
    fake_jwt(&json!({
        "sub": user,
        "exp": exp,
        "https://api.openai.com/auth": {
            "chatgpt_account_id": account,
            "chatgpt_user_id": user,
        }
    }))
}

/// A server that records every request and answers it with a copy of itself:
/// - under `/json`: `400` with `{"error":"invalid_request","error_description":"<copy>"}`;
/// - under `/huge`: `500` with the copy followed by 16 MiB of filler;
/// - anywhere else: `400` with the copy as plain text.
///
/// The copy is the raw body, then every header as `name: value`.
pub struct EchoServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The raw bodies received.
    pub bodies: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EchoServer {
    pub async fn start() -> Self {
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = bodies.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let recorded = recorded.clone();
            async move { echo(&recorded, &uri, &headers, &body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, bodies, task }
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    /// Everything received, joined.
    pub fn received(&self) -> String {
        self.bodies.lock().unwrap().join("\n")
    }
}

fn echo(recorded: &Mutex<Vec<String>>, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let raw = String::from_utf8_lossy(body).into_owned();
    recorded.lock().unwrap().push(raw.clone());
    let mut copy = raw;
    for (name, value) in headers {
        copy.push_str(&format!(
            "\n{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    let path = uri.path();
    if path.starts_with("/json") {
        let body = json!({"error": "invalid_request", "error_description": copy});
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    } else if path.starts_with("/huge") {
        copy.push_str(&"x".repeat(16 * 1024 * 1024));
        (StatusCode::INTERNAL_SERVER_ERROR, copy).into_response()
    } else {
        (StatusCode::BAD_REQUEST, copy).into_response()
    }
}

/// Pieces of `secret` that must not show: the whole, and its start, middle and end.
pub fn fragments(secret: &str) -> Vec<String> {
    const PIECE: usize = 16;
    let mut pieces = vec![secret.to_owned()];
    if secret.len() > 2 * PIECE && secret.is_ascii() {
        let middle = secret.len() / 2 - PIECE / 2;
        pieces.push(secret[..PIECE].to_owned());
        pieces.push(secret[middle..middle + PIECE].to_owned());
        pieces.push(secret[secret.len() - PIECE..].to_owned());
    }
    pieces
}

/// Panics if `text` (named `what`) holds any fragment of `secret` or of its form- and
/// percent-encodings.
pub fn assert_no_secret(what: &str, text: &str, secret: &str) {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    for encoded in [secret.to_owned(), form.clone(), form.replace('+', "%20")] {
        for piece in fragments(&encoded) {
            assert!(
                !text.contains(&piece),
                "{what} holds a piece of a secret ({} chars):\n{text}",
                piece.len()
            );
        }
    }
}

/// The longest run of base64url characters in `text` (a PKCE verifier is 43+ of them).
pub fn longest_base64url_run(text: &str) -> usize {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::len)
        .max()
        .unwrap_or(0)
}
