//! Configuration and clients shared by the commands.

use codex_login::config::{CodexConfig, load_config_from_process_env};
use codex_login::environment::process_env;
use codex_login::http_client::HttpClientFactory;

/// Loads configuration from `CODEX_HOME`, `-c` overrides and the environment.
pub fn load(overrides: &[String]) -> Result<CodexConfig, String> {
    load_config_from_process_env(overrides).map_err(|err| err.to_string())
}

/// The one HTTP client factory of this process.
pub fn http_factory() -> Result<HttpClientFactory, String> {
    HttpClientFactory::from_env(&process_env).map_err(|err| err.to_string())
}

/// A single-threaded async runtime for the commands that talk to servers.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))
}

static PROFILE: std::sync::OnceLock<Option<codex_login::profiles::ProfileName>> =
    std::sync::OnceLock::new();

/// Records the profile this process uses (`--profile`, else `CODEX_PROFILE`); once, from main.
pub fn set_profile(profile: Option<codex_login::profiles::ProfileName>) {
    let _ = PROFILE.set(profile);
}

/// The profile this process uses instead of the active one, if any.
pub fn profile() -> Option<&'static codex_login::profiles::ProfileName> {
    PROFILE.get().and_then(Option::as_ref)
}

/// The store of the chosen profile, or of the active login without one.
pub fn storage(config: &CodexConfig) -> codex_login::storage::SharedAuthStorage {
    codex_login::profiles::storage_for_profile(
        &config.codex_home,
        profile(),
        config.credential_store,
    )
}

/// The one walk of the credential chain a command makes (workload identity first, read from
/// the process environment and `config`): the winner and, with `report_shadowed`, what it
/// shadows. `enable_codex_api_key_env` is off only for `login status` (as upstream).
pub fn resolve(
    config: &CodexConfig,
    storage: &dyn codex_login::storage::AuthStorage,
    enable_codex_api_key_env: bool,
    report_shadowed: bool,
) -> Result<codex_login::resolution::CredentialReport, codex_login::resolution::ResolveError> {
    let options = codex_login::resolution::ResolveOptions {
        codex_home: &config.codex_home,
        store_mode: config.credential_store,
        enable_codex_api_key_env,
        env: &process_env,
        workload_identity: Some(codex_login::resolution::WorkloadIdentityInputs {
            config,
            env: &codex_login::workload_identity::raw_process_env,
        }),
    };
    codex_login::resolution::resolve_credentials_report(storage, &options, report_shadowed)
}
