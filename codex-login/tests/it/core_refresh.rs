//! Refresh scenarios (ported from upstream's auth manager unit tests and
//! `auth_refresh` integration suite) against `codex-emulator`, plus the
//! failure classification table and the lost-answer case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_emulator::{Emulator, EmulatorConfig, Faults, IssueTokens, SeedAccount, StatusOverride};
use codex_login::auth_dot_json::StoredTimestamp;
use codex_login::refresh::{
    REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE, REFRESH_TOKEN_EXPIRED_MESSAGE,
    REFRESH_TOKEN_REUSED_MESSAGE, RefreshFailureReason, RefreshRequestError,
    classify_refresh_failure,
};
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManager, auth_manager::RefreshOutcome, auth_manager::RefreshTokenError,
};
use core_support::*;
use std::sync::Arc;

fn other_account() -> SeedAccount {
    SeedAccount {
        email: "other@example.com".into(),
        plan_type: "team".into(),
        account_id: "acct-other".into(),
        user_id: "user-other".into(),
        fedramp: false,
    }
}

fn file_bytes(home: &std::path::Path) -> Vec<u8> {
    std::fs::read(home.join("auth.json")).unwrap()
}

#[tokio::test]
async fn refresh_token_succeeds_updates_storage() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    let mut document = chatgpt_document(&tokens);
    let old_refresh = chrono::Utc::now() - chrono::Duration::days(1);
    document.last_refresh = Some(StoredTimestamp::new(old_refresh));
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = manager(home.path(), &emu);

    let outcome = manager.refresh_token_from_authority().await.unwrap();
    assert_eq!(outcome, RefreshOutcome::Refreshed);
    let stats = emu.stats();
    assert_eq!((stats.refresh_ok, stats.token_requests), (1, 1));

    let stored = read_auth_json(home.path());
    assert_ne!(
        stored["tokens"]["refresh_token"],
        tokens.refresh_token.as_str()
    );
    assert_ne!(
        stored["tokens"]["access_token"],
        tokens.access_token.as_str()
    );
    assert_eq!(stored["tokens"]["account_id"], tokens.account_id.as_str());
    assert_eq!(stored["auth_mode"], "chatgpt");
    let last =
        chrono::DateTime::parse_from_rfc3339(stored["last_refresh"].as_str().unwrap()).unwrap();
    assert!(
        last > old_refresh + chrono::Duration::hours(23),
        "last_refresh advanced"
    );
    // RFC 3339 with nanoseconds and Z, as the official CLI writes it.
    let text = stored["last_refresh"].as_str().unwrap();
    assert!(
        text.ends_with('Z') && text.len() == "2026-11-21T02:55:00.688452573Z".len(),
        "{text}"
    );
    let cached = manager.auth_cached().unwrap();
    assert_eq!(
        cached.bearer_token().unwrap().expose(),
        stored["tokens"]["access_token"]
    );
    assert_eq!(
        cached.refresh_token().unwrap().expose(),
        stored["tokens"]["refresh_token"]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_refreshes_when_auth_is_unchanged() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    assert_eq!(
        manager.refresh_token().await.unwrap(),
        RefreshOutcome::Refreshed
    );
    assert_eq!(emu.stats().token_requests, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_refreshes_when_access_token_is_near_expiry() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 4 * 60);
    // Issued an hour ago, 4 minutes left. (A token issued just now with a
    // 4-minute lifetime is due only in its second half: core_refresh_window.)
    let now = chrono::Utc::now().timestamp();
    let mut document = chatgpt_document(&tokens);
    document.tokens.as_mut().unwrap().access_token =
        fake_jwt(&serde_json::json!({"iat": now - 3600, "exp": now + 4 * 60})).into();
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = manager(home.path(), &emu);
    let auth = manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1);
    assert_ne!(auth.bearer_token().unwrap().expose(), tokens.access_token);
    assert_eq!(
        auth.bearer_token().unwrap().expose(),
        stored_access_token(home.path())
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_skips_access_token_outside_refresh_window() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 6 * 60);
    seed_home(home.path(), &tokens);
    let before = file_bytes(home.path());
    let manager = manager(home.path(), &emu);
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.bearer_token().unwrap().expose(), tokens.access_token);
    assert_eq!(emu.stats().token_requests, 0);
    assert_eq!(file_bytes(home.path()), before, "storage untouched");
    emu.shutdown().await;
}

