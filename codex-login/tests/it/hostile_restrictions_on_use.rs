//! Issue 13, point 5: an administrator's `forced_chatgpt_workspace_id` and `forced_login_method`
//! are enforced by `AuthManager` on every use, before any request: a stored login (or
//! `CODEX_API_KEY`) that breaks them is refused with upstream's message and removed, and the
//! emulator sees no request at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use codex_auth_provider::{AuthErrorKind, AuthSource};
use codex_emulator::{IssueTokens, SeedAccount};
use codex_login::auth_manager::GuardError;
use codex_login::config::ForcedLoginMethod;
use codex_login::environment::env_from_pairs;
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, auth_manager::RefreshTokenError,
};
use flow_support::{emulator, http, seed_chatgpt_auth};

fn config(home: &std::path::Path, issuer: &str, env: Vec<(String, String)>) -> AuthManagerConfig {
    let mut config = AuthManagerConfig::new(home);
    config.issuer = issuer.to_owned();
    config.refresh_token_url = Some(format!("{issuer}/oauth/token"));
    config.env = env_from_pairs(env);
    config.http = Some(http());
    config
}

#[tokio::test]
async fn a_stored_login_outside_the_forced_workspace_is_refused_before_any_request() {
    let emulator = emulator(false).await;
    let issuer = emulator.urls().issuer.clone();
    for refresh_first in [false, true] {
        let home = tempfile::tempdir().unwrap();
        // Expired, so a careless manager would refresh it first.
        seed_chatgpt_auth(
            home.path(),
            &emulator.issue_chatgpt_tokens(IssueTokens {
                access_token_ttl_secs: -60,
                ..IssueTokens::default()
            }),
        );
        let mut config = config(home.path(), &issuer, Vec::new());
        config.forced_chatgpt_workspace_ids = vec!["ws-allowed".to_owned()];
        let manager = AuthManager::shared(config);
        let err = if refresh_first {
            manager.refresh_token().await.unwrap_err()
        } else {
            manager.try_auth().await.unwrap_err()
        };
        assert!(
            matches!(err, RefreshTokenError::Guard(GuardError::Restricted(_))),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "Login is restricted to workspace(s) ws-allowed, but current credentials belong to {}. Logging out.",
                SeedAccount::default().account_id
            )
        );
        assert!(err.requires_new_login());
        assert!(!home.path().join("auth.json").exists(), "logged out");
        assert!(manager.auth_cached().is_none());
        let provider = manager.current_provider().await;
        assert!(
            matches!(&provider, Err(err) if err.kind() == AuthErrorKind::NotLoggedIn),
            "{provider:?}"
        );
    }
    let stats = emulator.stats();
    assert_eq!(stats.token_requests, 0, "{stats:?}");
    assert_eq!(stats.backend_requests, 0, "{stats:?}");
}

#[tokio::test]
async fn a_forced_login_method_is_enforced_on_use_for_stored_logins_and_codex_api_key() {
    let emulator = emulator(false).await;
    let issuer = emulator.urls().issuer.clone();

    // API keys forced, a ChatGPT login stored: refused through the AuthSource too.
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let mut api_only = config(home.path(), &issuer, Vec::new());
    api_only.forced_login_method = Some(ForcedLoginMethod::Api);
    let manager = AuthManager::shared(api_only);
    let Err(err) = manager.current_provider().await else {
        panic!("a ChatGPT login must be refused when API keys are forced");
    };
    assert!(err.kind().requires_new_login(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "API key login is required, but ChatGPT is currently being used. Logging out."
    );
    assert!(!home.path().join("auth.json").exists());

    // ChatGPT forced, CODEX_API_KEY set: refused (and the stored login removed, as upstream).
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let mut chatgpt_only = config(
        home.path(),
        &issuer,
        vec![(
            "CODEX_API_KEY".to_owned(),
            "sk-proj-forced-0123456789abcdef".to_owned(),
        )],
    );
    chatgpt_only.enable_codex_api_key_env = true;
    chatgpt_only.forced_login_method = Some(ForcedLoginMethod::Chatgpt);
    let manager = AuthManager::shared(chatgpt_only);
    let err = manager.try_auth().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "ChatGPT login is required, but an API key is currently being used. Logging out."
    );
    assert!(manager.auth().await.is_none(), "nothing is handed out");

    // The same login under a matching restriction is used as before.
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let mut allowed = config(home.path(), &issuer, Vec::new());
    allowed.forced_login_method = Some(ForcedLoginMethod::Chatgpt);
    allowed.forced_chatgpt_workspace_ids = vec![SeedAccount::default().account_id];
    let manager = AuthManager::shared(allowed);
    assert!(manager.try_auth().await.unwrap().is_some());
    assert!(home.path().join("auth.json").exists());

    let stats = emulator.stats();
    assert_eq!(stats.token_requests, 0, "{stats:?}");
    assert_eq!(stats.backend_requests, 0, "{stats:?}");
}
