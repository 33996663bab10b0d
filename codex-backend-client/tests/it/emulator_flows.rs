//! End-to-end flows against `codex-emulator` over real sockets, with Bearer
//! and AgentAssertion auth, token expiry mid-session, and request counts
//! asserted at the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use codex_auth_provider::{
    AuthSource, AuthSourceError, BearerAuth, BoxFuture, RecoveryOutcome, SecretString,
    SharedAuthProvider, UnauthorizedContext,
};
use codex_backend_client::{AuthRecovery, BackendClient, BackendError, PlanType, TaskListQuery};
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, IssuedTokens};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::AgentAssertionProvider;

const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// A small refresh-aware source: on a `401` it refreshes against the
/// emulator's `/oauth/token` (JSON refresh grant) and asks for one retry.
#[derive(Debug)]
struct RefreshingSource {
    http: reqwest::Client,
    token_url: String,
    account_id: String,
    tokens: Mutex<(SecretString, SecretString)>,
    refreshes: AtomicUsize,
    recoveries: AtomicUsize,
}

impl RefreshingSource {
    fn new(emulator: &EmulatorHandle, issued: &IssuedTokens) -> Arc<Self> {
        Arc::new(Self {
            http: reqwest::Client::new(),
            token_url: format!("{}/oauth/token", emulator.urls().issuer),
            account_id: issued.account_id.clone(),
            tokens: Mutex::new((
                SecretString::new(issued.access_token.clone()),
                SecretString::new(issued.refresh_token.clone()),
            )),
            refreshes: AtomicUsize::new(0),
            recoveries: AtomicUsize::new(0),
        })
    }

    async fn refresh(&self) -> Result<(), String> {
        let refresh_token = self.tokens.lock().unwrap().1.expose().to_owned();
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let response = self
            .http
            .post(&self.token_url)
            .json(&json!({
                "client_id": CLIENT_ID,
                "grant_type": "refresh_token",
                "refresh_reason": "unauthorized",
                "refresh_token": refresh_token,
            }))
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|err| err.to_string())?;
        if !status.is_success() {
            return Err(format!("refresh failed with {status}: {}", body["error"]));
        }
        let text = |key: &str| body[key].as_str().map(str::to_owned);
        let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else {
            return Err("refresh response without tokens".to_owned());
        };
        *self.tokens.lock().unwrap() = (SecretString::new(access), SecretString::new(refresh));
        Ok(())
    }
}

impl AuthSource for RefreshingSource {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        let access = self.tokens.lock().unwrap().0.clone();
        let account_id = self.account_id.clone();
        Box::pin(async move {
            let provider: SharedAuthProvider =
                Arc::new(BearerAuth::new(&access).with_account_id(Some(&account_id)));
            Ok(provider)
        })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        _context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        self.recoveries.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match self.refresh().await {
                Ok(()) => RecoveryOutcome::Retry,
                Err(why) => RecoveryOutcome::GiveUp(why),
            }
        })
    }
}

async fn start() -> (EmulatorHandle, EmulatorConfig) {
    let config = EmulatorConfig::default();
    let emulator = Emulator::start(config.clone()).await.unwrap();
    (emulator, config)
}

fn bearer_provider(issued: &IssuedTokens) -> SharedAuthProvider {
    Arc::new(
        BearerAuth::new(&SecretString::new(issued.access_token.clone()))
            .with_account_id(Some(&issued.account_id)),
    )
}

