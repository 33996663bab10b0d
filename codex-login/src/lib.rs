//! `codex-login`: Codex credentials.
//!
//! The core half keeps credentials (`auth.json`, OS keyring, in-memory),
//! turns them into immutable [`CodexAuth`] snapshots, and refreshes them
//! through [`AuthManager`] without racing other threads or processes, and
//! readies agent identities (JWT verification, run tasks, the ChatGPT opt-in)
//! before handing them out. The login flows (browser, device code, API key,
//! access token, logout) build on it.

pub mod agent_identity;
pub mod auth_dot_json;
pub mod auth_lock;
pub mod auth_manager;
pub mod bounded_file;
pub mod clock;
pub mod codex_auth;
pub mod config;
pub mod endpoints;
pub mod environment;
pub mod flows;
pub mod http_client;
pub mod issuer_guard;
pub mod middleware;
pub mod profiles;
pub mod refresh;
pub mod refresh_failure_record;
pub mod resolution;
pub mod restrictions;
pub mod secret_scrub;
pub mod storage;
pub mod token_claims;

pub use auth_dot_json::{AuthDotJson, AuthMode};
/// The 401 recovery state machine (part of `auth_manager`).
pub use auth_manager::recovery;
pub use auth_manager::{AuthManager, AuthManagerConfig, RefreshOutcome, RefreshTokenError};
pub use codex_auth::CodexAuth;
/// Proxies from the environment (kept in `codex-auth-provider` so every crate names them).
pub use codex_auth_provider::proxy_env;
pub use http_client::HttpClientFactory;
pub use resolution::{CredentialSource, ResolvedAuth, resolve_credentials};
pub use storage::{AuthStorage, CredentialStoreMode};
