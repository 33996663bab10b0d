//! The `use_agent_identity` opt-in for a managed ChatGPT login, against
//! `codex-emulator`: one identity per account and user, registered once and
//! reused across reloads and managers (processes), stored beside the tokens;
//! transient failures retried, exhausted retries falling back to Bearer for
//! the session, and a refusal (403) failing hard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::agent_support;

use agent_support::*;
use codex_agent_identity::{RegistrationError, RegistrationFailureCache};
use codex_auth_provider::headers::AUTHORIZATION;
use codex_auth_provider::{AuthErrorKind, AuthSource, SharedAuthSource};
use codex_backend_client::BackendClient;
use codex_emulator::{EmulatorHandle, Faults, SeedAccount, StatusOverride};
use codex_login::agent_identity::AgentIdentityError;
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::storage::{AuthStorage, FileAuthStorage, LoadedAuth, StorageError};
use codex_login::{auth_dot_json::AuthMode, auth_manager::RefreshTokenError};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, codex_auth::CodexAuth,
    storage::CredentialStoreMode,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn opt_in_config(home: &Path, emulator: &EmulatorHandle) -> AuthManagerConfig {
    let mut config = manager_config(home, emulator);
    config.use_agent_identity = true;
    config
}

fn registration_override(status: u16, times: u32) -> Faults {
    Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/api/accounts/v1/agent/register".to_owned(),
            status,
            body: format!(r#"{{"error":{{"code":"http_{status}"}}}}"#),
            times,
        }],
        ..Faults::default()
    }
}

fn authorization_scheme(auth: &CodexAuth) -> String {
    let headers = auth.provider().auth_headers();
    let value = headers.get(AUTHORIZATION).unwrap().to_str().unwrap();
    value.split(' ').next().unwrap().to_owned()
}

#[tokio::test]
async fn opt_in_registers_once_and_reuses_the_identity_across_reloads_and_managers() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = seed_chatgpt_login(home.path(), &emulator, None);

    let first = AuthManager::shared(opt_in_config(home.path(), &emulator));
    let auth = first.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.auth_mode(), AuthMode::Chatgpt);
    assert_eq!(authorization_scheme(&auth), "AgentAssertion");
    let stats = emulator.stats();
    assert_eq!(
        (stats.agent_registrations, stats.task_registrations),
        (1, 1)
    );
    assert_eq!(usage_status(&emulator, &auth).await, 200);
    assert_eq!(emulator.stats().assertions_ok, 1);

    // Stored beside the tokens, bound to account and user, with the task.
    let stored = read_auth_json(home.path());
    assert_eq!(stored["auth_mode"], "chatgpt");
    assert_eq!(stored["tokens"]["refresh_token"], tokens.refresh_token);
    let record = &stored["agent_identity"];
    let runtime = record["agent_runtime_id"].as_str().unwrap().to_owned();
    let task = record["task_id"].as_str().unwrap().to_owned();
    assert_eq!(record["account_id"], SeedAccount::default().account_id);
    assert_eq!(record["chatgpt_user_id"], SeedAccount::default().user_id);
    assert_eq!(record["email"], SeedAccount::default().email);
    assert_eq!(record["plan_type"], "plus");
    assert_eq!(record["chatgpt_account_is_fedramp"], false);
    assert!(record["agent_private_key"].as_str().unwrap().len() > 40);
    let assertion = auth.agent_assertion_auth().unwrap();
    assert_eq!(assertion.agent_runtime_id().as_str(), runtime);
    assert_eq!(assertion.task_id().as_str(), task);

    // Reload in the same manager, then a second manager ("another process").
    first.reload().await;
    let reloaded = first.try_auth().await.unwrap().unwrap();
    assert_eq!(
        reloaded.agent_assertion_auth().unwrap().task_id().as_str(),
        task
    );
    let second = AuthManager::shared(opt_in_config(home.path(), &emulator));
    let again = second.try_auth().await.unwrap().unwrap();
    let again_assertion = again.agent_assertion_auth().unwrap();
    assert_eq!(again_assertion.agent_runtime_id().as_str(), runtime);
    assert_eq!(again_assertion.task_id().as_str(), task);
    let source: SharedAuthSource = second.clone();
    BackendClient::builder(emulator.urls().chatgpt_base_url.clone())
        .auth_source(source)
        .build()
        .unwrap()
        .get_usage()
        .await
        .unwrap();
    let stats = emulator.stats();
    assert_eq!(
        (stats.agent_registrations, stats.task_registrations),
        (1, 1),
        "registered once"
    );
    assert_eq!(stats.assertions_ok, 2);
    assert_eq!(stats.bearer_ok, 1, "only the registration used Bearer");

    // Without the opt-in the same file authenticates with Bearer.
    let plain = AuthManager::shared(manager_config(home.path(), &emulator));
    assert_eq!(
        authorization_scheme(&plain.try_auth().await.unwrap().unwrap()),
        "Bearer"
    );
}