/// Usage, accounts/check, profile, create, list and details; returns the number of requests.
async fn exercise_every_endpoint(client: &BackendClient, account_id: &str) -> u64 {
    let usage = client.get_usage().await.unwrap();
    assert_eq!(usage.plan_type, Some(PlanType::Plus));
    let limits = client.get_rate_limits().await.unwrap();
    let primary = limits.primary.unwrap();
    assert_eq!(primary.used_percent, 12.0);
    assert_eq!(primary.window_minutes, Some(300));
    assert_eq!(limits.secondary.unwrap().window_minutes, Some(7 * 24 * 60));

    let accounts = client.check_accounts().await.unwrap();
    assert_eq!(accounts.accounts.len(), 1);
    assert_eq!(accounts.accounts[0].id, account_id);
    assert_eq!(accounts.default_account_id.as_deref(), Some(account_id));

    let prompt = "Write a haiku\nabout Rust";
    let task_id = client
        .create_task(&json!({
            "new_task": {"environment_id": "env-1", "branch": "main"},
            "input_items": [{"type": "message", "role": "user",
                             "content": [{"content_type": "text", "text": prompt}]}]
        }))
        .await
        .unwrap();
    assert!(task_id.starts_with("task_e_"), "{task_id}");

    let page = client
        .list_tasks(&TaskListQuery {
            limit: Some(10),
            environment_id: Some("env-1".to_owned()),
            ..TaskListQuery::default()
        })
        .await
        .unwrap();
    let listed = page.items.iter().find(|item| item.id == task_id).unwrap();
    assert_eq!(listed.title, "Write a haiku");

    let details = client.get_task_details(&task_id).await.unwrap();
    assert_eq!(details.user_prompt().as_deref(), Some(prompt));
    assert_eq!(details.assistant_messages(), vec!["Done (codex-emulator)."]);

    let profile = client.get_profile().await.unwrap();
    assert!(profile.stats.unwrap().lifetime_tokens.unwrap() > 0);

    let missing = client.get_task_details("task_e_missing").await.unwrap_err();
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(missing.error_code(), Some("task_not_found"));
    8
}

#[tokio::test]
async fn bearer_auth_covers_every_endpoint() {
    let (emulator, _) = start().await;
    let issued = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_provider(bearer_provider(&issued))
        .build()
        .unwrap();
    let requests = exercise_every_endpoint(&client, &issued.account_id).await;

    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, requests);
    assert_eq!(stats.bearer_ok, requests);
    assert_eq!(stats.bearer_rejected, 0);
    assert_eq!(stats.assertions_ok, 0);
    assert_eq!(stats.account_mismatches, 0);
    assert_eq!(stats.token_requests, 0);
    emulator.shutdown().await;
}