#[tokio::test]
async fn returns_fresh_tokens_as_is_even_when_last_refresh_is_old() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    let mut document = chatgpt_document(&tokens);
    document.last_refresh = Some(StoredTimestamp::new(
        chrono::Utc::now() - chrono::Duration::days(9),
    ));
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = manager(home.path(), &emu);
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.bearer_token().unwrap().expose(), tokens.access_token);
    assert_eq!(emu.stats().token_requests, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn opaque_access_token_falls_back_to_the_eight_day_rule() {
    let emu = emulator().await;
    for (age_days, expect_refresh) in [(7, false), (9, true)] {
        let home = tempfile::tempdir().unwrap();
        let tokens = issue(&emu, 3600);
        let mut document = chatgpt_document(&tokens);
        document.tokens.as_mut().unwrap().access_token = "opaque-access-token".into();
        document.last_refresh = Some(StoredTimestamp::new(
            chrono::Utc::now() - chrono::Duration::days(age_days),
        ));
        FileAuthStorage::new(home.path()).save(&document).unwrap();
        let before = emu.stats().refresh_ok;
        let manager = manager(home.path(), &emu);
        manager.auth().await.unwrap();
        assert_eq!(
            emu.stats().refresh_ok - before,
            u64::from(expect_refresh),
            "age {age_days} days"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn refreshes_token_when_access_token_is_expired() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, -3600);
    seed_home(home.path(), &tokens);
    let manager = manager(home.path(), &emu);
    let auth = manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1);
    assert!(auth.access_token_expires_at().unwrap() > chrono::Utc::now());
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_skips_refresh_when_auth_changed() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    let manager = manager(home.path(), &emu);
    // Another process logged in again for the same account.
    let newer = issue(&emu, 3600);
    seed_home(home.path(), &newer);
    assert_eq!(
        manager.refresh_token().await.unwrap(),
        RefreshOutcome::Adopted
    );
    assert_eq!(emu.stats().token_requests, 0);
    assert_eq!(
        manager
            .auth_cached()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose(),
        newer.refresh_token
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_errors_on_account_mismatch() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let mine = issue(&emu, 3600);
    seed_home(home.path(), &mine);
    let manager = manager(home.path(), &emu);
    let theirs = emu.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 3600,
        account: Some(other_account()),
    });
    seed_home(home.path(), &theirs);
    let disk = file_bytes(home.path());
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Other));
    assert_eq!(err.to_string(), REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE);
    assert_eq!(emu.stats().token_requests, 0);
    assert_eq!(file_bytes(home.path()), disk, "disk untouched");
    assert_eq!(
        manager
            .auth_cached()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose(),
        mine.refresh_token,
        "cache untouched"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_reloads_disk_auth_when_cached_auth_is_stale() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let stale = issue(&emu, -60);
    seed_home(home.path(), &stale);
    let manager = manager(home.path(), &emu);
    let fresh = issue(&emu, 3600);
    seed_home(home.path(), &fresh);
    // The stale refresh token would be refused; it must never be sent.
    assert!(emu.expire_refresh_token(&stale.refresh_token));
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.bearer_token().unwrap().expose(), fresh.access_token);
    let stats = emu.stats();
    assert_eq!((stats.token_requests, stats.refresh_rejected), (0, 0));
    emu.shutdown().await;
}

