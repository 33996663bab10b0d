//! Remembering failed agent identity bootstraps, so a broken registration
//! endpoint is not hammered on every request.

use crate::registration::RegistrationError;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// How long a failure is remembered by default.
pub(crate) const REGISTRATION_FAILURE_TTL: Duration = Duration::from_secs(60 * 60);

/// Whose bootstrap failed, and against which AuthAPI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationFailureKey {
    /// The ChatGPT account (workspace) id.
    pub account_id: String,
    /// The ChatGPT user id.
    pub chatgpt_user_id: String,
    /// The AuthAPI base URL.
    pub authapi_base_url: String,
}

/// Failed bootstraps by account, user and AuthAPI base, each kept for a fixed time.
#[derive(Debug)]
pub struct RegistrationFailureCache {
    ttl: Duration,
    entries: Mutex<HashMap<RegistrationFailureKey, (Instant, RegistrationError)>>,
}

impl Default for RegistrationFailureCache {
    fn default() -> Self {
        Self::with_ttl(REGISTRATION_FAILURE_TTL)
    }
}

impl RegistrationFailureCache {
    /// A cache that remembers failures for `REGISTRATION_FAILURE_TTL` (one hour).
    pub fn new() -> Self {
        Self::default()
    }

    /// A cache that remembers failures for `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The process-wide cache.
    pub fn global() -> &'static RegistrationFailureCache {
        static GLOBAL: OnceLock<RegistrationFailureCache> = OnceLock::new();
        GLOBAL.get_or_init(RegistrationFailureCache::new)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<RegistrationFailureKey, (Instant, RegistrationError)>>
    {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered failure for `key`, if it is younger than the time to live.
    pub fn get(&self, key: &RegistrationFailureKey) -> Option<RegistrationError> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some((at, error)) if at.elapsed() < self.ttl => Some(error.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `error` for `key`, replacing an older one.
    pub fn record(&self, key: RegistrationFailureKey, error: &RegistrationError) {
        self.lock().insert(key, (Instant::now(), error.clone()));
    }

    /// Forgets the failure for `key` (for example after the user logs in again).
    pub fn clear(&self, key: &RegistrationFailureKey) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::RegistrationOperation;

    fn key(user: &str) -> RegistrationFailureKey {
        RegistrationFailureKey {
            account_id: "acct".into(),
            chatgpt_user_id: user.into(),
            authapi_base_url: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn remembers_per_key_until_the_ttl_passes() {
        let error = RegistrationError::Rejected {
            operation: RegistrationOperation::RegisterAgent,
            status: 403,
            body: "no".into(),
        };
        let cache = RegistrationFailureCache::new();
        cache.record(key("alice"), &error);
        assert_eq!(cache.get(&key("alice")), Some(error.clone()));
        assert_eq!(cache.get(&key("bob")), None);
        cache.clear(&key("alice"));
        assert_eq!(cache.get(&key("alice")), None);

        let short = RegistrationFailureCache::with_ttl(Duration::ZERO);
        short.record(key("alice"), &error);
        assert_eq!(short.get(&key("alice")), None);
    }
}