#[tokio::test]
async fn two_managers_starting_together_register_one_identity() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    let a = AuthManager::shared(opt_in_config(home.path(), &emulator));
    let b = AuthManager::shared(opt_in_config(home.path(), &emulator));
    let (from_a, from_b) = tokio::join!(a.try_auth(), b.try_auth());
    let (from_a, from_b) = (from_a.unwrap().unwrap(), from_b.unwrap().unwrap());
    assert_eq!(
        from_a.agent_assertion_auth().unwrap().agent_runtime_id(),
        from_b.agent_assertion_auth().unwrap().agent_runtime_id()
    );
    let stats = emulator.stats();
    assert_eq!(
        (stats.agent_registrations, stats.task_registrations),
        (1, 1)
    );
}

#[tokio::test]
async fn identity_is_not_reused_for_another_user_in_the_same_workspace() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    let alice = AuthManager::shared(opt_in_config(home.path(), &emulator))
        .try_auth()
        .await
        .unwrap()
        .unwrap();
    let alice_runtime = alice
        .agent_assertion_auth()
        .unwrap()
        .agent_runtime_id()
        .clone();
    let alice_record = read_auth_json(home.path())["agent_identity"].clone();

    // Bob logs in to the same workspace; Alice's record is still in the file.
    // Only the user id differs (same email and plan), so nothing but the
    // account-and-user binding can tell the identities apart.
    let bob_account = SeedAccount {
        user_id: "user-bob-0002".to_owned(),
        ..SeedAccount::default()
    };
    let bob_tokens = emulator.issue_chatgpt_tokens(codex_emulator::IssueTokens {
        account: Some(bob_account.clone()),
        ..codex_emulator::IssueTokens::default()
    });
    let mut document = chatgpt_document(&bob_tokens);
    let mut with_alice = document.to_json_value();
    with_alice["agent_identity"] = alice_record;
    document = AuthDotJson::from_json_value(with_alice).unwrap();
    FileAuthStorage::new(home.path()).save(&document).unwrap();

    let bob = AuthManager::shared(opt_in_config(home.path(), &emulator))
        .try_auth()
        .await
        .unwrap()
        .unwrap();
    let bob_assertion = bob.agent_assertion_auth().unwrap();
    assert_ne!(bob_assertion.agent_runtime_id(), &alice_runtime);
    assert_eq!(emulator.stats().agent_registrations, 2);
    let record = &read_auth_json(home.path())["agent_identity"];
    assert_eq!(record["chatgpt_user_id"], bob_account.user_id);
    assert_eq!(record["account_id"], bob_account.account_id);
    assert_eq!(usage_status(&emulator, &bob).await, 200);
}

#[tokio::test]
async fn transient_registration_failures_are_retried() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    emulator.set_faults(registration_override(503, 2));
    let manager = AuthManager::shared(opt_in_config(home.path(), &emulator));
    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(authorization_scheme(&auth), "AgentAssertion");
    let stats = emulator.stats();
    assert_eq!(
        stats.faults_injected + stats.agent_registrations,
        3,
        "503, 503, 200"
    );
    assert_eq!(stats.agent_registrations, 1);
}

