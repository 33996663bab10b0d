//! Registration client against wiremock: request shapes, retries, typed errors,
//! sealed task ids, and the ChatGPT opt-in bootstrap's fallback rules.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use codex_agent_identity::{
    Abom, AgentKey, AgentRegistrationRequest, AgentRuntimeId, ChatGptIdentityBinding,
    RegistrationClient, RegistrationError, RegistrationFailureCache, RegistrationOperation,
    RegistrationRetryPolicy, TaskRegistrationBody, ensure_chatgpt_agent_identity,
};
use codex_auth_provider::SecretString;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ACCESS_TOKEN: &str = "access-token-for-tests";

/// Answers with each template in turn, then repeats the last.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Sequence {
    fn new(mut responses: Vec<ResponseTemplate>) -> Self {
        responses.reverse();
        Self(std::sync::Mutex::new(responses))
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut responses = self.0.lock().unwrap();
        if responses.len() > 1 {
            responses.pop().unwrap()
        } else {
            responses[0].clone()
        }
    }
}

fn client(server: &MockServer) -> RegistrationClient {
    RegistrationClient::new(
        &reqwest::Client::new(),
        &format!("{}/api/accounts/", server.uri()),
    )
    .unwrap()
    .with_retry_policy(RegistrationRetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    })
}

fn registration_request(key: &AgentKey) -> AgentRegistrationRequest {
    AgentRegistrationRequest::new(Abom::for_session("0.1.0", "cli"), key.public_key())
}

fn token() -> SecretString {
    SecretString::new(ACCESS_TOKEN)
}

async fn requests_to(server: &MockServer, suffix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path().ends_with(suffix))
        .collect()
}

#[tokio::test]
async fn register_agent_sends_bearer_abom_key_capabilities_and_ttl() {
    let server = MockServer::start().await;
    let key = AgentKey::generate().unwrap();
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/register"))
        .and(header("authorization", format!("Bearer {ACCESS_TOKEN}")))
        .and(header("x-openai-fedramp", "true"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(serde_json::json!({
            "abom": {"agent_version": "0.1.0", "agent_harness_id": "codex-cli"},
            "agent_public_key": key.public_key_ssh(),
            "capabilities": ["responsesapi"],
            "ttl": null,
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"agent_runtime_id": "ar_42"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let runtime = client(&server)
        .register_agent(&token(), true, &registration_request(&key))
        .await
        .unwrap();
    assert_eq!(runtime.as_str(), "ar_42");
}

#[tokio::test]
async fn transient_503_503_200_takes_three_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/register"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503).set_body_string("busy"),
            ResponseTemplate::new(503).set_body_string("busy"),
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"agent_runtime_id": "ar_ok"})),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let runtime = client(&server)
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap();
    assert_eq!(runtime.as_str(), "ar_ok");
    assert_eq!(requests_to(&server, "/register").await.len(), 3);
}

#[tokio::test]
async fn exhausted_retries_are_a_typed_unavailable_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/register"))
        .respond_with(ResponseTemplate::new(503).set_body_string("still busy"))
        .expect(3)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let err = client(&server)
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert_eq!(
        err,
        RegistrationError::Unavailable {
            operation: RegistrationOperation::RegisterAgent,
            attempts: 3,
            message: "HTTP 503: still busy".to_owned(),
        }
    );
    assert!(!err.to_string().contains(ACCESS_TOKEN));
}

#[tokio::test]
async fn http_429_is_retried_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(429).insert_header("retry-after", "1"),
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"agent_runtime_id": "ar_after_429"})),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let runtime = client(&server)
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap();
    assert_eq!(runtime.as_str(), "ar_after_429");
}

#[tokio::test]
async fn http_403_is_an_immediate_hard_error_after_one_call() {
    let server = MockServer::start().await;
    let long_body = "x".repeat(2000);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string(long_body))
        .expect(1)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let err = client(&server)
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap_err();
    assert!(!err.is_unavailable());
    assert_eq!(err.status(), Some(403));
    let RegistrationError::Rejected {
        operation, body, ..
    } = &err
    else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(*operation, RegistrationOperation::RegisterAgent);
    assert_eq!(
        body.chars().count(),
        RegistrationClient::ERROR_BODY_LIMIT + 1,
        "body truncated with an ellipsis"
    );
    assert!(err.to_string().contains("HTTP 403"));
}

