//! Logout with revocation: upstream's `logout` scenarios against `codex-emulator` (and a
//! wiremock endpoint where the exact request body is pinned), plus the refresh/logout race.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::sync::Arc;
use std::time::Duration;

use codex_emulator::{Faults, IssueTokens, StatusOverride};
use codex_login::environment::env_from_pairs;
use codex_login::flows::{
    Revocation, RevokedTokenKind, logout_manager_with_revoke, logout_with_revoke,
};
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use flow_support::{
    emulator, http, logout_options, seed_chatgpt_auth, seed_chatgpt_auth_minted_by,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

#[tokio::test]
async fn logout_with_revoke_revokes_refresh_token_then_removes_auth() {
    let emulator = emulator(true).await;
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let home = tempfile::tempdir().unwrap();
    let revoke = MockServer::start().await;
    seed_chatgpt_auth_minted_by(home.path(), &tokens, &revoke.uri());
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .and(header("content-type", "application/json"))
        .and(header("originator", "codex_cli_rs"))
        .and(body_json(serde_json::json!({
            "token": tokens.refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": CLIENT_ID,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .expect(1)
        .mount(&revoke)
        .await;
    let options = logout_options(home.path(), &format!("{}/oauth/revoke", revoke.uri()));
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(outcome.removed);
    assert_eq!(
        outcome.revocation,
        Revocation::Revoked(RevokedTokenKind::RefreshToken)
    );
    assert!(!home.path().join("auth.json").exists());
    // Exactly one request, with the key order the official CLI sends.
    let requests = revoke.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        String::from_utf8(requests[0].body.clone()).unwrap(),
        format!(
            r#"{{"token":"{}","token_type_hint":"refresh_token","client_id":"{CLIENT_ID}"}}"#,
            tokens.refresh_token
        )
    );
}

#[tokio::test]
async fn logout_revokes_the_grant_at_the_emulator() {
    let emulator = emulator(true).await;
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(home.path(), &tokens);
    let options = logout_options(
        home.path(),
        &format!("{}/oauth/revoke", emulator.urls().issuer),
    );
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert_eq!(outcome.revocation.to_string(), "revoked: refresh_token");
    assert_eq!(emulator.stats().revoked, 1);
    // The revoked refresh token no longer works.
    let refresh = reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .json(&serde_json::json!({
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
}

#[tokio::test]
async fn logout_with_revoke_removes_auth_when_revoke_fails() {
    let emulator = emulator(true).await;
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/revoke".to_owned(),
            status: 500,
            body: r#"{"error":{"message":"revocation backend down"}}"#.to_owned(),
            times: 0,
        }],
        ..Faults::default()
    });
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(home.path(), &tokens);
    let options = logout_options(
        home.path(),
        &format!("{}/oauth/revoke", emulator.urls().issuer),
    );
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(outcome.removed);
    let Revocation::Failed { kind, reason } = &outcome.revocation else {
        panic!("expected a failed revocation, got {:?}", outcome.revocation);
    };
    assert_eq!(*kind, RevokedTokenKind::RefreshToken);
    assert!(reason.contains("500"), "{reason}");
    assert!(reason.contains("revocation backend down"), "{reason}");
    assert!(!reason.contains(&tokens.refresh_token));
    assert!(outcome.revocation.to_string().starts_with("not_revoked: "));
    assert!(!home.path().join("auth.json").exists());
    assert_eq!(emulator.stats().faults_injected, 1);
}

#[tokio::test]
async fn stalled_revoke_times_out_and_still_logs_out() {
    let emulator = emulator(true).await;
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let home = tempfile::tempdir().unwrap();
    let revoke = MockServer::start().await;
    seed_chatgpt_auth_minted_by(home.path(), &tokens, &revoke.uri());
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&revoke)
        .await;
    let mut options = logout_options(home.path(), &format!("{}/oauth/revoke", revoke.uri()));
    options.revoke_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(outcome.revocation, Revocation::Failed { .. }));
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn access_token_is_revoked_when_there_is_no_refresh_token() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"a.b.c","access_token":"at-only","refresh_token":"","account_id":null},"last_refresh":"2025-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let revoke = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .and(body_json(serde_json::json!({
            "token": "at-only",
            "token_type_hint": "access_token",
        })))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&revoke)
        .await;
    let options = logout_options(home.path(), &format!("{}/oauth/revoke", revoke.uri()));
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert_eq!(
        outcome.revocation,
        Revocation::Revoked(RevokedTokenKind::AccessToken)
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn api_key_and_missing_logins_send_nothing() {
    let revoke = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&revoke)
        .await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test"}"#,
    )
    .unwrap();
    let options = logout_options(home.path(), &format!("{}/oauth/revoke", revoke.uri()));
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(outcome.removed);
    assert!(matches!(outcome.revocation, Revocation::NotAttempted(_)));
    assert!(!home.path().join("auth.json").exists());

    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(!outcome.removed);
    assert_eq!(
        outcome.revocation,
        Revocation::NotAttempted("not logged in".to_owned())
    );
}

