//! Request behaviour over real sockets (wiremock): 401 recovery, busy
//! retries, typed errors without secrets, timeouts, and request encoding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_auth_provider::{BearerAuth, SecretString, SharedAuthProvider, StaticAuthSource};
use codex_backend_client::{
    AuthRecovery, BackendClient, BackendError, ERROR_BODY_LIMIT, RetryPolicy, TaskListQuery,
};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{BrokenSource, RotatingSource};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USAGE: &str = "/backend-api/wham/usage";

fn base(server: &MockServer) -> String {
    format!("{}/backend-api", server.uri())
}

fn bearer(token: &str) -> SharedAuthProvider {
    Arc::new(BearerAuth::new(&SecretString::new(token)))
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    }
}

async fn requests_to(server: &MockServer, request_path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == request_path)
        .count()
}

fn usage_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"plan_type": "plus"}))
}

fn unauthorized(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"error": {"code": code, "message": "nope"}}))
}

#[tokio::test]
async fn credential_401_recovers_once_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .and(header("authorization", "Bearer old-token-123"))
        .respond_with(unauthorized("token_expired"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .and(header("authorization", "Bearer new-token-456"))
        .respond_with(usage_ok())
        .mount(&server)
        .await;
    let source = RotatingSource::new(&["old-token-123", "new-token-456"]);
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .build()
        .unwrap();

    let usage = client.get_usage().await.unwrap();
    assert_eq!(usage.plan_type.unwrap().as_wire_str(), "plus");
    assert_eq!(source.recoveries(), 1);
    assert_eq!(
        source.contexts.lock().unwrap()[0].error_code.as_deref(),
        Some("token_expired")
    );
    assert_eq!(requests_to(&server, USAGE).await, 2);
}

#[tokio::test]
async fn credential_401_after_recovery_is_returned_without_more_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(unauthorized("invalid_token").insert_header("x-request-id", "req-401"))
        .mount(&server)
        .await;
    let source = RotatingSource::new(&["tok-aaaaaaaa", "tok-bbbbbbbb", "tok-cccccccc"]);
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .build()
        .unwrap();

    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.error_code(), Some("invalid_token"));
    assert_eq!(err.request_id(), Some("req-401"));
    let failure = err.http_failure().unwrap();
    assert_eq!(failure.auth_recovery, AuthRecovery::Retried);
    assert_eq!(failure.attempts, 2);
    assert_eq!(source.recoveries(), 1);
    assert_eq!(requests_to(&server, USAGE).await, 2);
}

#[tokio::test]
async fn bare_401_without_a_code_also_recovers_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .and(header("authorization", "Bearer first-token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .and(header("authorization", "Bearer second-token-2"))
        .respond_with(usage_ok())
        .mount(&server)
        .await;
    let source = RotatingSource::new(&["first-token-1", "second-token-2"]);
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .build()
        .unwrap();
    client.get_usage().await.unwrap();
    assert_eq!(source.recoveries(), 1);
    assert_eq!(source.contexts.lock().unwrap()[0].error_code, None);
    assert_eq!(requests_to(&server, USAGE).await, 2);
}

#[tokio::test]
async fn non_credential_401_is_returned_at_once_with_its_code() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(unauthorized("model_not_allowed"))
        .mount(&server)
        .await;
    let source = RotatingSource::new(&["tok-aaaaaaaa", "tok-bbbbbbbb"]);
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert_eq!(err.error_code(), Some("model_not_allowed"));
    assert_eq!(
        err.http_failure().unwrap().auth_recovery,
        AuthRecovery::NotAttempted
    );
    assert_eq!(source.recoveries(), 0);
    assert_eq!(requests_to(&server, USAGE).await, 1);
}

#[tokio::test]
async fn forbidden_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(
                    json!({"detail": {"code": "plan_not_entitled", "message": "upgrade"}}),
                )
                .insert_header("cf-ray", "ray-403"),
        )
        .mount(&server)
        .await;
    let source = RotatingSource::new(&["tok-aaaaaaaa", "tok-bbbbbbbb"]);
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.error_code(), Some("plan_not_entitled"));
    assert_eq!(err.request_id(), Some("ray-403"));
    assert_eq!(
        err.http_failure().unwrap().error_message.as_deref(),
        Some("upgrade")
    );
    assert_eq!(source.recoveries(), 0);
    assert_eq!(requests_to(&server, USAGE).await, 1);
}

#[tokio::test]
async fn source_that_gives_up_gets_the_original_401() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(unauthorized("token_expired"))
        .mount(&server)
        .await;
    let source = RotatingSource::giving_up("tok-aaaaaaaa", "refresh token was already used");
    let client = BackendClient::builder(base(&server))
        .auth_source(source.clone())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert_eq!(
        err.http_failure().unwrap().auth_recovery,
        AuthRecovery::GaveUp("refresh token was already used".to_owned())
    );
    assert!(
        err.to_string().contains("refresh token was already used"),
        "{err}"
    );
    assert_eq!(source.recoveries(), 1);
    assert_eq!(requests_to(&server, USAGE).await, 1);
}

