//! 401 recovery for agent identities, against `codex-emulator`: when the
//! backend refuses the run task's assertion, the `AuthManager` registers one
//! new run task and the backend client retries once; a stored record keeps the
//! new task; a registration that fails, or a second 401, ends in the 401.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::agent_support;

use agent_support::*;
use codex_auth_provider::{AuthSource, RecoveryOutcome, SecretString, UnauthorizedContext};
use codex_backend_client::{AuthRecovery, BackendClient};
use codex_emulator::{EmulatorHandle, Faults, SeedAccount, StatusOverride};
use codex_login::auth_manager::AuthManager;
use codex_login::flows::login_with_access_token;
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{auth_dot_json::AuthDotJson, auth_dot_json::AuthMode};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// `login --with-access-token` with a freshly minted JWT into `home`.
async fn jwt_login(emulator: &EmulatorHandle, home: &Path) {
    let minted = emulator.mint_agent_identity_jwt();
    login_with_access_token(
        &file_target(home),
        &SecretString::new(minted.jwt),
        &login_options(emulator),
    )
    .await
    .unwrap();
}

/// A backend client whose auth source is `manager`.
fn backend(emulator: &EmulatorHandle, manager: &Arc<AuthManager>) -> BackendClient {
    BackendClient::builder(emulator.urls().chatgpt_base_url.clone())
        .auth_source(manager.clone())
        .build()
        .unwrap()
}

/// The task the manager's cached snapshot signs with.
fn cached_task(manager: &AuthManager) -> String {
    manager
        .auth_cached()
        .unwrap()
        .agent_assertion_auth()
        .unwrap()
        .task_id()
        .as_str()
        .to_owned()
}

/// Every agent task registration answers 403 from now on.
fn refuse_task_registration(emulator: &EmulatorHandle) {
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/api/accounts/v1/agent/".to_owned(),
            status: 403,
            body: r#"{"error":{"code":"forbidden","message":"no"}}"#.to_owned(),
            times: 0,
        }],
        ..Faults::default()
    });
}

#[tokio::test]
async fn a_forgotten_jwt_task_is_registered_again_once_and_the_call_is_retried_once() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    jwt_login(&emulator, home.path()).await;
    let written = auth_json_bytes(home.path()).unwrap();
    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let client = backend(&emulator, &manager);

    client.get_usage().await.unwrap();
    let first_task = cached_task(&manager);
    let before = emulator.stats();
    assert_eq!(before.task_registrations, 1);
    assert_eq!(before.assertions_ok, 1);

    assert_eq!(emulator.forget_agent_tasks(), 1);
    client.get_usage().await.unwrap();
    let after = emulator.stats();
    assert_eq!(after.task_registrations, before.task_registrations + 1);
    assert_eq!(after.assertions_rejected, before.assertions_rejected + 1);
    assert_eq!(after.assertions_ok, before.assertions_ok + 1);
    let second_task = cached_task(&manager);
    assert_ne!(second_task, first_task);

    // The new task sticks: no more registrations, and a JWT login's file is untouched.
    client.get_usage().await.unwrap();
    manager.try_auth().await.unwrap().unwrap();
    assert_eq!(cached_task(&manager), second_task);
    let last = emulator.stats();
    assert_eq!(last.task_registrations, after.task_registrations);
    assert_eq!(last.assertions_ok, after.assertions_ok + 1);
    assert_eq!(auth_json_bytes(home.path()).unwrap(), written);
}

/// An `agentIdentity` document holding a record (no JWT) for a minted
/// identity with the given stored task; also returns the runtime id.
fn record_document(emulator: &EmulatorHandle, task_id: &str) -> (AuthDotJson, String) {
    let minted = emulator.mint_agent_identity_jwt();
    let seed = SeedAccount::default();
    let document = AuthDotJson::from_json_value(json!({
        "auth_mode": "agentIdentity",
        "OPENAI_API_KEY": null,
        "agent_identity": {
            "agent_runtime_id": minted.agent_runtime_id,
            "agent_private_key": minted.private_key_pkcs8_base64,
            "account_id": seed.account_id,
            "chatgpt_user_id": seed.user_id,
            "email": seed.email,
            "plan_type": seed.plan_type,
            "chatgpt_account_is_fedramp": false,
            "task_id": task_id,
        },
    }))
    .unwrap();
    (document, minted.agent_runtime_id)
}

#[tokio::test]
async fn a_stored_record_keeps_the_new_task_in_auth_json() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (document, runtime) = record_document(&emulator, "task-that-the-backend-never-issued");
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = AuthManager::shared(manager_config(home.path(), &emulator));

    // The stored task is used as is, refused, and replaced once.
    backend(&emulator, &manager).get_usage().await.unwrap();
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.task_registrations,
            stats.assertions_rejected,
            stats.assertions_ok
        ),
        (1, 1, 1)
    );
    let task = cached_task(&manager);
    assert_ne!(task, "task-that-the-backend-never-issued");
    let stored = read_auth_json(home.path());
    assert_eq!(stored["agent_identity"]["task_id"], task.as_str());
    assert_eq!(
        stored["agent_identity"]["agent_runtime_id"],
        runtime.as_str()
    );
    assert_eq!(stored["auth_mode"], "agentIdentity");

    // The next run starts with the stored task and needs no registration.
    let next = AuthManager::shared(manager_config(home.path(), &emulator));
    backend(&emulator, &next).get_usage().await.unwrap();
    assert_eq!(cached_task(&next), task);
    assert_eq!(emulator.stats().task_registrations, 1);
}