/// Registers a task for a freshly minted agent identity, as the official CLI does.
async fn agent_provider(emulator: &EmulatorHandle, account_id: &str) -> AgentAssertionProvider {
    let minted = emulator.mint_agent_identity_jwt();
    let key = STANDARD.decode(&minted.private_key_pkcs8_base64).unwrap();
    let signer = support::ed25519_key(&key);
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let message = format!("{}:{timestamp}", minted.agent_runtime_id);
    let signature = STANDARD.encode(signer.sign(message.as_bytes()).as_ref());
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/agent/{}/task/register",
            emulator.urls().authapi_base_url,
            minted.agent_runtime_id
        ))
        .json(&json!({"timestamp": timestamp, "signature": signature}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let body: serde_json::Value = response.json().await.unwrap();
    let task_id = body["task_id"].as_str().unwrap();
    AgentAssertionProvider::new(&minted.agent_runtime_id, task_id, &key, account_id, false)
}

#[tokio::test]
async fn agent_assertion_auth_covers_every_endpoint() {
    let (emulator, config) = start().await;
    let provider = agent_provider(&emulator, &config.seed.account_id).await;
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_provider(Arc::new(provider))
        .build()
        .unwrap();
    let requests = exercise_every_endpoint(&client, &config.seed.account_id).await;

    let stats = emulator.stats();
    assert_eq!(stats.task_registrations, 1);
    assert_eq!(stats.backend_requests, requests);
    assert_eq!(stats.assertions_ok, requests);
    assert_eq!(stats.assertions_rejected, 0);
    assert_eq!(stats.bearer_ok, 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_assertion_for_an_unknown_task_is_rejected_once() {
    let (emulator, config) = start().await;
    // A registered runtime and its own key, but a task id the emulator never issued.
    let minted = emulator.mint_agent_identity_jwt();
    let stray = AgentAssertionProvider::new(
        &minted.agent_runtime_id,
        "task_never_registered",
        &STANDARD.decode(&minted.private_key_pkcs8_base64).unwrap(),
        &config.seed.account_id,
        false,
    );
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_provider(Arc::new(stray))
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.error_code(), Some("invalid_agent_assertion"));
    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 1);
    assert_eq!(stats.assertions_rejected, 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn access_token_expiring_mid_session_refreshes_once_and_retries_once() {
    let (emulator, _) = start().await;
    let issued = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 2,
        ..IssueTokens::default()
    });
    let source = RefreshingSource::new(&emulator, &issued);
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_source(source.clone())
        .build()
        .unwrap();

    client.get_usage().await.unwrap();
    assert_eq!(emulator.stats().bearer_ok, 1);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let accounts = client.check_accounts().await.unwrap();
    assert_eq!(accounts.accounts[0].id, issued.account_id);

    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 3, "first call, the 401, the retry");
    assert_eq!(stats.bearer_rejected, 1);
    assert_eq!(stats.bearer_ok, 2);
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.refresh_ok, 1);
    assert_eq!(stats.refresh_reused, 0);
    assert_eq!(source.recoveries.load(Ordering::SeqCst), 1);
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);

    // The refreshed token keeps working without further refreshes.
    client.get_profile().await.unwrap();
    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 4);
    assert_eq!(stats.refresh_ok, 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_already_expired_token_refreshes_on_the_first_request() {
    let (emulator, _) = start().await;
    let issued = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        ..IssueTokens::default()
    });
    let source = RefreshingSource::new(&emulator, &issued);
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_source(source.clone())
        .build()
        .unwrap();
    let id = client
        .create_task(&json!({"input_items": [{"type": "message", "content": ["hi"]}]}))
        .await
        .unwrap();
    assert!(id.starts_with("task_e_"));
    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 2);
    assert_eq!(stats.bearer_rejected, 1);
    assert_eq!(stats.refresh_ok, 1);
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_failed_refresh_ends_with_the_401_and_no_retry() {
    let (emulator, _) = start().await;
    let issued = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        ..IssueTokens::default()
    });
    let source = RefreshingSource::new(&emulator, &issued);
    // Someone else uses the refresh token first: ours is now a reused token.
    let other = RefreshingSource::new(&emulator, &issued);
    other.refresh().await.unwrap();

    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_source(source.clone())
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.error_code(), Some("token_expired"));
    assert!(matches!(
        err.http_failure().unwrap().auth_recovery,
        AuthRecovery::GaveUp(_)
    ));
    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 1);
    assert_eq!(stats.refresh_ok, 1, "only the other refresh succeeded");
    assert_eq!(stats.refresh_reused, 1);
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_403_is_returned_at_once_without_refresh_or_retry() {
    let (emulator, _) = start().await;
    let issued = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let source = RefreshingSource::new(&emulator, &issued);
    let client = BackendClient::builder(&emulator.urls().chatgpt_base_url)
        .auth_source(source.clone())
        .account_id_override("acct-someone-else")
        .build()
        .unwrap();
    let err = client.get_usage().await.unwrap_err();
    match &err {
        BackendError::Status(failure) => {
            assert_eq!(failure.status.as_u16(), 403);
            assert_eq!(failure.error_code.as_deref(), Some("account_mismatch"));
            assert_eq!(failure.attempts, 1);
            assert_eq!(failure.auth_recovery, AuthRecovery::NotAttempted);
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    assert!(!err.to_string().contains(&issued.access_token));
    let stats = emulator.stats();
    assert_eq!(stats.backend_requests, 1);
    assert_eq!(stats.account_mismatches, 1);
    assert_eq!(stats.token_requests, 0);
    assert_eq!(source.recoveries.load(Ordering::SeqCst), 0);
    emulator.shutdown().await;
}
