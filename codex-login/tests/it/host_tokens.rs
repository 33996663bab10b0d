//! Issue 19: host-supplied ChatGPT tokens (`chatgptAuthTokens`). A host
//! program implements `HostTokenProvider`; the `AuthManager` asks it for new
//! tokens after a `401` from the emulator's backend and before the access
//! token expires; the tokens live only in memory (nothing in `CODEX_HOME`)
//! and are shared by every manager of the process for that home.

use chrono::{Duration as ChronoDuration, Utc};
use codex_auth_provider::{BoxFuture, SecretString};
use codex_backend_client::BackendClient;
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, SeedAccount};
use codex_login::clock::ManualClock;
use codex_login::environment::env_from_pairs;
use codex_login::host_tokens::{
    HostRefreshReason, HostRefreshRequest, HostTokenError, HostTokenProvider, HostTokens,
    install_host_token_provider, remove_host_token_provider,
};
use codex_login::{
    auth_dot_json::AuthMode, auth_manager::AuthManager, auth_manager::AuthManagerConfig,
    http_client::HttpClientFactory,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake host does when asked to refresh.
#[derive(Clone, Copy)]
enum Answer {
    /// Mint new tokens at the emulator.
    Fresh,
    /// A JSON-RPC style error.
    Error,
    /// An access token that is not a JWT.
    NotAJwt,
    /// Never answer (longer than the 10 s limit).
    Silence,
    /// Fresh tokens for another account than the current one.
    OtherAccount,
    /// Fresh tokens, after half a second.
    Slow,
}

struct FakeHost {
    emulator: Arc<EmulatorHandle>,
    current: Mutex<Option<HostTokens>>,
    requests: Mutex<Vec<HostRefreshRequest>>,
    answer: Mutex<Answer>,
}

impl FakeHost {
    fn new(emulator: Arc<EmulatorHandle>, ttl_secs: i64) -> Arc<Self> {
        let host = Arc::new(Self {
            emulator,
            current: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            answer: Mutex::new(Answer::Fresh),
        });
        let tokens = host.mint(ttl_secs);
        *host.current.lock().unwrap() = Some(tokens);
        host
    }

    fn mint(&self, ttl_secs: i64) -> HostTokens {
        let issued = self.emulator.issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs: ttl_secs,
            account: None,
        });
        HostTokens {
            access_token: SecretString::new(issued.access_token),
            chatgpt_account_id: issued.account_id,
            chatgpt_plan_type: Some("business".to_owned()),
        }
    }

    fn current_access_token(&self) -> String {
        self.current
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .access_token
            .expose()
            .to_owned()
    }

    fn requests(&self) -> Vec<HostRefreshRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl HostTokenProvider for FakeHost {
    fn resolve(&self) -> Option<HostTokens> {
        self.current.lock().unwrap().clone()
    }

    fn refresh(
        &self,
        request: HostRefreshRequest,
    ) -> BoxFuture<'_, Result<HostTokens, HostTokenError>> {
        self.requests.lock().unwrap().push(request);
        let answer = *self.answer.lock().unwrap();
        Box::pin(async move {
            match answer {
                Answer::Fresh => {
                    let tokens = self.mint(3600);
                    *self.current.lock().unwrap() = Some(tokens.clone());
                    Ok(tokens)
                }
                Answer::Error => Err(HostTokenError::Failed {
                    code: -32000,
                    message: "host has no session".to_owned(),
                }),
                Answer::NotAJwt => Ok(HostTokens {
                    access_token: SecretString::new("not-a-jwt-access-token"),
                    chatgpt_account_id: "acct-emulator-0001".to_owned(),
                    chatgpt_plan_type: None,
                }),
                Answer::Silence => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Err(HostTokenError::Canceled("never".to_owned()))
                }
                Answer::OtherAccount => {
                    let issued = self.emulator.issue_chatgpt_tokens(IssueTokens {
                        access_token_ttl_secs: 3600,
                        account: Some(SeedAccount {
                            email: "other@example.com".to_owned(),
                            plan_type: "business".to_owned(),
                            account_id: "acct-other-0002".to_owned(),
                            user_id: "user-other-0002".to_owned(),
                            fedramp: false,
                        }),
                    });
                    Ok(HostTokens {
                        access_token: SecretString::new(issued.access_token),
                        chatgpt_account_id: issued.account_id,
                        chatgpt_plan_type: Some("business".to_owned()),
                    })
                }
                Answer::Slow => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Ok(self.mint(3600))
                }
            }
        })
    }
}

