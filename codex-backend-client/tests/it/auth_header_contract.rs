//! Contract: every request the client builds carries the headers its auth
//! mode requires — for every endpoint method, with a fixed provider and
//! through an auth source. Catches "auth headers not sent" regressions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_auth_provider::{
    BearerAuth, SecretString, SharedAuthProvider, SharedAuthSource, StaticAuthSource,
};
use codex_backend_client::{BackendClient, TaskListQuery};
use serde_json::json;
use std::sync::Arc;
use support::{AgentAssertionProvider, decode_assertion};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "sk-contract-0123456789";
const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.contract.signature";
const ACCOUNT_ID: &str = "acct-contract-1";

/// What a mode must put on every request.
#[derive(Debug, Clone, Copy)]
enum Mode {
    ApiKey,
    ChatGpt,
    AgentAssertion,
}

fn provider_for(mode: Mode) -> SharedAuthProvider {
    match mode {
        Mode::ApiKey => Arc::new(BearerAuth::new(&SecretString::new(API_KEY))),
        Mode::ChatGpt => Arc::new(
            BearerAuth::new(&SecretString::new(ACCESS_TOKEN))
                .with_account_id(Some(ACCOUNT_ID))
                .with_fedramp(true),
        ),
        Mode::AgentAssertion => Arc::new(AgentAssertionProvider::generated(ACCOUNT_ID, true)),
    }
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

fn check_request(mode: Mode, request: &Request) {
    let what = format!("{mode:?} {} {}", request.method, request.url.path());
    let authorization = header(request, "authorization")
        .unwrap_or_else(|| panic!("{what}: no Authorization header"));
    assert_eq!(
        request.headers.get_all("authorization").iter().count(),
        1,
        "{what}"
    );
    assert_eq!(header(request, "user-agent"), Some("codex-cli"), "{what}");
    match mode {
        Mode::ApiKey => {
            assert_eq!(authorization, format!("Bearer {API_KEY}"), "{what}");
            assert_eq!(header(request, "chatgpt-account-id"), None, "{what}");
            assert_eq!(header(request, "x-openai-fedramp"), None, "{what}");
        }
        Mode::ChatGpt => {
            assert_eq!(authorization, format!("Bearer {ACCESS_TOKEN}"), "{what}");
            assert_eq!(
                header(request, "chatgpt-account-id"),
                Some(ACCOUNT_ID),
                "{what}"
            );
            assert_eq!(header(request, "x-openai-fedramp"), Some("true"), "{what}");
        }
        Mode::AgentAssertion => {
            let assertion = decode_assertion(authorization);
            let keys: Vec<&str> = assertion.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["agent_runtime_id", "signature", "task_id", "timestamp"],
                "{what}"
            );
            assert_eq!(
                header(request, "chatgpt-account-id"),
                Some(ACCOUNT_ID),
                "{what}"
            );
            assert_eq!(header(request, "x-openai-fedramp"), Some("true"), "{what}");
        }
    }
    if request.method.as_str() == "POST" {
        assert_eq!(
            header(request, "content-type"),
            Some("application/json"),
            "{what}"
        );
    }
}

/// Calls every endpoint method once; returns the paths they must have hit.
async fn call_every_endpoint(client: &BackendClient) -> Vec<&'static str> {
    client.get_usage().await.unwrap();
    client.get_rate_limits().await.unwrap();
    client.get_rate_limit_snapshots().await.unwrap();
    client.check_accounts().await.unwrap();
    client.get_profile().await.unwrap();
    client.list_tasks(&TaskListQuery::default()).await.unwrap();
    client.get_task_details("task_1").await.unwrap();
    client.get_task_details_with_body("task_1").await.unwrap();
    client.list_sibling_turns("task_1", "turn_1").await.unwrap();
    client
        .create_task(&json!({"input_items": []}))
        .await
        .unwrap();
    vec![
        "/backend-api/wham/usage",
        "/backend-api/wham/usage",
        "/backend-api/wham/usage",
        "/backend-api/wham/accounts/check",
        "/backend-api/wham/profiles/me",
        "/backend-api/wham/tasks/list",
        "/backend-api/wham/tasks/task_1",
        "/backend-api/wham/tasks/task_1",
        "/backend-api/wham/tasks/task_1/turns/turn_1/sibling_turns",
        "/backend-api/wham/tasks",
    ]
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    // One body every decoder accepts: unknown fields are ignored everywhere.
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "task_1"})))
        .mount(&server)
        .await;
    server
}