#[tokio::test]
async fn malformed_auth_json_is_still_removed() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("auth.json"), "{\"tokens\": [").unwrap();
    let options = logout_options(home.path(), "http://127.0.0.1:9/oauth/revoke");
    let outcome = logout_with_revoke(&options).await.unwrap();
    assert!(outcome.removed);
    let Revocation::NotAttempted(reason) = &outcome.revocation else {
        panic!("{:?}", outcome.revocation);
    };
    assert!(reason.contains("could not be read"), "{reason}");
    assert!(!home.path().join("auth.json").exists());
}

fn manager_for(home: &std::path::Path, issuer: &str) -> Arc<AuthManager> {
    let mut config = AuthManagerConfig::new(home);
    config.issuer = issuer.to_owned();
    config.refresh_token_url = Some(format!("{issuer}/oauth/token"));
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    AuthManager::shared(config)
}

#[tokio::test]
async fn refresh_finishing_after_logout_began_cannot_write_tokens_back() {
    let emulator = emulator(true).await;
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        account: None,
    });
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(home.path(), &tokens);
    emulator.set_faults(Faults {
        refresh_delay_ms: 800,
        ..Faults::default()
    });
    let manager = manager_for(home.path(), &emulator.urls().issuer);
    let refreshing = {
        let manager = manager.clone();
        tokio::spawn(async move { manager.refresh_token().await })
    };
    // The refresh request is in flight (the issuer is slow) when logout begins.
    for _ in 0..200 {
        if emulator.stats().token_requests >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(emulator.stats().token_requests, 1);
    let options = logout_options(
        home.path(),
        &format!("{}/oauth/revoke", emulator.urls().issuer),
    );
    let outcome = logout_manager_with_revoke(&manager, options).await.unwrap();
    let refreshed = refreshing.await.unwrap();
    assert!(refreshed.is_ok(), "{refreshed:?}");
    assert!(outcome.removed);
    // Logout waited for the refresh, then removed (and revoked) the refreshed grant.
    assert!(!home.path().join("auth.json").exists());
    assert_eq!(
        outcome.revocation,
        Revocation::Revoked(RevokedTokenKind::RefreshToken)
    );
    let stats = emulator.stats();
    assert_eq!(stats.refresh_ok, 1);
    assert_eq!(stats.revoked, 1);
    assert!(manager.auth_cached().is_none());
    // Nothing writes the tokens back afterwards.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn refresh_starting_after_logout_finds_nothing_to_write() {
    let emulator = emulator(true).await;
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        account: None,
    });
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(home.path(), &tokens);
    // A long-lived process loaded the credentials before another process logged out.
    let manager = manager_for(home.path(), &emulator.urls().issuer);
    assert!(manager.auth_cached().is_some());
    let options = logout_options(
        home.path(),
        &format!("{}/oauth/revoke", emulator.urls().issuer),
    );
    logout_with_revoke(&options).await.unwrap();
    let refreshed = manager.refresh_token().await;
    assert!(refreshed.is_err(), "{refreshed:?}");
    assert!(!home.path().join("auth.json").exists());
    assert_eq!(emulator.stats().refresh_ok, 0);
}
