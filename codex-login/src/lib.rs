//! `codex-login`: Codex credentials.
//!
//! The core half keeps credentials (`auth.json`, OS keyring, in-memory),
//! turns them into immutable [`CodexAuth`](codex_auth::CodexAuth) snapshots, and refreshes them
//! through [`AuthManager`](auth_manager::AuthManager) without racing other threads or processes, and
//! readies agent identities (JWT verification, run tasks, the ChatGPT opt-in)
//! before handing them out. The login flows (browser, device code, API key,
//! access token, logout) build on it.
//!
//! # Front door
//!
//! For programs that only want Codex credentials on their requests:
//! [`AuthManager::from_env`](auth_manager::AuthManager::from_env) sets up a refresh-aware source the way the
//! `codex` command does (`CODEX_HOME`, its `config.toml`, the environment
//! overrides, the extra CA bundle and the proxy variables);
//! [`middleware::AuthMiddleware`] puts its headers on any `reqwest` request
//! (refreshing first when due, recovering once after a credential `401`); and
//! [`AuthManager::backend_client`](auth_manager::AuthManager::backend_client) gives a typed
//! [`BackendClient`](codex_backend_client::BackendClient) whose HTTP client
//! comes from the same factory (CA, proxies, `originator`). This example runs
//! as a doc test against `codex-emulator`, with a stored access token that
//! has already expired:
//!
//! ```
//! # use codex_auth_provider::SecretString;
//! # use codex_emulator::{Emulator, EmulatorConfig, IssueTokens};
//! # use codex_login::auth_dot_json::{AuthDotJson, StoredTimestamp, StoredTokens};
//! # use codex_login::storage::{AuthStorage, FileAuthStorage};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let home = tempfile::tempdir()?;
//! # // A doc test is a process of its own, and no other thread runs yet.
//! # unsafe { std::env::set_var("CODEX_HOME", home.path()) };
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # runtime.block_on(async {
//! # let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! # let urls = emulator.urls();
//! # std::fs::write(
//! #     home.path().join("config.toml"),
//! #     format!("issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n", urls.issuer, urls.chatgpt_base_url),
//! # )?;
//! # let tokens = emulator.issue_chatgpt_tokens(IssueTokens { access_token_ttl_secs: -60, account: None });
//! # let stored = StoredTokens::new(
//! #     SecretString::new(tokens.id_token.clone()),
//! #     SecretString::new(tokens.access_token.clone()),
//! #     SecretString::new(tokens.refresh_token.clone()),
//! #     Some(tokens.account_id.clone()),
//! # );
//! # let mut document = AuthDotJson::chatgpt(stored, None, chrono::Utc::now());
//! # document.last_refresh = Some(StoredTimestamp::new(chrono::Utc::now()));
//! # FileAuthStorage::new(home.path()).save(&document)?;
//! use codex_login::auth_manager::AuthManager;
//! use codex_login::middleware::AuthMiddleware;
//!
//! let manager = AuthManager::from_env().await?;
//!
//! // Any reqwest client gets Codex auth through the middleware.
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(AuthMiddleware::new(manager.clone()))
//!     .build();
//! let usage_url = format!("{}/wham/usage", manager.chatgpt_base_url());
//! let response = client.get(&usage_url).send().await?;
//! assert!(response.status().is_success());
//!
//! // The typed backend client, on the same CA, proxy and originator settings.
//! let usage = manager.backend_client()?.get_usage().await?;
//! println!("plan: {:?}", usage.plan_type);
//! # assert_eq!(emulator.stats().refresh_ok, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

// Facade modules: each groups one job's public items. Every other module is
// private; what a downstream crate needs from it is re-exported here or from
// one of these facades.
pub mod agent_identity;
pub mod auth_dot_json;
pub mod auth_manager;
pub mod clock;
pub mod codex_auth;
pub mod config;
pub mod environment;
pub mod flows;
pub mod host_tokens;
pub mod http_client;
pub mod middleware;
mod personal_access_token_auth;
pub mod profiles;
pub mod refresh;
pub mod resolution;
pub mod storage;
pub mod token_claims;
pub mod workload_identity;

mod auth_lock;
mod bounded_file;
mod endpoints;
mod issuer_guard;
mod logout_core;
mod personal_access_token;
mod refresh_failure_record;
mod restrictions;
mod secret_scrub;
