//! Issue 19: hydrating a personal access token (`at-…`) for the commands that
//! otherwise stay offline (`login status`, `whoami` without `--check`). The
//! whoami call needs a runtime and an HTTP client, so these commands start
//! them only for a personal access token.

use crate::{context, exit};
use codex_login::auth_manager::{authapi_base_url_or, hydrate_personal_access_token};
use codex_login::codex_auth::CodexAuth;
use codex_login::config::CodexConfig;
use codex_login::environment::process_env;

/// Why hydration failed: the exit code (`5` when the token was refused, `4`
/// otherwise) and upstream's message.
pub struct HydrationFailure {
    /// The exit code for commands that use `exit.rs` codes.
    pub code: u8,
    /// The message (upstream's text).
    pub message: String,
}

/// `auth` hydrated with the whoami answer (asked at `CODEX_AUTHAPI_BASE_URL`,
/// else at `config`'s issuer-derived accounts API); any other credential as
/// is, with no runtime.
pub fn hydrate(auth: CodexAuth, config: &CodexConfig) -> Result<CodexAuth, HydrationFailure> {
    if auth
        .personal_access_token()
        .is_none_or(|pat| pat.metadata.is_some())
    {
        return Ok(auth);
    }
    let network = |message: String| HydrationFailure {
        code: exit::NETWORK_ERROR,
        message,
    };
    let client = context::http_factory()
        .and_then(|http| http.default_client().map_err(|err| err.to_string()))
        .map_err(network)?;
    let runtime = context::runtime().map_err(network)?;
    let base = authapi_base_url_or(&process_env, &config.authapi_base_url());
    runtime
        .block_on(hydrate_personal_access_token(&auth, &client, &base))
        .map_err(|err| HydrationFailure {
            code: if err.is_refused() {
                exit::NEEDS_LOGIN
            } else {
                exit::NETWORK_ERROR
            },
            message: err.to_string(),
        })
}

/// Upstream's refusal when the token's workspace is not an allowed one.
pub fn workspace_refusal(auth: &CodexAuth, allowed: &[String]) -> Option<String> {
    let account = auth.personal_access_token()?.metadata.as_ref()?;
    (!allowed.is_empty() && !allowed.contains(&account.chatgpt_account_id)).then(|| {
        format!(
            "Login is restricted to workspace id(s) {}.",
            allowed.join(", ")
        )
    })
}
