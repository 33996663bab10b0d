//! API-key and access-token logins revoke (best effort, after `auth.json.lock` is released) the
//! ChatGPT login they replace, as the browser and device-code logins do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::path::Path;
use std::time::Duration;

use codex_auth_provider::SecretString;
use codex_emulator::{EmulatorHandle, IssueTokens, IssuedTokens};
use codex_login::config::{CodexConfig, load_config_in};
use codex_login::flows::{
    AccessTokenLoginOptions, ApiKeyLoginOptions, CredentialTarget, ReplacedLoginRevocation,
    login_with_access_token, login_with_api_key,
};
use codex_login::storage::AuthFileLock;
use codex_login::storage::CredentialStoreMode;
use flow_support::{
    emulator, http, read_auth_json, seed_chatgpt_auth, seed_chatgpt_auth_minted_by,
};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Nothing listens on the discard port: connections are refused.
const DEAD_REVOKE_URL: &str = "http://127.0.0.1:9/oauth/revoke";

fn file_target(home: &Path) -> CredentialTarget {
    CredentialTarget {
        codex_home: home.to_path_buf(),
        store_mode: CredentialStoreMode::File,
        storage: None,
    }
}

/// The configuration the CLI would load with `CODEX_ISSUER` at the emulator (and, when given,
/// `CODEX_REVOKE_TOKEN_URL_OVERRIDE`).
fn config_for(
    emulator: &EmulatorHandle,
    home: &Path,
    revoke_override: Option<&str>,
) -> CodexConfig {
    let issuer = emulator.urls().issuer.clone();
    let revoke_override = revoke_override.map(str::to_owned);
    let env = move |name: &str| match name {
        "CODEX_ISSUER" => Some(issuer.clone()),
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE" => revoke_override.clone(),
        _ => None,
    };
    let chatgpt = format!("chatgpt_base_url=\"{}\"", emulator.urls().chatgpt_base_url);
    load_config_in(home.to_path_buf(), &[chatgpt], &env).unwrap()
}

fn access_token_options(
    config: &CodexConfig,
    emulator: &EmulatorHandle,
) -> AccessTokenLoginOptions {
    let mut options = AccessTokenLoginOptions::from_config(config, http());
    options.jwks_base_url = emulator.urls().chatgpt_base_url.clone();
    options
}

fn revocation_at(url: &str) -> ReplacedLoginRevocation {
    ReplacedLoginRevocation {
        http: http(),
        revoke_url: url.to_owned(),
        client_id: CLIENT_ID.to_owned(),
    }
}

/// Status and body of a refresh with `refresh_token` at the emulator.
async fn refresh_with(emulator: &EmulatorHandle, refresh_token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .json(&json!({
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn assert_grant_revoked(emulator: &EmulatorHandle, old: &IssuedTokens) {
    let (status, body) = refresh_with(emulator, &old.refresh_token).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("refresh_token_invalidated"), "{body}");
}

async fn seeded_chatgpt_login(emulator: &EmulatorHandle, home: &Path) -> IssuedTokens {
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens::default());
    seed_chatgpt_auth(home, &tokens);
    tokens
}

#[tokio::test]
async fn api_key_login_revokes_the_chatgpt_login_it_replaces() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;
    let config = config_for(&emulator, home.path(), None);
    assert_eq!(
        config.revoke_token_url,
        format!("{}/oauth/revoke", emulator.urls().issuer)
    );

    login_with_api_key(
        &file_target(home.path()),
        &SecretString::new("sk-replacing-123"),
        &ApiKeyLoginOptions::from_config(&config, http()),
    )
    .await
    .unwrap();

    assert_eq!(emulator.stats().revoked, 1);
    assert_grant_revoked(&emulator, &old).await;
    assert_eq!(
        read_auth_json(home.path()),
        json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-replacing-123"})
    );
}

#[tokio::test]
async fn access_token_login_revokes_the_chatgpt_login_it_replaces() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;
    let config = config_for(&emulator, home.path(), None);
    let jwt = emulator.mint_agent_identity_jwt().jwt;

    login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(jwt.clone()),
        &access_token_options(&config, &emulator),
    )
    .await
    .unwrap();

    assert_eq!(emulator.stats().revoked, 1);
    assert_grant_revoked(&emulator, &old).await;
    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "agentIdentity");
    assert_eq!(auth["agent_identity"], jwt.as_str());
    assert!(
        auth.get("tokens").is_none_or(|tokens| tokens.is_null()),
        "{auth}"
    );
    assert!(!auth.to_string().contains(&old.refresh_token));
}