#[tokio::test]
async fn exhausted_retries_fall_back_to_bearer_for_the_session() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    let before = auth_json_bytes(home.path());
    emulator.set_faults(registration_override(503, 0));
    let failures = Arc::new(RegistrationFailureCache::new());
    let mut config = opt_in_config(home.path(), &emulator);
    config.agent_identity.failure_cache = Some(Arc::clone(&failures));
    let manager = AuthManager::shared(config.clone());

    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(authorization_scheme(&auth), "Bearer");
    assert!(auth.agent_assertion_auth().is_none());
    assert_eq!(emulator.stats().faults_injected, 3, "three attempts");
    assert_eq!(usage_status(&emulator, &auth).await, 200);
    assert_eq!(
        auth_json_bytes(home.path()),
        before,
        "no identity was persisted"
    );

    // The rest of the session stays on Bearer without asking again.
    emulator.set_faults(Faults::default());
    manager.try_auth().await.unwrap().unwrap();
    manager.reload().await;
    let later = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(authorization_scheme(&later), "Bearer");
    // A new session within the hour remembers the failure (no request either).
    let next = AuthManager::shared(config);
    assert_eq!(
        authorization_scheme(&next.try_auth().await.unwrap().unwrap()),
        "Bearer"
    );
    let stats = emulator.stats();
    assert_eq!(stats.faults_injected, 3);
    assert_eq!(stats.agent_registrations, 0);
}

#[tokio::test]
async fn a_refused_registration_is_a_hard_error() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_login(home.path(), &emulator, None);
    let before = auth_json_bytes(home.path());
    emulator.set_faults(registration_override(403, 0));
    let manager = AuthManager::shared(opt_in_config(home.path(), &emulator));

    let err = manager.try_auth().await.unwrap_err();
    assert!(
        matches!(
            &err,
            RefreshTokenError::AgentIdentity(AgentIdentityError::Registration(
                RegistrationError::Rejected { status: 403, .. }
            ))
        ),
        "{err:?}"
    );
    assert_eq!(emulator.stats().faults_injected, 1, "403 is not retried");
    assert!(
        manager.auth().await.is_none(),
        "no silent Bearer after a hard failure"
    );
    let source: &dyn AuthSource = manager.as_ref();
    assert!(matches!(
        source.current_provider().await.unwrap_err(),
        err if err.kind() == AuthErrorKind::NeedsLogin && err.to_string().contains("403")
    ));
    assert_eq!(
        emulator.stats().faults_injected,
        1,
        "the failure is remembered"
    );
    assert_eq!(auth_json_bytes(home.path()), before);
}

/// A file store whose first load is followed by another program replacing the
/// login (another account), as a logout-and-login would while we register.
#[derive(Debug)]
struct SwitchedAfterFirstLoad {
    inner: FileAuthStorage,
    loads: AtomicUsize,
    replacement: AuthDotJson,
}

impl AuthStorage for SwitchedAfterFirstLoad {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::File
    }
    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        let loaded = self.inner.load_with_location();
        if self.loads.fetch_add(1, Ordering::SeqCst) == 1 {
            // The manager's own load is first; the bootstrap's first read is second.
            self.inner.save(&self.replacement)?;
        }
        loaded
    }
    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        self.inner.save(document)
    }
    fn delete(&self) -> Result<bool, StorageError> {
        self.inner.delete()
    }
}

#[tokio::test]
async fn an_identity_is_never_written_over_another_accounts_login() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let alice = seed_chatgpt_login(home.path(), &emulator, None);
    let carol_account = SeedAccount {
        account_id: "acct-carol-0003".to_owned(),
        user_id: "user-carol-0003".to_owned(),
        email: "carol@example.com".to_owned(),
        ..SeedAccount::default()
    };
    let carol = emulator.issue_chatgpt_tokens(codex_emulator::IssueTokens {
        account: Some(carol_account.clone()),
        ..codex_emulator::IssueTokens::default()
    });
    let storage = Arc::new(SwitchedAfterFirstLoad {
        inner: FileAuthStorage::new(home.path()),
        loads: AtomicUsize::new(0),
        replacement: chatgpt_document(&carol),
    });
    let mut config = opt_in_config(home.path(), &emulator);
    config.storage = Some(storage);
    let manager = AuthManager::shared(config);
    assert_eq!(
        manager.auth_cached().unwrap().account_id(),
        Some(alice.account_id.as_str())
    );

    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.account_id(), Some(carol_account.account_id.as_str()));
    let stored = read_auth_json(home.path());
    assert_eq!(stored["tokens"]["refresh_token"], carol.refresh_token);
    assert_eq!(
        stored["agent_identity"]["account_id"],
        carol_account.account_id
    );
    assert_eq!(
        stored["agent_identity"]["chatgpt_user_id"],
        carol_account.user_id
    );
    assert_eq!(emulator.stats().agent_registrations, 1, "only for Carol");
    assert!(
        !std::fs::read_to_string(home.path().join("auth.json"))
            .unwrap()
            .contains(&alice.refresh_token),
        "Alice's tokens never come back"
    );
}
