//! Refresh tokens: single-use rotation, reuse detection, family revocation, expiry, revoke,
//! and the refresh faults (delay, dropped connection, status override).

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::{Duration, Instant};

use codex_emulator::{EmulatorConfig, Faults, IssueTokens, StatusOverride};
use common::*;
use serde_json::json;

async fn refresh(
    client: &reqwest::Client,
    issuer: &str,
    refresh_token: &str,
) -> (u16, serde_json::Value) {
    post_json(
        client,
        &format!("{issuer}/oauth/token"),
        &refresh_body(refresh_token),
    )
    .await
}

async fn usage_status(
    client: &reqwest::Client,
    base: &str,
    access_token: &str,
) -> (u16, serde_json::Value) {
    json_of(
        client
            .get(format!("{base}/wham/usage"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_second_use_is_reused_and_revokes_the_family() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let base = emulator.urls().chatgpt_base_url.clone();
    let client = client();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());
    assert_eq!(seeded.account_id, "acct-emulator-0001");

    let (status, first) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!(status, 200, "{first}");
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, seeded.refresh_token, "refresh token rotates");
    assert_ne!(first["access_token"], json!(seeded.access_token));
    assert_eq!(
        usage_status(&client, &base, first["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    let stats = emulator.stats();
    assert_eq!((stats.refresh_ok, stats.refresh_reused), (1, 0));

    // Second use of the same refresh token.
    let (status, body) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "refresh_token_reused");
    let stats = emulator.stats();
    assert_eq!(
        (stats.refresh_ok, stats.refresh_reused, stats.token_requests),
        (1, 1, 2)
    );

    // Reuse revoked the whole family: the rotated refresh and access tokens are dead too.
    let (status, body) = refresh(&client, &issuer, &rotated).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "refresh_token_invalidated");
    let (status, body) =
        usage_status(&client, &base, first["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "token_invalidated");
    assert_eq!(emulator.stats().refresh_rejected, 1);
}

#[tokio::test]
async fn reuse_without_family_revocation_keeps_the_rotated_token_alive() {
    let emulator = start(EmulatorConfig {
        revoke_family_on_reuse: false,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let (_, first) = refresh(&client, &issuer, &seeded.refresh_token).await;
    let (status, body) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!((status, error_code(&body)), (401, "refresh_token_reused"));
    let (status, _) = refresh(&client, &issuer, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_succeed_exactly_once() {
    let emulator = start(EmulatorConfig {
        revoke_family_on_reuse: false,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());
    // Like the observed race: every request waits 200 ms before the issuer decides.
    emulator.set_faults(Faults {
        refresh_delay_ms: 200,
        ..Faults::default()
    });
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let issuer = issuer.clone();
        let token = seeded.refresh_token.clone();
        // Separate clients: separate connections, truly concurrent requests.
        tasks.push(tokio::spawn(async move {
            refresh(&client(), &issuer, &token).await
        }));
    }
    let mut ok = 0;
    let mut reused = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => ok += 1,
            401 if error_code(&body) == "refresh_token_reused" => reused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok, reused), (1, 7));
    let stats = emulator.stats();
    assert_eq!((stats.refresh_ok, stats.refresh_reused), (1, 7));
}

#[tokio::test]
async fn revoke_then_refresh_is_rejected() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());

    let (status, _) = post_json(
        &client,
        &format!("{issuer}/oauth/revoke"),
        &json!({"token": seeded.refresh_token, "token_type_hint": "refresh_token", "client_id": CLIENT_ID}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(emulator.stats().revoked, 1);

    let (status, body) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "refresh_token_invalidated");
    assert_eq!(emulator.stats().refresh_rejected, 1);
    assert_eq!(emulator.stats().refresh_ok, 0);

    // Unknown tokens are a 200 no-op (RFC 7009); an access token revokes only itself.
    let (status, _) = post_json(
        &client,
        &format!("{issuer}/oauth/revoke"),
        &json!({"token": "nope"}),
    )
    .await;
    assert_eq!(status, 200);
    let other = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let (status, _) = post_json(
        &client,
        &format!("{issuer}/oauth/revoke"),
        &json!({"token": other.access_token, "token_type_hint": "access_token"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        usage_status(
            &client,
            &emulator.urls().chatgpt_base_url,
            &other.access_token
        )
        .await
        .0,
        401
    );
    assert_eq!(refresh(&client, &issuer, &other.refresh_token).await.0, 200);
    assert_eq!(emulator.stats().revoked, 2);
}

#[tokio::test]
async fn expired_and_invalidated_refresh_tokens_use_their_codes() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let a = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let b = emulator.issue_chatgpt_tokens(IssueTokens::default());
    assert!(emulator.expire_refresh_token(&a.refresh_token));
    assert!(emulator.invalidate_refresh_token(&b.refresh_token));
    let (status, body) = refresh(&client, &issuer, &a.refresh_token).await;
    assert_eq!((status, error_code(&body)), (401, "refresh_token_expired"));
    let (status, body) = refresh(&client, &issuer, &b.refresh_token).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "refresh_token_invalidated")
    );
    let (status, _) = refresh(&client, &issuer, "rt_never_issued").await;
    assert_eq!(status, 401);
    assert_eq!(emulator.stats().refresh_rejected, 3);
}

#[tokio::test]
async fn refresh_request_shape_is_enforced() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());

    // Form-encoded refresh: the official CLI sends JSON.
    let (status, body) = json_of(
        client
            .post(format!("{issuer}/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("refresh_token", seeded.refresh_token.as_str()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let (status, body) = post_json(
        &client,
        &format!("{issuer}/oauth/token"),
        &json!({"client_id": "app_other", "grant_type": "refresh_token", "refresh_token": seeded.refresh_token}),
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));

    // None of that consumed the token.
    assert_eq!(
        refresh(&client, &issuer, &seeded.refresh_token).await.0,
        200
    );
}

#[tokio::test]
async fn dropped_connection_after_refresh_still_rotates_the_token() {
    let emulator = start(EmulatorConfig {
        revoke_family_on_reuse: false,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());
    emulator.set_faults(Faults {
        drop_connection_after_refresh: 1,
        ..Faults::default()
    });

    let outcome = client()
        .post(format!("{issuer}/oauth/token"))
        .json(&refresh_body(&seeded.refresh_token))
        .send()
        .await;
    assert!(
        outcome.is_err(),
        "the connection must close without a response: {outcome:?}"
    );
    let stats = emulator.stats();
    assert_eq!((stats.refresh_ok, stats.refresh_dropped), (1, 1));

    // The server did rotate: replaying the token now is reuse.
    let (status, body) = refresh(&client(), &issuer, &seeded.refresh_token).await;
    assert_eq!((status, error_code(&body)), (401, "refresh_token_reused"));
}

#[tokio::test]
async fn refresh_delay_and_status_override_faults() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let seeded = emulator.issue_chatgpt_tokens(IssueTokens::default());
    emulator.set_faults(Faults {
        refresh_delay_ms: 300,
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/token".to_owned(),
            status: 503,
            body: r#"{"error":{"code":"server_busy"}}"#.to_owned(),
            times: 1,
        }],
        ..Faults::default()
    });
    let (status, body) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!((status, error_code(&body)), (503, "server_busy"));
    let started = Instant::now();
    let (status, _) = refresh(&client, &issuer, &seeded.refresh_token).await;
    assert_eq!(
        status, 200,
        "the override was used up and the token untouched"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(emulator.stats().faults_injected, 1);
}

#[tokio::test]
async fn admin_http_endpoints_issue_tokens_and_set_faults() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let (status, tokens) = post_json(
        &client,
        &format!("{issuer}/_emulator/tokens"),
        &json!({"access_token_ttl_secs": -60}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(tokens["account_id"], "acct-emulator-0001");
    let (status, body) = usage_status(
        &client,
        &emulator.urls().chatgpt_base_url,
        tokens["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "token_expired"));

    let (status, _) = post_json(
        &client,
        &format!("{issuer}/_emulator/settings"),
        &json!({"access_token_ttl_secs": 120}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, refreshed) = refresh(&client, &issuer, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed["expires_in"], 120);
    let exp = jwt_claims(refreshed["access_token"].as_str().unwrap())["exp"]
        .as_i64()
        .unwrap();
    assert!((exp - chrono::Utc::now().timestamp() - 120).abs() <= 5);

    let (status, _) = post_json(
        &client,
        &format!("{issuer}/_emulator/faults"),
        &json!({"status_overrides": [{"path_prefix": "/backend-api/wham/usage", "status": 429, "body": "slow down", "times": 2}]}),
    )
    .await;
    assert_eq!(status, 200);
    let first = client
        .get(format!("{issuer}/backend-api/wham/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 429);
    assert_eq!(first.text().await.unwrap(), "slow down");
    let (_, stats) = json_of(
        client
            .get(format!("{issuer}/_emulator/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["faults_injected"], 1);
    assert_eq!(stats["refresh_ok"], 1);
}
