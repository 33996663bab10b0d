//! Agent identity: register → task register → AgentAssertion on the backend; tampered and stale
//! assertions rejected; encrypted task ids; minted agent identity JWTs and the JWKS.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use codex_emulator::{EmulatorConfig, EmulatorHandle, IssueTokens};
use common::*;
use serde_json::json;
use sha2::{Digest as _, Sha512};

/// Registers `key` with a Bearer token, returning the runtime id.
async fn register_agent(
    client: &reqwest::Client,
    emulator: &EmulatorHandle,
    key: &AgentKey,
) -> String {
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let response = client
        .post(format!("{}/v1/agent/register", emulator.urls().authapi_base_url))
        .bearer_auth(&tokens.access_token)
        .header("ChatGPT-Account-ID", "acct-emulator-0001")
        .json(&json!({
            "abom": {"agent_version": "0.1.0", "agent_harness_id": "codex-cli", "running_location": "cli-linux"},
            "agent_public_key": key.ssh_public_key(),
            "capabilities": ["responsesapi"],
            "ttl": null,
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    body["agent_runtime_id"].as_str().unwrap().to_owned()
}

/// Registers a task with the exact body the official CLI sends.
async fn register_task(
    client: &reqwest::Client,
    emulator: &EmulatorHandle,
    key: &AgentKey,
    runtime: &str,
    ts: &str,
) -> (u16, serde_json::Value) {
    post_json(
        client,
        &format!(
            "{}/v1/agent/{runtime}/task/register",
            emulator.urls().authapi_base_url
        ),
        &json!({"timestamp": ts, "signature": key.sign(&format!("{runtime}:{ts}"))}),
    )
    .await
}

async fn usage_with(
    client: &reqwest::Client,
    emulator: &EmulatorHandle,
    authorization: &str,
) -> (u16, serde_json::Value) {
    json_of(
        client
            .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
            .header("Authorization", authorization)
            .header("ChatGPT-Account-ID", "acct-emulator-0001")
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn register_then_task_then_hand_built_assertion_is_accepted_and_forgeries_rejected() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let key = AgentKey::generate();
    let runtime = register_agent(&client, &emulator, &key).await;

    let (status, task) = register_task(&client, &emulator, &key, &runtime, &timestamp(0)).await;
    assert_eq!(status, 200, "{task}");
    let task_id = task["task_id"].as_str().unwrap().to_owned();

    let good = agent_assertion(&key, &runtime, &task_id, &timestamp(0));
    let (status, body) = usage_with(&client, &emulator, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan_type"], "plus");
    assert_eq!(emulator.stats().assertions_ok, 1);

    // Tampered: signature over a different timestamp than the one sent.
    let ts = timestamp(0);
    let signature = key.sign(&format!("{runtime}:{task_id}:{}", timestamp(-1)));
    let envelope = format!(
        r#"{{"agent_runtime_id":"{runtime}","signature":"{signature}","task_id":"{task_id}","timestamp":"{ts}"}}"#
    );
    let tampered = format!("AgentAssertion {}", URL_SAFE_NO_PAD.encode(envelope));
    let (status, body) = usage_with(&client, &emulator, &tampered).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_agent_assertion")
    );

    // Signed by another key.
    let stranger = AgentKey::generate();
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&stranger, &runtime, &task_id, &timestamp(0)),
    )
    .await;
    assert_eq!(status, 401);

    // Stale and future timestamps, correctly signed.
    let (status, body) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, &task_id, &timestamp(-600)),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timestamp"),
        "{body}"
    );
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, &task_id, &timestamp(600)),
    )
    .await;
    assert_eq!(status, 401);

    // A task of another runtime, an unknown task, padded base64, garbage.
    let other_key = AgentKey::generate();
    let other_runtime = register_agent(&client, &emulator, &other_key).await;
    let (_, other_task) = register_task(
        &client,
        &emulator,
        &other_key,
        &other_runtime,
        &timestamp(0),
    )
    .await;
    let other_task_id = other_task["task_id"].as_str().unwrap();
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, other_task_id, &timestamp(0)),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, "task_unknown", &timestamp(0)),
    )
    .await;
    assert_eq!(status, 401);
    let padded = format!("{good}==");
    assert_eq!(usage_with(&client, &emulator, &padded).await.0, 401);
    assert_eq!(
        usage_with(&client, &emulator, "AgentAssertion not-a-token")
            .await
            .0,
        401
    );

    let stats = emulator.stats();
    assert_eq!(stats.assertions_ok, 1);
    assert_eq!(stats.assertions_rejected, 8);
    assert_eq!(stats.agent_registrations, 2);
    assert_eq!(stats.task_registrations, 2);

    // The account header must match the runtime's account.
    let response = client
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .header(
            "Authorization",
            agent_assertion(&key, &runtime, &task_id, &timestamp(0)),
        )
        .header("ChatGPT-Account-ID", "acct-someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn agent_registration_requires_a_live_bearer_and_a_valid_key() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let url = format!("{}/v1/agent/register", emulator.urls().authapi_base_url);
    let key = AgentKey::generate();
    let body = json!({
        "abom": {"agent_version": "0.1.0", "agent_harness_id": "codex-cli", "running_location": "cli-linux"},
        "agent_public_key": key.ssh_public_key(),
        "capabilities": ["responsesapi"],
        "ttl": null,
    });
    assert_eq!(
        post_json(&client, &url, &body).await.0,
        401,
        "no Authorization"
    );
    let expired = emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        account: None,
    });
    let (status, err) = json_of(
        client
            .post(&url)
            .bearer_auth(&expired.access_token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&err)), (401, "token_expired"));

    let live = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let bad_key = json!({
        "abom": {"agent_version": "0.1.0", "agent_harness_id": "codex-cli", "running_location": "cli-linux"},
        "agent_public_key": "ssh-rsa AAAAB3NzaC1yc2E=",
    });
    let (status, err) = json_of(
        client
            .post(&url)
            .bearer_auth(&live.access_token)
            .json(&bad_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (400, "invalid_agent_public_key")
    );
    let no_abom = json!({"agent_public_key": key.ssh_public_key()});
    assert_eq!(
        client
            .post(&url)
            .bearer_auth(&live.access_token)
            .json(&no_abom)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(emulator.stats().agent_registrations, 0);
}

#[tokio::test]
async fn task_registration_checks_signature_timestamp_runtime_and_body_shape() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let key = AgentKey::generate();
    let runtime = register_agent(&client, &emulator, &key).await;
    let url = format!(
        "{}/v1/agent/{runtime}/task/register",
        emulator.urls().authapi_base_url
    );

    let ts = timestamp(0);
    let (status, body) = post_json(
        &client,
        &url,
        &json!({"timestamp": ts, "signature": key.sign(&format!("{runtime}:{}", timestamp(-30)))}),
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_signature"));
    let stale = timestamp(-400);
    let (status, body) = post_json(
        &client,
        &url,
        &json!({"timestamp": stale, "signature": key.sign(&format!("{runtime}:{stale}"))}),
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_timestamp"));
    let (status, _) = post_json(
        &client,
        &url,
        &json!({"timestamp": ts, "signature": key.sign(&format!("{runtime}:{ts}")), "extra": 1}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = register_task(&client, &emulator, &key, "agrt_unknown", &ts).await;
    assert_eq!(status, 404);
    assert_eq!(emulator.stats().task_registrations_rejected, 4);
    assert_eq!(emulator.stats().task_registrations, 0);
    assert_eq!(
        register_task(&client, &emulator, &key, &runtime, &timestamp(-240))
            .await
            .0,
        200,
        "inside ±5 min"
    );
}

#[tokio::test]
async fn encrypted_task_id_opens_with_the_agent_key_and_works_in_assertions() {
    let emulator = start(EmulatorConfig {
        encrypt_task_ids: true,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client();
    let key = AgentKey::generate();
    let runtime = register_agent(&client, &emulator, &key).await;
    let (status, body) = register_task(&client, &emulator, &key, &runtime, &timestamp(0)).await;
    assert_eq!(status, 200);
    assert!(body.get("task_id").is_none());
    let sealed = STANDARD
        .decode(body["encrypted_task_id"].as_str().unwrap())
        .unwrap();

    // X25519 secret = clamp(SHA-512(seed)[..32]); ring's PKCS#8 v2 holds the seed at bytes 16..48.
    let seed = &key.pkcs8[16..48];
    let digest = Sha512::digest(seed);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&digest[..32]);
    secret[0] &= 248;
    secret[31] &= 127;
    secret[31] |= 64;
    let task_id =
        String::from_utf8(crypto_box::SecretKey::from(secret).unseal(&sealed).unwrap()).unwrap();
    assert!(task_id.starts_with("task_"));
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, &task_id, &timestamp(0)),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn minted_agent_identity_jwt_verifies_against_the_jwks_and_its_key_is_registered() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();

    let (status, minted) = post_json(
        &client,
        &format!("{}/_emulator/agent-identity-jwt", emulator.urls().issuer),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let jwt = minted["jwt"].as_str().unwrap();

    let (status, jwks) = json_of(
        client
            .get(format!(
                "{}/agent-identities/jwks",
                emulator.urls().jwks_base_url
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["use"].as_str(),
            jwk["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&["https://chatgpt.com/codex-backend/agent-identity"]);
    validation.set_audience(&["codex-app-server"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["agent_runtime_id"], minted["agent_runtime_id"]);
    assert_eq!(claims["account_id"], "acct-emulator-0001");
    assert_eq!(claims["chatgpt_user_id"], "user-emulator-0001");
    assert_eq!(claims["email"], "user@example.com");
    assert_eq!(claims["plan_type"], "plus");
    assert_eq!(claims["chatgpt_account_is_fedramp"], false);
    assert!(claims["iat"].is_i64() && claims["exp"].as_i64() > claims["iat"].as_i64());

    // The private key inside is PKCS#8 v1 (48 bytes) and is the registered runtime key.
    let private = claims["agent_private_key"].as_str().unwrap();
    assert_eq!(STANDARD.decode(private).unwrap().len(), 48);
    let key = AgentKey::from_pkcs8_base64(private);
    let runtime = claims["agent_runtime_id"].as_str().unwrap();
    let (status, task) = register_task(&client, &emulator, &key, runtime, &timestamp(0)).await;
    assert_eq!(status, 200);
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(
            &key,
            runtime,
            task["task_id"].as_str().unwrap(),
            &timestamp(0),
        ),
    )
    .await;
    assert_eq!(status, 200);

    // A caller-supplied key (PKCS#8 v2 from ring) is honoured too.
    let own = AgentKey::generate();
    let minted = emulator
        .mint_agent_identity_jwt_with_key(&STANDARD.encode(&own.pkcs8))
        .unwrap();
    assert_eq!(
        jwt_claims(&minted.jwt)["agent_private_key"],
        STANDARD.encode(&own.pkcs8)
    );
    assert_eq!(
        register_task(
            &client,
            &emulator,
            &own,
            &minted.agent_runtime_id,
            &timestamp(0)
        )
        .await
        .0,
        200
    );
    assert!(
        emulator
            .mint_agent_identity_jwt_with_key("bm90IGEga2V5")
            .is_err()
    );
    assert!(
        !format!("{minted:?}").contains(&minted.jwt),
        "Debug must not print the JWT"
    );

    // Negative-test helper: claims signed with the JWKS key, kid chosen by the caller.
    let forged = emulator.agent_identity_jwt_with_claims(
        json!({"iss": "https://evil.example", "aud": "codex-app-server", "exp": 1}),
        None,
    );
    assert_eq!(
        jsonwebtoken::decode_header(&forged).unwrap().kid.as_deref(),
        Some(kid.as_str())
    );
    assert!(jsonwebtoken::decode::<serde_json::Value>(&forged, &decoding, &validation).is_err());
    let untrusted = emulator.agent_identity_jwt_with_claims(json!({}), Some("other-kid"));
    assert_eq!(
        jsonwebtoken::decode_header(&untrusted)
            .unwrap()
            .kid
            .as_deref(),
        Some("other-kid")
    );
}

#[tokio::test]
async fn forgotten_agent_tasks_reject_their_assertions_until_a_new_task_is_registered() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = client();
    let key = AgentKey::generate();
    let runtime = register_agent(&client, &emulator, &key).await;
    let (status, task) = register_task(&client, &emulator, &key, &runtime, &timestamp(0)).await;
    assert_eq!(status, 200, "{task}");
    let task_id = task["task_id"].as_str().unwrap().to_owned();
    let (status, body) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, &task_id, &timestamp(0)),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(emulator.forget_agent_tasks(), 1);
    let (status, body) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, &task_id, &timestamp(0)),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_agent_assertion")
    );

    // The admin route does the same; the runtime itself stays registered.
    let (status, task) = register_task(&client, &emulator, &key, &runtime, &timestamp(0)).await;
    assert_eq!(status, 200, "{task}");
    let (status, body) = post_json(
        &client,
        &format!("{}/_emulator/agent-tasks/forget", emulator.urls().issuer),
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, body["forgotten"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let fresh = task["task_id"].as_str().unwrap();
    let (status, _) = usage_with(
        &client,
        &emulator,
        &agent_assertion(&key, &runtime, fresh, &timestamp(0)),
    )
    .await;
    assert_eq!(status, 401);
    let (status, task) = register_task(&client, &emulator, &key, &runtime, &timestamp(0)).await;
    assert_eq!(status, 200, "{task}");
    let (status, body) = usage_with(
        &client,
        &emulator,
        &agent_assertion(
            &key,
            &runtime,
            task["task_id"].as_str().unwrap(),
            &timestamp(0),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