#[tokio::test]
async fn fixed_provider_and_static_source_never_retry_a_401() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(unauthorized("token_expired"))
        .mount(&server)
        .await;
    let by_provider = BackendClient::builder(base(&server))
        .auth_provider(bearer("fixed-token-1"))
        .build()
        .unwrap();
    assert!(by_provider.get_usage().await.unwrap_err().is_unauthorized());
    let by_static_source = BackendClient::builder(base(&server))
        .auth_source(Arc::new(StaticAuthSource::new(bearer("fixed-token-1"))))
        .build()
        .unwrap();
    let err = by_static_source.get_usage().await.unwrap_err();
    assert!(matches!(
        err.http_failure().unwrap().auth_recovery,
        AuthRecovery::GaveUp(_)
    ));
    assert_eq!(requests_to(&server, USAGE).await, 2);
}

#[tokio::test]
async fn auth_source_failure_sends_nothing() {
    let server = MockServer::start().await;
    let client = BackendClient::builder(base(&server))
        .auth_source(Arc::new(BrokenSource))
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert!(matches!(err, BackendError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("sign in again"), "{err}");
    // The kind and the source error travel with it, not just text.
    assert_eq!(
        err.auth_kind(),
        Some(codex_auth_provider::AuthErrorKind::NeedsLogin)
    );
    let source = std::error::Error::source(&err).expect("the auth source error");
    assert!(source.to_string().contains("sign in again"), "{source}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn busy_get_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(usage_ok())
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    client.get_usage().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(requests_to(&server, USAGE).await, 2);
}

#[tokio::test]
async fn busy_get_gives_up_after_the_attempt_bound() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    let failure = err.http_failure().unwrap();
    assert_eq!(failure.status.as_u16(), 503);
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.body, "overloaded");
    assert_eq!(requests_to(&server, USAGE).await, 3);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert_eq!(
        err.http_failure().unwrap().retry_after,
        Some(Duration::from_secs(120))
    );
    assert_eq!(requests_to(&server, USAGE).await, 1);
}

#[tokio::test]
async fn post_is_never_retried_when_busy() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/backend-api/wham/tasks"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client
        .create_task(&json!({"prompt": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(requests_to(&server, "/backend-api/wham/tasks").await, 1);
}

#[tokio::test]
async fn other_server_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    assert!(client.get_usage().await.is_err());
    assert_eq!(requests_to(&server, USAGE).await, 1);
}

#[tokio::test]
async fn errors_describe_the_failure_but_never_the_token() {
    let token = "sk-proj-SECRET0123456789";
    let echoed = format!(
        "{{\"error\":{{\"code\":\"server_error\",\"message\":\"bad header Bearer {token}\"}},\"pad\":\"{}\"}}",
        "z".repeat(4 * ERROR_BODY_LIMIT)
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_raw(echoed, "application/json; charset=utf-8")
                .insert_header("x-request-id", "req-500"),
        )
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .auth_provider(bearer(token))
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    let failure = err.http_failure().unwrap();
    assert_eq!(failure.method, http::Method::GET);
    assert_eq!(failure.url, format!("{}{USAGE}", server.uri()));
    assert_eq!(failure.status.as_u16(), 500);
    assert_eq!(
        failure.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(failure.error_code.as_deref(), Some("server_error"));
    assert_eq!(failure.request_id.as_deref(), Some("req-500"));
    assert!(failure.body_truncated);
    assert!(failure.body.len() <= ERROR_BODY_LIMIT);

    let display = err.to_string();
    let debug = format!("{err:?}");
    for text in [&display, &debug] {
        assert!(!text.contains(token), "token leaked: {text}");
        assert!(!text.contains("SECRET0123"), "token leaked: {text}");
    }
    assert!(display.contains("[REDACTED]"), "{display}");
    for part in [
        "GET ",
        USAGE,
        "500",
        "code=server_error",
        "request-id=req-500",
        "content-type=application/json",
    ] {
        assert!(display.contains(part), "missing {part:?} in {display}");
    }
    assert!(display.len() < 2 * ERROR_BODY_LIMIT, "{}", display.len());
}

#[tokio::test]
async fn undecodable_success_is_a_typed_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/tasks/list"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/accounts/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accounts": 7})))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server)).build().unwrap();
    let err = client
        .list_tasks(&TaskListQuery::default())
        .await
        .unwrap_err();
    match &err {
        BackendError::Decode {
            url,
            content_type,
            body,
            ..
        } => {
            assert!(url.ends_with("/wham/tasks/list"));
            assert_eq!(content_type.as_deref(), Some("text/html"));
            assert_eq!(body, "<html>login</html>");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let err = client.check_accounts().await.unwrap_err();
    assert!(matches!(err, BackendError::Decode { .. }), "{err}");
    assert!(
        err.to_string().contains("Invalid accounts response."),
        "{err}"
    );
}

#[tokio::test]
async fn create_task_sends_json_and_reads_the_id() {
    let server = MockServer::start().await;
    let request =
        json!({"new_task": {"environment_id": "env-1", "branch": "main"}, "input_items": []});
    Mock::given(method("POST"))
        .and(path("/api/codex/tasks"))
        .and(header("content-type", "application/json"))
        .and(body_json(request.clone()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"task": {"id": "task_e_new"}})),
        )
        .mount(&server)
        .await;
    let client = BackendClient::builder(server.uri()).build().unwrap();
    assert_eq!(client.create_task(&request).await.unwrap(), "task_e_new");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/codex/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"status": "queued"})))
        .mount(&server)
        .await;
    let client = BackendClient::builder(server.uri()).build().unwrap();
    let err = client.create_task(&request).await.unwrap_err();
    assert!(matches!(err, BackendError::MissingTaskId { .. }), "{err}");
    assert!(err.to_string().contains("queued"), "{err}");
}

