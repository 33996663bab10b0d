//! Issue 19: personal access tokens (`at-…`) in the library, against
//! `codex-emulator`: the login flow saves the official document, the manager
//! hydrates with whoami before any use, the backend accepts the token with its
//! account (and FedRAMP) headers, a refused token cannot be refreshed, and no
//! error text ever contains the token.

use codex_auth_provider::SecretString;
use codex_backend_client::BackendClient;
use codex_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, Faults, PersonalAccessTokenSpec, SeedAccount,
    StatusOverride,
};
use codex_login::environment::env_from_pairs;
use codex_login::flows::login_with_personal_access_token;
use codex_login::flows::{AccessTokenLoginError, AccessTokenLoginOptions, CredentialTarget};
use codex_login::storage::CredentialStoreMode;
use codex_login::{
    auth_dot_json::AuthMode, auth_manager::AuthManager, auth_manager::AuthManagerConfig,
    http_client::HttpClientFactory,
};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const WHOAMI: &str = "/api/accounts/v1/user-auth-credential/whoami";

fn http() -> HttpClientFactory {
    HttpClientFactory::from_env(&|name: &str| (name == "TERM").then(|| "xterm".to_owned())).unwrap()
}

fn account(fedramp: bool) -> SeedAccount {
    SeedAccount {
        email: "pat-user@example.com".to_owned(),
        plan_type: "enterprise".to_owned(),
        account_id: "acct-pat-0001".to_owned(),
        user_id: "user-pat-0001".to_owned(),
        fedramp,
    }
}

fn write_pat(home: &Path, token: &str) {
    std::fs::write(
        home.join("auth.json"),
        format!(r#"{{"OPENAI_API_KEY": null, "personal_access_token": "{token}"}}"#),
    )
    .unwrap();
}

fn manager_with_authapi(home: &Path, authapi: &str) -> Arc<AuthManager> {
    let mut config = AuthManagerConfig::new(home);
    config.env = env_from_pairs([("CODEX_AUTHAPI_BASE_URL", authapi)]);
    config.http = Some(http());
    Arc::new(AuthManager::new(config))
}

fn manager(home: &Path, emulator: &EmulatorHandle) -> Arc<AuthManager> {
    manager_with_authapi(home, &emulator.urls().authapi_base_url)
}

fn backend(emulator: &EmulatorHandle, manager: &Arc<AuthManager>) -> BackendClient {
    BackendClient::builder(emulator.urls().chatgpt_base_url.clone())
        .auth_source(manager.clone())
        .build()
        .unwrap()
}

fn options() -> AccessTokenLoginOptions {
    AccessTokenLoginOptions {
        http: http(),
        jwks_base_url: "http://127.0.0.1:9".to_owned(),
        forced_chatgpt_workspace_ids: Vec::new(),
        forced_login_method: None,
        revoke_replaced_login: None,
        authapi_base_url: "http://127.0.0.1:9/api/accounts".to_owned(),
    }
}

fn target(home: &Path) -> CredentialTarget {
    CredentialTarget {
        codex_home: home.to_path_buf(),
        store_mode: CredentialStoreMode::File,
        storage: None,
    }
}

#[tokio::test]
async fn login_saves_the_official_document_and_the_manager_hydrates_it() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(account(true)),
        null_email: false,
    });
    let authapi = emulator.urls().authapi_base_url.clone();
    login_with_personal_access_token(
        &target(home.path()),
        &SecretString::new(format!(" {token}\n")),
        &options(),
        &authapi,
    )
    .await
    .unwrap();
    let stored: Value =
        serde_json::from_slice(&std::fs::read(home.path().join("auth.json")).unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"OPENAI_API_KEY": null, "personal_access_token": token})
    );

    let manager = manager(home.path(), &emulator);
    // Loaded but not hydrated: no account until whoami answers.
    let cached = manager.auth_cached().unwrap();
    assert_eq!(cached.auth_mode(), AuthMode::PersonalAccessToken);
    assert_eq!(cached.account_id(), None);
    let before = emulator.stats().pat_whoami_requests;
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.account_id(), Some("acct-pat-0001"));
    assert_eq!(auth.email(), Some("pat-user@example.com"));
    assert_eq!(auth.chatgpt_user_id(), Some("user-pat-0001"));
    assert!(auth.is_fedramp_account());
    assert_eq!(auth.access_token_expires_at(), None);
    assert!(!format!("{auth:?}").contains(&token));
    // One whoami per load, however often the manager is asked.
    manager.try_auth().await.unwrap().unwrap();
    assert_eq!(emulator.stats().pat_whoami_requests, before + 1);

    // The backend accepts the PAT with its account and FedRAMP headers.
    let stats = emulator.stats();
    backend(&emulator, &manager).get_usage().await.unwrap();
    assert_eq!(emulator.stats().bearer_ok, stats.bearer_ok + 1);
    assert!(!manager.needs_proactive_refresh(&auth));
}