#[tokio::test]
async fn an_access_token_echoed_in_an_error_body_is_blanked_out() {
    for status in [403, 503] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_string(format!("bad header: Bearer {ACCESS_TOKEN}")),
            )
            .mount(&server)
            .await;
        let key = AgentKey::generate().unwrap();
        let err = client(&server)
            .register_agent(&token(), false, &registration_request(&key))
            .await
            .unwrap_err();
        for rendered in [err.to_string(), format!("{err:?}")] {
            assert!(!rendered.contains(ACCESS_TOKEN), "{status}: {rendered}");
            assert!(rendered.contains("[REDACTED]"), "{status}: {rendered}");
        }
    }
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(2))
                .set_body_json(serde_json::json!({"agent_runtime_id": "late"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let err = client(&server)
        .with_retry_policy(RegistrationRetryPolicy::immediate(2))
        .with_request_timeout(Duration::from_millis(200))
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RegistrationError::Unavailable {
            operation: RegistrationOperation::RegisterAgent,
            attempts: 2,
            message: "the request timed out".to_owned(),
        }
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/accounts", listener.local_addr().unwrap());
    drop(listener);
    let key = AgentKey::generate().unwrap();
    let err = RegistrationClient::new(&reqwest::Client::new(), &base)
        .unwrap()
        .with_retry_policy(RegistrationRetryPolicy::immediate(2))
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RegistrationError::Unavailable { attempts: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn agent_ids_with_colons_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"agent_runtime_id": "ar:1"})),
        )
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let err = client(&server)
        .register_agent(&token(), false, &registration_request(&key))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrationError::InvalidId { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn insecure_base_urls_are_refused() {
    let err = RegistrationClient::new(&reqwest::Client::new(), "http://auth.example.com/api")
        .unwrap_err();
    assert!(matches!(err, RegistrationError::Endpoint(_)), "{err:?}");
}

#[tokio::test]
async fn register_task_sends_only_a_signed_timestamp_and_reads_plain_ids() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/ar_7/task/register"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"task_id": "task_plain"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let key = AgentKey::generate().unwrap();
    let runtime = AgentRuntimeId::new("ar_7").unwrap();
    let task = client(&server).register_task(&key, &runtime).await.unwrap();
    assert_eq!(task.as_str(), "task_plain");

    let requests = requests_to(&server, "/task/register").await;
    let request = &requests[0];
    assert!(request.headers.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["timestamp", "signature"],
        "exactly timestamp then signature"
    );
    let sent: TaskRegistrationBody = TaskRegistrationBody {
        timestamp: body["timestamp"].as_str().unwrap().to_owned(),
        signature: body["signature"].as_str().unwrap().to_owned(),
    };
    sent.verify(key.public_key(), &runtime).unwrap();
}

#[tokio::test]
async fn register_task_reads_camel_case_and_sealed_ids() {
    let key = AgentKey::generate().unwrap();
    let runtime = AgentRuntimeId::new("ar_7").unwrap();
    let sealed = crypto_box::PublicKey::from(key.x25519_public_key())
        .seal(&mut crypto_box::aead::OsRng, b"task_sealed")
        .unwrap();
    let sealed = base64::engine::general_purpose::STANDARD.encode(sealed);

    for (body, expected) in [
        (
            serde_json::json!({"taskId": "task_camel"}),
            Ok("task_camel"),
        ),
        (
            serde_json::json!({"encrypted_task_id": sealed}),
            Ok("task_sealed"),
        ),
        (
            serde_json::json!({"encryptedTaskId": sealed}),
            Ok("task_sealed"),
        ),
        (
            serde_json::json!({"task_id": "plain_wins", "encrypted_task_id": "garbage"}),
            Ok("plain_wins"),
        ),
        (serde_json::json!({"nothing": 1}), Err("invalid")),
        (
            serde_json::json!({"encrypted_task_id": "AAAA"}),
            Err("sealed"),
        ),
        (serde_json::json!({"task_id": "a:b"}), Err("id")),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
            .mount(&server)
            .await;
        let result = client(&server).register_task(&key, &runtime).await;
        match (expected, result) {
            (Ok(want), Ok(task)) => assert_eq!(task.as_str(), want),
            (Err("invalid"), Err(RegistrationError::InvalidResponse { .. }))
            | (Err("sealed"), Err(RegistrationError::SealedTaskId(_)))
            | (Err("id"), Err(RegistrationError::InvalidId { .. })) => {}
            (want, got) => panic!("{body}: wanted {want:?}, got {got:?}"),
        }
    }
}

fn binding(user: &str) -> ChatGptIdentityBinding {
    ChatGptIdentityBinding {
        account_id: "acct-shared".to_owned(),
        chatgpt_user_id: user.to_owned(),
        email: Some(format!("{user}@example.com")),
        plan_type: "team".to_owned(),
        fedramp: false,
        access_token: token(),
    }
}

#[tokio::test]
async fn opt_in_exhausted_registration_is_fallback_eligible_and_remembered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/register"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let failures = RegistrationFailureCache::new();
    let abom = Abom::for_session("0.1.0", "cli");
    let client = client(&server);
    let err = ensure_chatgpt_agent_identity(&client, &abom, &binding("alice"), None, &failures)
        .await
        .unwrap_err();
    assert!(err.is_fallback_eligible());
    assert!(err.record_to_persist.is_none(), "nothing to persist");
    assert!(!err.from_failure_cache);

    // Remembered: no new request for the same account/user/base.
    let again = ensure_chatgpt_agent_identity(&client, &abom, &binding("alice"), None, &failures)
        .await
        .unwrap_err();
    assert!(again.from_failure_cache);
    assert!(again.is_fallback_eligible());
    assert_eq!(requests_to(&server, "/agent/register").await.len(), 3);
}

#[tokio::test]
async fn opt_in_403_is_a_hard_error_after_one_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string("workspace disabled"))
        .expect(1)
        .mount(&server)
        .await;
    let err = ensure_chatgpt_agent_identity(
        &client(&server),
        &Abom::for_session("0.1.0", "cli"),
        &binding("alice"),
        None,
        &RegistrationFailureCache::new(),
    )
    .await
    .unwrap_err();
    assert!(!err.is_fallback_eligible());
    assert_eq!(err.error.status(), Some(403));
}

#[tokio::test]
async fn opt_in_task_exhaustion_still_hands_back_the_new_identity_to_persist() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/register"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"agent_runtime_id": "ar_new"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/v1/agent/ar_new/task/register"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let err = ensure_chatgpt_agent_identity(
        &client(&server),
        &Abom::for_session("0.1.0", "cli"),
        &binding("alice"),
        None,
        &RegistrationFailureCache::new(),
    )
    .await
    .unwrap_err();
    assert!(err.is_fallback_eligible());
    let record = err
        .record_to_persist
        .expect("the new identity is worth keeping");
    assert_eq!(record.runtime(), Some("ar_new"));
    assert_eq!(record.user(), Some("alice"));
    assert!(record.task_id.is_none());
    assert!(record.key().is_ok());
}
