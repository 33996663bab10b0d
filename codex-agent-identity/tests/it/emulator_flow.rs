//! End to end against `codex-emulator` over real loopback sockets: JWT login,
//! task registration, AgentAssertion-authenticated backend calls, rejection of
//! forged assertions and bad JWTs, and the ChatGPT opt-in bootstrap.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration as ChronoDuration, Utc};
use codex_agent_identity::{
    Abom, AgentAssertion, AgentAssertionAuth, AgentIdentityClaims, AgentIdentityJwt,
    AgentIdentityRecord, AgentKey, AgentRegistrationRequest, AgentRuntimeId,
    ChatGptIdentityBinding, JwksCache, JwtError, RegistrationClient, RegistrationFailureCache,
    StoredAgentIdentity, TaskId, ensure_chatgpt_agent_identity,
};
use codex_auth_provider::{AuthProvider as _, SecretString};
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, SeedAccount};
use http::HeaderMap;

async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(config).await.unwrap()
}

fn registration_client(emulator: &EmulatorHandle) -> RegistrationClient {
    RegistrationClient::new(&reqwest::Client::new(), &emulator.urls().authapi_base_url).unwrap()
}

/// `GET {chatgpt_base}/wham/usage` with `headers`; returns the status.
async fn usage_status(emulator: &EmulatorHandle, headers: HeaderMap) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .headers(headers)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn assertion_headers(authorization: &str, account_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", authorization.parse().unwrap());
    headers.insert("chatgpt-account-id", account_id.parse().unwrap());
    headers
}

/// Registers an agent with a Bearer token from the emulator, then a task.
async fn register_agent_and_task(
    emulator: &EmulatorHandle,
) -> (AgentKey, AgentRuntimeId, TaskId, String) {
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let key = AgentKey::generate().unwrap();
    let client = registration_client(emulator);
    let runtime = client
        .register_agent(
            &SecretString::new(tokens.access_token),
            false,
            &AgentRegistrationRequest::new(Abom::for_session("0.1.0", "cli"), key.public_key()),
        )
        .await
        .unwrap();
    let task = client.register_task(&key, &runtime).await.unwrap();
    (key, runtime, task, tokens.account_id)
}

#[tokio::test]
async fn jwt_login_registers_a_task_and_the_assertion_reads_usage() {
    let emulator = start(EmulatorConfig::default()).await;
    let minted = emulator.mint_agent_identity_jwt();
    let http = reqwest::Client::new();

    let claims = AgentIdentityJwt::verify(&http, &emulator.urls().jwks_base_url, &minted.jwt)
        .await
        .unwrap();
    assert_eq!(claims.agent_runtime_id.as_str(), minted.agent_runtime_id);
    assert_eq!(claims.account_id, SeedAccount::default().account_id);

    let key = claims.key().unwrap();
    let task = registration_client(&emulator)
        .register_task(&key, &claims.agent_runtime_id)
        .await
        .unwrap();
    assert_eq!(emulator.stats().task_registrations, 1);

    let auth = claims.to_record(Some(&task)).assertion_auth().unwrap();
    let before = emulator.stats();
    assert_eq!(usage_status(&emulator, auth.auth_headers()).await, 200);
    // A second request mints a new assertion and is accepted too.
    assert_eq!(usage_status(&emulator, auth.auth_headers()).await, 200);
    let after = emulator.stats();
    assert_eq!(after.assertions_ok - before.assertions_ok, 2);
    assert_eq!(after.assertions_rejected, before.assertions_rejected);
    emulator.shutdown().await;
}