#[tokio::test]
async fn list_tasks_sends_the_encoded_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/codex/tasks/list"))
        .and(query_param("task_filter", "mine / shared"))
        .and(query_param("cursor", "next=page"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"items": [{"id": "task_1", "title": "One"}], "cursor": null}),
            ),
        )
        .mount(&server)
        .await;
    let client = BackendClient::builder(server.uri()).build().unwrap();
    let page = client
        .list_tasks(&TaskListQuery {
            limit: Some(10),
            task_filter: Some("mine / shared".to_owned()),
            environment_id: Some("env&one".to_owned()),
            cursor: Some("next=page".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].id, "task_1");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.query(),
        Some("limit=10&task_filter=mine+%2F+shared&cursor=next%3Dpage&environment_id=env%26one")
    );
}

#[tokio::test]
async fn timeouts_are_typed_transport_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USAGE))
        .respond_with(usage_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    match err {
        BackendError::Transport { timed_out, url, .. } => {
            assert!(timed_out);
            assert!(url.ends_with(USAGE));
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn both_accounts_shapes_and_profile_decode_over_the_wire() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/accounts/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accounts": {"a2": {"account": {"account_id": "a2", "structure": "workspace"}},
                         "a1": {"account": {"account_id": "a1", "structure": "personal"}}},
            "account_ordering": ["a1", "a2"],
            "default_account_id": "a1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/profiles/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"stats": {"lifetime_tokens": 5, "daily_usage_buckets": null}}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/tasks/t1/turns/u1/sibling_turns"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sibling_turns": [{"id": "u2"}]})),
        )
        .mount(&server)
        .await;
    let client = BackendClient::builder(base(&server)).build().unwrap();
    let accounts = client.check_accounts().await.unwrap();
    let ids: Vec<&str> = accounts.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    let profile = client.get_profile().await.unwrap();
    assert_eq!(profile.stats.unwrap().lifetime_tokens, Some(5));
    let siblings = client.list_sibling_turns("t1", "u1").await.unwrap();
    assert_eq!(siblings.sibling_turns.len(), 1);
    assert!(matches!(
        client.get_task_details("..").await,
        Err(BackendError::InvalidArgument {
            what: "task id",
            ..
        })
    ));
}

#[tokio::test]
async fn client_level_headers_come_after_the_provider() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(usage_ok())
        .mount(&server)
        .await;
    let provider: SharedAuthProvider = Arc::new(
        BearerAuth::new(&SecretString::new("tok-12345678")).with_account_id(Some("from-provider")),
    );
    let client = BackendClient::builder(base(&server))
        .auth_provider(provider)
        .user_agent("codex_cli_rs/0.0.0 (test)")
        .account_id_override("from-override")
        .fedramp(true)
        .build()
        .unwrap();
    client.get_usage().await.unwrap();
    let plain = BackendClient::builder(base(&server)).build().unwrap();
    plain.get_usage().await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let first = &requests[0].headers;
    assert_eq!(first["user-agent"], "codex_cli_rs/0.0.0 (test)");
    assert_eq!(first["authorization"], "Bearer tok-12345678");
    assert_eq!(first.get_all("chatgpt-account-id").iter().count(), 1);
    assert_eq!(first["chatgpt-account-id"], "from-override");
    assert_eq!(first["x-openai-fedramp"], "true");
    let second = &requests[1].headers;
    assert_eq!(second["user-agent"], "codex-cli");
    assert!(second.get("authorization").is_none());
    assert!(second.get("x-openai-fedramp").is_none());
}
