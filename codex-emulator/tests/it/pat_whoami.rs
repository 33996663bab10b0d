//! Issue 19: personal access tokens — the whoami route, backend Bearer
//! authentication with a PAT, the admin surface and faults.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use codex_emulator::{
    EmulatorConfig, Faults, PersonalAccessTokenSpec, SeedAccount, StatusOverride,
};
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn workspace_account() -> SeedAccount {
    SeedAccount {
        email: "pat-user@example.com".to_owned(),
        plan_type: "business".to_owned(),
        account_id: "acct-pat-0001".to_owned(),
        user_id: "user-pat-0001".to_owned(),
        fedramp: true,
    }
}

#[tokio::test]
async fn whoami_answers_the_five_fields_for_a_live_token_and_401_otherwise() {
    let emulator = start(EmulatorConfig::default()).await;
    let url = format!(
        "{}/v1/user-auth-credential/whoami",
        emulator.urls().authapi_base_url
    );
    let client = client();
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(workspace_account()),
        null_email: false,
    });
    assert!(token.starts_with("at-"));
    let (status, body) = json_of(client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "email": "pat-user@example.com",
            "chatgpt_user_id": "user-pat-0001",
            "chatgpt_account_id": "acct-pat-0001",
            "chatgpt_plan_type": "business",
            "chatgpt_account_is_fedramp": true,
        })
    );

    // The null-email variant, on the seed account.
    let null_email = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: None,
        null_email: true,
    });
    let (status, body) = json_of(
        client
            .get(&url)
            .bearer_auth(&null_email)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["email"], serde_json::Value::Null);
    assert_eq!(body["chatgpt_account_id"], "acct-emulator-0001");
    assert_eq!(body["chatgpt_account_is_fedramp"], false);

    // Missing, unknown and revoked tokens.
    let (status, body) = json_of(client.get(&url).send().await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (401, "missing_authorization"));
    let (status, body) = json_of(
        client
            .get(&url)
            .bearer_auth("at-unknown")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_personal_access_token")
    );
    assert!(emulator.revoke_personal_access_token(&token));
    let (status, _) = json_of(client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let stats = emulator.stats();
    assert_eq!(stats.pat_whoami_requests, 5);
    assert_eq!(stats.pat_whoami_rejected, 3);
}

#[tokio::test]
async fn the_admin_api_mints_and_revokes_tokens() {
    let emulator = start(EmulatorConfig::default()).await;
    let admin = format!(
        "{}/_emulator/personal-access-tokens",
        emulator.urls().issuer
    );
    let client = client();
    let (status, body) = post_json(
        &client,
        &admin,
        &json!({"account": {"email": "a@example.com", "plan_type": "enterprise",
            "account_id": "acct-a", "user_id": "user-a", "fedramp": false}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let url = format!(
        "{}/v1/user-auth-credential/whoami",
        emulator.urls().authapi_base_url
    );
    let (status, body) = json_of(client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(
        (status, body["chatgpt_account_id"].as_str()),
        (200, Some("acct-a"))
    );
    let (status, body) = post_json(
        &client,
        &format!("{admin}/revoke"),
        &json!({"token": token}),
    )
    .await;
    assert_eq!((status, body["revoked"].as_bool()), (200, Some(true)));
    let (status, _) = json_of(client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn backend_routes_accept_a_live_pat_with_its_account_id_only() {
    let emulator = start(EmulatorConfig::default()).await;
    let mut account = workspace_account();
    account.fedramp = false;
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec {
        account: Some(account),
        null_email: false,
    });
    let url = format!("{}/wham/usage", emulator.urls().chatgpt_base_url);
    let client = client();
    let send = |account: &'static str| {
        client
            .get(&url)
            .bearer_auth(&token)
            .header("ChatGPT-Account-ID", account)
            .send()
    };
    let (status, body) = json_of(send("acct-pat-0001").await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = json_of(send("acct-someone-else").await.unwrap()).await;
    assert_ne!(status, 200);
    assert!(emulator.revoke_personal_access_token(&token));
    let (status, _) = json_of(send("acct-pat-0001").await.unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn whoami_faults_refuse_fail_stall_and_oversize() {
    let emulator = start(EmulatorConfig::default()).await;
    let token = emulator.mint_personal_access_token(PersonalAccessTokenSpec::default());
    let url = format!(
        "{}/v1/user-auth-credential/whoami",
        emulator.urls().authapi_base_url
    );
    let client = client();
    let huge = "x".repeat(3 * 1024 * 1024);
    let overrides = [
        (403, "{\"error\":\"forbidden\"}".to_owned()),
        (500, "oops".to_owned()),
        (200, huge.clone()),
    ];
    emulator.set_faults(Faults {
        status_overrides: overrides
            .iter()
            .map(|(status, body)| StatusOverride {
                path_prefix: "/api/accounts/v1/user-auth-credential/whoami".to_owned(),
                status: *status,
                body: body.clone(),
                times: 1,
            })
            .collect(),
        ..Faults::default()
    });
    for (status, body) in overrides {
        let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.text().await.unwrap().len(), body.len());
    }
    // Stalled: the answer comes only after the delay.
    emulator.set_faults(Faults {
        whoami_delay_ms: 700,
        ..Faults::default()
    });
    let started = Instant::now();
    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(700));
}
