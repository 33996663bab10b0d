//! Rate-limit snapshots: the usage payload mapped into one record per limit.

use crate::plan::PlanType;
use crate::usage::{
    CreditDetails, RateLimitDetails, RateLimitWindowDetails, SpendControlDetails, UsagePayload,
};

/// The id of the main Codex rate-limit snapshot.
pub(crate) const CODEX_LIMIT_ID: &str = "codex";

/// One rate limit, ready to show to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitSnapshot {
    /// `codex` for the main limit, else the metered feature's id.
    pub limit_id: String,
    /// Human-readable name (none for the main limit).
    pub limit_name: Option<String>,
    /// The short window.
    pub primary: Option<RateLimitWindow>,
    /// The long window.
    pub secondary: Option<RateLimitWindow>,
    /// Credits (main limit only).
    pub credits: Option<CreditsSnapshot>,
    /// Spend control (main limit only).
    pub spend_control: Option<SpendControlSnapshot>,
    /// The account's plan.
    pub plan_type: Option<PlanType>,
    /// Why a limit was reached (main limit only; unknown kinds become `None`).
    pub rate_limit_reached_type: Option<RateLimitReachedKind>,
}

/// One window of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitWindow {
    /// Percentage of the window used.
    pub used_percent: f64,
    /// Window length in whole minutes, rounded up; none when not positive.
    pub window_minutes: Option<i64>,
    /// When the window resets, as Unix epoch seconds.
    pub resets_at: Option<i64>,
}

/// Credits as shown next to the main limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsSnapshot {
    /// Whether the account has credits.
    pub has_credits: bool,
    /// Whether credits are unlimited.
    pub unlimited: bool,
    /// The balance as a decimal string.
    pub balance: Option<String>,
}

/// Spend control as shown next to the main limit.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendControlSnapshot {
    /// Whether the spend limit has been reached.
    pub reached: bool,
    /// The limit amount.
    pub limit: Option<String>,
    /// The amount used.
    pub used: Option<String>,
    /// Percentage remaining.
    pub remaining_percent: Option<f64>,
    /// When the limit resets, as Unix epoch seconds.
    pub resets_at: Option<i64>,
}

/// Why a rate limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitReachedKind {
    /// `rate_limit_reached`: the user's own limit.
    RateLimitReached,
    /// `workspace_owner_credits_depleted`.
    WorkspaceOwnerCreditsDepleted,
    /// `workspace_member_credits_depleted`.
    WorkspaceMemberCreditsDepleted,
    /// `workspace_owner_usage_limit_reached`.
    WorkspaceOwnerUsageLimitReached,
    /// `workspace_member_usage_limit_reached`.
    WorkspaceMemberUsageLimitReached,
}

impl RateLimitReachedKind {
    /// Maps a wire kind; `unknown` and unrecognised kinds give `None`.
    pub fn from_wire(raw: &str) -> Option<Self> {
        match raw {
            "rate_limit_reached" => Some(Self::RateLimitReached),
            "workspace_owner_credits_depleted" => Some(Self::WorkspaceOwnerCreditsDepleted),
            "workspace_member_credits_depleted" => Some(Self::WorkspaceMemberCreditsDepleted),
            "workspace_owner_usage_limit_reached" => Some(Self::WorkspaceOwnerUsageLimitReached),
            "workspace_member_usage_limit_reached" => Some(Self::WorkspaceMemberUsageLimitReached),
            _ => None,
        }
    }
}

impl UsagePayload {
    /// All snapshots: the main `codex` limit first, then one per additional limit.
    pub fn rate_limit_snapshots(&self) -> Vec<RateLimitSnapshot> {
        let mut snapshots = Vec::with_capacity(1 + self.additional_rate_limits.len());
        snapshots.push(self.codex_rate_limit());
        for additional in &self.additional_rate_limits {
            let (primary, secondary) = windows(additional.rate_limit.as_ref());
            snapshots.push(RateLimitSnapshot {
                limit_id: additional.metered_feature.clone().unwrap_or_default(),
                limit_name: additional.limit_name.clone(),
                primary,
                secondary,
                credits: None,
                spend_control: None,
                plan_type: self.plan_type.clone(),
                rate_limit_reached_type: None,
            });
        }
        snapshots
    }

