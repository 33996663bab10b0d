//! The device-code poll interval and wait: server-chosen values, always bounded.
//!
//! The server picks `interval` (a hostile one sends `u64::MAX` seconds) and each `slow_down`
//! answer adds [`SLOW_DOWN_STEP`]; a sum of those once panicked (`overflow when adding
//! durations`). Every value here is clamped and only ever grown with saturating arithmetic.

use std::time::Duration;

use tracing::warn;

/// The shortest poll interval (the server's `interval` may be 0 or missing).
pub(super) const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The longest poll interval honoured, whatever the server asks.
pub(super) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// What each `slow_down` (or 429) adds to the interval.
pub(super) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The longest a caller may ask to keep polling (`DeviceCodeOptions::max_wait`).
const MAX_WAIT_CAP: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses the `interval` field: a string of seconds (upstream) or a number; missing is 0.
/// A value above [`MAX_POLL_INTERVAL`] (up to `u64::MAX` from a hostile server) is clamped.
pub(crate) fn parse_interval(value: Option<&serde_json::Value>) -> Duration {
    let secs = match value {
        Some(serde_json::Value::String(text)) => text.trim().parse::<u64>().unwrap_or(0),
        Some(serde_json::Value::Number(number)) => number.as_u64().unwrap_or(0),
        _ => 0,
    };
    let asked = Duration::from_secs(secs);
    if asked > MAX_POLL_INTERVAL {
        warn!(
            asked_secs = secs,
            used_secs = MAX_POLL_INTERVAL.as_secs(),
            "the device code server asked for an unreasonably long poll interval; clamped"
        );
    }
    asked.min(MAX_POLL_INTERVAL)
}

/// The interval before the second poll: the server's, within [`MIN_POLL_INTERVAL`] and
/// [`MAX_POLL_INTERVAL`].
pub(crate) fn first_poll_interval(server: Duration) -> Duration {
    server.clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
}

/// The interval after a `slow_down`: [`SLOW_DOWN_STEP`] longer, never past
/// [`MAX_POLL_INTERVAL`] (nor shorter than an explicit override already longer than that).
pub(crate) fn slowed_down(interval: Duration) -> Duration {
    interval
        .saturating_add(SLOW_DOWN_STEP)
        .min(MAX_POLL_INTERVAL.max(interval))
}

/// A caller's `max_wait`, bounded so that adding it to an `Instant` cannot overflow.
pub(crate) fn bounded_max_wait(max_wait: Duration) -> Duration {
    max_wait.min(MAX_WAIT_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_a_string_or_number() {
        assert_eq!(
            parse_interval(Some(&serde_json::json!(" 7 "))),
            Duration::from_secs(7)
        );
        assert_eq!(
            parse_interval(Some(&serde_json::json!(3))),
            Duration::from_secs(3)
        );
        assert_eq!(parse_interval(None), Duration::ZERO);
        assert_eq!(
            parse_interval(Some(&serde_json::json!(u64::MAX.to_string()))),
            MAX_POLL_INTERVAL
        );
        assert_eq!(
            parse_interval(Some(&serde_json::json!(u64::MAX))),
            MAX_POLL_INTERVAL
        );
        assert_eq!(
            parse_interval(Some(&serde_json::json!("soon"))),
            Duration::ZERO
        );
    }

    #[test]
    fn slow_down_and_waits_never_overflow() {
        assert_eq!(slowed_down(Duration::from_secs(58)), MAX_POLL_INTERVAL);
        assert_eq!(slowed_down(Duration::MAX), Duration::MAX);
        assert_eq!(first_poll_interval(Duration::MAX), MAX_POLL_INTERVAL);
        assert_eq!(first_poll_interval(Duration::ZERO), MIN_POLL_INTERVAL);
        let now = std::time::Instant::now();
        assert!(now.checked_add(bounded_max_wait(Duration::MAX)).is_some());
    }
}