#[tokio::test]
async fn stale_cache_does_not_adopt_another_account_or_user() {
    let emu = emulator().await;
    for account in [
        other_account(),
        // Same workspace, different user.
        SeedAccount {
            user_id: "user-intruder".into(),
            ..SeedAccount::default()
        },
    ] {
        let home = tempfile::tempdir().unwrap();
        let stale = issue(&emu, -60);
        seed_home(home.path(), &stale);
        let manager = manager(home.path(), &emu);
        let theirs = emu.issue_chatgpt_tokens(IssueTokens {
            access_token_ttl_secs: 3600,
            account: Some(account),
        });
        seed_home(home.path(), &theirs);
        let disk = file_bytes(home.path());
        let before = emu.stats().token_requests;
        let err = manager.try_auth().await.unwrap_err();
        assert_eq!(err.to_string(), REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE);
        // auth() logs and hands back the stale snapshot.
        let auth = manager.auth().await.unwrap();
        assert_eq!(auth.bearer_token().unwrap().expose(), stale.access_token);
        assert_eq!(file_bytes(home.path()), disk);
        assert_eq!(emu.stats().token_requests, before);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn snapshot_without_account_id_adopts_same_user_auth_that_has_one() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let stale = issue(&emu, -60);
    let mut document = chatgpt_document(&stale);
    document.tokens.as_mut().unwrap().account_id = None;
    // An id token without the account claim (Python-era style), same user.
    document.tokens.as_mut().unwrap().id_token =
        Some(codex_login::auth_dot_json::StoredIdToken::Jwt(
            fake_jwt(&serde_json::json!({
                "https://api.openai.com/auth": {"chatgpt_user_id": SeedAccount::default().user_id}
            }))
            .into(),
        ));
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = manager(home.path(), &emu);
    assert_eq!(manager.auth_cached().unwrap().account_id(), None);
    let fresh = issue(&emu, 3600);
    seed_home(home.path(), &fresh);
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.account_id(), Some(fresh.account_id.as_str()));
    assert_eq!(emu.stats().token_requests, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_without_identity_claims_still_refreshes() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, -60);
    let mut document = chatgpt_document(&tokens);
    let stored = document.tokens.as_mut().unwrap();
    stored.account_id = None;
    stored.id_token = None;
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let manager = manager(home.path(), &emu);
    assert!(manager.auth_cached().unwrap().chatgpt_user_id().is_none());
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_returns_permanent_error_for_expired_refresh_token() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let disk = file_bytes(home.path());
    let manager = manager(home.path(), &emu);
    assert!(emu.expire_refresh_token(&tokens.refresh_token));
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Expired));
    assert_eq!(err.to_string(), REFRESH_TOKEN_EXPIRED_MESSAGE);
    assert_eq!(file_bytes(home.path()), disk);
    assert_eq!(
        manager
            .auth_cached()
            .unwrap()
            .bearer_token()
            .unwrap()
            .expose(),
        tokens.access_token
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_does_not_retry_after_permanent_failure_then_adopts_changed_auth() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let manager = manager(home.path(), &emu);
    assert!(emu.invalidate_refresh_token(&tokens.refresh_token));
    let first = manager.refresh_token().await.unwrap_err();
    assert_eq!(first.failed_reason(), Some(RefreshFailureReason::Revoked));
    let second = manager.refresh_token_from_authority().await.unwrap_err();
    assert_eq!(second.failed_reason(), Some(RefreshFailureReason::Revoked));
    assert_eq!(
        emu.stats().token_requests,
        1,
        "the dead token is not sent twice"
    );
    assert!(
        manager
            .refresh_failure_for(&manager.auth_cached().unwrap())
            .is_some()
    );

    // The user logs in again elsewhere (same account): adopted, still one request.
    let newer = issue(&emu, 3600);
    seed_home(home.path(), &newer);
    assert_eq!(
        manager.refresh_token().await.unwrap(),
        RefreshOutcome::Adopted
    );
    assert_eq!(emu.stats().token_requests, 1);
    let current = manager.auth_cached().unwrap();
    assert_eq!(
        current.refresh_token().unwrap().expose(),
        newer.refresh_token
    );
    assert!(
        manager.refresh_failure_for(&current).is_none(),
        "failure scoped to the old token"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_returns_transient_error_on_server_failure() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let disk = file_bytes(home.path());
    let manager = manager(home.path(), &emu);
    emu.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/token".into(),
            status: 500,
            body: r#"{"error":{"message":"upstream exploded"}}"#.into(),
            times: 1,
        }],
        ..Faults::default()
    });
    let err = manager.refresh_token().await.unwrap_err();
    assert!(matches!(err, RefreshTokenError::Transient(_)), "{err:?}");
    assert_eq!(err.failed_reason(), None);
    assert_eq!(
        err.to_string(),
        "Failed to refresh token: 500: upstream exploded"
    );
    assert_eq!(file_bytes(home.path()), disk, "store kept");
    // Not remembered: the next attempt goes out and succeeds.
    assert_eq!(
        manager.refresh_token().await.unwrap(),
        RefreshOutcome::Refreshed
    );
    assert_eq!(emu.stats().refresh_ok, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn connection_refused_is_transient_and_not_remembered() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, 3600));
    // The issuer that minted the tokens (the only place they may go) is gone.
    let config = manager_config(home.path(), &emu);
    emu.shutdown().await;
    let manager = AuthManager::new(config);
    let err = manager.refresh_token().await.unwrap_err();
    assert!(matches!(err, RefreshTokenError::Transient(_)), "{err:?}");
    assert!(
        manager
            .refresh_failure_for(&manager.auth_cached().unwrap())
            .is_none()
    );
}