    /// The main snapshot (id `codex`), carrying credits, spend control, plan
    /// and the reached kind.
    pub fn codex_rate_limit(&self) -> RateLimitSnapshot {
        let reached = self
            .rate_limit_reached_type
            .as_ref()
            .and_then(|reached| reached.kind.as_deref())
            .and_then(RateLimitReachedKind::from_wire);
        let (primary, secondary) = windows(self.rate_limit.as_ref());
        RateLimitSnapshot {
            limit_id: CODEX_LIMIT_ID.to_owned(),
            limit_name: None,
            primary,
            secondary,
            credits: self.credits.as_ref().map(credits_snapshot),
            spend_control: self.spend_control.as_ref().map(spend_control_snapshot),
            plan_type: self.plan_type.clone(),
            rate_limit_reached_type: reached,
        }
    }
}

fn windows(
    details: Option<&RateLimitDetails>,
) -> (Option<RateLimitWindow>, Option<RateLimitWindow>) {
    match details {
        Some(details) => (
            details.primary_window.as_ref().map(window),
            details.secondary_window.as_ref().map(window),
        ),
        None => (None, None),
    }
}

fn window(details: &RateLimitWindowDetails) -> RateLimitWindow {
    RateLimitWindow {
        used_percent: details.used_percent,
        window_minutes: details.limit_window_seconds.and_then(minutes_rounded_up),
        resets_at: details.reset_at,
    }
}

fn minutes_rounded_up(seconds: i64) -> Option<i64> {
    (seconds > 0).then(|| seconds / 60 + i64::from(seconds % 60 != 0))
}

fn credits_snapshot(details: &CreditDetails) -> CreditsSnapshot {
    CreditsSnapshot {
        has_credits: details.has_credits,
        unlimited: details.unlimited,
        balance: details.balance.clone(),
    }
}

