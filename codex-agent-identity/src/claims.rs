//! The identity an agent identity JWT carries.

use crate::ids::AgentRuntimeId;
use crate::ids::TaskId;
use crate::key::{AgentKey, KeyError};
use crate::record::AgentIdentityRecord;
use codex_auth_provider::SecretString;
use serde::Deserialize;

/// The claims of an agent identity JWT (after verification, or decoded unverified for display).
///
/// `Debug` is derived: the private key is a [`SecretString`], which prints redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentityClaims {
    /// The registered runtime this identity is.
    pub agent_runtime_id: AgentRuntimeId,
    /// Standard base64 PKCS#8 of the runtime's Ed25519 key: the JWT is itself a secret.
    pub agent_private_key: SecretString,
    /// The ChatGPT account (workspace) id.
    pub account_id: String,
    /// The ChatGPT user id.
    pub chatgpt_user_id: String,
    /// The user's email, when the token has a non-empty one.
    pub email: Option<String>,
    /// The ChatGPT plan, e.g. `plus` or `enterprise`.
    pub plan_type: String,
    /// Whether the account is a FedRAMP account.
    pub chatgpt_account_is_fedramp: bool,
    /// Issued-at, seconds since the epoch.
    pub iat: Option<i64>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

impl AgentIdentityClaims {
    /// The `iss` every agent identity JWT must carry.
    pub const ISSUER: &'static str = "https://chatgpt.com/codex-backend/agent-identity";
    /// The `aud` every agent identity JWT must carry.
    pub const AUDIENCE: &'static str = "codex-app-server";

    /// Parses the private key the claims carry.
    pub fn key(&self) -> Result<AgentKey, KeyError> {
        AgentKey::from_pkcs8_base64(self.agent_private_key.expose())
    }

    /// The persisted record for this identity, with `task_id` once one is registered.
    pub fn to_record(&self, task_id: Option<&TaskId>) -> AgentIdentityRecord {
        let mut record = AgentIdentityRecord::current(
            self.agent_runtime_id.as_str(),
            self.agent_private_key.clone(),
            &self.account_id,
            &self.chatgpt_user_id,
            self.email.as_deref(),
            &self.plan_type,
            self.chatgpt_account_is_fedramp,
        );
        record.task_id = task_id.map(|task| task.as_str().to_owned());
        record
    }
}

/// The payload as it appears in the JWT, before the ids are checked.
#[derive(Deserialize)]
pub(crate) struct RawClaims {
    pub(crate) agent_runtime_id: String,
    pub(crate) agent_private_key: SecretString,
    pub(crate) account_id: String,
    pub(crate) chatgpt_user_id: String,
    #[serde(default)]
    pub(crate) email: Option<String>,
    pub(crate) plan_type: String,
    #[serde(default)]
    pub(crate) chatgpt_account_is_fedramp: bool,
    #[serde(default)]
    pub(crate) iat: Option<i64>,
    pub(crate) exp: i64,
}
