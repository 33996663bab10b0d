//! `CodexAuth` snapshots and their providers, credential resolution order,
//! and the `AuthManager` basics (load, reload, logout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_auth_provider::SecretString;
use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_login::auth_dot_json::{AuthDotJson, AuthMode, StoredTokens};
use codex_login::codex_auth::{AuthDataError, EXTERNAL_TOKENS_MISSING_METADATA_MESSAGE};
use codex_login::environment::env_from_pairs;
use codex_login::resolution::{CredentialSource, ResolveError, ResolveOptions};
use codex_login::storage::{
    AuthStorage, CredentialStoreMode, EphemeralAuthStorage, FileAuthStorage,
};
use codex_login::token_claims::PlanType;
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, codex_auth::CodexAuth,
    resolution::resolve_credentials,
};
use core_support::*;
use std::path::Path;

fn chatgpt_auth(plan: &str, fedramp: bool) -> CodexAuth {
    let id_token = fake_jwt(&serde_json::json!({
        "email": "user@example.com",
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": plan,
            "chatgpt_account_id": "acct-1",
            "chatgpt_user_id": "user-1",
            "chatgpt_account_is_fedramp": fedramp
        }
    }));
    let document = AuthDotJson::chatgpt(
        StoredTokens::new(
            id_token.into(),
            fake_access_token(4_102_444_800).into(),
            "rt".into(),
            Some("acct-1".into()),
        ),
        None,
        chrono::Utc::now(),
    );
    CodexAuth::from_auth_dot_json(document).unwrap()
}

#[test]
fn chatgpt_provider_sends_bearer_account_and_fedramp() {
    let auth = chatgpt_auth("enterprise", true);
    let headers = auth.provider().auth_headers();
    let bearer = headers.get(AUTHORIZATION).unwrap();
    assert_eq!(
        bearer.to_str().unwrap(),
        format!("Bearer {}", auth.bearer_token().unwrap().expose())
    );
    assert!(bearer.is_sensitive());
    assert_eq!(headers.get(CHATGPT_ACCOUNT_ID).unwrap(), "acct-1");
    assert_eq!(headers.get(X_OPENAI_FEDRAMP).unwrap(), "true");
    assert!(auth.is_fedramp_account() && auth.is_workspace_account());

    let headers = chatgpt_auth("plus", false).provider().auth_headers();
    assert!(headers.get(X_OPENAI_FEDRAMP).is_none());
}

#[test]
fn api_key_provider_sends_only_bearer() {
    let auth = CodexAuth::from_api_key("sk-abc".into()).unwrap();
    let headers = auth.provider().auth_headers();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers.get(AUTHORIZATION).unwrap(), "Bearer sk-abc");
    assert!(!auth.uses_codex_backend());
    assert!(CodexAuth::from_api_key("  ".into()).is_err());
}

#[test]
fn agent_identity_provider_sends_account_headers_but_no_authorization_yet() {
    let jwt = fake_jwt(&serde_json::json!({
        "agent_runtime_id": "runtime-1",
        "agent_private_key": "a2V5",
        "account_id": "acct-a",
        "chatgpt_user_id": "user-a",
        "plan_type": "pro",
        "chatgpt_account_is_fedramp": true
    }));
    let auth = CodexAuth::from_agent_identity_jwt(jwt.clone().into()).unwrap();
    let headers = auth.provider().auth_headers();
    assert!(headers.get(AUTHORIZATION).is_none());
    assert_eq!(headers.get(CHATGPT_ACCOUNT_ID).unwrap(), "acct-a");
    assert_eq!(headers.get(X_OPENAI_FEDRAMP).unwrap(), "true");
    assert_eq!(
        auth.agent_identity()
            .unwrap()
            .jwt
            .as_ref()
            .unwrap()
            .expose(),
        jwt
    );
    assert!(auth.uses_codex_backend());

    let missing_key = fake_jwt(&serde_json::json!({"agent_runtime_id": "r"}));
    assert_eq!(
        CodexAuth::from_agent_identity_jwt(missing_key.into()).unwrap_err(),
        AuthDataError::AgentIdentityIncomplete("agent_private_key")
    );
}

