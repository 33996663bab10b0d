//! The `GET {P}/usage` payload: plan, rate-limit windows, credits and spend control.
//!
//! Every nested object may be absent or `null` (both mean "not reported"), and
//! unknown fields are ignored, so a newer server never breaks decoding.

pub(crate) mod rate_limits;

use crate::null_default::null_as_default;
use crate::plan::PlanType;
use serde::Deserialize;

/// The whole usage response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UsagePayload {
    /// The account's plan.
    #[serde(default)]
    pub plan_type: Option<PlanType>,
    /// The main Codex rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimitDetails>,
    /// Credit balance, when the account has credits.
    #[serde(default)]
    pub credits: Option<CreditDetails>,
    /// Workspace spend control, when configured.
    #[serde(default)]
    pub spend_control: Option<SpendControlDetails>,
    /// Further metered features, each with its own rate limit.
    #[serde(default, deserialize_with = "null_as_default")]
    pub additional_rate_limits: Vec<AdditionalRateLimit>,
    /// Why a limit was reached, when one was.
    #[serde(default)]
    pub rate_limit_reached_type: Option<RateLimitReachedType>,
    /// Rate-limit reset credits the user may redeem.
    #[serde(default)]
    pub rate_limit_reset_credits: Option<ResetCreditsSummary>,
}

/// A rate limit with up to two windows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RateLimitDetails {
    /// Whether requests are currently allowed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub allowed: bool,
    /// Whether a window's limit has been reached.
    #[serde(default, deserialize_with = "null_as_default")]
    pub limit_reached: bool,
    /// The short window (for example five hours).
    #[serde(default)]
    pub primary_window: Option<RateLimitWindowDetails>,
    /// The long window (for example a week).
    #[serde(default)]
    pub secondary_window: Option<RateLimitWindowDetails>,
}

/// One rate-limit window as the server reports it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RateLimitWindowDetails {
    /// Percentage of the window used (the server sends an integer).
    #[serde(default, deserialize_with = "null_as_default")]
    pub used_percent: f64,
    /// Length of the window in seconds.
    #[serde(default)]
    pub limit_window_seconds: Option<i64>,
    /// Seconds until the window resets.
    #[serde(default)]
    pub reset_after_seconds: Option<i64>,
    /// When the window resets, as Unix epoch seconds.
    #[serde(default)]
    pub reset_at: Option<i64>,
}

/// Credit balance.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CreditDetails {
    /// Whether the account has any credits.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_credits: bool,
    /// Whether credits are unlimited.
    #[serde(default, deserialize_with = "null_as_default")]
    pub unlimited: bool,
    /// The balance as a decimal string.
    #[serde(default)]
    pub balance: Option<String>,
}

/// Workspace spend control.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SpendControlDetails {
    /// Whether the spend limit has been reached.
    #[serde(default, deserialize_with = "null_as_default")]
    pub reached: bool,
    /// The individual user's limit.
    #[serde(default)]
    pub individual_limit: Option<SpendLimitDetails>,
}

/// An individual spend limit; amounts are decimal strings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SpendLimitDetails {
    /// Where the limit comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// The limit amount.
    #[serde(default)]
    pub limit: Option<String>,
    /// The amount used.
    #[serde(default)]
    pub used: Option<String>,
    /// The amount remaining.
    #[serde(default)]
    pub remaining: Option<String>,
    /// Percentage used.
    #[serde(default)]
    pub used_percent: Option<f64>,
    /// Percentage remaining.
    #[serde(default)]
    pub remaining_percent: Option<f64>,
    /// Seconds until the limit resets.
    #[serde(default)]
    pub reset_after_seconds: Option<i64>,
    /// When the limit resets, as Unix epoch seconds.
    #[serde(default)]
    pub reset_at: Option<i64>,
}

/// A rate limit on a further metered feature.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AdditionalRateLimit {
    /// Human-readable name of the limit.
    #[serde(default)]
    pub limit_name: Option<String>,
    /// The metered feature's id; becomes the snapshot id.
    #[serde(default)]
    pub metered_feature: Option<String>,
    /// The limit itself.
    #[serde(default)]
    pub rate_limit: Option<RateLimitDetails>,
}

/// Why a limit was reached, as sent by the server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RateLimitReachedType {
    /// The wire kind, for example `rate_limit_reached`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Rate-limit reset credits available to the user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResetCreditsSummary {
    /// How many reset credits can be redeemed.
    #[serde(default)]
    pub available_count: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_absent_fields_decode_alike() {
        let with_nulls: UsagePayload = serde_json::from_str(
            r#"{"plan_type":null,"rate_limit":null,"credits":null,"spend_control":null,
                "additional_rate_limits":null,"rate_limit_reached_type":null,"new_field":{"x":1}}"#,
        )
        .unwrap();
        let empty: UsagePayload = serde_json::from_str("{}").unwrap();
        assert_eq!(with_nulls, empty);
        assert_eq!(empty, UsagePayload::default());
    }

    #[test]
    fn reset_credit_count_decodes() {
        let payload: UsagePayload = serde_json::from_str(
            r#"{"plan_type":"plus","rate_limit_reset_credits":{"available_count":3}}"#,
        )
        .unwrap();
        assert_eq!(payload.plan_type, Some(PlanType::Plus));
        assert_eq!(
            payload
                .rate_limit_reset_credits
                .and_then(|c| c.available_count),
            Some(3)
        );
    }
}
