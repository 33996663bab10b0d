//! Retrying idempotent requests after `429 Too Many Requests` and
//! `503 Service Unavailable`, honouring `Retry-After`.

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use std::time::Duration;

/// How often and how long to wait before giving up on a busy server.
///
/// Only `GET` requests are retried. A `Retry-After` longer than
/// [`max_wait`](Self::max_wait) ends the retries at once: the server asked for
/// more patience than the caller allowed, so the error (with its
/// `retry_after`) goes back to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Wait before the first retry when the server sends no `Retry-After`;
    /// doubled for each further retry.
    pub initial_backoff: Duration,
    /// The longest single wait.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether this status is one the policy retries.
    pub fn is_retryable_status(status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
    }

    /// How long to wait before attempt `attempts_made + 1`, or `None` to stop.
    pub fn wait_before_next(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_wait => None,
            Some(wait) => Some(wait),
            None => {
                let doublings = attempts_made.saturating_sub(1).min(16);
                let backoff = self.initial_backoff.saturating_mul(1 << doublings);
                Some(backoff.min(self.max_wait))
            }
        }
    }
}

/// The `Retry-After` header as a duration: delay seconds or an HTTP date
/// (a date in the past means "now").
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn parses_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&with_retry_after("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&with_retry_after("Thu, 01 Jan 2026 00:00:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&with_retry_after("Wed, 31 Dec 2025 00:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn waits_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_wait: Duration::from_millis(250),
        };
        assert_eq!(
            policy.wait_before_next(1, None),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            policy.wait_before_next(2, None),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            policy.wait_before_next(3, None),
            Some(Duration::from_millis(250))
        );
        assert_eq!(policy.wait_before_next(4, None), None, "attempts exhausted");
        assert_eq!(
            policy.wait_before_next(1, Some(Duration::from_millis(200))),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            policy.wait_before_next(1, Some(Duration::from_secs(1))),
            None,
            "Retry-After beyond the cap stops retrying"
        );
        assert_eq!(RetryPolicy::none().wait_before_next(1, None), None);
    }

    #[test]
    fn only_429_and_503_are_retryable() {
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::TOO_MANY_REQUESTS
        ));
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!RetryPolicy::is_retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!RetryPolicy::is_retryable_status(StatusCode::FORBIDDEN));
    }
}
