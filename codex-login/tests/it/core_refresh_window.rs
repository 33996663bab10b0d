//! The proactive-refresh window is bounded by the access token's lifetime,
//! and a token the manager just received is not refreshed again before it
//! expires (issue 14, point 4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use chrono::{Duration, TimeZone, Utc};
use codex_auth_provider::SecretString;
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use codex_login::auth_dot_json::{AuthDotJson, StoredTimestamp, StoredTokens};
use codex_login::auth_manager::needs_proactive_refresh;
use codex_login::auth_manager::{access_token_lifetime, proactive_refresh_window};
use codex_login::clock::{Clock, ManualClock};
use codex_login::{auth_manager::AuthManager, codex_auth::CodexAuth};
use core_support::*;
use std::sync::Arc;

/// A managed ChatGPT snapshot whose access token has these claims.
fn auth_with_access_claims(claims: &serde_json::Value, last_refresh: Option<i64>) -> CodexAuth {
    let mut document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(fake_id_token("dev@example.com", "plus", "acct", "user")),
            SecretString::new(fake_jwt(claims)),
            SecretString::new("rt".to_owned()),
            Some("acct".to_owned()),
        ),
        None,
        Utc::now(),
    );
    document.last_refresh =
        last_refresh.map(|at| StoredTimestamp::new(Utc.timestamp_opt(at, 0).unwrap()));
    CodexAuth::from_auth_dot_json(document).unwrap()
}

#[test]
fn window_is_five_minutes_or_half_the_lifetime_whichever_is_shorter() {
    assert_eq!(proactive_refresh_window(None), Duration::minutes(5));
    assert_eq!(
        proactive_refresh_window(Some(Duration::hours(1))),
        Duration::minutes(5)
    );
    assert_eq!(
        proactive_refresh_window(Some(Duration::minutes(8))),
        Duration::minutes(4)
    );
    assert_eq!(
        proactive_refresh_window(Some(Duration::seconds(2))),
        Duration::seconds(1)
    );
}

#[test]
fn lifetime_is_exp_minus_iat_else_exp_minus_last_refresh() {
    let iat = 1_900_000_000;
    let with_iat = auth_with_access_claims(
        &serde_json::json!({"iat": iat, "exp": iat + 2}),
        Some(iat - 1000),
    );
    assert_eq!(access_token_lifetime(&with_iat), Some(Duration::seconds(2)));

    let without_iat = auth_with_access_claims(&serde_json::json!({"exp": iat + 600}), Some(iat));
    assert_eq!(
        access_token_lifetime(&without_iat),
        Some(Duration::minutes(10))
    );

    // Unknown or nonsensical lifetimes fall back to the 5-minute window.
    let nothing = auth_with_access_claims(&serde_json::json!({"exp": iat}), None);
    assert_eq!(access_token_lifetime(&nothing), None);
    let backwards =
        auth_with_access_claims(&serde_json::json!({"iat": iat, "exp": iat - 60}), None);
    assert_eq!(access_token_lifetime(&backwards), None);
}

#[test]
fn a_two_second_token_is_due_only_in_its_second_half() {
    let iat = 1_900_000_000;
    let auth = auth_with_access_claims(&serde_json::json!({"iat": iat, "exp": iat + 2}), None);
    let at = |millis: i64| Utc.timestamp_opt(iat, 0).unwrap() + Duration::milliseconds(millis);
    assert!(!needs_proactive_refresh(&auth, at(0)), "just issued");
    assert!(!needs_proactive_refresh(&auth, at(900)));
    assert!(needs_proactive_refresh(&auth, at(1000)));
    assert!(needs_proactive_refresh(&auth, at(2500)), "expired");

    // A one-hour token keeps the 5-minute window.
    let hour = auth_with_access_claims(&serde_json::json!({"iat": iat, "exp": iat + 3600}), None);
    let at = |secs: i64| Utc.timestamp_opt(iat + secs, 0).unwrap();
    assert!(!needs_proactive_refresh(&hour, at(3600 - 301)));
    assert!(needs_proactive_refresh(&hour, at(3600 - 299)));
}

async fn short_lived_emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        access_token_ttl: std::time::Duration::from_secs(2),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_token_just_received_is_not_refreshed_again_before_it_expires() {
    let emu = short_lived_emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, -60));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = manager_config(home.path(), &emu);
    config.clock = clock.clone();
    let manager = AuthManager::new(config);

    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1, "the expired token is refreshed");
    let expires_at = manager
        .auth_cached()
        .unwrap()
        .access_token_expires_at()
        .unwrap();
    // Half a second before it expires the new 2-second token is in its
    // window, but this manager just received it: no second refresh.
    clock.set(expires_at - Duration::milliseconds(500));
    assert!(needs_proactive_refresh(
        &manager.auth_cached().unwrap(),
        clock.now()
    ));
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 1);
    // Once it has expired it is refreshed.
    clock.set(expires_at + Duration::seconds(1));
    manager.auth().await.unwrap();
    assert_eq!(emu.stats().refresh_ok, 2);
    emu.shutdown().await;
}
