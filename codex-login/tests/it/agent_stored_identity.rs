//! Agent identities beyond the plain JWT login, against `codex-emulator`: a
//! stored identity record keeps its run task across runs, FedRAMP identities
//! route correctly, and the ChatGPT opt-in survives a token refresh without
//! registering again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::agent_support;

use agent_support::*;
use codex_auth_provider::headers::X_OPENAI_FEDRAMP;
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, SeedAccount};
use codex_login::environment::env_from_pairs;
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{
    auth_dot_json::AuthDotJson, auth_manager::AuthManager, auth_manager::RefreshOutcome,
    auth_manager::RefreshTokenError,
};
use serde_json::json;

/// An `agentIdentity` document holding a record (no JWT) for a minted identity.
fn record_document(emulator: &EmulatorHandle, task_id: Option<&str>) -> (AuthDotJson, String) {
    let minted = emulator.mint_agent_identity_jwt();
    let seed = SeedAccount::default();
    let mut record = json!({
        "agent_runtime_id": minted.agent_runtime_id,
        "agent_private_key": minted.private_key_pkcs8_base64,
        "account_id": seed.account_id,
        "chatgpt_user_id": seed.user_id,
        "email": seed.email,
        "plan_type": seed.plan_type,
        "chatgpt_account_is_fedramp": false,
    });
    if let Some(task) = task_id {
        record["task_id"] = json!(task);
    }
    let document = AuthDotJson::from_json_value(json!({
        "auth_mode": "agentIdentity",
        "OPENAI_API_KEY": null,
        "agent_identity": record,
    }))
    .unwrap();
    (document, minted.agent_runtime_id)
}

#[tokio::test]
async fn a_stored_record_gets_its_run_task_once_and_keeps_it() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (document, runtime) = record_document(&emulator, None);
    FileAuthStorage::new(home.path()).save(&document).unwrap();

    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(emulator.stats().task_registrations, 1);
    assert_eq!(usage_status(&emulator, &auth).await, 200);
    let stored = read_auth_json(home.path());
    let task = auth.agent_assertion_auth().unwrap().task_id().as_str();
    assert_eq!(stored["agent_identity"]["task_id"], task);
    assert_eq!(stored["agent_identity"]["agent_runtime_id"], runtime);
    assert_eq!(stored["auth_mode"], "agentIdentity");

    // Next run: the stored task is used as is.
    let next = AuthManager::shared(manager_config(home.path(), &emulator));
    let again = next.try_auth().await.unwrap().unwrap();
    assert_eq!(
        again.agent_assertion_auth().unwrap().task_id().as_str(),
        task
    );
    assert_eq!(usage_status(&emulator, &again).await, 200);
    assert_eq!(emulator.stats().task_registrations, 1);

    // A forced workspace still applies to an identity that needs no registration.
    let mut config = manager_config(home.path(), &emulator);
    config.forced_chatgpt_workspace_ids = vec!["ws-other".to_owned()];
    let restricted = AuthManager::shared(config);
    assert!(matches!(
        restricted.try_auth().await.unwrap_err(),
        RefreshTokenError::AgentIdentity(_)
    ));
    assert!(restricted.auth_cached().is_none());
}

#[tokio::test]
async fn fedramp_identities_send_the_routing_header() {
    let emulator = Emulator::start(EmulatorConfig {
        seed: SeedAccount {
            fedramp: true,
            ..SeedAccount::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();

    let minted = emulator.mint_agent_identity_jwt();
    let jwt_home = tempfile::tempdir().unwrap();
    let env = env_from_pairs([("CODEX_ACCESS_TOKEN", minted.jwt)]);
    let manager = AuthManager::shared(manager_config_with_env(jwt_home.path(), &emulator, env));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(
        auth.provider()
            .auth_headers()
            .get(X_OPENAI_FEDRAMP)
            .unwrap(),
        "true"
    );
    assert_eq!(usage_status(&emulator, &auth).await, 200);

    let chatgpt_home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(chatgpt_home.path(), &emulator, None);
    let mut config = manager_config(chatgpt_home.path(), &emulator);
    config.use_agent_identity = true;
    let manager = AuthManager::shared(config);
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert!(auth.agent_assertion_auth().unwrap().is_fedramp());
    assert_eq!(
        read_auth_json(chatgpt_home.path())["agent_identity"]["chatgpt_account_is_fedramp"],
        true
    );
    assert_eq!(usage_status(&emulator, &auth).await, 200);
}

#[tokio::test]
async fn the_chatgpt_identity_survives_a_token_refresh() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    let mut config = manager_config(home.path(), &emulator);
    config.use_agent_identity = true;
    let manager = AuthManager::shared(config);
    let before = manager.try_auth().await.unwrap().unwrap();
    let task = before.agent_assertion_auth().unwrap().task_id().clone();

    assert_eq!(
        manager.refresh_token_from_authority().await.unwrap(),
        RefreshOutcome::Refreshed
    );
    let stored = read_auth_json(home.path());
    assert_eq!(
        stored["agent_identity"]["task_id"],
        task.as_str(),
        "the refresh rewrite keeps the identity"
    );
    let after = manager.try_auth().await.unwrap().unwrap();
    assert_ne!(
        after.bearer_token().unwrap().expose(),
        before.bearer_token().unwrap().expose()
    );
    assert_eq!(after.agent_assertion_auth().unwrap().task_id(), &task);
    assert_eq!(usage_status(&emulator, &after).await, 200);
    let stats = emulator.stats();
    assert_eq!(stats.refresh_ok, 1);
    assert_eq!(
        (stats.agent_registrations, stats.task_registrations),
        (1, 1)
    );
}

#[tokio::test]
async fn sealed_task_ids_are_opened_with_the_identity_key() {
    let emulator = Emulator::start(EmulatorConfig {
        encrypt_task_ids: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let minted = emulator.mint_agent_identity_jwt();
    let home = tempfile::tempdir().unwrap();
    let env = env_from_pairs([("CODEX_ACCESS_TOKEN", minted.jwt)]);
    let manager = AuthManager::shared(manager_config_with_env(home.path(), &emulator, env));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert!(
        auth.agent_assertion_auth()
            .unwrap()
            .task_id()
            .as_str()
            .starts_with("task_")
    );
    assert_eq!(usage_status(&emulator, &auth).await, 200);
}