#[test]
fn plan_types_map_like_upstream() {
    for (raw, plan) in [
        ("pro", PlanType::Pro),
        (
            "self_serve_business_usage_based",
            PlanType::SelfServeBusinessUsageBased,
        ),
        (
            "enterprise_cbp_usage_based",
            PlanType::EnterpriseCbpUsageBased,
        ),
        ("hc", PlanType::Enterprise),
        ("go", PlanType::Go),
        ("prolite", PlanType::ProLite),
    ] {
        assert_eq!(chatgpt_auth(raw, false).account_plan_type(), plan, "{raw}");
    }
    assert_eq!(
        chatgpt_auth("galactic", false).account_plan_type(),
        PlanType::Unknown("galactic".into())
    );
    let no_plan = CodexAuth::from_auth_dot_json(AuthDotJson::chatgpt(
        StoredTokens::new(
            fake_jwt(&serde_json::json!({})).into(),
            "at".into(),
            "rt".into(),
            None,
        ),
        None,
        chrono::Utc::now(),
    ))
    .unwrap();
    assert!(matches!(no_plan.account_plan_type(), PlanType::Unknown(_)));
    assert!(no_plan.plan_type().is_none());
}

#[test]
fn external_tokens_without_chatgpt_metadata_cannot_seed_chatgpt_auth() {
    let err = CodexAuth::from_external_chatgpt_tokens("at".into(), "", None, chrono::Utc::now())
        .unwrap_err();
    assert_eq!(err.to_string(), EXTERNAL_TOKENS_MISSING_METADATA_MESSAGE);
    let ok = CodexAuth::from_external_chatgpt_tokens(
        fake_jwt(&serde_json::json!({"https://api.openai.com/auth": {"chatgpt_account_id": "from-token"}}))
            .into(),
        "acct-supplied",
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(ok.auth_mode(), AuthMode::ChatgptAuthTokens);
    assert_eq!(ok.account_id(), Some("acct-supplied"));
    assert_eq!(ok.account_plan_type(), PlanType::Unknown("unknown".into()));
    assert!(ok.last_refresh().is_some());
}

fn resolve(
    home: &Path,
    mode: CredentialStoreMode,
    enable_env_key: bool,
    env: &[(&str, &str)],
) -> Result<Option<codex_login::resolution::ResolvedAuth>, ResolveError> {
    let env = env_from_pairs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let lookup = |name: &str| env(name);
    let storage = codex_login::storage::storage_for_mode(home, mode);
    resolve_credentials(
        storage.as_ref(),
        &ResolveOptions {
            codex_home: home,
            store_mode: mode,
            enable_codex_api_key_env: enable_env_key,
            env: &lookup,
            workload_identity: None,
        },
    )
}

#[test]
fn resolution_order_is_env_key_then_ephemeral_then_access_token_then_store() {
    let home = tempfile::tempdir().unwrap();
    let file = FileAuthStorage::new(home.path());
    let agent_jwt =
        fake_jwt(&serde_json::json!({"agent_runtime_id": "r", "agent_private_key": "k"}));

    assert!(
        resolve(home.path(), CredentialStoreMode::File, true, &[])
            .unwrap()
            .is_none()
    );

    file.save(&AuthDotJson::api_key("sk-file".into())).unwrap();
    let won = resolve(home.path(), CredentialStoreMode::File, false, &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        won.source,
        CredentialSource::File(home.path().join("auth.json"))
    );
    assert_eq!(
        won.source.to_string(),
        format!("file:{}", home.path().join("auth.json").display())
    );

    // The access-token env var beats the store; the old name is still read.
    for name in ["CODEX_ACCESS_TOKEN", "CODEX_AGENT_IDENTITY"] {
        let won = resolve(
            home.path(),
            CredentialStoreMode::File,
            false,
            &[(name, &agent_jwt)],
        )
        .unwrap()
        .unwrap();
        assert_eq!(won.source.to_string(), format!("env:{name}"));
        assert_eq!(won.auth.auth_mode(), AuthMode::AgentIdentity);
    }
    // issue 19: `at-…` is a personal access token (hydrated later by the manager).
    let pat = resolve(
        home.path(),
        CredentialStoreMode::File,
        false,
        &[("CODEX_ACCESS_TOKEN", "at-123")],
    )
    .unwrap()
    .unwrap();
    assert_eq!(pat.source.to_string(), "env:CODEX_ACCESS_TOKEN");
    assert_eq!(pat.auth.auth_mode(), AuthMode::PersonalAccessToken);
    assert_eq!(pat.auth.bearer_token().unwrap().expose(), "at-123");
    assert_eq!(pat.auth.account_id(), None);

    // CODEX_API_KEY only where enabled, and then above everything.
    let env = [
        ("CODEX_API_KEY", " sk-env "),
        ("CODEX_ACCESS_TOKEN", agent_jwt.as_str()),
    ];
    let won = resolve(home.path(), CredentialStoreMode::File, false, &env)
        .unwrap()
        .unwrap();
    assert_eq!(won.source.to_string(), "env:CODEX_ACCESS_TOKEN");
    let won = resolve(home.path(), CredentialStoreMode::File, true, &env)
        .unwrap()
        .unwrap();
    assert_eq!(won.source.to_string(), "env:CODEX_API_KEY");
    assert_eq!(won.auth.api_key().unwrap().expose(), "sk-env", "trimmed");

    // The in-memory store beats the access token and the file.
    let ephemeral = EphemeralAuthStorage::new(home.path());
    ephemeral
        .save(&AuthDotJson::api_key("sk-memory".into()))
        .unwrap();
    let won = resolve(home.path(), CredentialStoreMode::File, false, &env)
        .unwrap()
        .unwrap();
    assert_eq!(won.source, CredentialSource::Ephemeral);
    assert_eq!(won.auth.api_key().unwrap().expose(), "sk-memory");
    ephemeral.delete().unwrap();

    // Configured as ephemeral: nothing else is consulted.
    assert!(
        resolve(home.path(), CredentialStoreMode::Ephemeral, false, &env)
            .unwrap()
            .is_none()
    );
}

#[test]
fn bad_env_credentials_name_the_variable() {
    let home = tempfile::tempdir().unwrap();
    let err = resolve(
        home.path(),
        CredentialStoreMode::File,
        false,
        &[("CODEX_ACCESS_TOKEN", "not-a-jwt")],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("env:CODEX_ACCESS_TOKEN") && text.contains("invalid ID token format"),
        "{text}"
    );
    assert!(!text.contains("not-a-jwt"));
}

#[tokio::test]
async fn manager_basics_missing_file_reload_and_logout() {
    let home = tempfile::tempdir().unwrap();
    let mut config = AuthManagerConfig::new(home.path());
    config.env = env_from_pairs([("TERM", "xterm")]);
    let manager = AuthManager::new(config);
    assert!(
        manager.auth_cached().is_none(),
        "missing auth.json means no auth"
    );
    assert!(manager.load_error().is_none());
    assert!(manager.auth().await.is_none());
    assert!(!manager.logout().await.unwrap(), "nothing to remove");

    // A login elsewhere is not seen until reload.
    FileAuthStorage::new(home.path())
        .save(&AuthDotJson::api_key(SecretString::new("sk-1")))
        .unwrap();
    assert!(manager.auth_cached().is_none());
    assert!(manager.reload().await);
    assert_eq!(
        manager.auth_cached().unwrap().api_key().unwrap().expose(),
        "sk-1"
    );
    assert!(!manager.reload().await, "unchanged");

    // An API-key login replaces ChatGPT tokens entirely.
    let chatgpt = AuthDotJson::chatgpt(
        StoredTokens::new(
            fake_jwt(&serde_json::json!({})).into(),
            "at".into(),
            "rt".into(),
            None,
        ),
        None,
        chrono::Utc::now(),
    );
    FileAuthStorage::new(home.path()).save(&chatgpt).unwrap();
    FileAuthStorage::new(home.path())
        .save(&AuthDotJson::api_key(SecretString::new("sk-2")))
        .unwrap();
    let stored = read_auth_json(home.path());
    assert!(stored.get("tokens").is_none() && stored.get("last_refresh").is_none());
    assert!(manager.reload().await);

    assert!(manager.logout().await.unwrap());
    assert!(!home.path().join("auth.json").exists());
    assert!(manager.auth_cached().is_none());
}

#[tokio::test]
async fn manager_treats_a_malformed_file_as_logged_out_and_says_why() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("auth.json"), "{\"tokens\": ").unwrap();
    let manager = AuthManager::new(AuthManagerConfig::new(home.path()));
    assert!(manager.auth_cached().is_none());
    let why = manager.load_error().unwrap();
    assert!(
        why.contains("auth.json") && why.contains("truncated"),
        "{why}"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("auth.json")).unwrap(),
        "{\"tokens\": "
    );
}
