//! Helpers shared by the `agent_*` integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_agent_identity::{RegistrationFailureCache, RegistrationRetryPolicy};
use codex_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, IssuedTokens, SeedAccount,
};
use codex_login::environment::{SharedEnv, env_from_pairs};
use codex_login::flows::{AccessTokenLoginOptions, CredentialTarget};
use codex_login::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManagerConfig, codex_auth::CodexAuth, http_client::HttpClientFactory,
};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// Starts an emulator with default settings.
pub async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

/// An HTTP client factory that does not depend on the process environment.
pub fn http() -> HttpClientFactory {
    HttpClientFactory::from_env(&|name: &str| (name == "TERM").then(|| "xterm".to_owned())).unwrap()
}

/// The options `login --with-access-token` gets against `emulator` (JWKS base
/// derived from the ChatGPT base URL, as the CLI does by default).
pub fn login_options(emulator: &EmulatorHandle) -> AccessTokenLoginOptions {
    AccessTokenLoginOptions {
        http: http(),
        jwks_base_url: emulator.urls().chatgpt_base_url.clone(),
        forced_chatgpt_workspace_ids: Vec::new(),
        forced_login_method: None,
        revoke_replaced_login: None,
        authapi_base_url: emulator.urls().authapi_base_url.clone(),
    }
}

/// The `auth.json` target in `home`.
pub fn file_target(home: &Path) -> CredentialTarget {
    CredentialTarget {
        codex_home: home.to_path_buf(),
        store_mode: CredentialStoreMode::File,
        storage: None,
    }
}

/// A manager config for `home` against `emulator`: every endpoint on the
/// emulator, the JWKS base derived from its ChatGPT base URL, retries without
/// waiting, a private failure cache, and the given environment.
pub fn manager_config_with_env(
    home: &Path,
    emulator: &EmulatorHandle,
    env: SharedEnv,
) -> AuthManagerConfig {
    let mut config = AuthManagerConfig::new(home);
    config.issuer = emulator.urls().issuer.clone();
    config.refresh_token_url = Some(format!("{}/oauth/token", emulator.urls().issuer));
    config.env = env;
    config.http = Some(http());
    config.agent_identity.chatgpt_base_url = emulator.urls().chatgpt_base_url.clone();
    config.agent_identity.authapi_base_url = Some(emulator.urls().authapi_base_url.clone());
    config.agent_identity.retry = RegistrationRetryPolicy::immediate(3);
    config.agent_identity.failure_cache = Some(Arc::new(RegistrationFailureCache::new()));
    config
}

/// [`manager_config_with_env`] with only `TERM` set.
pub fn manager_config(home: &Path, emulator: &EmulatorHandle) -> AuthManagerConfig {
    manager_config_with_env(home, emulator, env_from_pairs([("TERM", "xterm")]))
}

/// `GET {chatgpt_base_url}/wham/usage` with the snapshot's provider headers; the status.
pub async fn usage_status(emulator: &EmulatorHandle, auth: &CodexAuth) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .headers(auth.provider().auth_headers())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The payload of a JWT as JSON (no verification).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A compact JWT with the given header and claims and a dummy signature.
pub fn unsigned_jwt(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The `kid` the emulator publishes.
pub fn emulator_kid(emulator: &EmulatorHandle) -> String {
    emulator.jwks()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub use crate::common::chatgpt_document;

/// Issues tokens for `account` (the seed account when `None`) and writes them to `home`.
pub fn seed_chatgpt_login(
    home: &Path,
    emulator: &EmulatorHandle,
    account: Option<SeedAccount>,
) -> IssuedTokens {
    let tokens = emulator.issue_chatgpt_tokens(IssueTokens {
        account,
        ..IssueTokens::default()
    });
    FileAuthStorage::new(home)
        .save(&chatgpt_document(&tokens))
        .unwrap();
    tokens
}

pub use crate::common::read_auth_json;

/// The bytes of `auth.json`, or `None` when it does not exist.
pub fn auth_json_bytes(home: &Path) -> Option<Vec<u8>> {
    std::fs::read(home.join("auth.json")).ok()
}
