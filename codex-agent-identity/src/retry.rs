//! How often and how patiently registration calls are retried.
//!
//! Not `codex_backend_client::RetryPolicy`, and deliberately not shared with
//! it (issue 16): registration retries 429, every 5xx and transport failures,
//! jitters its backoff, and *clamps* a long `Retry-After` to `max_backoff`
//! and keeps retrying; the backend client retries only `GET`s after 429/503,
//! without jitter, and *gives up* when `Retry-After` exceeds its `max_wait`.

use rand::Rng as _;
use std::time::Duration;

/// Bounded retries with exponential backoff for HTTP 429, 5xx and transport failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationRetryPolicy {
    /// Attempts in total, including the first (at least one is always made).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each later one.
    pub initial_backoff: Duration,
    /// Upper bound on any single wait, including one asked for by `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RegistrationRetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RegistrationRetryPolicy {
    /// A policy that never waits, for tests.
    pub fn immediate(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// Attempts to make: `max_attempts`, but never fewer than one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait after failed attempt number `attempt` (1-based): the server's
    /// `Retry-After` if it gave one, else exponential backoff with jitter
    /// between half and all of the step; never above `max_backoff`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let wait = match retry_after {
            Some(wait) => wait,
            None => {
                let factor = 1u32
                    .checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                let step = self.initial_backoff.saturating_mul(factor);
                let step = step.min(self.max_backoff);
                step.mul_f64(rand::rng().random_range(0.5..=1.0))
            }
        };
        wait.min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RegistrationRetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        let first = policy.backoff(1, None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let second = policy.backoff(2, None);
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        assert!(policy.backoff(10, None) <= Duration::from_millis(300));
        assert!(policy.backoff(40, None) <= Duration::from_millis(300));
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(60))),
            Duration::from_millis(300)
        );
        assert_eq!(RegistrationRetryPolicy::immediate(0).attempts(), 1);
    }
}
