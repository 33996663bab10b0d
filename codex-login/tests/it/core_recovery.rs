//! The 401 `UnauthorizedRecovery` state machine and the `AuthSource` seam,
//! against `codex-emulator`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID};
use codex_auth_provider::{AuthErrorKind, AuthSource, RecoveryOutcome, UnauthorizedContext};
use codex_emulator::{IssueTokens, SeedAccount};
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::auth_manager::NO_MORE_RECOVERY_STEPS_MESSAGE;
use codex_login::codex_auth::CodexAuth;
use codex_login::refresh::{REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE, RefreshFailureReason};
use codex_login::storage::{AuthStorage, EphemeralAuthStorage, FileAuthStorage};
use core_support::*;

#[tokio::test]
async fn unauthorized_recovery_reloads_then_refreshes_tokens() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    // Another process rotated the tokens on disk.
    let newer = issue(&emu, 3600);
    seed_home(home.path(), &newer);

    let mut recovery = manager.unauthorized_recovery();
    assert_eq!(
        (recovery.mode_name(), recovery.step_name()),
        ("managed", "reload")
    );
    assert_eq!(recovery.unavailable_reason(), "ready");
    assert!(recovery.has_next());
    let step = recovery.next().await.unwrap();
    assert!(step.auth_state_changed);
    assert_eq!(emu.stats().token_requests, 0, "reload sends nothing");
    assert_eq!(
        manager
            .auth_cached()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose(),
        newer.refresh_token
    );

    assert_eq!(recovery.step_name(), "refresh_token");
    let step = recovery.next().await.unwrap();
    assert!(step.auth_state_changed);
    assert_eq!(emu.stats().refresh_ok, 1);
    assert_ne!(stored_refresh_token(home.path()), newer.refresh_token);
    assert!(!recovery.has_next());
    assert_eq!(recovery.step_name(), "done");
    assert_eq!(recovery.unavailable_reason(), "recovery_exhausted");
    let err = recovery.next().await.unwrap_err();
    assert_eq!(err.to_string(), NO_MORE_RECOVERY_STEPS_MESSAGE);
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_recovery_errors_on_account_mismatch() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    let theirs = emu.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 3600,
        account: Some(SeedAccount {
            account_id: "acct-someone-else".into(),
            user_id: "user-someone-else".into(),
            ..SeedAccount::default()
        }),
    });
    seed_home(home.path(), &theirs);
    let mut recovery = manager.unauthorized_recovery();
    let err = recovery.next().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Other));
    assert_eq!(err.to_string(), REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE);
    assert_eq!(emu.stats().token_requests, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn recovery_reload_rejects_a_different_user_in_the_same_account() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    let same_workspace_other_user = emu.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 3600,
        account: Some(SeedAccount {
            user_id: "user-colleague".into(),
            email: "colleague@example.com".into(),
            ..SeedAccount::default()
        }),
    });
    seed_home(home.path(), &same_workspace_other_user);
    let err = manager.unauthorized_recovery().next().await.unwrap_err();
    assert_eq!(err.to_string(), REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE);
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_recovery_requires_chatgpt_auth() {
    let home = tempfile::tempdir().unwrap();
    FileAuthStorage::new(home.path())
        .save(&AuthDotJson::api_key("sk-test".into()))
        .unwrap();
    let emu = emulator().await;
    let manager = manager(home.path(), &emu);
    let mut recovery = manager.unauthorized_recovery();
    assert!(!recovery.has_next());
    assert_eq!(recovery.unavailable_reason(), "not_chatgpt_auth");
    let err = recovery.next().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Other));
    assert_eq!(err.to_string(), NO_MORE_RECOVERY_STEPS_MESSAGE);
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_recovery_reports_mode_and_step_names() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    let recovery = manager.unauthorized_recovery();
    assert_eq!(
        (recovery.mode_name(), recovery.step_name()),
        ("managed", "reload")
    );

    // Host-supplied tokens in the in-memory store: external mode. This crate
    // has no host refresh hook yet, so there is no step to run.
    let external_home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    let auth = CodexAuth::from_external_chatgpt_tokens(
        tokens.access_token.clone().into(),
        &tokens.account_id,
        Some("business"),
        chrono::Utc::now(),
    )
    .unwrap();
    EphemeralAuthStorage::new(external_home.path())
        .save(auth.document().unwrap())
        .unwrap();
    let manager = core_support::manager(external_home.path(), &emu);
    let resolved = manager.resolved_cached().unwrap();
    assert_eq!(resolved.source.to_string(), "ephemeral");
    assert_eq!(resolved.auth.account_plan_type().as_wire_str(), "business");
    let recovery = manager.unauthorized_recovery();
    assert_eq!(recovery.mode_name(), "external");
    assert_eq!(recovery.unavailable_reason(), "no_external_auth");
    assert!(!recovery.has_next());
    EphemeralAuthStorage::new(external_home.path())
        .delete()
        .unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_source_seam_gives_headers_and_recovers_after_401() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let manager = manager(home.path(), &emu);
    let source: codex_auth_provider::SharedAuthSource = manager.clone();

    let headers = source.current_provider().await.unwrap().auth_headers();
    assert_eq!(
        headers.get(AUTHORIZATION).unwrap().to_str().unwrap(),
        format!("Bearer {}", tokens.access_token)
    );
    assert!(headers.get(AUTHORIZATION).unwrap().is_sensitive());
    assert_eq!(
        headers.get(CHATGPT_ACCOUNT_ID).unwrap(),
        tokens.account_id.as_str()
    );

    // The backend says 401: nothing newer on disk, so one refresh happens.
    let outcome = source
        .recover_unauthorized(&UnauthorizedContext::default())
        .await;
    assert_eq!(outcome, RecoveryOutcome::Retry);
    assert_eq!(emu.stats().refresh_ok, 1);
    let headers = source.current_provider().await.unwrap().auth_headers();
    assert_eq!(
        headers.get(AUTHORIZATION).unwrap().to_str().unwrap(),
        format!("Bearer {}", stored_access_token(home.path()))
    );

    // The refresh token is then revoked server-side: recovery gives up with
    // upstream's message instead of looping.
    assert!(emu.invalidate_refresh_token(&stored_refresh_token(home.path())));
    let outcome = source
        .recover_unauthorized(&UnauthorizedContext::default())
        .await;
    assert_eq!(
        outcome,
        RecoveryOutcome::GiveUp(RefreshFailureReason::Revoked.user_message().to_owned())
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_source_reports_typed_errors() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let manager = manager(home.path(), &emu);
    assert!(matches!(
        manager.current_provider().await,
        Err(err) if err.kind() == AuthErrorKind::NotLoggedIn
    ));

    // Expired access token whose refresh token is dead: re-login required.
    let tokens = issue(&emu, -60);
    seed_home(home.path(), &tokens);
    assert!(manager.reload().await);
    assert!(emu.expire_refresh_token(&tokens.refresh_token));
    match manager.current_provider().await {
        Err(err) if err.kind() == AuthErrorKind::NeedsLogin => {
            assert_eq!(
                err.to_string(),
                RefreshFailureReason::Expired.user_message()
            );
        }
        other => panic!("expected ReauthRequired, got {other:?}"),
    }

    // A near-expiry token that cannot be refreshed right now keeps working.
    let fresh_home = tempfile::tempdir().unwrap();
    // Issued an hour ago with 2 minutes left, so it is due for a refresh.
    let now = chrono::Utc::now().timestamp();
    let mut document = chatgpt_document(&issue(&emu, 120));
    document.tokens.as_mut().unwrap().access_token =
        fake_jwt(&serde_json::json!({"iat": now - 3600, "exp": now + 120})).into();
    FileAuthStorage::new(fresh_home.path())
        .save(&document)
        .unwrap();
    let manager = core_support::manager(fresh_home.path(), &emu);
    emu.set_faults(codex_emulator::Faults {
        status_overrides: vec![codex_emulator::StatusOverride {
            path_prefix: "/oauth/token".into(),
            status: 503,
            body: "maintenance".into(),
            times: 0,
        }],
        ..Default::default()
    });
    let injected = emu.stats().faults_injected;
    assert!(manager.current_provider().await.is_ok());
    assert_eq!(
        emu.stats().faults_injected,
        injected + 1,
        "a refresh was tried"
    );
    emu.shutdown().await;
}
