//! The `GET {P}/profiles/me` response: the user's usage statistics.

use crate::null_default::null_as_default;
use serde::Deserialize;

/// The profile response; every field is nullable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// Usage statistics, when the server has them.
    #[serde(default)]
    pub stats: Option<ProfileStats>,
}

/// Lifetime and streak statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProfileStats {
    /// Tokens used over the account's lifetime.
    #[serde(default)]
    pub lifetime_tokens: Option<i64>,
    /// The most tokens used in one day.
    #[serde(default)]
    pub peak_daily_tokens: Option<i64>,
    /// The longest single turn, in seconds.
    #[serde(default)]
    pub longest_running_turn_sec: Option<i64>,
    /// Consecutive days of use up to today.
    #[serde(default)]
    pub current_streak_days: Option<i64>,
    /// The longest run of consecutive days of use.
    #[serde(default)]
    pub longest_streak_days: Option<i64>,
    /// Tokens per day.
    #[serde(default, deserialize_with = "null_as_default")]
    pub daily_usage_buckets: Vec<DailyUsageBucket>,
}

/// Tokens used on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DailyUsageBucket {
    /// The day, as the server formats it (for example `2026-01-31`).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Tokens used that day.
    #[serde(default)]
    pub tokens: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_nulls_and_unknown_fields() {
        let profile: Profile = serde_json::from_str(
            r#"{"user":{"id":"u"},"stats":{"lifetime_tokens":123456,"peak_daily_tokens":null,
                "longest_running_turn_sec":95,"current_streak_days":3,"longest_streak_days":null,
                "daily_usage_buckets":[{"start_date":"2026-01-01","tokens":10},{"start_date":null,"tokens":null}]}}"#,
        )
        .unwrap();
        let stats = profile.stats.unwrap();
        assert_eq!(stats.lifetime_tokens, Some(123_456));
        assert_eq!(stats.peak_daily_tokens, None);
        assert_eq!(stats.longest_running_turn_sec, Some(95));
        assert_eq!(stats.daily_usage_buckets.len(), 2);
        assert_eq!(stats.daily_usage_buckets[0].tokens, Some(10));

        let empty: Profile =
            serde_json::from_str(r#"{"stats":{"daily_usage_buckets":null}}"#).unwrap();
        assert_eq!(empty.stats.unwrap().daily_usage_buckets, vec![]);
        let none: Profile = serde_json::from_str(r#"{"stats":null}"#).unwrap();
        assert_eq!(none, Profile::default());
    }
}
