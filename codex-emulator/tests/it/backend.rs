//! Backend `/wham/...` routes: authentication on every route and the payload shapes.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use codex_emulator::{EmulatorConfig, IssueTokens, SeedAccount};
use common::*;
use serde_json::json;

const ROUTES: [&str; 5] = [
    "usage",
    "accounts/check",
    "tasks/list",
    "tasks/task_e_missing",
    "profiles/me",
];

#[tokio::test]
async fn every_route_rejects_missing_unknown_and_expired_credentials() {
    let emulator = start(EmulatorConfig::default()).await;
    let base = emulator.urls().chatgpt_base_url.clone();
    let client = client();
    let expired = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        account: None,
    });
    for route in ROUTES {
        let url = format!("{base}/wham/{route}");
        let (status, body) = json_of(client.get(&url).send().await.unwrap()).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "missing_authorization"),
            "{route}"
        );
        let (status, body) = json_of(
            client
                .get(&url)
                .bearer_auth("e30.e30.c2ln")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "invalid_token"),
            "{route}"
        );
        let (status, body) = json_of(
            client
                .get(&url)
                .bearer_auth(&expired.access_token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "token_expired"),
            "{route}"
        );
    }
    let (status, _) = json_of(
        client
            .post(format!("{base}/wham/tasks"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let stats = emulator.stats();
    assert_eq!(stats.bearer_rejected, 16);
    assert_eq!(stats.backend_requests, 16);
    assert_eq!(stats.bearer_ok, 0);
}

#[tokio::test]
async fn access_token_expires_by_the_configured_ttl() {
    let emulator = start(EmulatorConfig::default()).await;
    emulator.set_access_token_ttl(1);
    let client = client();
    let (_, tokens) = post_json(
        &client,
        &format!("{}/_emulator/tokens", emulator.urls().issuer),
        &json!({"access_token_ttl_secs": 1}),
    )
    .await;
    let url = format!("{}/wham/usage", emulator.urls().chatgpt_base_url);
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = json_of(client.get(&url).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (401, "token_expired"));
}

#[tokio::test]
async fn admin_expiry_of_access_tokens_turns_live_tokens_into_401() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let url = format!("{}/wham/usage", emulator.urls().chatgpt_base_url);
    let status = |token: String| {
        let client = client.clone();
        let url = url.clone();
        async move { json_of(client.get(&url).bearer_auth(token).send().await.unwrap()).await }
    };
    assert_eq!(status(tokens.access_token.clone()).await.0, 200);
    let (code, body) = post_json(
        &client,
        &format!("{}/_emulator/access-tokens/expire", emulator.urls().issuer),
        &json!({}),
    )
    .await;
    assert_eq!((code, body["expired"].as_u64()), (200, Some(1)));
    let (code, body) = status(tokens.access_token.clone()).await;
    assert_eq!((code, error_code(&body)), (401, "token_expired"));
    // Tokens issued afterwards work again.
    let fresh = emulator.issue_chatgpt_tokens(IssueTokens::default());
    assert_eq!(status(fresh.access_token).await.0, 200);
}

#[tokio::test]
async fn account_header_must_match_and_fedramp_accounts_must_route() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = format!("{}/wham/usage", emulator.urls().chatgpt_base_url);
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let ok = client
        .get(&url)
        .bearer_auth(&tokens.access_token)
        .header("ChatGPT-Account-ID", "acct-emulator-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let (status, body) = json_of(
        client
            .get(&url)
            .bearer_auth(&tokens.access_token)
            .header("chatgpt-account-id", "acct-other")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, "account_mismatch"));
    assert_eq!(emulator.stats().account_mismatches, 1);

    let fedramp = SeedAccount {
        fedramp: true,
        account_id: "acct-fed".to_owned(),
        ..SeedAccount::default()
    };
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: 600,
        account: Some(fedramp),
    });
    assert_eq!(
        jwt_claims(&tokens.id_token)["https://api.openai.com/auth"]["chatgpt_account_is_fedramp"],
        true
    );
    let (status, body) = json_of(
        client
            .get(&url)
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (403, "fedramp_routing_required")
    );
    let routed = client
        .get(&url)
        .bearer_auth(&tokens.access_token)
        .header("X-OpenAI-Fedramp", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(routed.status().as_u16(), 200);
}

