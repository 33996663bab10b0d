//! The agent identity record as stored in `auth.json` under `agent_identity`
//! (the record form of `StoredAgentIdentity`, which lives in `stored`).

use crate::assertion_auth::AgentAssertionAuth;
use crate::ids::{AgentRuntimeId, IdError, TaskId};
use crate::key::{AgentKey, KeyError};
use codex_auth_provider::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a stored record cannot authenticate requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentIdentityRecordError {
    /// The record has no `task_id` yet; register one first.
    #[error("the agent identity has no registered task")]
    NoTask,
    /// An id in the record is unusable.
    #[error("the stored agent identity has a bad id: {0}")]
    Id(#[from] IdError),
    /// The private key does not parse.
    #[error("the stored agent identity key is unusable: {0}")]
    Key(#[from] KeyError),
}

/// The `agent_identity` record object (G3 shape; `workspace_id` is read as `account_id`).
///
/// Unknown fields are kept in `extra` and written back unchanged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentIdentityRecord {
    /// The registered runtime id.
    #[serde(default)]
    pub agent_runtime_id: String,
    /// Standard base64 PKCS#8 of the Ed25519 key.
    #[serde(default)]
    pub agent_private_key: SecretString,
    /// The ChatGPT account (workspace) the identity is bound to.
    #[serde(default, alias = "workspace_id")]
    pub account_id: String,
    /// The ChatGPT user the identity is bound to.
    #[serde(default)]
    pub chatgpt_user_id: String,
    /// The user's email; an empty string on disk reads as none and none writes as `""`.
    #[serde(
        default,
        deserialize_with = "empty_string_as_none",
        serialize_with = "none_as_empty_string"
    )]
    pub email: Option<String>,
    /// The ChatGPT plan.
    #[serde(default)]
    pub plan_type: String,
    /// Whether the account is a FedRAMP account.
    #[serde(default)]
    pub chatgpt_account_is_fedramp: bool,
    /// The run task, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When the identity was registered (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<String>,
    /// Fields this version does not know, preserved on rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AgentIdentityRecord {
    /// Whether the record is bound to exactly this account **and** user (both non-empty).
    pub fn matches_binding(&self, account_id: &str, chatgpt_user_id: &str) -> bool {
        !account_id.is_empty()
            && !chatgpt_user_id.is_empty()
            && self.account_id == account_id
            && self.chatgpt_user_id == chatgpt_user_id
    }

    /// Whether the record holds a runtime id and a private key.
    pub fn has_auth_material(&self) -> bool {
        !self.agent_runtime_id.trim().is_empty()
            && !self.agent_private_key.expose().trim().is_empty()
    }

    /// The checked runtime id.
    pub fn runtime_id(&self) -> Result<AgentRuntimeId, IdError> {
        AgentRuntimeId::new(self.agent_runtime_id.as_str())
    }

    /// The checked task id, if one is stored and non-blank.
    pub fn task(&self) -> Result<Option<TaskId>, IdError> {
        match self.task_id.as_deref() {
            Some(task) if !task.trim().is_empty() => TaskId::new(task).map(Some),
            _ => Ok(None),
        }
    }

    /// Parses the private key.
    pub fn key(&self) -> Result<AgentKey, KeyError> {
        AgentKey::from_pkcs8_base64(self.agent_private_key.expose())
    }

    /// The provider that authenticates requests as this identity and its task.
    pub fn assertion_auth(&self) -> Result<AgentAssertionAuth, AgentIdentityRecordError> {
        let task = self.task()?.ok_or(AgentIdentityRecordError::NoTask)?;
        Ok(
            AgentAssertionAuth::new(self.key()?, self.runtime_id()?, task)
                .with_account_id(&self.account_id)
                .with_fedramp(self.chatgpt_account_is_fedramp),
        )
    }
}

impl fmt::Debug for AgentIdentityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentIdentityRecord")
            .field("agent_runtime_id", &self.agent_runtime_id)
            .field("agent_private_key", &self.agent_private_key)
            .field("account_id", &self.account_id)
            .field("chatgpt_user_id", &self.chatgpt_user_id)
            .field("email", &self.email)
            .field("plan_type", &self.plan_type)
            .field(
                "chatgpt_account_is_fedramp",
                &self.chatgpt_account_is_fedramp,
            )
            .field("task_id", &self.task_id)
            .field("registered_at", &self.registered_at)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn empty_string_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|email| !email.is_empty()))
}

fn none_as_empty_string<S: Serializer>(email: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(email.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stored::StoredAgentIdentity;

    #[test]
    fn reads_and_writes_the_auth_json_shapes() {
        let json = serde_json::json!({
            "agent_runtime_id": "ar_1",
            "agent_private_key": "AAAA",
            "account_id": "acct",
            "chatgpt_user_id": "user",
            "email": "",
            "plan_type": "plus",
            "chatgpt_account_is_fedramp": false,
            "future_field": 5
        });
        let stored: StoredAgentIdentity = serde_json::from_value(json).unwrap();
        let StoredAgentIdentity::Record(record) = &stored else {
            panic!("expected a record");
        };
        assert_eq!(record.email, None);
        assert!(record.task_id.is_none());
        let back = serde_json::to_value(&stored).unwrap();
        assert_eq!(back["email"], "");
        assert_eq!(back["future_field"], 5);
        assert!(back.get("task_id").is_none());
        assert!(format!("{stored:?}").contains("[REDACTED]"));
        assert!(!format!("{stored:?}").contains("AAAA"));

        let jwt: StoredAgentIdentity = serde_json::from_value(serde_json::json!("a.b.c")).unwrap();
        assert!(matches!(jwt, StoredAgentIdentity::Jwt(_)));
        assert_eq!(serde_json::to_value(&jwt).unwrap(), "a.b.c");

        let g1: AgentIdentityRecord = serde_json::from_value(serde_json::json!({
            "workspace_id": "acct", "agent_runtime_id": "ar", "agent_private_key": "k",
            "registered_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(g1.account_id, "acct");
        assert!(!g1.matches_binding("acct", "user"));
    }

    #[test]
    fn binding_needs_account_and_user() {
        let record = AgentIdentityRecord {
            agent_runtime_id: "ar".into(),
            agent_private_key: SecretString::new("k"),
            account_id: "acct".into(),
            chatgpt_user_id: "alice".into(),
            email: None,
            plan_type: "team".into(),
            chatgpt_account_is_fedramp: false,
            task_id: Some("   ".into()),
            registered_at: None,
            extra: serde_json::Map::new(),
        };
        assert!(record.matches_binding("acct", "alice"));
        assert!(!record.matches_binding("acct", "bob"));
        assert!(!record.matches_binding("other", "alice"));
        assert_eq!(record.task(), Ok(None));
        assert!(matches!(
            record.assertion_auth(),
            Err(AgentIdentityRecordError::NoTask)
        ));
    }
}
