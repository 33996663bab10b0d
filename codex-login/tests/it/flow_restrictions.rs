//! `enforce_login_restrictions`: upstream's scenarios, with the same checks and messages for
//! every auth mode (stored ChatGPT tokens, stored or env API keys, agent identities).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use codex_emulator::{IssueTokens, SeedAccount};
use codex_login::config::ForcedLoginMethod;
use codex_login::flows::{
    LoginRestrictions, RestrictionTarget, RestrictionViolation, enforce_login_restrictions,
};
use codex_login::storage::CredentialStoreMode;
use flow_support::{emulator, seed_chatgpt_auth};

fn target(home: &std::path::Path) -> RestrictionTarget {
    RestrictionTarget {
        codex_home: home.to_path_buf(),
        store_mode: CredentialStoreMode::File,
        storage: None,
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn restrictions(method: Option<ForcedLoginMethod>, workspaces: &[&str]) -> LoginRestrictions {
    LoginRestrictions {
        forced_login_method: method,
        forced_chatgpt_workspace_ids: workspaces.iter().map(|id| (*id).to_owned()).collect(),
    }
}

async fn chatgpt_home() -> tempfile::TempDir {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(IssueTokens::default()),
    );
    home
}

fn api_key_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stored"}"#,
    )
    .unwrap();
    home
}

#[tokio::test]
async fn enforce_login_restrictions_logs_out_for_method_mismatch() {
    let home = chatgpt_home().await;
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(Some(ForcedLoginMethod::Api), &[]),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(err.violation, RestrictionViolation::ApiKeyRequired);
    assert_eq!(
        err.to_string(),
        "API key login is required, but ChatGPT is currently being used. Logging out."
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn enforce_login_restrictions_logs_out_for_workspace_mismatch() {
    let home = chatgpt_home().await;
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(None, &["ws-a", "ws-b"]),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Login is restricted to workspace(s) ws-a, ws-b, but current credentials belong to {}. Logging out.",
            SeedAccount::default().account_id
        )
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn enforce_login_restrictions_allows_matching_workspace() {
    let home = chatgpt_home().await;
    enforce_login_restrictions(
        &target(home.path()),
        &restrictions(
            Some(ForcedLoginMethod::Chatgpt),
            &["ws-a", &SeedAccount::default().account_id],
        ),
        &no_env,
    )
    .unwrap();
    assert!(home.path().join("auth.json").exists());
}

#[tokio::test]
async fn enforce_login_restrictions_allows_api_key_if_login_method_not_set_but_forced_workspace_set()
 {
    let home = api_key_home();
    enforce_login_restrictions(
        &target(home.path()),
        &restrictions(None, &["ws-a"]),
        &no_env,
    )
    .unwrap();
    assert!(home.path().join("auth.json").exists());
}

#[tokio::test]
async fn enforce_login_restrictions_blocks_env_api_key_when_chatgpt_required() {
    let home = chatgpt_home().await;
    let env = |name: &str| (name == "CODEX_API_KEY").then(|| "sk-from-env".to_owned());
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(Some(ForcedLoginMethod::Chatgpt), &[]),
        &env,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ChatGPT login is required, but an API key is currently being used. Logging out."
    );
}

#[tokio::test]
async fn stored_api_key_is_refused_when_chatgpt_required() {
    let home = api_key_home();
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(Some(ForcedLoginMethod::Chatgpt), &[]),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(err.violation, RestrictionViolation::ChatgptRequired);
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn agent_identity_gets_the_same_checks_and_messages() {
    let emulator = emulator(true).await;
    let jwt = emulator.mint_agent_identity_jwt().jwt;
    let env = move |name: &str| (name == "CODEX_ACCESS_TOKEN").then(|| jwt.clone());
    let home = tempfile::tempdir().unwrap();
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(Some(ForcedLoginMethod::Api), &[]),
        &env,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "API key login is required, but ChatGPT is currently being used. Logging out."
    );
    let err =
        enforce_login_restrictions(&target(home.path()), &restrictions(None, &["ws-a"]), &env)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Login is restricted to workspace(s) ws-a, but current credentials belong to {}. Logging out.",
            SeedAccount::default().account_id
        )
    );
    enforce_login_restrictions(
        &target(home.path()),
        &restrictions(
            Some(ForcedLoginMethod::Chatgpt),
            &[&SeedAccount::default().account_id],
        ),
        &env,
    )
    .unwrap();
}

#[tokio::test]
async fn credentials_without_a_workspace_are_logged_out() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"e30.e30.c2ln","access_token":"at","refresh_token":"rt"},"last_refresh":"2025-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(None, &["ws-a"]),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Login is restricted to workspace(s) ws-a, but current credentials lack a workspace identifier. Logging out."
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn unreadable_credentials_are_logged_out_when_workspaces_are_forced() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("auth.json"), "{ not json").unwrap();
    let err = enforce_login_restrictions(
        &target(home.path()),
        &restrictions(None, &["ws-a"]),
        &no_env,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "Failed to load ChatGPT credentials while enforcing workspace restrictions: "
        ),
        "{err}"
    );
    assert!(err.to_string().ends_with(". Logging out."), "{err}");
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn no_restrictions_and_no_credentials_pass() {
    let home = tempfile::tempdir().unwrap();
    enforce_login_restrictions(
        &target(home.path()),
        &restrictions(Some(ForcedLoginMethod::Chatgpt), &["ws-a"]),
        &no_env,
    )
    .unwrap();
    let home = chatgpt_home().await;
    enforce_login_restrictions(&target(home.path()), &restrictions(None, &[]), &no_env).unwrap();
    assert!(home.path().join("auth.json").exists());
}
