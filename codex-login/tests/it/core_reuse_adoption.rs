//! After the issuer answers `refresh_token_reused`, a newer login that another
//! process stored is adopted when it is the same user, whichever side lacks an
//! account id (issue 14, point 5), and never when it is another user.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_auth_provider::SecretString;
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, SeedAccount};
use codex_login::auth_dot_json::{AuthDotJson, StoredIdToken};
use codex_login::refresh::{REFRESH_TOKEN_REUSED_MESSAGE, RefreshFailureReason};
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{auth_manager::AuthManager, auth_manager::RefreshOutcome};
use core_support::*;

async fn reuse_emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        revoke_family_on_reuse: false,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// Replaces the id token with one naming only `user` (no account claim) and
/// drops `tokens.account_id`: a login without an account id.
fn without_account_id(document: &mut AuthDotJson, user: &str) {
    let tokens = document.tokens.as_mut().unwrap();
    tokens.account_id = None;
    tokens.id_token = Some(StoredIdToken::Jwt(SecretString::from(fake_jwt(
        &serde_json::json!({
            "email": "dev@example.com",
            "https://api.openai.com/auth": {"chatgpt_user_id": user},
        }),
    ))));
}

enum Side {
    /// Our snapshot lacks the account id; the newer stored login has one.
    Ours,
    /// The newer stored login lacks the account id; ours has one.
    Theirs,
}

/// Seeds a login (stripped of its account id when `side` is `Ours`), lets
/// another writer spend its refresh token and store the result (stripped when
/// `side` is `Theirs`, and for `their_user`), then asks our manager to refresh:
/// the issuer answers `refresh_token_reused`.
async fn reused_then_refresh(
    side: Side,
    their_user: &str,
) -> (
    EmulatorHandle,
    tempfile::TempDir,
    AuthManager,
    AuthDotJson,
    Result<RefreshOutcome, codex_login::auth_manager::RefreshTokenError>,
) {
    let emu = reuse_emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    let mut ours = chatgpt_document(&tokens);
    let user = SeedAccount::default().user_id;
    if matches!(side, Side::Ours) {
        without_account_id(&mut ours, &user);
    }
    FileAuthStorage::new(home.path()).save(&ours).unwrap();
    let storage = ScriptedStorage::new(home.path());
    let mut theirs = rotate_directly(&emu, &tokens.refresh_token).await;
    if matches!(side, Side::Theirs) || their_user != user {
        without_account_id(&mut theirs, their_user);
    }
    // The other writer stores its login right after our read under the lock.
    storage.replace_after_load(2, theirs.clone());
    let mut config = manager_config(home.path(), &emu);
    config.storage = Some(storage.clone());
    let manager = AuthManager::new(config);
    assert_eq!(
        manager.auth_cached().unwrap().account_id().is_none(),
        matches!(side, Side::Ours)
    );
    let result = manager.refresh_token().await;
    assert_eq!(
        emu.stats().refresh_reused,
        1,
        "exactly one refresh was sent"
    );
    (emu, home, manager, theirs, result)
}

fn assert_adopted(manager: &AuthManager, theirs: &AuthDotJson, result: RefreshOutcome) {
    assert_eq!(result, RefreshOutcome::Adopted);
    let current = manager.auth_cached().unwrap();
    assert_eq!(
        current.refresh_token().unwrap(),
        &theirs.tokens.as_ref().unwrap().refresh_token
    );
}

#[tokio::test]
async fn newer_same_user_login_without_account_id_is_adopted_after_reuse() {
    let user = SeedAccount::default().user_id;
    let (emu, home, manager, theirs, result) = reused_then_refresh(Side::Theirs, &user).await;
    let outcome = result.expect("the newer same-user login is adopted, no error");
    assert_adopted(&manager, &theirs, outcome);
    assert_eq!(manager.auth_cached().unwrap().account_id(), None);
    // The other writer's file survives byte for byte.
    assert_eq!(
        FileAuthStorage::new(home.path()).load().unwrap().unwrap(),
        theirs
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn snapshot_without_account_id_adopts_newer_same_user_login_after_reuse() {
    let user = SeedAccount::default().user_id;
    let (emu, _home, manager, theirs, result) = reused_then_refresh(Side::Ours, &user).await;
    let outcome = result.expect("the newer same-user login is adopted, no error");
    assert_adopted(&manager, &theirs, outcome);
    assert_eq!(
        manager.auth_cached().unwrap().account_id(),
        Some(SeedAccount::default().account_id.as_str())
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn newer_login_of_another_user_without_account_id_is_not_adopted_after_reuse() {
    for side in [Side::Theirs, Side::Ours] {
        let (emu, home, manager, theirs, result) = reused_then_refresh(side, "user-intruder").await;
        let err = result.expect_err("another user's login is never adopted");
        assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Exhausted));
        assert_eq!(err.to_string(), REFRESH_TOKEN_REUSED_MESSAGE);
        assert_ne!(
            manager.auth_cached().unwrap().refresh_token().unwrap(),
            &theirs.tokens.as_ref().unwrap().refresh_token
        );
        // Their file is left alone.
        assert_eq!(
            FileAuthStorage::new(home.path()).load().unwrap().unwrap(),
            theirs
        );
        emu.shutdown().await;
    }
}