#[tokio::test]
async fn bearer_registration_then_assertion_reads_usage() {
    let emulator = start(EmulatorConfig::default()).await;
    let (key, runtime, task, account_id) = register_agent_and_task(&emulator).await;
    assert_eq!(emulator.stats().agent_registrations, 1);
    let auth = AgentAssertionAuth::new(key, runtime, task).with_account_id(&account_id);
    assert_eq!(usage_status(&emulator, auth.auth_headers()).await, 200);
    assert_eq!(emulator.stats().assertions_ok, 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn sealed_task_ids_from_the_emulator_open_with_our_key() {
    let emulator = start(EmulatorConfig {
        encrypt_task_ids: true,
        ..EmulatorConfig::default()
    })
    .await;
    let (key, runtime, task, account_id) = register_agent_and_task(&emulator).await;
    assert!(task.as_str().starts_with("task_"), "{task}");
    let auth = AgentAssertionAuth::new(key, runtime, task).with_account_id(&account_id);
    assert_eq!(usage_status(&emulator, auth.auth_headers()).await, 200);
    emulator.shutdown().await;
}

#[tokio::test]
async fn tampered_foreign_and_stale_assertions_are_rejected_by_the_emulator() {
    let emulator = start(EmulatorConfig::default()).await;
    let (key_a, runtime_a, task_a, account_id) = register_agent_and_task(&emulator).await;
    let (key_b, runtime_b, _task_b, _) = register_agent_and_task(&emulator).await;

    let mut forged: Vec<(&str, String)> = Vec::new();

    // Tampered signature: flip one bit of the signature inside a valid assertion.
    let good = AgentAssertion::mint(&key_a, &runtime_a, &task_a, Utc::now());
    let mut json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(good.expose()).unwrap()).unwrap();
    let mut signature = STANDARD
        .decode(json["signature"].as_str().unwrap())
        .unwrap();
    signature[0] ^= 1;
    json["signature"] = STANDARD.encode(signature).into();
    forged.push((
        "tampered signature",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap()),
    ));

    // Foreign runtime: B claims A's task with B's own key.
    forged.push((
        "foreign runtime",
        AgentAssertion::mint(&key_b, &runtime_b, &task_a, Utc::now())
            .expose()
            .to_owned(),
    ));
    // Foreign key: A's runtime and task, signed by B's key.
    forged.push((
        "foreign key",
        AgentAssertion::mint(&key_b, &runtime_a, &task_a, Utc::now())
            .expose()
            .to_owned(),
    ));
    // Unregistered runtime.
    forged.push((
        "unregistered runtime",
        AgentAssertion::mint(
            &key_a,
            &AgentRuntimeId::new("ar_never_registered").unwrap(),
            &task_a,
            Utc::now(),
        )
        .expose()
        .to_owned(),
    ));
    // Stale timestamp: ten minutes old.
    forged.push((
        "stale timestamp",
        AgentAssertion::mint(
            &key_a,
            &runtime_a,
            &task_a,
            Utc::now() - ChronoDuration::minutes(10),
        )
        .expose()
        .to_owned(),
    ));

    for (what, token) in forged {
        let before = emulator.stats().assertions_rejected;
        let status = usage_status(
            &emulator,
            assertion_headers(&format!("AgentAssertion {token}"), &account_id),
        )
        .await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(
            emulator.stats().assertions_rejected,
            before + 1,
            "{what} counted as a rejected assertion"
        );
    }
    // The genuine one still works.
    let good = AgentAssertion::authorization_value(&key_a, &runtime_a, &task_a, Utc::now());
    assert_eq!(
        usage_status(&emulator, assertion_headers(good.expose(), &account_id)).await,
        200
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn bad_jwts_are_rejected_by_us() {
    let emulator = start(EmulatorConfig::default()).await;
    let http = reqwest::Client::new();
    let jwks_base = emulator.urls().jwks_base_url.clone();
    let minted = emulator.mint_agent_identity_jwt();
    let good_claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(minted.jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(good_claims["iss"], AgentIdentityClaims::ISSUER);
    assert_eq!(good_claims["aud"], AgentIdentityClaims::AUDIENCE);
    let cache = JwksCache::new();
    cache.verify(&http, &jwks_base, &minted.jwt).await.unwrap();

    let with = |field: &str, value: serde_json::Value| {
        let mut claims = good_claims.clone();
        claims[field] = value;
        claims
    };
    let expired = with("exp", (Utc::now().timestamp() - 3600).into());
    let cases: Vec<(&str, String, JwtError)> = vec![
        (
            "untrusted kid",
            emulator.agent_identity_jwt_with_claims(good_claims.clone(), Some("not-in-jwks")),
            JwtError::UntrustedKid {
                kid: "not-in-jwks".into(),
            },
        ),
        (
            "missing kid",
            emulator.agent_identity_jwt_with_claims(good_claims.clone(), Some("")),
            JwtError::MissingKid,
        ),
        (
            "wrong iss",
            emulator.agent_identity_jwt_with_claims(
                with("iss", "https://evil.example/agent-identity".into()),
                None,
            ),
            JwtError::Issuer,
        ),
        (
            "wrong aud",
            emulator.agent_identity_jwt_with_claims(with("aud", "other-app".into()), None),
            JwtError::Audience,
        ),
        (
            "expired",
            emulator.agent_identity_jwt_with_claims(expired, None),
            JwtError::Expired,
        ),
    ];
    let kid = emulator.jwks()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good_claims).unwrap());
    let alg_none = format!(
        "{}.{payload}.c2ln",
        URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&serde_json::json!({"alg":"none","typ":"JWT","kid":kid})).unwrap()
        )
    );
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let n = emulator.jwks()["keys"][0]["n"].as_str().unwrap().to_owned();
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &good_claims,
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    let mut cases = cases;
    cases.push((
        "alg none",
        alg_none,
        JwtError::Algorithm {
            found: "none".into(),
        },
    ));
    cases.push((
        "HS256",
        hs256,
        JwtError::Algorithm {
            found: "HS256".into(),
        },
    ));
    for (what, jwt, expected) in cases {
        assert_eq!(
            cache.verify(&http, &jwks_base, &jwt).await,
            Err(expected),
            "{what}"
        );
    }
    assert_eq!(
        emulator.stats().jwks_requests,
        1,
        "the JWKS was fetched once for all checks"
    );
    emulator.shutdown().await;
}