async fn assert_contract(mode: Mode, client: &BackendClient, server: &MockServer) {
    let expected_paths = call_every_endpoint(client).await;
    let requests = server.received_requests().await.unwrap();
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, expected_paths, "{mode:?}");
    for request in &requests {
        check_request(mode, request);
    }
}

#[tokio::test]
async fn every_endpoint_carries_the_mode_headers_with_a_fixed_provider() {
    for mode in [Mode::ApiKey, Mode::ChatGpt, Mode::AgentAssertion] {
        let server = server().await;
        let client = BackendClient::builder(format!("{}/backend-api", server.uri()))
            .auth_provider(provider_for(mode))
            .build()
            .unwrap();
        assert_contract(mode, &client, &server).await;
    }
}

#[tokio::test]
async fn every_endpoint_carries_the_mode_headers_through_an_auth_source() {
    for mode in [Mode::ApiKey, Mode::ChatGpt, Mode::AgentAssertion] {
        let server = server().await;
        let source: SharedAuthSource = Arc::new(StaticAuthSource::new(provider_for(mode)));
        let client = BackendClient::builder(format!("{}/backend-api", server.uri()))
            .auth_source(source)
            .build()
            .unwrap();
        assert_contract(mode, &client, &server).await;
    }
}

#[tokio::test]
async fn agent_assertions_on_the_wire_verify_against_the_key() {
    let server = server().await;
    let provider = Arc::new(AgentAssertionProvider::generated(ACCOUNT_ID, false));
    let public_key = provider.public_key();
    let client = BackendClient::builder(format!("{}/backend-api", server.uri()))
        .auth_provider(provider)
        .build()
        .unwrap();
    client.get_usage().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let assertion = decode_assertion(header(&requests[0], "authorization").unwrap());
    let text = |key: &str| assertion[key].as_str().unwrap().to_owned();
    let message = format!(
        "{}:{}:{}",
        text("agent_runtime_id"),
        text("task_id"),
        text("timestamp")
    );
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(text("signature"))
        .unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(message.as_bytes(), &signature)
        .expect("the assertion the client sent verifies");
    assert_eq!(header(&requests[0], "x-openai-fedramp"), None);
}

#[tokio::test]
async fn raw_request_lines_and_lowercase_headers_on_the_wire() {
    // A bare socket server: see exactly what goes over the wire.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        for reply in [
            r#"{"items":[],"cursor":null}"#,
            r#"{"task":{"id":"task_raw_1"}}"#,
        ] {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = socket.read(&mut chunk).await.unwrap();
                buffer.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buffer).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map(|v| v.trim().parse::<usize>().unwrap())
                        .unwrap_or(0);
                    if buffer.len() >= end + 4 + length {
                        break;
                    }
                }
                assert!(n > 0, "connection closed early");
            }
            seen.push(String::from_utf8(buffer).unwrap());
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
        seen
    });

    let client = BackendClient::builder(format!("http://{addr}"))
        .auth_provider(Arc::new(BearerAuth::new(&SecretString::new(
            "request-token",
        ))))
        .build()
        .unwrap();
    client
        .list_tasks(&TaskListQuery {
            limit: Some(5),
            task_filter: Some("current".to_owned()),
            ..TaskListQuery::default()
        })
        .await
        .unwrap();
    let body = r#"{"new_task":{"environment_id":"env-1"},"input_items":[]}"#;
    let id = client
        .create_task(&serde_json::from_str(body).unwrap())
        .await
        .unwrap();
    assert_eq!(id, "task_raw_1");

    let seen = server.await.unwrap();
    assert!(
        seen[0].starts_with("GET /api/codex/tasks/list?limit=5&task_filter=current HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[0].contains("\r\nauthorization: Bearer request-token\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].starts_with("POST /api/codex/tasks HTTP/1.1\r\n"),
        "{}",
        seen[1]
    );
    assert!(seen[1].contains("\r\nauthorization: Bearer request-token\r\n"));
    assert!(seen[1].contains("\r\ncontent-type: application/json\r\n"));
    assert!(seen[1].ends_with(&format!("\r\n\r\n{body}")), "{}", seen[1]);
}
