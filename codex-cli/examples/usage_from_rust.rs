//! Using the crates from another Rust program: load the stored Codex login,
//! let `AuthManager` keep it fresh, and call the ChatGPT backend with it.
//!
//! Run against the emulator, for example:
//! `CODEX_HOME=/path/to/home cargo run -p codex-cli --example usage_from_rust`

use codex_login::config::load_config;
use codex_login::environment::process_env;
use codex_login::http_client::HttpClientFactory;
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // Where credentials live and which endpoints to use, as `codex` sees them.
    let config = load_config(&[], &process_env)?;
    let http = HttpClientFactory::from_process_env()?;

    // Resolve: the manager loads the stored login and refreshes it when needed,
    // never racing other processes that share CODEX_HOME.
    let mut manager_config = AuthManagerConfig::from_codex_config(&config);
    manager_config.http = Some(http);
    let manager = AuthManager::shared(manager_config);
    let Some(auth) = manager.auth().await else {
        anyhow::bail!("not logged in: run `codex login` first");
    };
    println!("logged in as {:?} ({})", auth.email(), auth.auth_mode());

    // Apply: the backend client asks the manager for headers before each
    // request and for one recovery after a 401, and sends them through a
    // client from the same factory (CA bundle, proxies, originator).
    let backend = manager.backend_client()?;
    let usage = backend.get_usage().await?;
    println!("plan: {:?}", usage.plan_type.map(|plan| plan.to_string()));
    Ok(())
}