fn binding_for(emulator: &EmulatorHandle, account: &SeedAccount) -> ChatGptIdentityBinding {
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
        account: Some(account.clone()),
        ..IssueTokens::default()
    });
    ChatGptIdentityBinding {
        account_id: account.account_id.clone(),
        chatgpt_user_id: account.user_id.clone(),
        email: Some(account.email.clone()),
        plan_type: account.plan_type.clone(),
        fedramp: account.fedramp,
        access_token: SecretString::new(tokens.access_token),
    }
}

/// Writes the record as `auth.json` would hold it and reads it back, as a new process would.
fn through_disk(record: &AgentIdentityRecord) -> AgentIdentityRecord {
    let text =
        serde_json::to_string(&StoredAgentIdentity::Record(Box::new(record.clone()))).unwrap();
    match serde_json::from_str::<StoredAgentIdentity>(&text).unwrap() {
        StoredAgentIdentity::Record(record) => *record,
        StoredAgentIdentity::Jwt(_) => panic!("a record came back as a JWT"),
    }
}

#[tokio::test]
async fn chatgpt_opt_in_registers_once_reuses_and_is_per_user() {
    let emulator = start(EmulatorConfig::default()).await;
    let client = registration_client(&emulator);
    let abom = Abom::for_session("0.1.0", "cli");
    let failures = RegistrationFailureCache::new();
    let alice = SeedAccount::default();

    let first = ensure_chatgpt_agent_identity(
        &client,
        &abom,
        &binding_for(&emulator, &alice),
        None,
        &failures,
    )
    .await
    .unwrap();
    assert!(first.needs_persist && !first.reused_identity);
    assert!(first.record.task_id.is_some());
    assert_eq!(emulator.stats().agent_registrations, 1);
    assert_eq!(emulator.stats().task_registrations, 1);
    assert_eq!(
        usage_status(&emulator, first.auth.auth_headers()).await,
        200
    );

    // Reload / another process: the stored record (with its task) is reused, no I/O.
    for _ in 0..2 {
        let stored = through_disk(&first.record);
        let again = ensure_chatgpt_agent_identity(
            &client,
            &abom,
            &binding_for(&emulator, &alice),
            Some(&stored),
            &failures,
        )
        .await
        .unwrap();
        assert!(again.reused_identity && !again.needs_persist);
        assert_eq!(again.record, stored);
        assert_eq!(
            usage_status(&emulator, again.auth.auth_headers()).await,
            200
        );
    }
    assert_eq!(emulator.stats().agent_registrations, 1);
    assert_eq!(emulator.stats().task_registrations, 1);

    // Another user in the same workspace never gets alice's identity.
    let bob = SeedAccount {
        user_id: "user-emulator-0002".to_owned(),
        email: "bob@example.com".to_owned(),
        ..SeedAccount::default()
    };
    let for_bob = ensure_chatgpt_agent_identity(
        &client,
        &abom,
        &binding_for(&emulator, &bob),
        Some(&through_disk(&first.record)),
        &failures,
    )
    .await
    .unwrap();
    assert!(!for_bob.reused_identity && for_bob.needs_persist);
    assert_ne!(
        for_bob.record.agent_runtime_id,
        first.record.agent_runtime_id
    );
    assert_eq!(for_bob.record.user(), Some("user-emulator-0002"));
    assert_eq!(emulator.stats().agent_registrations, 2);

    // A stored identity without a task gets one, and keeps its runtime.
    let mut no_task = through_disk(&first.record);
    no_task.task_id = None;
    let with_task = ensure_chatgpt_agent_identity(
        &client,
        &abom,
        &binding_for(&emulator, &alice),
        Some(&no_task),
        &failures,
    )
    .await
    .unwrap();
    assert!(with_task.reused_identity && with_task.needs_persist);
    assert_eq!(
        with_task.record.agent_runtime_id,
        first.record.agent_runtime_id
    );
    assert_eq!(emulator.stats().agent_registrations, 2);
    assert_eq!(emulator.stats().task_registrations, 3);
    emulator.shutdown().await;
}

#[tokio::test]
async fn fedramp_accounts_send_the_routing_header() {
    let fedramp = SeedAccount {
        fedramp: true,
        ..SeedAccount::default()
    };
    let emulator = start(EmulatorConfig {
        seed: fedramp.clone(),
        ..EmulatorConfig::default()
    })
    .await;
    let identity = ensure_chatgpt_agent_identity(
        &registration_client(&emulator),
        &Abom::for_session("0.1.0", "cli"),
        &binding_for(&emulator, &fedramp),
        None,
        &RegistrationFailureCache::new(),
    )
    .await
    .unwrap();
    assert!(identity.record.is_fedramp());
    let headers = identity.auth.auth_headers();
    assert_eq!(headers.get("x-openai-fedramp").unwrap(), "true");
    assert_eq!(usage_status(&emulator, headers).await, 200);
    emulator.shutdown().await;
}