#[tokio::test]
async fn a_revoked_pat_gets_no_refresh_and_the_401_says_why() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(account(false)),
        null_email: true,
    });
    write_pat(home.path(), &token);
    let manager = manager(home.path(), &emulator);
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.email(), None, "the null-email variant");
    let client = backend(&emulator, &manager);
    client.get_usage().await.unwrap();

    emulator.revoke_personal_access_token(&token);
    let recovery = manager.unauthorized_recovery();
    assert!(!recovery.has_next());
    assert_eq!(recovery.unavailable_reason(), "not_refreshable_auth");
    let before = emulator.stats();
    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(!err.to_string().contains(&token), "{err}");
    // No refresh request of any kind.
    assert_eq!(emulator.stats().token_requests, before.token_requests);
    assert!(manager.refresh_token().await.is_err());

    // A new load hydrates again and is refused: a new login is needed.
    assert!(manager.reload().await);
    let err = manager.try_auth().await.unwrap_err();
    assert!(err.requires_new_login(), "{err}");
    assert_eq!(
        err.to_string(),
        "personal access token metadata request failed with status 401 Unauthorized"
    );
    assert_eq!(
        manager.load_error().as_deref(),
        Some("personal access token metadata request failed with status 401 Unauthorized")
    );
}

#[tokio::test]
async fn whoami_failures_never_echo_the_token() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec::default());
    write_pat(home.path(), &token);
    let cases = [
        (
            200,
            format!(
                r#"{{"email":null,"chatgpt_user_id":"u","chatgpt_account_id":"a","chatgpt_plan_type":"plus","chatgpt_account_is_fedramp":"{token}"}}"#
            ),
            "failed to decode personal access token metadata: ",
        ),
        (
            200,
            "x".repeat(2 * 1024 * 1024),
            "failed to decode personal access token metadata: the response body is larger than",
        ),
        (
            500,
            format!(r#"{{"error":"{token}"}}"#),
            "personal access token metadata request failed with status 500 Internal Server Error",
        ),
        (
            403,
            String::new(),
            "personal access token metadata request failed with status 403 Forbidden",
        ),
    ];
    for (status, body, want) in cases {
        emulator.set_faults(Faults {
            status_overrides: vec![StatusOverride {
                path_prefix: WHOAMI.to_owned(),
                status,
                body,
                times: 1,
            }],
            ..Faults::default()
        });
        let manager = manager(home.path(), &emulator);
        let err = manager.try_auth().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(want), "{status}: {text}");
        assert!(!text.contains(&token), "{status}: the token leaked");
        assert_eq!(err.requires_new_login(), status == 403, "{status}");
    }

    // A plain-http base URL that is not loopback is refused before sending anything.
    let before = emulator.stats().pat_whoami_requests;
    let manager = manager_with_authapi(home.path(), "http://auth.example.com/api/accounts");
    let err = manager.try_auth().await.unwrap_err();
    assert!(
        err.to_string().contains("refusing to send credentials"),
        "{err}"
    );
    assert_eq!(emulator.stats().pat_whoami_requests, before);
}

