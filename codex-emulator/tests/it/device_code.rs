//! Device-code login: usercode, pending polls, approval at `/codex/device`, code exchange.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use codex_emulator::EmulatorConfig;
use common::*;
use serde_json::json;

async fn usercode(client: &reqwest::Client, issuer: &str) -> serde_json::Value {
    let (status, body) = post_json(
        client,
        &format!("{issuer}/api/accounts/deviceauth/usercode"),
        &json!({"client_id": CLIENT_ID}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(
    client: &reqwest::Client,
    issuer: &str,
    code: &serde_json::Value,
) -> (u16, serde_json::Value) {
    post_json(
        client,
        &format!("{issuer}/api/accounts/deviceauth/token"),
        &json!({"device_auth_id": code["device_auth_id"], "user_code": code["user_code"]}),
    )
    .await
}

async fn exchange(
    client: &reqwest::Client,
    issuer: &str,
    approved: &serde_json::Value,
) -> (u16, serde_json::Value) {
    json_of(
        client
            .post(format!("{issuer}/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", approved["authorization_code"].as_str().unwrap()),
                (
                    "redirect_uri",
                    format!("{issuer}/deviceauth/callback").as_str(),
                ),
                ("client_id", CLIENT_ID),
                ("code_verifier", approved["code_verifier"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn device_code_pending_then_approved_at_the_page_then_exchanged() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();

    let code = usercode(&client, &issuer).await;
    assert!(
        code["device_auth_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let user_code = code["user_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
    assert_eq!(code["interval"], "5", "interval is a string of seconds");

    for _ in 0..2 {
        let (status, body) = poll(&client, &issuer, &code).await;
        assert_eq!(status, 403, "pending: {body}");
        assert_eq!(error_code(&body), "deviceauth_authorization_pending");
    }
    assert_eq!(emulator.stats().device_polls_pending, 2);

    // A human opens the page and types the code (lower case, no dash is fine).
    let page = client
        .get(format!("{issuer}/codex/device"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"user_code\"") && html.contains("<form"));
    let typed = user_code.replace('-', "").to_lowercase();
    let approved_page = client
        .post(format!("{issuer}/codex/device"))
        .form(&[("user_code", typed.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(approved_page.status().as_u16(), 200);
    assert!(
        approved_page
            .text()
            .await
            .unwrap()
            .contains("Device approved")
    );

    let (status, approved) = poll(&client, &issuer, &code).await;
    assert_eq!(status, 200, "{approved}");
    for field in ["authorization_code", "code_challenge", "code_verifier"] {
        assert!(
            approved[field].as_str().is_some_and(|s| !s.is_empty()),
            "missing {field}"
        );
    }
    let (status, tokens) = exchange(&client, &issuer, &approved).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-emulator-0001"
    );

    // The code is spent: polling again fails, the page refuses it.
    let (status, body) = poll(&client, &issuer, &code).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "deviceauth_already_exchanged")
    );
    let again = client
        .post(format!("{issuer}/codex/device"))
        .form(&[("user_code", user_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);

    let stats = emulator.stats();
    assert_eq!(
        (
            stats.device_codes_issued,
            stats.device_codes_approved,
            stats.code_exchanges_ok
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn auto_approve_makes_the_first_poll_succeed() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let code = usercode(&client, &issuer).await;
    let (status, approved) = poll(&client, &issuer, &code).await;
    assert_eq!(status, 200);
    assert_eq!(exchange(&client, &issuer, &approved).await.0, 200);
}

#[tokio::test]
async fn denied_unknown_and_mismatched_device_codes_fail_clearly() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let code = usercode(&client, &issuer).await;
    let denied = client
        .post(format!("{issuer}/codex/device"))
        .form(&[
            ("user_code", code["user_code"].as_str().unwrap()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 200);
    let (status, body) = poll(&client, &issuer, &code).await;
    assert_eq!((status, error_code(&body)), (400, "access_denied"));

    let (status, body) = poll(
        &client,
        &issuer,
        &json!({"device_auth_id": "nope", "user_code": "ABCD-EFGH"}),
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "deviceauth_unknown"));
    let other = usercode(&client, &issuer).await;
    let (status, _) = poll(
        &client,
        &issuer,
        &json!({"device_auth_id": other["device_auth_id"], "user_code": "WRON-GCOD"}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, _) = post_json(
        &client,
        &format!("{issuer}/api/accounts/deviceauth/usercode"),
        &json!({"client_id": "app_other"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn device_code_exchange_requires_the_device_callback_redirect_uri() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let code = usercode(&client, &issuer).await;
    let (_, approved) = poll(&client, &issuer, &code).await;
    let (status, body) = json_of(
        client
            .post(format!("{issuer}/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", approved["authorization_code"].as_str().unwrap()),
                ("redirect_uri", "http://localhost:1455/auth/callback"),
                ("client_id", CLIENT_ID),
                ("code_verifier", approved["code_verifier"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

/// One device login through to the id token's claims.
async fn device_login_claims(client: &reqwest::Client, issuer: &str) -> serde_json::Value {
    let code = usercode(client, issuer).await;
    let (status, approved) = poll(client, issuer, &code).await;
    assert_eq!(status, 200, "{approved}");
    let (status, tokens) = exchange(client, issuer, &approved).await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn the_login_account_admin_endpoint_makes_later_logins_another_account() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let first = device_login_claims(&client, &issuer).await;
    assert_eq!(first["email"], "user@example.com");

    let (status, body) = post_json(
        &client,
        &format!("{issuer}/_emulator/login-account"),
        &json!({"email": "bob@corp.example", "account_id": "acct-bob", "plan_type": "team"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login_account"]["email"], "bob@corp.example");
    let second = device_login_claims(&client, &issuer).await;
    assert_eq!(second["email"], "bob@corp.example");
    assert_eq!(
        second["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-bob"
    );

    // An empty body goes back to the seed account.
    let response = client
        .post(format!("{issuer}/_emulator/login-account"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let third = device_login_claims(&client, &issuer).await;
    assert_eq!(third["email"], "user@example.com");
}
