//! Test-only auth providers and sources shared by the integration tests.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_auth_provider::{
    AuthErrorKind, AuthProvider, AuthSource, AuthSourceError, BearerAuth, BoxFuture,
    RecoveryOutcome, SecretString, SharedAuthProvider, UnauthorizedContext, sensitive_header_value,
    visible_header_value,
};
use http::{HeaderMap, HeaderValue};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// An auth source that hands out the tokens in `tokens` one after another:
/// each successful recovery moves to the next one.
#[derive(Debug)]
pub struct RotatingSource {
    tokens: Vec<SecretString>,
    index: AtomicUsize,
    pub recover_calls: AtomicUsize,
    pub provider_calls: AtomicUsize,
    pub contexts: Mutex<Vec<UnauthorizedContext>>,
    give_up: Option<String>,
}

impl RotatingSource {
    pub fn new(tokens: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            tokens: tokens.iter().map(|t| SecretString::new(*t)).collect(),
            index: AtomicUsize::new(0),
            recover_calls: AtomicUsize::new(0),
            provider_calls: AtomicUsize::new(0),
            contexts: Mutex::new(Vec::new()),
            give_up: None,
        })
    }

    pub fn giving_up(token: &str, why: &str) -> Arc<Self> {
        Arc::new(Self {
            tokens: vec![SecretString::new(token)],
            index: AtomicUsize::new(0),
            recover_calls: AtomicUsize::new(0),
            provider_calls: AtomicUsize::new(0),
            contexts: Mutex::new(Vec::new()),
            give_up: Some(why.to_owned()),
        })
    }

    pub fn recoveries(&self) -> usize {
        self.recover_calls.load(Ordering::SeqCst)
    }
}

impl AuthSource for RotatingSource {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        self.provider_calls.fetch_add(1, Ordering::SeqCst);
        let index = self.index.load(Ordering::SeqCst).min(self.tokens.len() - 1);
        let token = self.tokens[index].clone();
        Box::pin(async move {
            let provider: SharedAuthProvider = Arc::new(BearerAuth::new(&token));
            Ok(provider)
        })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        self.recover_calls.fetch_add(1, Ordering::SeqCst);
        self.contexts.lock().unwrap().push(context.clone());
        Box::pin(async move {
            if let Some(why) = &self.give_up {
                return RecoveryOutcome::GiveUp(why.clone());
            }
            self.index.fetch_add(1, Ordering::SeqCst);
            RecoveryOutcome::Retry
        })
    }
}

/// An auth source whose credentials cannot be loaded.
#[derive(Debug)]
pub struct BrokenSource;

impl AuthSource for BrokenSource {
    fn current_provider(&self) -> BoxFuture<'_, Result<SharedAuthProvider, AuthSourceError>> {
        Box::pin(async {
            Err(AuthSourceError::new(
                AuthErrorKind::NeedsLogin,
                "Your access token could not be refreshed. Please log out and sign in again.",
            ))
        })
    }

    fn recover_unauthorized<'a>(
        &'a self,
        _context: &'a UnauthorizedContext,
    ) -> BoxFuture<'a, RecoveryOutcome> {
        Box::pin(async { RecoveryOutcome::GiveUp("broken".to_owned()) })
    }
}

/// Writes `Authorization: AgentAssertion <token>` the way the official client
/// does (a fresh timestamp and Ed25519 signature on every call), plus the
/// account and FedRAMP headers.
pub struct AgentAssertionProvider {
    pub agent_runtime_id: String,
    pub task_id: String,
    key: Ed25519KeyPair,
    pub account_id: String,
    pub fedramp: bool,
}

impl AgentAssertionProvider {
    /// A provider signing with `key_pkcs8` (PKCS#8 v1 of 48 bytes, or v2).
    pub fn new(
        agent_runtime_id: &str,
        task_id: &str,
        key_pkcs8: &[u8],
        account_id: &str,
        fedramp: bool,
    ) -> Self {
        Self {
            agent_runtime_id: agent_runtime_id.to_owned(),
            task_id: task_id.to_owned(),
            key: ed25519_key(key_pkcs8),
            account_id: account_id.to_owned(),
            fedramp,
        }
    }

    /// A provider with a freshly generated key (for servers that do not verify).
    pub fn generated(account_id: &str, fedramp: bool) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Self::new(
            "runtime-test",
            "task-test",
            document.as_ref(),
            account_id,
            fedramp,
        )
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// A fresh assertion token.
    pub fn assertion(&self) -> String {
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let message = format!("{}:{}:{}", self.agent_runtime_id, self.task_id, timestamp);
        let signature = STANDARD.encode(self.key.sign(message.as_bytes()).as_ref());
        let json = serde_json::json!({
            "agent_runtime_id": self.agent_runtime_id,
            "signature": signature,
            "task_id": self.task_id,
            "timestamp": timestamp,
        });
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap())
    }
}

/// Loads an Ed25519 key from PKCS#8: v1 (48 bytes, seed at the end) or v2.
pub fn ed25519_key(pkcs8: &[u8]) -> Ed25519KeyPair {
    if pkcs8.len() == 48 {
        Ed25519KeyPair::from_seed_unchecked(&pkcs8[16..]).unwrap()
    } else {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).unwrap()
    }
}

impl AuthProvider for AgentAssertionProvider {
    fn add_auth_headers(&self, headers: &mut HeaderMap) {
        if let Some(value) = sensitive_header_value(
            "authorization",
            &format!("AgentAssertion {}", self.assertion()),
        ) {
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(value) = visible_header_value("chatgpt-account-id", &self.account_id) {
            headers.insert(CHATGPT_ACCOUNT_ID, value);
        }
        if self.fedramp {
            headers.insert(X_OPENAI_FEDRAMP, HeaderValue::from_static("true"));
        }
    }
}

impl fmt::Debug for AgentAssertionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentAssertionProvider")
            .field("agent_runtime_id", &self.agent_runtime_id)
            .field("task_id", &self.task_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// Decodes an `AgentAssertion` header value into its JSON object (keys in wire order).
pub fn decode_assertion(header: &str) -> serde_json::Map<String, serde_json::Value> {
    let token = header.strip_prefix("AgentAssertion ").unwrap();
    let json = URL_SAFE_NO_PAD.decode(token).unwrap();
    match serde_json::from_slice(&json).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("assertion is not an object: {other}"),
    }
}
