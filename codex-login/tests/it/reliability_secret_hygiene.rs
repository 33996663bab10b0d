//! Secret hygiene of the libraries:
//! - every public type that holds a secret (across `codex-auth-provider`, `codex-login`,
//!   `codex-agent-identity`, `codex-backend-client`), built from real credentials issued by
//!   the emulator, is formatted with `{:?}` and must show none of them, whole or in part;
//! - a complete browser login through the loopback callback: the redirect to the success
//!   page, and the page itself, carry no token, code, state or verifier.
//!
//! The TRACE-level log capture over login, refresh and logout through the library APIs is
//! `flow_log_redaction::trace_logs_contain_no_secrets`; through the real `codex` binary
//! (login, refresh, whoami, logout) it is `codex-cli/tests/reliability_secrets.rs`.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reliability_support;

use codex_agent_identity::{
    AgentAssertionAuth, AgentIdentityJwt, AgentKey, ChatGptIdentityBinding, TaskId,
};
use codex_auth_provider::{BearerAuth, SecretString};
use codex_emulator::{Emulator, EmulatorConfig};
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::environment::env_from_pairs;
use codex_login::flows::ExchangedTokens;
use codex_login::flows::PkceCodes;
use codex_login::flows::{CallbackParams, parse_pasted_input};
use codex_login::flows::{DeviceCodeOptions, LoginServer, LoginServerOptions, request_device_code};
use codex_login::refresh::parse_refresh_response;
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, codex_auth::CodexAuth,
    http_client::HttpClientFactory,
};
use reliability_support::*;
use std::sync::Arc;
use std::time::Duration;

/// 32 random hex digits, so no two test secrets share a fragment.
fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn http() -> HttpClientFactory {
    HttpClientFactory::from_env(&|_| None).unwrap()
}

/// Pieces of `secret` that must not show either: the whole, and its start, middle and end.
fn fragments(secret: &str) -> Vec<&str> {
    const PIECE: usize = 16;
    let mut pieces = vec![secret];
    if secret.len() > 2 * PIECE && secret.is_ascii() {
        let middle = secret.len() / 2 - PIECE / 2;
        pieces.push(&secret[..PIECE]);
        pieces.push(&secret[middle..middle + PIECE]);
        pieces.push(&secret[secret.len() - PIECE..]);
    }
    pieces
}

struct Checker {
    secrets: Vec<(String, String)>,
    checked: Vec<&'static str>,
}