#[tokio::test]
async fn payloads_have_the_backend_shapes() {
    let seed = SeedAccount {
        plan_type: "pro".to_owned(),
        ..SeedAccount::default()
    };
    let emulator = start(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await;
    let base = emulator.urls().chatgpt_base_url.clone();
    let client = client();
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let get = |path: String| {
        let client = client.clone();
        let token = tokens.access_token.clone();
        async move { json_of(client.get(path).bearer_auth(token).send().await.unwrap()).await }
    };

    let (status, usage) = get(format!("{base}/wham/usage")).await;
    assert_eq!(status, 200);
    assert_eq!(usage["plan_type"], "pro");
    let window = &usage["rate_limit"]["primary_window"];
    for field in [
        "used_percent",
        "limit_window_seconds",
        "reset_after_seconds",
        "reset_at",
    ] {
        assert!(window[field].is_i64(), "primary_window.{field}");
    }
    assert!(usage["rate_limit"]["allowed"].is_boolean());
    assert!(usage["credits"]["has_credits"].is_boolean());

    let (_, check) = get(format!("{base}/wham/accounts/check")).await;
    assert_eq!(check["account_ordering"], json!(["acct-emulator-0001"]));
    assert_eq!(check["default_account_id"], "acct-emulator-0001");
    assert_eq!(
        check["accounts"]["acct-emulator-0001"]["account"]["account_id"],
        "acct-emulator-0001"
    );
    assert_eq!(
        check["accounts"]["acct-emulator-0001"]["account"]["structure"],
        "personal"
    );

    let (_, profile) = get(format!("{base}/wham/profiles/me")).await;
    assert!(profile["stats"]["daily_usage_buckets"].is_array());
    assert!(profile["stats"]["lifetime_tokens"].is_u64());

    // Create three tasks, list them in pages of two, read one back.
    let mut ids = Vec::new();
    for n in 1..=3 {
        let body = json!({
            "new_task": {"environment_id": "env-1", "branch": "main", "run_environment_in_qa_mode": false},
            "input_items": [{"type": "message", "role": "user", "content": [{"content_type": "text", "text": format!("Fix bug {n}")}]}],
        });
        let (status, created) = json_of(
            client
                .post(format!("{base}/wham/tasks"))
                .bearer_auth(&tokens.access_token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        ids.push(created["task"]["id"].as_str().unwrap().to_owned());
    }
    let (_, page) = get(format!(
        "{base}/wham/tasks/list?limit=2&environment_id=env-1"
    ))
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["id"].as_str(),
        Some(ids[2].as_str()),
        "newest first"
    );
    assert_eq!(items[0]["title"], "Fix bug 3");
    assert_eq!(items[0]["archived"], false);
    let cursor = page["cursor"].as_str().unwrap();
    let (_, next) = get(format!("{base}/wham/tasks/list?limit=2&cursor={cursor}")).await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["cursor"].is_null());
    let (_, none) = get(format!("{base}/wham/tasks/list?environment_id=env-2")).await;
    assert_eq!(none["items"], json!([]));

    let (status, details) = get(format!("{base}/wham/tasks/{}", ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(
        details["current_user_turn"]["input_items"][0]["content"][0]["text"],
        "Fix bug 1"
    );
    assert_eq!(
        details["current_assistant_turn"]["output_items"][0]["type"],
        "message"
    );
    let (status, body) = get(format!("{base}/wham/tasks/task_e_missing")).await;
    assert_eq!((status, error_code(&body)), (404, "task_not_found"));

    let (status, _) = json_of(
        client
            .post(format!("{base}/wham/tasks"))
            .bearer_auth(&tokens.access_token)
            .json(&json!([1, 2]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
}
