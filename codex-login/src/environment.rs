//! Reading environment variables through a seam, so tests never have to
//! mutate the process environment (which is `unsafe` in edition 2024).

use std::collections::HashMap;
use std::sync::Arc;

/// Looks up one environment variable; `None` when unset.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// An owned, shareable environment lookup (for long-lived values such as `AuthManager`).
pub type SharedEnv = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads a variable from the process environment, treating empty as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The process environment as a [`SharedEnv`].
pub fn shared_process_env() -> SharedEnv {
    Arc::new(process_env)
}

/// A fixed environment made of the given pairs (empty values count as unset).
pub fn env_from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> SharedEnv
where
    K: Into<String>,
    V: Into<String>,
{
    let map: HashMap<String, String> = pairs
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    Arc::new(move |name: &str| map.get(name).cloned())
}

/// A variable the auth stack reads is set to bytes that are not UTF-8 text.
///
/// [`process_env`] cannot return such a value, so without this check the variable would
/// silently count as unset (a non-UTF-8 `CODEX_HOME` would fall back to `~/.codex`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the environment variable {variable} is set but its value is not valid UTF-8 text; \
     set it to a UTF-8 value or unset it"
)]
pub struct NonTextVariable {
    /// The variable's name.
    pub variable: String,
}

/// Whether the auth stack reads the variable `name`: every `CODEX_*` variable, the home
/// directory, API keys, the CA bundle and the proxy variables.
pub fn is_auth_variable(name: &str) -> bool {
    const OTHERS: &[&str] = &[
        "HOME",
        "USERPROFILE",
        "OPENAI_API_KEY",
        "SSL_CERT_FILE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ];
    name.starts_with("CODEX_") || OTHERS.iter().any(|other| other.eq_ignore_ascii_case(name))
}

/// Fails, naming the first one, when a variable of [`is_auth_variable`] holds non-UTF-8 bytes.
/// `HOME`/`USERPROFILE` only count when `CODEX_HOME` is unset (otherwise they are not read).
pub fn check_process_env_is_text() -> Result<(), NonTextVariable> {
    let codex_home_set = std::env::var_os("CODEX_HOME").is_some_and(|value| !value.is_empty());
    std::env::vars_os()
        .filter(|(_, value)| value.to_str().is_none())
        .filter(|(name, _)| !(codex_home_set && (name == "HOME" || name == "USERPROFILE")))
        .find_map(|(name, _)| {
            name.to_str()
                .filter(|name| is_auth_variable(name))
                .map(|name| NonTextVariable {
                    variable: name.to_owned(),
                })
        })
        .map_or(Ok(()), Err)
}