#[tokio::test]
async fn api_key_login_succeeds_when_the_revoke_endpoint_is_down() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;
    let config = config_for(&emulator, home.path(), Some(DEAD_REVOKE_URL));
    assert_eq!(config.revoke_token_url, DEAD_REVOKE_URL);

    login_with_api_key(
        &file_target(home.path()),
        &SecretString::new("sk-while-revoke-down"),
        &ApiKeyLoginOptions::from_config(&config, http()),
    )
    .await
    .unwrap();

    assert_eq!(
        read_auth_json(home.path()),
        json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-while-revoke-down"})
    );
    // The grant was not revoked (the endpoint was unreachable), so it still refreshes.
    let (status, body) = refresh_with(&emulator, &old.refresh_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn access_token_login_succeeds_when_the_revoke_endpoint_fails() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;
    let revoke = MockServer::start().await;
    // The mock stands in for the issuer that minted the login (tokens go nowhere else).
    seed_chatgpt_auth_minted_by(home.path(), &old, &revoke.uri());
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("revocation backend down"))
        .expect(1)
        .mount(&revoke)
        .await;
    let config = config_for(&emulator, home.path(), None);
    let mut options = access_token_options(&config, &emulator);
    options.revoke_replaced_login = Some(revocation_at(&format!("{}/oauth/revoke", revoke.uri())));
    let jwt = emulator.mint_agent_identity_jwt().jwt;

    login_with_access_token(&file_target(home.path()), &SecretString::new(jwt), &options)
        .await
        .unwrap();

    assert_eq!(read_auth_json(home.path())["auth_mode"], "agentIdentity");
    revoke.verify().await;
}

#[tokio::test]
async fn replacing_an_api_key_login_revokes_nothing() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let revoke = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(0)
        .mount(&revoke)
        .await;
    let revoke_url = format!("{}/oauth/revoke", revoke.uri());
    let api_key_options = ApiKeyLoginOptions {
        revoke_replaced_login: Some(revocation_at(&revoke_url)),
    };
    let target = file_target(home.path());
    login_with_api_key(&target, &SecretString::new("sk-first"), &api_key_options)
        .await
        .unwrap();
    login_with_api_key(&target, &SecretString::new("sk-second"), &api_key_options)
        .await
        .unwrap();
    assert_eq!(read_auth_json(home.path())["OPENAI_API_KEY"], "sk-second");

    let config = config_for(&emulator, home.path(), Some(&revoke_url));
    let jwt = emulator.mint_agent_identity_jwt().jwt;
    login_with_access_token(
        &target,
        &SecretString::new(jwt),
        &access_token_options(&config, &emulator),
    )
    .await
    .unwrap();
    // Replacing the agent identity login with an API key revokes nothing either.
    login_with_api_key(&target, &SecretString::new("sk-third"), &api_key_options)
        .await
        .unwrap();

    assert_eq!(read_auth_json(home.path())["OPENAI_API_KEY"], "sk-third");
    // The revoke endpoint (wiremock, expecting 0 requests) is the check here.
    revoke.verify().await;
}

#[tokio::test]
async fn without_revocation_the_replaced_grant_stays_live() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;

    login_with_api_key(
        &file_target(home.path()),
        &SecretString::new("sk-no-revoke"),
        &ApiKeyLoginOptions {
            revoke_replaced_login: None,
        },
    )
    .await
    .unwrap();

    assert_eq!(emulator.stats().revoked, 0);
    let (status, body) = refresh_with(&emulator, &old.refresh_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn revocation_runs_after_the_new_login_is_saved_and_the_lock_released() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let old = seeded_chatgpt_login(&emulator, home.path()).await;
    let revoke = MockServer::start().await;
    seed_chatgpt_auth_minted_by(home.path(), &old, &revoke.uri());
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&revoke)
        .await;
    let options = ApiKeyLoginOptions {
        revoke_replaced_login: Some(revocation_at(&format!("{}/oauth/revoke", revoke.uri()))),
    };
    let target = file_target(home.path());
    let login = tokio::spawn(async move {
        login_with_api_key(&target, &SecretString::new("sk-slow-revoke"), &options).await
    });

    // Wait until the revoke request is in flight.
    let started = std::time::Instant::now();
    while revoke.received_requests().await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no revoke request arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let requests = revoke.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "token": old.refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": CLIENT_ID,
        })
    );
    // While it is in flight, the new login is already saved and the lock is free.
    assert!(!login.is_finished());
    assert_eq!(
        read_auth_json(home.path())["OPENAI_API_KEY"],
        "sk-slow-revoke"
    );
    let lock = AuthFileLock::try_acquire(home.path()).unwrap();
    assert!(
        lock.is_some(),
        "auth.json.lock is still held during the revoke"
    );
    drop(lock);

    login.await.unwrap().unwrap();
}
