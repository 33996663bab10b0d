//! Helpers shared by the emulator's integration tests: a plain HTTP client, PKCE, Ed25519.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Starts an emulator on an ephemeral loopback port.
pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(config).await.expect("emulator starts")
}

/// A plain HTTP client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client builds")
}

/// A PKCE verifier (64 random bytes, base64url) and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 64];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes).expect("random");
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The JSON body of a response, with its status.
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text}"));
    (status, value)
}

/// POSTs a JSON body and returns status and JSON answer.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    json_of(client.post(url).json(body).send().await.expect("request")).await
}

/// The refresh request exactly as the official CLI sends it.
pub fn refresh_body(refresh_token: &str) -> Value {
    serde_json::json!({
        "client_id": CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_reason": "proactive_expiry",
        "refresh_token": refresh_token,
    })
}

/// The `error.code` of an OpenAI-shaped error body.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
}

/// Decodes a JWT payload without verifying it.
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// An Ed25519 key held by a test "client".
pub struct AgentKey {
    pub pair: Ed25519KeyPair,
    pub pkcs8: Vec<u8>,
}

impl AgentKey {
    /// A fresh key (PKCS#8 v2, as ring emits it).
    pub fn generate() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("keygen");
        let pkcs8 = pkcs8.as_ref().to_vec();
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).expect("parse");
        Self { pair, pkcs8 }
    }

    /// A key from standard-base64 PKCS#8 (v1 or v2).
    pub fn from_pkcs8_base64(encoded: &str) -> Self {
        let pkcs8 = STANDARD.decode(encoded).expect("standard base64");
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).expect("parse");
        Self { pair, pkcs8 }
    }

    /// The OpenSSH public-key line, built by hand from the wire format.
    pub fn ssh_public_key(&self) -> String {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        blob.extend_from_slice(self.pair.public_key().as_ref());
        format!("ssh-ed25519 {}", STANDARD.encode(blob))
    }

    /// Standard base64 of the signature over `message`.
    pub fn sign(&self, message: &str) -> String {
        STANDARD.encode(self.pair.sign(message.as_bytes()).as_ref())
    }
}

/// UTC now as RFC 3339 with second precision and `Z`, shifted by `offset_secs`.
pub fn timestamp(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `AgentAssertion <base64url(JSON)>` with the members in lexicographic order.
pub fn agent_assertion(key: &AgentKey, runtime: &str, task: &str, timestamp: &str) -> String {
    let signature = key.sign(&format!("{runtime}:{task}:{timestamp}"));
    let envelope = format!(
        r#"{{"agent_runtime_id":"{runtime}","signature":"{signature}","task_id":"{task}","timestamp":"{timestamp}"}}"#
    );
    format!("AgentAssertion {}", URL_SAFE_NO_PAD.encode(envelope))
}
