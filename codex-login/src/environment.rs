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
