//! [`PlanType`]: the one ChatGPT plan type, shared by the usage payload here
//! and by the token claims `codex-login` reads (`chatgpt_plan_type`).
//!
//! Wire strings follow the spec: `prolite` is the spelling seen in token
//! claims (and inside `self_serve_business_prolite`); `pro_lite` is still
//! accepted when parsing. Parsing is case-insensitive and keeps unknown
//! strings as given.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A ChatGPT plan. Unknown or internal plans keep their wire string in [`PlanType::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlanType {
    /// `free`.
    Free,
    /// `go`.
    Go,
    /// `plus`.
    Plus,
    /// `pro`.
    Pro,
    /// `prolite` (alias `pro_lite`).
    ProLite,
    /// `pro_max` (alias `promax`).
    ProMax,
    /// `team`.
    Team,
    /// `business`.
    Business,
    /// `self_serve_business_prolite`.
    SelfServeBusinessProLite,
    /// `self_serve_business_usage_based`.
    SelfServeBusinessUsageBased,
    /// `enterprise` (alias `hc`).
    Enterprise,
    /// `ent26`.
    Ent26,
    /// `enterprise_cbp_automation`.
    EnterpriseCbpAutomation,
    /// `enterprise_cbp_usage_based`.
    EnterpriseCbpUsageBased,
    /// `edu` (alias `education`).
    Edu,
    /// `edu_plus`.
    EduPlus,
    /// `edu_pro`.
    EduPro,
    /// Any other plan (including `guest`, `free_workspace`, `quorum`, `k12`),
    /// with its wire string as given (empty when a claim was missing).
    Unknown(String),
}

impl PlanType {
    /// Maps a wire string to a plan, case-insensitively; unrecognised strings
    /// become [`PlanType::Unknown`] with the text as given.
    pub fn from_wire(raw: &str) -> Self {
        match raw.to_ascii_lowercase().as_str() {
            "free" => Self::Free,
            "go" => Self::Go,
            "plus" => Self::Plus,
            "pro" => Self::Pro,
            "prolite" | "pro_lite" => Self::ProLite,
            "pro_max" | "promax" => Self::ProMax,
            "team" => Self::Team,
            "business" => Self::Business,
            "self_serve_business_prolite" => Self::SelfServeBusinessProLite,
            "self_serve_business_usage_based" => Self::SelfServeBusinessUsageBased,
            "enterprise" | "hc" => Self::Enterprise,
            "ent26" => Self::Ent26,
            "enterprise_cbp_automation" => Self::EnterpriseCbpAutomation,
            "enterprise_cbp_usage_based" => Self::EnterpriseCbpUsageBased,
            "edu" | "education" => Self::Edu,
            "edu_plus" => Self::EduPlus,
            "edu_pro" => Self::EduPro,
            _ => Self::Unknown(raw.to_owned()),
        }
    }

    /// The canonical wire string (`prolite`, `enterprise`, `edu`, ...), or the unknown text.
    pub fn as_wire_str(&self) -> &str {
        match self {
            Self::Free => "free",
            Self::Go => "go",
            Self::Plus => "plus",
            Self::Pro => "pro",
            Self::ProLite => "prolite",
            Self::ProMax => "pro_max",
            Self::Team => "team",
            Self::Business => "business",
            Self::SelfServeBusinessProLite => "self_serve_business_prolite",
            Self::SelfServeBusinessUsageBased => "self_serve_business_usage_based",
            Self::Enterprise => "enterprise",
            Self::Ent26 => "ent26",
            Self::EnterpriseCbpAutomation => "enterprise_cbp_automation",
            Self::EnterpriseCbpUsageBased => "enterprise_cbp_usage_based",
            Self::Edu => "edu",
            Self::EduPlus => "edu_plus",
            Self::EduPro => "edu_pro",
            Self::Unknown(raw) => raw,
        }
    }