fn spend_control_snapshot(details: &SpendControlDetails) -> SpendControlSnapshot {
    let limit = details.individual_limit.as_ref();
    SpendControlSnapshot {
        reached: details.reached,
        limit: limit.and_then(|l| l.limit.clone()),
        used: limit.and_then(|l| l.used.clone()),
        remaining_percent: limit.and_then(|l| l.remaining_percent),
        resets_at: limit.and_then(|l| l.reset_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(json: &str) -> UsagePayload {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn maps_main_and_additional_limits() {
        let usage = payload(
            r#"{
              "plan_type": "pro",
              "rate_limit": {
                "allowed": true, "limit_reached": false,
                "primary_window": {"used_percent": 42, "limit_window_seconds": 18000,
                                   "reset_after_seconds": 100, "reset_at": 1700000000},
                "secondary_window": {"used_percent": 84, "limit_window_seconds": 61,
                                     "reset_after_seconds": 10, "reset_at": 1700000500}
              },
              "credits": {"has_credits": true, "unlimited": false, "balance": "9.99",
                          "approx_local_messages": [1, 2]},
              "spend_control": {"reached": true, "individual_limit": {"source": "workspace",
                 "limit": "100.00", "used": "40.00", "remaining": "60.00", "used_percent": 40,
                 "remaining_percent": 60, "reset_after_seconds": 5, "reset_at": 1700000900}},
              "additional_rate_limits": [
                {"limit_name": "Code review", "metered_feature": "code_review",
                 "rate_limit": {"allowed": true, "limit_reached": false,
                   "primary_window": {"used_percent": 7, "limit_window_seconds": 0,
                                      "reset_after_seconds": 0, "reset_at": 1700001000}}}
              ],
              "rate_limit_reached_type": {"kind": "workspace_member_credits_depleted"}
            }"#,
        );
        let snapshots = usage.rate_limit_snapshots();
        assert_eq!(snapshots.len(), 2);

        let main = &snapshots[0];
        assert_eq!(main.limit_id, "codex");
        assert_eq!(main.limit_name, None);
        assert_eq!(main.plan_type, Some(PlanType::Pro));
        let primary = main.primary.as_ref().unwrap();
        assert_eq!(primary.used_percent, 42.0);
        assert_eq!(primary.window_minutes, Some(300));
        assert_eq!(primary.resets_at, Some(1_700_000_000));
        let secondary = main.secondary.as_ref().unwrap();
        assert_eq!(secondary.used_percent, 84.0);
        assert_eq!(secondary.window_minutes, Some(2), "61 s rounds up to 2 min");
        assert_eq!(
            main.credits.as_ref().unwrap().balance.as_deref(),
            Some("9.99")
        );
        let spend = main.spend_control.as_ref().unwrap();
        assert!(spend.reached);
        assert_eq!(spend.limit.as_deref(), Some("100.00"));
        assert_eq!(spend.used.as_deref(), Some("40.00"));
        assert_eq!(spend.remaining_percent, Some(60.0));
        assert_eq!(spend.resets_at, Some(1_700_000_900));
        assert_eq!(
            main.rate_limit_reached_type,
            Some(RateLimitReachedKind::WorkspaceMemberCreditsDepleted)
        );

        let extra = &snapshots[1];
        assert_eq!(extra.limit_id, "code_review");
        assert_eq!(extra.limit_name.as_deref(), Some("Code review"));
        assert_eq!(extra.plan_type, Some(PlanType::Pro));
        assert_eq!(extra.credits, None);
        assert_eq!(extra.rate_limit_reached_type, None);
        let extra_primary = extra.primary.as_ref().unwrap();
        assert_eq!(extra_primary.window_minutes, None, "0 s means no window");
        assert_eq!(extra.secondary, None);
    }

    #[test]
    fn unknown_reached_kind_and_absent_windows_are_none() {
        let usage = payload(
            r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,
                "primary_window":null},"rate_limit_reached_type":{"kind":"something_new"}}"#,
        );
        let main = usage.codex_rate_limit();
        assert_eq!(main.primary, None);
        assert_eq!(main.secondary, None);
        assert_eq!(main.rate_limit_reached_type, None);
        assert_eq!(
            payload(r#"{"rate_limit_reached_type":{"kind":"unknown"}}"#)
                .codex_rate_limit()
                .rate_limit_reached_type,
            None
        );
    }

    #[test]
    fn every_reached_kind_maps() {
        for (wire, kind) in [
            ("rate_limit_reached", RateLimitReachedKind::RateLimitReached),
            (
                "workspace_owner_credits_depleted",
                RateLimitReachedKind::WorkspaceOwnerCreditsDepleted,
            ),
            (
                "workspace_owner_usage_limit_reached",
                RateLimitReachedKind::WorkspaceOwnerUsageLimitReached,
            ),
            (
                "workspace_member_usage_limit_reached",
                RateLimitReachedKind::WorkspaceMemberUsageLimitReached,
            ),
        ] {
            assert_eq!(RateLimitReachedKind::from_wire(wire), Some(kind));
        }
    }

    #[test]
    fn codex_snapshot_comes_first() {
        let usage = payload(
            r#"{"additional_rate_limits":[{"metered_feature":"other","limit_name":"Other"}]}"#,
        );
        let ids: Vec<String> = usage
            .rate_limit_snapshots()
            .into_iter()
            .map(|s| s.limit_id)
            .collect();
        assert_eq!(ids, ["codex", "other"]);
        assert_eq!(usage.codex_rate_limit().limit_id, "codex");
    }
}