impl Checker {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what} too short to search for");
        self.secrets.push((what.to_owned(), value.to_owned()));
    }

    fn check(&mut self, type_name: &'static str, shown: String) {
        for (what, secret) in &self.secrets {
            for piece in fragments(secret) {
                assert!(
                    !shown.contains(piece),
                    "{{:?}} of {type_name} shows (part of) the {what}: {shown}"
                );
            }
        }
        self.checked.push(type_name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_of_every_public_type_holding_a_secret_shows_none() {
    let emu = Emulator::start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let mut c = Checker {
        secrets: Vec::new(),
        checked: Vec::new(),
    };

    // Real credentials of every kind.
    let tokens = issue(&emu, 3600);
    c.secret("id token", &tokens.id_token);
    c.secret("access token", &tokens.access_token);
    c.secret("refresh token", &tokens.refresh_token);
    let minted = emu.mint_agent_identity_jwt();
    c.secret("agent identity JWT", &minted.jwt);
    c.secret("agent private key", &minted.private_key_pkcs8_base64);
    let api_key = format!("sk-proj-{}", random_hex());
    let api_key = api_key.as_str();
    c.secret("API key", api_key);

    // codex-auth-provider.
    let secret = SecretString::new(tokens.access_token.clone());
    c.check("SecretString", format!("{secret:?} {secret}"));
    let bearer = BearerAuth::new(&secret).with_account_id(Some("acct-1"));
    c.check("BearerAuth", format!("{bearer:?}"));

    // codex-login: stored documents and snapshots of every mode.
    let chatgpt_home = tempfile::tempdir().unwrap();
    seed_home(chatgpt_home.path(), &tokens);
    let store = FileAuthStorage::new(chatgpt_home.path());
    let loaded = store.load_with_location().unwrap().unwrap();
    c.check("LoadedAuth", format!("{loaded:?}"));
    let document = loaded.document.clone();
    c.check("AuthDotJson", format!("{document:?}"));
    let stored_tokens = document.tokens.clone().unwrap();
    c.check("StoredTokens", format!("{stored_tokens:?}"));
    c.check(
        "StoredIdToken",
        format!("{:?}", stored_tokens.id_token.clone().unwrap()),
    );
    let auth = CodexAuth::from_auth_dot_json(document).unwrap();
    c.check("CodexAuth", format!("{auth:?}"));
    c.check(
        "ChatgptTokens",
        format!("{:?}", auth.chatgpt_tokens().unwrap()),
    );
    c.check("SharedAuthProvider", format!("{:?}", auth.provider()));
    c.check("HeaderMap", format!("{:?}", auth.provider().auth_headers()));

    let api_doc = AuthDotJson::api_key(SecretString::new(api_key));
    c.check("AuthDotJson(apikey)", format!("{api_doc:?}"));
    let api_auth = CodexAuth::from_auth_dot_json(api_doc).unwrap();
    c.check("CodexAuth(apikey)", format!("{api_auth:?}"));

    let agent_doc = AuthDotJson::agent_identity_jwt(SecretString::new(minted.jwt.clone()));
    c.check("AuthDotJson(agentIdentity)", format!("{agent_doc:?}"));
    c.check(
        "StoredAgentIdentity(login)",
        format!("{:?}", agent_doc.agent_identity.clone().unwrap()),
    );
    let agent_auth = CodexAuth::from_auth_dot_json(agent_doc).unwrap();
    c.check("CodexAuth(agentIdentity)", format!("{agent_auth:?}"));
    c.check(
        "AgentIdentityAuth",
        format!("{:?}", agent_auth.agent_identity().unwrap()),
    );
    c.check(
        "token_claims::AgentIdentityClaims",
        format!(
            "{:?}",
            codex_login::token_claims::AgentIdentityClaims::parse(&minted.jwt).unwrap()
        ),
    );

    let mut config = AuthManagerConfig::new(chatgpt_home.path());
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    c.check("AuthManagerConfig", format!("{config:?}"));
    let manager = AuthManager::shared(config);
    c.check("AuthManager", format!("{manager:?}"));
    c.check(
        "ResolvedAuth",
        format!("{:?}", manager.resolved_cached().unwrap()),
    );

    // codex-login: refresh and login flow values.
    let refreshed = parse_refresh_response(
        &serde_json::json!({
            "id_token": tokens.id_token,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        })
        .to_string(),
    )
    .unwrap();
    c.check("RefreshedTokens", format!("{refreshed:?}"));
    let exchanged = ExchangedTokens {
        id_token: SecretString::new(tokens.id_token.clone()),
        access_token: SecretString::new(tokens.access_token.clone()),
        refresh_token: SecretString::new(tokens.refresh_token.clone()),
    };
    c.check("ExchangedTokens", format!("{exchanged:?}"));

    let pkce = PkceCodes::generate();
    c.secret("PKCE verifier", pkce.code_verifier.expose());
    c.check("PkceCodes", format!("{pkce:?}"));

    let state = format!("state-{}", random_hex());
    let state = state.as_str();
    c.secret("OAuth state", state);
    let code = format!("ac_{}", random_hex());
    let code = code.as_str();
    c.secret("authorization code", code);
    let params = CallbackParams::from_query(&format!("code={code}&state={state}"));
    c.check("CallbackParams", format!("{params:?}"));
    c.check(
        "PastedInput::Callback",
        format!(
            "{:?}",
            parse_pasted_input(&format!(
                "http://localhost:1455/auth/callback?code={code}&state={state}"
            )),
        ),
    );
    // `PastedInput::BareCode` is checked in its own test below.
    let login_home = tempfile::tempdir().unwrap();
    let mut options = LoginServerOptions::new(login_home.path().to_path_buf(), http());
    options.issuer = emu.urls().issuer.clone();
    options.port = 0;
    options.fallback_port = None;
    options.open_browser = false;
    options.force_state = Some(SecretString::new(state));
    c.check("LoginServerOptions", format!("{options:?}"));
    let server = LoginServer::start(options).await.unwrap();
    c.check("LoginServer", format!("{server:?}"));
    drop(server);

    let mut device_options = DeviceCodeOptions::new(login_home.path().to_path_buf(), http());
    device_options.issuer = emu.urls().issuer.clone();
    let device = request_device_code(&device_options).await.unwrap();
    c.secret("device auth id", device.device_auth_id.expose());
    c.check("DeviceCode", format!("{device:?}"));

    // codex-agent-identity.
    let jwt = AgentIdentityJwt::new(minted.jwt.clone());
    c.check("AgentIdentityJwt", format!("{jwt:?}"));
    let claims = AgentIdentityJwt::decode_unverified(&minted.jwt).unwrap();
    c.check("AgentIdentityClaims", format!("{claims:?}"));
    let record = claims.to_record(None);
    c.check("AgentIdentityRecord", format!("{record:?}"));
    c.check(
        "StoredAgentIdentity",
        format!(
            "{:?} {:?}",
            codex_agent_identity::StoredAgentIdentity::Jwt(jwt.clone()),
            codex_agent_identity::StoredAgentIdentity::Record(Box::new(record.clone()))
        ),
    );
    let key = AgentKey::from_pkcs8_base64(&minted.private_key_pkcs8_base64).unwrap();
    c.check("AgentKey", format!("{key:?}"));
    let assertion_auth = AgentAssertionAuth::new(
        key,
        claims.agent_runtime_id.clone(),
        TaskId::new("task-debugcheck").unwrap(),
    );
    let header = assertion_auth.authorization_at(chrono::Utc::now());
    c.secret("AgentAssertion header", header.expose());
    c.check(
        "AgentAssertionAuth",
        format!("{assertion_auth:?} {header:?}"),
    );
    let binding = ChatGptIdentityBinding {
        account_id: "acct-1".to_owned(),
        chatgpt_user_id: "user-1".to_owned(),
        email: None,
        plan_type: "plus".to_owned(),
        fedramp: false,
        access_token: SecretString::new(tokens.access_token.clone()),
    };
    c.check("ChatGptIdentityBinding", format!("{binding:?}"));

    // codex-backend-client.
    let client = codex_backend_client::BackendClient::builder(emu.urls().chatgpt_base_url.clone())
        .auth_provider(Arc::new(bearer.clone()))
        .build()
        .unwrap();
    c.check("BackendClient", format!("{client:?}"));
    let client = codex_backend_client::BackendClient::builder(emu.urls().chatgpt_base_url.clone())
        .auth_source(manager.clone())
        .build()
        .unwrap();
    c.check("BackendClient(AuthManager)", format!("{client:?}"));

    eprintln!(
        "RELIABILITY-FIGURES debug-redaction types={} secrets={}: {}",
        c.checked.len(),
        c.secrets.len(),
        c.checked.join(", ")
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_success_redirect_and_page_carry_no_secret() {
    let emu = Emulator::start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut options = LoginServerOptions::new(home.path().to_path_buf(), http());
    options.issuer = emu.urls().issuer.clone();
    options.port = 0;
    options.fallback_port = None;
    options.open_browser = false;
    options.timeout = Some(Duration::from_secs(30));
    let server = LoginServer::start(options).await.unwrap();
    let auth_url = url::Url::parse(server.auth_url()).unwrap();
    let state = auth_url
        .query_pairs()
        .find(|(key, _)| key == "state")
        .unwrap()
        .1
        .into_owned();
    let waiting = tokio::spawn(server.wait());

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    // Auto-approval: the issuer redirects straight to the callback.
    let authorize = browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(authorize.status().as_u16(), 302);
    let callback = authorize.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();
    let answer = browser.get(&callback).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302, "the callback redirects");
    let success_url = answer.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(&success_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    waiting.await.unwrap().unwrap();

    let stored = read_auth_json(home.path());
    let mut secrets = vec![state, code];
    for field in ["id_token", "access_token", "refresh_token"] {
        secrets.push(stored["tokens"][field].as_str().unwrap().to_owned());
    }
    if let Some(key) = stored["OPENAI_API_KEY"].as_str() {
        secrets.push(key.to_owned());
    }
    assert!(success_url.contains("/success?"), "{success_url}");
    for secret in &secrets {
        for piece in fragments(secret) {
            assert!(
                !success_url.contains(piece),
                "the success URL carries a secret"
            );
            assert!(!page.contains(piece), "the success page carries a secret");
        }
    }
    for name in [
        "id_token",
        "access_token",
        "refresh_token",
        "code=",
        "state=",
    ] {
        assert!(
            !success_url.contains(name),
            "the success URL has {name}: {success_url}"
        );
    }
    eprintln!("RELIABILITY-FIGURES success-url {success_url}");
    emu.shutdown().await;
}

#[test]
fn debug_of_a_pasted_bare_code_shows_no_code() {
    let code = format!("ac_{}", random_hex());
    let shown = format!("{:?}", parse_pasted_input(&code));
    for piece in fragments(&code) {
        assert!(
            !shown.contains(piece),
            "{{:?}} of PastedInput::BareCode shows the authorization code: {shown}"
        );
    }
}