    /// The name shown to people (`Pro Lite`, `Enterprise CBP Usage Based`, ...).
    pub fn display_name(&self) -> &str {
        match self {
            Self::Free => "Free",
            Self::Go => "Go",
            Self::Plus => "Plus",
            Self::Pro => "Pro",
            Self::ProLite => "Pro Lite",
            Self::ProMax => "Pro Max",
            Self::Team => "Team",
            Self::Business => "Business",
            Self::SelfServeBusinessProLite => "Self Serve Business Pro Lite",
            Self::SelfServeBusinessUsageBased => "Self Serve Business Usage Based",
            Self::Enterprise => "Enterprise",
            Self::Ent26 => "Ent26",
            Self::EnterpriseCbpAutomation => "Enterprise CBP Automation",
            Self::EnterpriseCbpUsageBased => "Enterprise CBP Usage Based",
            Self::Edu => "Edu",
            Self::EduPlus => "Edu Plus",
            Self::EduPro => "Edu Pro",
            Self::Unknown(raw) => raw,
        }
    }

    /// Whether the plan is a workspace (team-like) plan.
    pub fn is_workspace(&self) -> bool {
        matches!(
            self,
            Self::Team
                | Self::Business
                | Self::SelfServeBusinessProLite
                | Self::SelfServeBusinessUsageBased
                | Self::Enterprise
                | Self::Ent26
                | Self::EnterpriseCbpAutomation
                | Self::EnterpriseCbpUsageBased
                | Self::Edu
                | Self::EduPlus
                | Self::EduPro
        )
    }

    /// Whether this is a plan the client recognises.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

/// Writes the wire string; use [`PlanType::display_name`] for people.
impl fmt::Display for PlanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire_str())
    }
}

impl<'de> Deserialize<'de> for PlanType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self::from_wire(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_types_map_from_wire() {
        assert_eq!(PlanType::from_wire("plus"), PlanType::Plus);
        assert_eq!(PlanType::from_wire("education"), PlanType::Edu);
        assert_eq!(PlanType::from_wire("edu"), PlanType::Edu);
        assert_eq!(PlanType::from_wire("ent26"), PlanType::Ent26);
        assert_eq!(
            PlanType::from_wire("self_serve_business_prolite"),
            PlanType::SelfServeBusinessProLite
        );
        assert_eq!(
            PlanType::from_wire("guest"),
            PlanType::Unknown("guest".into())
        );
        assert!(!PlanType::from_wire("k12").is_known());
    }

    #[test]
    fn plan_types_map_like_upstream_login() {
        assert_eq!(PlanType::from_wire("PRO"), PlanType::Pro);
        assert_eq!(PlanType::from_wire("hc"), PlanType::Enterprise);
        assert_eq!(
            PlanType::from_wire("self_serve_business_usage_based").display_name(),
            "Self Serve Business Usage Based"
        );
        assert_eq!(
            PlanType::from_wire("enterprise_cbp_usage_based").display_name(),
            "Enterprise CBP Usage Based"
        );
        assert!(PlanType::Business.is_workspace());
        assert!(!PlanType::Pro.is_workspace());
        assert_eq!(
            PlanType::from_wire("mystery"),
            PlanType::Unknown("mystery".into())
        );
        assert_eq!(PlanType::ProLite.display_name(), "Pro Lite");
        assert_eq!(PlanType::Go.as_wire_str(), "go");
    }

    #[test]
    fn prolite_has_one_wire_string() {
        assert_eq!(PlanType::from_wire("prolite"), PlanType::ProLite);
        assert_eq!(PlanType::from_wire("pro_lite"), PlanType::ProLite);
        assert_eq!(PlanType::ProLite.as_wire_str(), "prolite");
        assert_eq!(PlanType::ProLite.to_string(), "prolite");
    }

    #[test]
    fn every_known_plan_round_trips() {
        for wire in [
            "free",
            "go",
            "plus",
            "pro",
            "prolite",
            "pro_max",
            "team",
            "business",
            "self_serve_business_prolite",
            "self_serve_business_usage_based",
            "enterprise",
            "ent26",
            "enterprise_cbp_automation",
            "enterprise_cbp_usage_based",
            "edu",
            "edu_plus",
            "edu_pro",
        ] {
            let plan = PlanType::from_wire(wire);
            assert!(plan.is_known(), "{wire}");
            assert_eq!(plan.as_wire_str(), wire);
        }
    }
}
