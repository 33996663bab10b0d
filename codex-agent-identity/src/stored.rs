//! The `agent_identity` value of `auth.json`: the JWT itself or a record
//! object. Above both `token` and `record`, which do not import each other.

use crate::record::AgentIdentityRecord;
use crate::token::AgentIdentityJwt;
use serde::{Deserialize, Serialize};

/// The `agent_identity` value in `auth.json`: the JWT string, or a record object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredAgentIdentity {
    /// A JWT from `codex login --with-access-token`; its claims are runtime state.
    Jwt(AgentIdentityJwt),
    /// A record, as a managed ChatGPT login with `use_agent_identity` stores it.
    Record(Box<AgentIdentityRecord>),
}
