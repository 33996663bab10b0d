//! No credential reaches a log line: every request path (success, 401
//! recovery, error body echoing the token, decode failure) runs at TRACE
//! level with every target enabled, and the captured output is searched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_auth_provider::{BearerAuth, SecretString, SharedAuthProvider};
use codex_backend_client::BackendClient;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::RotatingSource;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const OLD: &str = "old-access-token-SECRETAAAA";
const NEW: &str = "new-access-token-SECRETBBBB";
const ECHOED: &str = "echoed-key-SECRETCCCC";

#[tokio::test]
async fn no_token_in_any_log_line() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .and(header("authorization", format!("Bearer {OLD}").as_str()))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"code": "token_expired", "message": OLD}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/usage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"plan_type": "pro"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/profiles/me"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"code": "boom", "message": format!("Bearer {ECHOED}")}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/accounts/check"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("not json {ECHOED}")))
        .mount(&server)
        .await;

    let source = RotatingSource::new(&[OLD, NEW]);
    let client = BackendClient::builder(format!("{}/backend-api", server.uri()))
        .auth_source(source.clone())
        .build()
        .unwrap();
    client.get_usage().await.unwrap();
    assert_eq!(source.recoveries(), 1);

    let echoing: SharedAuthProvider = Arc::new(BearerAuth::new(&SecretString::new(ECHOED)));
    let echo_client = BackendClient::builder(format!("{}/backend-api", server.uri()))
        .auth_provider(echoing)
        .build()
        .unwrap();
    let profile_err = echo_client.get_profile().await.unwrap_err();
    let accounts_err = echo_client.check_accounts().await.unwrap_err();
    tracing::error!(error = %profile_err, debug = ?profile_err, "profile failed");
    tracing::error!(error = %accounts_err, debug = ?accounts_err, "accounts failed");
    tracing::debug!(client = ?client, "client");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("backend_request"),
        "spans were not captured:\n{logs}"
    );
    assert!(logs.contains("token_expired"), "{logs}");
    for secret in [OLD, NEW, ECHOED, "SECRET"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
