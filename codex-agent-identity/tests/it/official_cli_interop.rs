//! Interop with the official Codex CLI 0.169.0 (path in `CODEX_OFFICIAL_BIN`),
//! run only against loopback servers with a temporary `CODEX_HOME`.
//!
//! Without `CODEX_OFFICIAL_BIN` these tests print `SKIPPED: ...` and pass,
//! unless `CODEX_REQUIRE_OFFICIAL_CLI=1`, in which case they fail.
//!
//! Note: the official CLI derives the JWKS URL from
//! `CODEX_AGENT_IDENTITY_JWKS_BASE_URL` like [`jwks_url`]: a base containing
//! `/backend-api` gets `/wham/agent-identities/jwks`, so it is pointed at the
//! ChatGPT base (`…/backend-api`), not at `…/backend-api/wham`.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_agent_identity::{
    AgentIdentityClaims, AgentIdentityJwt, AgentKey, AgentRuntimeId, JwksCache,
    TaskRegistrationBody, jwks_url,
};
use codex_emulator::{Emulator, EmulatorConfig};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt as _;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use codex_test_support::auth_json::read_auth_json;
use codex_test_support::official::official_bin as official_cli;

struct CliOutput {
    success: bool,
    text: String,
}

/// Runs the official CLI with a temporary home, loopback endpoints, and a
/// black-hole proxy so nothing can leave the machine.
async fn run_cli(
    bin: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
    jwks_base: &str,
    authapi_base: &str,
) -> CliOutput {
    let mut command = tokio::process::Command::new(bin);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CODEX_HOME", home)
        .env("CODEX_AGENT_IDENTITY_JWKS_BASE_URL", jwks_base)
        .env("CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL", authapi_base)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        pipe.shutdown().await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the official CLI finished within a minute")
        .unwrap();
    CliOutput {
        success: output.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn official_cli_accepts_a_jwt_carrying_our_key() {
    let Some(bin) = official_cli() else { return };
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let key = AgentKey::generate().unwrap();
    let minted = emulator
        .mint_agent_identity_jwt_with_key(key.to_pkcs8_base64().expose())
        .unwrap();
    let carried = AgentIdentityJwt::decode_unverified(&minted.jwt).unwrap();
    assert_eq!(carried.key().unwrap().public_key(), key.public_key());

    let urls = emulator.urls().clone();
    // Our verifier and the official CLI read the same JWKS base the same way.
    assert_eq!(
        jwks_url(&urls.chatgpt_base_url),
        format!("{}/agent-identities/jwks", urls.jwks_base_url)
    );
    JwksCache::new()
        .verify(&reqwest::Client::new(), &urls.chatgpt_base_url, &minted.jwt)
        .await
        .unwrap();

    let home = tempfile::tempdir().unwrap();
    let login = run_cli(
        &bin,
        home.path(),
        &["login", "--with-access-token"],
        Some(&format!("{}\n", minted.jwt)),
        &urls.chatgpt_base_url,
        &urls.authapi_base_url,
    )
    .await;
    assert!(login.success, "login failed:\n{}", login.text);
    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "agentIdentity");
    assert_eq!(auth["agent_identity"], minted.jwt.as_str());
    assert!(auth["OPENAI_API_KEY"].is_null());

    let status = run_cli(
        &bin,
        home.path(),
        &["login", "status"],
        None,
        &urls.chatgpt_base_url,
        &urls.authapi_base_url,
    )
    .await;
    assert!(status.success, "status failed:\n{}", status.text);
    assert!(
        status.text.contains("Logged in using access token"),
        "{}",
        status.text
    );
    let stats = emulator.stats();
    assert!(
        stats.task_registrations >= 1,
        "the official CLI registered a task signed with our key: {stats:?}"
    );
    assert_eq!(stats.task_registrations_rejected, 0);
    emulator.shutdown().await;
}

const KID: &str = "interop-test-key";

fn rsa_key() -> EncodingKey {
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test_only_rsa_2048.pem"
    ))
    .unwrap();
    EncodingKey::from_rsa_pem(&pem).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn official_cli_task_registration_signature_verifies_in_our_code() {
    let Some(bin) = official_cli() else { return };
    let server = MockServer::start().await;
    let mut jwk = Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(KID.to_owned());
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Mock::given(method("GET"))
        .and(path("/backend-api/wham/agent-identities/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": [jwk]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/accounts/v1/agent/[^/]+/task/register$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"task_id": "task_wm"})),
        )
        .mount(&server)
        .await;

    let key = AgentKey::generate().unwrap();
    let runtime = AgentRuntimeId::new("agrt_interop_1").unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": AgentIdentityClaims::ISSUER,
        "aud": AgentIdentityClaims::AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "agent_runtime_id": runtime.as_str(),
        "agent_private_key": key.to_pkcs8_base64().expose(),
        "account_id": "acct-interop",
        "chatgpt_user_id": "user-interop",
        "email": "interop@example.com",
        "plan_type": "plus",
        "chatgpt_account_is_fedramp": false,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let jwt = jsonwebtoken::encode(&header, &claims, &rsa_key()).unwrap();

    let chatgpt_base = format!("{}/backend-api", server.uri());
    let authapi_base = format!("{}/api/accounts", server.uri());
    let home = tempfile::tempdir().unwrap();
    let login = run_cli(
        &bin,
        home.path(),
        &["login", "--with-access-token"],
        Some(&jwt),
        &chatgpt_base,
        &authapi_base,
    )
    .await;
    assert!(login.success, "login failed:\n{}", login.text);
    let status = run_cli(
        &bin,
        home.path(),
        &["login", "status"],
        None,
        &chatgpt_base,
        &authapi_base,
    )
    .await;
    assert!(
        status.text.contains("Logged in using access token"),
        "{}",
        status.text
    );

    let registrations: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path().ends_with("/task/register"))
        .collect();
    assert!(
        !registrations.is_empty(),
        "the official CLI registered a task"
    );
    for request in registrations {
        assert_eq!(
            request.url.path(),
            format!("/api/accounts/v1/agent/{runtime}/task/register")
        );
        assert!(request.headers.get("authorization").is_none());
        let body: TaskRegistrationBody = {
            let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(
                json.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["timestamp", "signature"]
            );
            TaskRegistrationBody {
                timestamp: json["timestamp"].as_str().unwrap().to_owned(),
                signature: json["signature"].as_str().unwrap().to_owned(),
            }
        };
        assert!(codex_agent_identity::AgentAssertion::parse_timestamp(&body.timestamp).is_some());
        body.verify(key.public_key(), &runtime)
            .expect("the official CLI's signature verifies with our public key");
        let other = AgentKey::generate().unwrap();
        assert!(body.verify(other.public_key(), &runtime).is_err());
    }
}