#[tokio::test]
async fn login_refusals_write_nothing() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(account(false)),
        null_email: false,
    });
    let authapi = emulator.urls().authapi_base_url.clone();
    let mut restricted = options();
    restricted.forced_chatgpt_workspace_ids = vec!["acct-other".to_owned()];
    let err = login_with_personal_access_token(
        &target(home.path()),
        &SecretString::new(token.clone()),
        &restricted,
        &authapi,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Login is restricted to workspace id(s) acct-other."
    );
    let err = login_with_personal_access_token(
        &target(home.path()),
        &SecretString::new("at-unknown-token-0123456789"),
        &options(),
        &authapi,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, AccessTokenLoginError::PersonalAccessToken(ref e) if e.is_refused()),
        "{err}"
    );
    assert!(!home.path().join("auth.json").exists());
}

#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// TRACE logs of a login, a hydration, a backend call and a refused token
/// never contain the token (a thread-local subscriber: the test runtime is
/// single-threaded).
#[tokio::test]
async fn trace_logs_never_contain_the_token() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,codex_emulator=off",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec::default());
    let authapi = emulator.urls().authapi_base_url.clone();
    login_with_personal_access_token(
        &target(home.path()),
        &SecretString::new(token.clone()),
        &options(),
        &authapi,
    )
    .await
    .unwrap();
    let manager = manager(home.path(), &emulator);
    let auth = manager.try_auth().await.unwrap().unwrap();
    tracing::debug!(?auth, "hydrated");
    backend(&emulator, &manager).get_usage().await.unwrap();
    emulator.revoke_personal_access_token(&token);
    assert!(backend(&emulator, &manager).get_usage().await.is_err());
    manager.reload().await;
    assert!(manager.try_auth().await.is_err());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("personal access token"),
        "the logs were captured"
    );
    assert!(!logs.contains(&token), "a TRACE log holds the token");
    assert!(
        !logs.contains(&token["at-".len()..]),
        "a TRACE log holds the token"
    );
}

/// Review finding 5: a transient whoami failure keeps the unchecked token, so
/// the next call checks again and succeeds; only a refusal logs out.
#[tokio::test]
async fn a_transient_whoami_failure_is_retried_and_only_a_refusal_logs_out() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec::default());
    write_pat(home.path(), &token);
    let fail_once = |status: u16| Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: WHOAMI.to_owned(),
            status,
            body: String::new(),
            times: 1,
        }],
        ..Faults::default()
    };

    emulator.set_faults(fail_once(503));
    let retried = manager(home.path(), &emulator);
    let err = retried.try_auth().await.unwrap_err();
    assert!(!err.requires_new_login(), "{err}");
    assert!(retried.auth_cached().is_some(), "the token was dropped");
    let before = emulator.stats().pat_whoami_requests;
    let auth = retried.try_auth().await.unwrap().expect("retried");
    assert_eq!(auth.auth_mode(), AuthMode::PersonalAccessToken);
    assert!(auth.account_id().is_some());
    // The retry asked whoami again (the override answered the first call).
    assert_eq!(emulator.stats().pat_whoami_requests, before + 1);

    emulator.set_faults(fail_once(401));
    let manager = manager(home.path(), &emulator);
    let err = manager.try_auth().await.unwrap_err();
    assert!(err.requires_new_login(), "{err}");
    assert!(
        manager.auth_cached().is_none(),
        "a refused token stays in use"
    );
}

/// Review finding 8: with the issuer configured at the emulator and no
/// `CODEX_AUTHAPI_BASE_URL`, the manager's whoami goes to the emulator's
/// accounts API (derived from the issuer), not to production.
#[tokio::test]
async fn whoami_goes_to_the_configured_issuer_without_the_override() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let urls = emulator.urls();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n",
            urls.issuer, urls.chatgpt_base_url
        ),
    )
    .unwrap();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(account(false)),
        null_email: false,
    });
    let home_dir = home.path().display().to_string();
    let env = env_from_pairs([
        ("CODEX_HOME", home_dir.as_str()),
        ("HOME", home_dir.as_str()),
        ("CODEX_ACCESS_TOKEN", token.as_str()),
    ]);
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    let before = emulator.stats().pat_whoami_requests;
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.account_id(), Some("acct-pat-0001"));
    assert_eq!(emulator.stats().pat_whoami_requests, before + 1);
}