fn http() -> HttpClientFactory {
    HttpClientFactory::from_env(&|name: &str| (name == "TERM").then(|| "xterm".to_owned())).unwrap()
}

fn manager(home: &Path) -> Arc<AuthManager> {
    let mut config = AuthManagerConfig::new(home);
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    Arc::new(AuthManager::new(config))
}

fn backend(emulator: &EmulatorHandle, manager: &Arc<AuthManager>) -> BackendClient {
    BackendClient::builder(emulator.urls().chatgpt_base_url.clone())
        .auth_source(manager.clone())
        .build()
        .unwrap()
}

fn assert_home_is_empty(home: &Path) {
    let entries: Vec<_> = std::fs::read_dir(home)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(entries.is_empty(), "CODEX_HOME holds {entries:?}");
}

#[tokio::test]
async fn the_host_refreshes_after_a_401_and_nothing_is_written() {
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let home = tempfile::tempdir().unwrap();
    let host = FakeHost::new(emulator.clone(), 3600);
    install_host_token_provider(home.path(), host.clone()).unwrap();
    let first = host.current_access_token();

    let manager = manager(home.path());
    let auth = manager.auth_cached().unwrap();
    assert_eq!(auth.auth_mode(), AuthMode::ChatgptAuthTokens);
    assert_eq!(auth.account_id(), Some("acct-emulator-0001"));
    let client = backend(&emulator, &manager);
    client.get_usage().await.unwrap();
    assert!(host.requests().is_empty());

    // The backend now refuses the token: one host refresh, one retry.
    emulator.expire_access_tokens();
    let before = emulator.stats();
    client.get_usage().await.unwrap();
    assert_eq!(
        host.requests(),
        vec![HostRefreshRequest {
            reason: HostRefreshReason::Unauthorized,
            previous_account_id: Some("acct-emulator-0001".to_owned()),
        }]
    );
    let after = emulator.stats();
    assert_eq!(after.bearer_rejected, before.bearer_rejected + 1);
    assert_eq!(after.bearer_ok, before.bearer_ok + 1);
    let now = manager.auth_cached().unwrap();
    assert_ne!(now.bearer_token().unwrap().expose(), first);
    assert_eq!(
        now.bearer_token().unwrap().expose(),
        host.current_access_token()
    );
    // No issuer refresh was attempted: only the host refreshes these tokens.
    assert_eq!(after.token_requests, before.token_requests);

    // Another manager of the process for the same home sees the new tokens.
    let other = manager_for_same_home(home.path());
    assert_eq!(
        other
            .auth_cached()
            .unwrap()
            .bearer_token()
            .unwrap()
            .expose(),
        host.current_access_token()
    );
    assert_home_is_empty(home.path());
    assert!(remove_host_token_provider(home.path()));
    assert!(manager_for_same_home(home.path()).auth_cached().is_none());
}

fn manager_for_same_home(home: &Path) -> Arc<AuthManager> {
    manager(home)
}

#[tokio::test]
async fn the_host_refreshes_before_the_access_token_expires() {
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let home = tempfile::tempdir().unwrap();
    // A 10-minute token: due in the last 5 minutes of its life.
    let host = FakeHost::new(emulator.clone(), 600);
    install_host_token_provider(home.path(), host.clone()).unwrap();
    let first = host.current_access_token();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = AuthManagerConfig::new(home.path());
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    config.clock = clock.clone();
    let manager = AuthManager::new(config);

    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.bearer_token().unwrap().expose(), first);
    assert!(host.requests().is_empty(), "not due yet");

    clock.advance(ChronoDuration::minutes(6));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(
        host.requests(),
        vec![HostRefreshRequest {
            reason: HostRefreshReason::Expiring,
            previous_account_id: Some("acct-emulator-0001".to_owned()),
        }]
    );
    assert_ne!(auth.bearer_token().unwrap().expose(), first);
    // The new token (one hour) is not due: no second request.
    manager.try_auth().await.unwrap().unwrap();
    assert_eq!(host.requests().len(), 1);
    assert_home_is_empty(home.path());
    remove_host_token_provider(home.path());
}