#[tokio::test]
async fn a_stored_record_replaced_by_another_identity_is_not_overwritten() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let (document, _) = record_document(&emulator, "task-stale-a");
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    manager.try_auth().await.unwrap().unwrap();

    // Another process stores another identity while this one runs.
    let (other, other_runtime) = record_document(&emulator, "task-of-b");
    FileAuthStorage::new(home.path()).save(&other).unwrap();
    let other_login = auth_json_bytes(home.path()).unwrap();
    let source: &dyn AuthSource = manager.as_ref();
    let outcome = source
        .recover_unauthorized(&UnauthorizedContext {
            error_code: Some("invalid_agent_assertion".to_owned()),
        })
        .await;
    assert_eq!(outcome, RecoveryOutcome::Retry);
    assert_eq!(emulator.stats().task_registrations, 1);
    assert_ne!(cached_task(&manager), "task-stale-a");
    assert_eq!(auth_json_bytes(home.path()).unwrap(), other_login);
    assert_eq!(
        read_auth_json(home.path())["agent_identity"]["agent_runtime_id"],
        other_runtime.as_str()
    );
}

#[tokio::test]
async fn a_refused_registration_gives_up_with_the_401_without_a_retry() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    jwt_login(&emulator, home.path()).await;
    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let client = backend(&emulator, &manager);
    client.get_usage().await.unwrap();

    emulator.forget_agent_tasks();
    refuse_task_registration(&emulator);
    let before = emulator.stats();
    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(err.error_code(), Some("invalid_agent_assertion"));
    let failure = err.http_failure().unwrap();
    let AuthRecovery::GaveUp(why) = &failure.auth_recovery else {
        panic!(
            "expected the source to give up: {:?}",
            failure.auth_recovery
        );
    };
    assert!(
        why.contains("could not register a new run task") && why.contains("403"),
        "{why}"
    );
    let after = emulator.stats();
    assert_eq!(after.assertions_rejected, before.assertions_rejected + 1);
    assert_eq!(after.assertions_ok, before.assertions_ok);
    assert_eq!(
        after.faults_injected,
        before.faults_injected + 1,
        "one registration attempt: 403 is not retried"
    );
    assert_eq!(after.task_registrations, before.task_registrations);

    // A refused registration keeps its meaning: the identity needs a new login.
    assert!(manager.auth_cached().is_none());
    assert!(manager.load_error().unwrap().contains("403"));
}

#[tokio::test]
async fn a_second_401_after_the_new_task_gives_up_instead_of_looping() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    jwt_login(&emulator, home.path()).await;
    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let client = backend(&emulator, &manager);
    client.get_usage().await.unwrap();
    assert_eq!(
        manager.auth_cached().unwrap().auth_mode(),
        AuthMode::AgentIdentity
    );

    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/backend-api/wham/usage".to_owned(),
            status: 401,
            body: r#"{"error":{"code":"invalid_agent_assertion","message":"unknown task"}}"#
                .to_owned(),
            times: 0,
        }],
        ..Faults::default()
    });
    let before = emulator.stats();
    let err = client.get_usage().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(
        err.http_failure().unwrap().auth_recovery,
        AuthRecovery::Retried
    );
    let after = emulator.stats();
    assert_eq!(
        after.faults_injected,
        before.faults_injected + 2,
        "sent twice"
    );
    assert_eq!(after.task_registrations, before.task_registrations + 1);
}

#[tokio::test]
async fn a_chatgpt_login_s_opted_in_identity_gets_a_new_task_without_a_token_refresh() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = seed_chatgpt_login(home.path(), &emulator, None);
    let mut config = manager_config(home.path(), &emulator);
    config.use_agent_identity = true;
    let manager = AuthManager::shared(config);
    let client = backend(&emulator, &manager);
    client.get_usage().await.unwrap();
    let first_task = cached_task(&manager);
    let runtime = read_auth_json(home.path())["agent_identity"]["agent_runtime_id"].clone();
    let before = emulator.stats();
    assert_eq!(
        (before.agent_registrations, before.task_registrations),
        (1, 1)
    );

    emulator.forget_agent_tasks();
    client.get_usage().await.unwrap();
    let after = emulator.stats();
    assert_eq!(after.task_registrations, before.task_registrations + 1);
    assert_eq!(after.agent_registrations, before.agent_registrations);
    assert_eq!(after.assertions_rejected, before.assertions_rejected + 1);
    assert_eq!(after.assertions_ok, before.assertions_ok + 1);
    assert_eq!(after.refresh_ok, 0, "the tokens were not refreshed");
    let task = cached_task(&manager);
    assert_ne!(task, first_task);
    let stored = read_auth_json(home.path());
    assert_eq!(stored["agent_identity"]["task_id"], task.as_str());
    assert_eq!(stored["agent_identity"]["agent_runtime_id"], runtime);
    assert_eq!(
        stored["tokens"]["refresh_token"],
        tokens.refresh_token.as_str()
    );
    assert_eq!(stored["auth_mode"], "chatgpt");
}