#[tokio::test]
async fn lost_answer_is_not_resent_and_reported_as_outcome_unknown() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let disk = file_bytes(home.path());
    let manager = manager(home.path(), &emu);
    emu.set_faults(Faults {
        drop_connection_after_refresh: 1,
        ..Faults::default()
    });
    let err = manager.refresh_token().await.unwrap_err();
    assert!(
        matches!(err, RefreshTokenError::OutcomeUnknown(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("was not sent again"), "{err}");
    let stats = emu.stats();
    assert_eq!(
        (
            stats.token_requests,
            stats.refresh_ok,
            stats.refresh_dropped
        ),
        (1, 1, 1)
    );
    assert_eq!(file_bytes(home.path()), disk);
    // Asking again does not replay the possibly-consumed token.
    assert!(manager.refresh_token().await.is_err());
    manager.auth().await;
    assert_eq!(emu.stats().token_requests, 1);
    assert_eq!(emu.stats().refresh_reused, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_reused_adopts_newer_same_user_auth() {
    let emu = Emulator::start(EmulatorConfig {
        revoke_family_on_reuse: false,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let storage = ScriptedStorage::new(home.path());
    // A writer that does not take our lock (an older CLI) rotates the token
    // right after our read under the lock, and writes its result.
    let rotated = rotate_directly(&emu, &tokens.refresh_token).await;
    storage.replace_after_load(2, rotated.clone());
    let mut config = manager_config(home.path(), &emu);
    config.storage = Some(storage.clone());
    let manager = AuthManager::new(config);
    let outcome = manager.refresh_token().await.unwrap();
    assert_eq!(outcome, RefreshOutcome::Adopted);
    assert_eq!(emu.stats().refresh_reused, 1);
    let current = manager.auth_cached().unwrap();
    assert_eq!(
        current.refresh_token().unwrap(),
        &rotated.tokens.as_ref().unwrap().refresh_token
    );
    // The other writer's file survives byte for byte.
    assert_eq!(
        FileAuthStorage::new(home.path()).load().unwrap().unwrap(),
        rotated
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_token_reused_with_unchanged_storage_is_exhausted_and_store_kept() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let disk = file_bytes(home.path());
    let manager = manager(home.path(), &emu);
    // Someone used the token and threw the result away.
    rotate_directly(&emu, &tokens.refresh_token).await;
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Exhausted));
    assert_eq!(err.to_string(), REFRESH_TOKEN_REUSED_MESSAGE);
    assert_eq!(
        file_bytes(home.path()),
        disk,
        "a failed refresh never rewrites the store"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn failed_refresh_never_clobbers_a_store_rewritten_by_someone_else() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let storage = ScriptedStorage::new(home.path());
    // Someone else logs in with another account while our request is in flight.
    let theirs = emu.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 3600,
        account: Some(other_account()),
    });
    storage.replace_after_load(2, chatgpt_document(&theirs));
    assert!(emu.invalidate_refresh_token(&tokens.refresh_token));
    let mut config = manager_config(home.path(), &emu);
    config.storage = Some(storage.clone());
    let manager = AuthManager::new(config);
    let before = file_bytes(home.path());
    let err = manager.refresh_token().await.unwrap_err();
    assert_eq!(err.failed_reason(), Some(RefreshFailureReason::Revoked));
    let after = file_bytes(home.path());
    assert_ne!(before, after, "the other writer's file is in place");
    assert_eq!(
        read_auth_json(home.path())["tokens"]["refresh_token"],
        theirs.refresh_token.as_str(),
        "and survives our failure byte for byte"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn unwritable_store_sends_no_refresh() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, -60));
    let storage = ScriptedStorage::new(home.path());
    storage
        .not_writable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut config = manager_config(home.path(), &emu);
    config.storage = Some(storage);
    let manager = AuthManager::new(config);
    let err = manager.try_auth().await.unwrap_err();
    assert!(matches!(err, RefreshTokenError::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be written"), "{err}");
    assert_eq!(emu.stats().token_requests, 0);
    emu.shutdown().await;
}

#[test]
fn refresh_failure_classification_table() {
    use RefreshFailureReason::*;
    let coded = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
    let permanent = |status: u16, body: &str| match classify_refresh_failure(status, body) {
        RefreshRequestError::Permanent { reason, .. } => Some(reason),
        _ => None,
    };
    for status in [400, 401] {
        assert_eq!(
            permanent(status, &coded("refresh_token_expired")),
            Some(Expired)
        );
        assert_eq!(
            permanent(status, &coded("refresh_token_reused")),
            Some(Exhausted)
        );
        assert_eq!(
            permanent(status, &coded("refresh_token_invalidated")),
            Some(Revoked)
        );
        assert_eq!(permanent(status, &coded("invalid_grant")), Some(Other));
    }
    assert_eq!(permanent(401, &coded("token_expired")), Some(Other));
    assert_eq!(permanent(401, ""), Some(Other));
    assert_eq!(
        permanent(400, r#"{"error":"REFRESH_TOKEN_REUSED"}"#),
        Some(Exhausted)
    );
    assert_eq!(
        permanent(400, r#"{"code":"refresh_token_expired"}"#),
        Some(Expired)
    );
    for status in [400, 403, 408, 429, 500, 502, 503] {
        assert_eq!(
            permanent(status, &coded("something_else")),
            None,
            "{status}"
        );
    }
    assert_eq!(
        classify_refresh_failure(503, "").to_string(),
        "Failed to refresh token: 503: Unknown error"
    );
    assert_eq!(
        classify_refresh_failure(429, "slow down").to_string(),
        "Failed to refresh token: 429: slow down"
    );
}

#[tokio::test]
async fn injected_clock_drives_the_refresh_window_without_sleeping() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issue(&emu, 3600);
    seed_home(home.path(), &tokens);
    let expires_at =
        codex_login::codex_auth::CodexAuth::from_auth_dot_json(chatgpt_document(&tokens))
            .unwrap()
            .access_token_expires_at()
            .unwrap();
    let clock = Arc::new(codex_login::clock::ManualClock::new(
        expires_at - chrono::Duration::minutes(6),
    ));
    let mut config = manager_config(home.path(), &emu);
    config.clock = clock.clone();
    let manager = AuthManager::new(config);
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().token_requests, 0, "6 minutes left: no refresh");
    clock.advance(chrono::Duration::minutes(2));
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1, "4 minutes left: refresh");
    emu.shutdown().await;
}