#[tokio::test]
async fn host_failures_are_reported_with_upstreams_texts() {
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let home = tempfile::tempdir().unwrap();
    let host = FakeHost::new(emulator.clone(), 3600);
    install_host_token_provider(home.path(), host.clone()).unwrap();
    let manager = manager(home.path());
    let first = host.current_access_token();

    *host.answer.lock().unwrap() = Answer::Error;
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "auth refresh request failed: code=-32000 message=host has no session"
    );

    *host.answer.lock().unwrap() = Answer::NotAJwt;
    let err = manager.refresh_token().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the host supplied unusable ChatGPT tokens:"),
        "{err}"
    );
    assert!(!err.to_string().contains("not-a-jwt-access-token"), "{err}");

    *host.answer.lock().unwrap() = Answer::Silence;
    let started = std::time::Instant::now();
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(err.to_string(), "auth refresh request timed out after 10s");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(30),
        "{waited:?}"
    );

    // Every failure kept the tokens the host gave first.
    assert_eq!(
        manager
            .auth_cached()
            .unwrap()
            .bearer_token()
            .unwrap()
            .expose(),
        first
    );
    assert_home_is_empty(home.path());
    remove_host_token_provider(home.path());
}

#[test]
fn a_host_token_that_is_not_a_jwt_is_refused_at_install() {
    struct Broken;
    impl HostTokenProvider for Broken {
        fn resolve(&self) -> Option<HostTokens> {
            Some(HostTokens {
                access_token: SecretString::new("opaque-token-value"),
                chatgpt_account_id: "acct-1".to_owned(),
                chatgpt_plan_type: None,
            })
        }
        fn refresh(
            &self,
            _request: HostRefreshRequest,
        ) -> BoxFuture<'_, Result<HostTokens, HostTokenError>> {
            Box::pin(async { Err(HostTokenError::Canceled("unused".to_owned())) })
        }
    }
    let home = tempfile::tempdir().unwrap();
    let err = install_host_token_provider(home.path(), Arc::new(Broken)).unwrap_err();
    assert!(matches!(err, HostTokenError::InvalidTokens(_)), "{err}");
    assert!(!codex_login::host_tokens::has_host_token_provider(
        home.path()
    ));
    assert_home_is_empty(home.path());
}

/// Review finding 6: a host answer for another account is refused and the
/// current tokens stay; an answer arriving after the provider was removed is
/// dropped (nothing comes back into memory).
#[tokio::test]
async fn another_accounts_tokens_and_late_answers_are_not_adopted() {
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let home = tempfile::tempdir().unwrap();
    let host = FakeHost::new(emulator.clone(), 3600);
    install_host_token_provider(home.path(), host.clone()).unwrap();
    let manager = manager(home.path());
    let first = host.current_access_token();

    *host.answer.lock().unwrap() = Answer::OtherAccount;
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the host supplied tokens for another account than the current login"
    );
    let cached = manager.auth_cached().unwrap();
    assert_eq!(cached.bearer_token().unwrap().expose(), first);
    assert_eq!(cached.account_id(), Some("acct-emulator-0001"));
    assert_eq!(
        manager_for_same_home(home.path())
            .auth_cached()
            .unwrap()
            .account_id(),
        Some("acct-emulator-0001")
    );

    *host.answer.lock().unwrap() = Answer::Slow;
    let refreshing = {
        let manager = manager.clone();
        tokio::spawn(async move { manager.refresh_token().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(remove_host_token_provider(home.path()));
    let err = refreshing.await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "no host token provider is installed for this CODEX_HOME"
    );
    assert_eq!(host.requests().len(), 2);
    assert!(manager_for_same_home(home.path()).auth_cached().is_none());
    assert_home_is_empty(home.path());
}

/// Review finding 6: host tokens violating a forced workspace are dropped from
/// memory only; the persistent login in `CODEX_HOME` is not deleted.
#[tokio::test]
async fn a_restricted_host_token_never_deletes_the_stored_login() {
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let home = tempfile::tempdir().unwrap();
    let stored = "{\"OPENAI_API_KEY\":\"sk-stored-login\"}";
    std::fs::write(home.path().join("auth.json"), stored).unwrap();
    let host = FakeHost::new(emulator.clone(), 3600);
    install_host_token_provider(home.path(), host.clone()).unwrap();
    let mut config = AuthManagerConfig::new(home.path());
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    config.forced_chatgpt_workspace_ids = vec!["acct-elsewhere".to_owned()];
    let manager = AuthManager::new(config);
    assert_eq!(
        manager.auth_cached().unwrap().auth_mode(),
        AuthMode::ChatgptAuthTokens
    );

    let err = manager.try_auth().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Login is restricted to workspace(s) acct-elsewhere, but current credentials belong to acct-emulator-0001"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("auth.json")).unwrap(),
        stored,
        "the stored login was deleted because of in-memory host tokens"
    );
    let after = manager.auth_cached();
    assert!(
        after.is_none_or(|auth| auth.auth_mode() != AuthMode::ChatgptAuthTokens),
        "the restricted host tokens are still in use"
    );
    remove_host_token_provider(home.path());
}
