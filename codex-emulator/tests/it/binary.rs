//! The `codex-emulator` binary: one JSON ready line within a second, concurrent clients.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_one_ready_line_and_serves_concurrent_clients() {
    let started = Instant::now();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_codex-emulator"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--access-token-ttl",
                "900",
                "--auto-approve",
                "--seed-email",
                "ci@example.com",
                "--seed-plan",
                "team",
                "--seed-account-id",
                "acct-ci",
                "--seed-user-id",
                "user-ci",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let elapsed = started.elapsed();
    // Speed is not a unit-test matter (timed tests fail on a loaded machine); this only
    // shows the binary announces itself instead of hanging.
    assert!(
        elapsed < Duration::from_secs(15),
        "ready line took {elapsed:?}"
    );

    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let keys: Vec<&String> = ready.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "issuer",
            "chatgpt_base_url",
            "authapi_base_url",
            "jwks_base_url",
            "openai_base_url",
            "oidc_issuer",
            "actions_id_token_request_url"
        ]
    );
    let issuer = ready["issuer"].as_str().unwrap().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"));
    assert_eq!(ready["chatgpt_base_url"], format!("{issuer}/backend-api"));
    assert_eq!(ready["authapi_base_url"], format!("{issuer}/api/accounts"));
    assert_eq!(ready["jwks_base_url"], format!("{issuer}/backend-api/wham"));
    assert_eq!(ready["oidc_issuer"], format!("{issuer}/oidc"));
    assert_eq!(
        ready["actions_id_token_request_url"],
        format!("{issuer}/oidc/actions/token?api-version=2.0")
    );
    assert_eq!(ready["openai_base_url"], format!("{issuer}/v1"));

    let client = client();
    let (_, tokens) = post_json(&client, &format!("{issuer}/_emulator/tokens"), &json!({})).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "ci@example.com");
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_plan_type"],
        "team"
    );
    assert_eq!(tokens["account_id"], "acct-ci");
    let access = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        900
    );

    // 32 clients on their own connections at once.
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let url = format!("{issuer}/backend-api/wham/usage");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            common::client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    let (_, stats) = json_of(
        client
            .get(format!("{issuer}/_emulator/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["bearer_ok"], 32);

    // Auto-approve: device codes are approved as soon as they are issued.
    let (_, code) = post_json(
        &client,
        &format!("{issuer}/api/accounts/deviceauth/usercode"),
        &json!({"client_id": CLIENT_ID}),
    )
    .await;
    let (status, _) = post_json(
        &client,
        &format!("{issuer}/api/accounts/deviceauth/token"),
        &json!({"device_auth_id": code["device_auth_id"], "user_code": code["user_code"]}),
    )
    .await;
    assert_eq!(status, 200);

    // Nothing else was printed on stdout.
    child.0.kill().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert_eq!(rest, "", "stdout holds only the ready line");
}

#[tokio::test]
async fn in_process_emulator_shuts_down_and_its_debug_output_holds_no_tokens() {
    let emulator = start(codex_emulator::EmulatorConfig::default()).await;
    let tokens = emulator.issue_chatgpt_tokens(codex_emulator::IssueTokens::default());
    let minted = emulator.mint_agent_identity_jwt();
    let debug = format!("{emulator:?} {tokens:?} {minted:?}");
    for secret in [
        &tokens.refresh_token,
        &tokens.access_token,
        &tokens.id_token,
        &minted.jwt,
        &minted.private_key_pkcs8_base64,
    ] {
        assert!(!debug.contains(secret.as_str()), "{debug}");
    }
    let url = format!("{}/_emulator/stats", emulator.urls().issuer);
    assert_eq!(
        client().get(&url).send().await.unwrap().status().as_u16(),
        200
    );
    emulator.shutdown().await;
    assert!(
        client().get(&url).send().await.is_err(),
        "nothing listens after shutdown"
    );
}
