//! Workload identity federation: the rules the issuer trusts, the OIDC issuer the emulator
//! plays (subject tokens, JWKS, a GitHub-Actions-style token endpoint) and the log of exchanges.

use serde::{Deserialize, Serialize};

use crate::config::SeedAccount;

/// The `grant_type` of the workload identity exchange (RFC 7523).
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The `issued_token_type` of a workload identity exchange answer.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The scope granted to federated access tokens.
pub(crate) const FEDERATED_SCOPE: &str =
    "openid profile email chatgpt.workspace.feature.allow-codex-local-access.access";

/// A federation rule: which subject tokens the issuer exchanges, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationRule {
    /// The rule id clients send as `federation_rule_id` (e.g. `idpm_ci`).
    pub id: String,
    /// The `iss` a subject token must carry (default: the emulator's own OIDC issuer).
    pub trusted_issuer: Option<String>,
    /// The audience a subject token must be issued for.
    pub audience: String,
    /// When set, the token's `sub` must equal it.
    pub subject: Option<String>,
    /// When set, `workload_identity_context` must be sent and equal it.
    pub context: Option<String>,
    /// The ChatGPT account (workspace) and user the exchange yields.
    pub account: SeedAccount,
    /// The workspace membership id (`chatgpt_account_user_id`).
    pub account_user_id: String,
    /// Lifetime of the access tokens this rule yields, in seconds (1–3600).
    pub access_token_ttl_secs: i64,
}

impl Default for FederationRule {
    fn default() -> Self {
        Self {
            id: "idpm_emulator".to_owned(),
            trusted_issuer: None,
            audience: "openai".to_owned(),
            subject: None,
            context: None,
            account: SeedAccount::default(),
            account_user_id: "acctuser-emulator-0001".to_owned(),
            access_token_ttl_secs: 600,
        }
    }
}

/// What [`EmulatorHandle::mint_subject_token`](crate::EmulatorHandle::mint_subject_token) signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectTokenSpec {
    /// The `aud` claim.
    pub audience: String,
    /// The `sub` claim.
    pub subject: String,
    /// Lifetime in seconds; negative means already expired.
    pub ttl_secs: i64,
    /// The `iss` claim; `None` is the emulator's OIDC issuer.
    pub issuer: Option<String>,
}

impl Default for SubjectTokenSpec {
    fn default() -> Self {
        Self {
            audience: "openai".to_owned(),
            subject: "repo:octo/app:ref:refs/heads/main".to_owned(),
            ttl_secs: 300,
            issuer: None,
        }
    }
}

/// One workload identity exchange the issuer answered (the log tests read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationExchange {
    /// The `federation_rule_id` sent.
    pub rule_id: String,
    /// The subject token's `sub`, when it could be read.
    pub subject: Option<String>,
    /// The subject token's `jti`, when it could be read (tells rotated tokens apart).
    pub subject_token_id: Option<String>,
    /// The `workload_identity_context` sent.
    pub context: Option<String>,
    /// `None` when the exchange succeeded, else the OAuth error description.
    pub refused: Option<String>,
}
