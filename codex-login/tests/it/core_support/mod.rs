//! Helpers shared by the `core_*` integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_auth_provider::SecretString;
use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, IssuedTokens};
use codex_login::auth_dot_json::{AuthDotJson, StoredTimestamp, StoredTokens};
use codex_login::environment::env_from_pairs;
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

pub use crate::common::fake_jwt;

/// An id token for `account` / `user` with plan and email.
pub fn fake_id_token(email: &str, plan: &str, account: &str, user: &str) -> String {
    fake_jwt(&serde_json::json!({
        "email": email,
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": plan,
            "chatgpt_account_id": account,
            "chatgpt_user_id": user,
        }
    }))
}

/// An access token expiring at `exp` (seconds since the epoch).
pub fn fake_access_token(exp: i64) -> String {
    fake_jwt(&serde_json::json!({ "exp": exp, "sub": "user" }))
}

/// Starts an emulator with default settings.
pub async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts")
}

/// Issues tokens whose access token lives `ttl_secs` (negative: already expired).
pub fn issue(emulator: &EmulatorHandle, ttl_secs: i64) -> IssuedTokens {
    emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: ttl_secs,
        account: None,
    })
}

pub use crate::common::chatgpt_document;

/// Writes `auth.json` for issued tokens into `home`.
pub fn seed_home(home: &Path, tokens: &IssuedTokens) {
    FileAuthStorage::new(home)
        .save(&chatgpt_document(tokens))
        .expect("seed auth.json");
}

pub use crate::common::read_auth_json;

/// The stored refresh token.
pub fn stored_refresh_token(home: &Path) -> String {
    read_auth_json(home)["tokens"]["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

/// The stored access token.
pub fn stored_access_token(home: &Path) -> String {
    read_auth_json(home)["tokens"]["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// A manager config for `home` that refreshes against `emulator`.
pub fn manager_config(home: &Path, emulator: &EmulatorHandle) -> AuthManagerConfig {
    let mut config = AuthManagerConfig::new(home);
    config.refresh_token_url = Some(format!("{}/oauth/token", emulator.urls().issuer));
    config.env = env_from_pairs([("TERM", "xterm")]);
    config
}

/// A manager for `home` against `emulator`.
pub fn manager(home: &Path, emulator: &EmulatorHandle) -> Arc<AuthManager> {
    AuthManager::shared(manager_config(home, emulator))
}

/// Refreshes `refresh_token` directly at the emulator, as another program
/// would, and returns the new document (same account) without storing it.
pub async fn rotate_directly(emulator: &EmulatorHandle, refresh_token: &str) -> AuthDotJson {
    let response: Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .json(&serde_json::json!({
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }))
        .send()
        .await
        .expect("emulator answers")
        .error_for_status()
        .expect("refresh accepted")
        .json()
        .await
        .expect("json");
    let text = |key: &str| response[key].as_str().expect(key).to_owned();
    let id_token = text("id_token");
    let claims = codex_login::token_claims::IdTokenClaims::parse(&id_token).unwrap();
    let mut document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(id_token),
            SecretString::new(text("access_token")),
            SecretString::new(text("refresh_token")),
            claims.chatgpt_account_id,
        ),
        None,
        chrono::Utc::now(),
    );
    document.last_refresh = Some(StoredTimestamp::new(chrono::Utc::now()));
    document
}

/// A file store that lets a test act as another writer: after the n-th
/// load returns, the file is replaced with a scripted document; and it can
/// pretend the store is not writable.
#[derive(Debug)]
pub struct ScriptedStorage {
    pub inner: FileAuthStorage,
    loads: std::sync::atomic::AtomicUsize,
    after_load: std::sync::Mutex<std::collections::HashMap<usize, AuthDotJson>>,
    pub not_writable: std::sync::atomic::AtomicBool,
}

impl ScriptedStorage {
    pub fn new(home: &Path) -> Arc<Self> {
        Arc::new(Self {
            inner: FileAuthStorage::new(home),
            loads: Default::default(),
            after_load: Default::default(),
            not_writable: Default::default(),
        })
    }

    /// After load number `n` (1-based) returns, `document` replaces the file.
    pub fn replace_after_load(&self, n: usize, document: AuthDotJson) {
        self.after_load.lock().unwrap().insert(n, document);
    }

    pub fn loads(&self) -> usize {
        self.loads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl AuthStorage for ScriptedStorage {
    fn mode(&self) -> codex_login::storage::CredentialStoreMode {
        codex_login::storage::CredentialStoreMode::File
    }
    fn load_with_location(
        &self,
    ) -> Result<Option<codex_login::storage::LoadedAuth>, codex_login::storage::StorageError> {
        let n = self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let result = self.inner.load_with_location();
        if let Some(document) = self.after_load.lock().unwrap().remove(&n) {
            self.inner.save(&document).expect("scripted write");
        }
        result
    }
    fn save(&self, document: &AuthDotJson) -> Result<(), codex_login::storage::StorageError> {
        self.inner.save(document)
    }
    fn delete(&self) -> Result<bool, codex_login::storage::StorageError> {
        self.inner.delete()
    }
    fn check_writable(&self) -> Result<(), codex_login::storage::StorageError> {
        if self.not_writable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(codex_login::storage::StorageError::NotWritable {
                location: codex_login::storage::StoreLocation::File(
                    self.inner.path().to_path_buf(),
                ),
                reason: "read-only for this test".into(),
            });
        }
        self.inner.check_writable()
    }
}
