//! The agent identity record as stored in `auth.json` under `agent_identity`
//! (the record form of `StoredAgentIdentity`, which lives in `stored`).
//!
//! This is the one record model (issue 16): every field is optional so any
//! generation of the record loads and round-trips (the oldest one has
//! `workspace_id` and `background_task_id`), unknown fields are kept in
//! `extra`, and which fields are required is decided by the user of the
//! record (the accessors below, or `codex-login` when it builds a login).

use crate::assertion_auth::AgentAssertionAuth;
use crate::ids::{AgentRuntimeId, IdError, TaskId};
use crate::key::{AgentKey, KeyError};
use codex_auth_provider::SecretString;
use serde::{Deserialize, Serialize};
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

/// The `agent_identity` record object, as stored: every field optional, in
/// the order the official CLI writes them (`workspace_id` first for the
/// oldest generation). Absent fields stay absent on rewrite.
///
/// Unknown fields are kept in `extra` and written back unchanged.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentIdentityRecord {
    /// `workspace_id`: the oldest generation's name for the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// `agent_runtime_id`: the registered runtime id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_runtime_id: Option<String>,
    /// `agent_private_key`: standard base64 PKCS#8 of the Ed25519 key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_private_key: Option<SecretString>,
    /// `account_id`: the ChatGPT account (workspace) the identity is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `chatgpt_user_id`: the ChatGPT user the identity is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatgpt_user_id: Option<String>,
    /// `email`, as stored (the official CLI writes none as `""`; see [`Self::email`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `plan_type`: the ChatGPT plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_type: Option<String>,
    /// `chatgpt_account_is_fedramp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatgpt_account_is_fedramp: Option<bool>,
    /// `task_id`: the run task, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `registered_at`: when the identity was registered (RFC 3339), kept as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<String>,
    /// `background_task_id` (oldest generation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_task_id: Option<String>,
    /// Fields this version does not know, preserved on rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

impl AgentIdentityRecord {
    /// A current-generation record with every field the official CLI writes
    /// (`email` none written as `""`), `task_id` only when known.
    pub fn current(
        agent_runtime_id: &str,
        agent_private_key: SecretString,
        account_id: &str,
        chatgpt_user_id: &str,
        email: Option<&str>,
        plan_type: &str,
        chatgpt_account_is_fedramp: bool,
    ) -> Self {
        Self {
            agent_runtime_id: Some(agent_runtime_id.to_owned()),
            agent_private_key: Some(agent_private_key),
            account_id: Some(account_id.to_owned()),
            chatgpt_user_id: Some(chatgpt_user_id.to_owned()),
            email: Some(email.unwrap_or_default().to_owned()),
            plan_type: Some(plan_type.to_owned()),
            chatgpt_account_is_fedramp: Some(chatgpt_account_is_fedramp),
            ..Self::default()
        }
    }

    /// The bound account: `account_id`, or the oldest generation's `workspace_id`; blank reads as none.
    pub fn account(&self) -> Option<&str> {
        non_blank(&self.account_id).or_else(|| non_blank(&self.workspace_id))
    }

    /// The bound ChatGPT user; blank reads as none.
    pub fn user(&self) -> Option<&str> {
        non_blank(&self.chatgpt_user_id)
    }

    /// The runtime id text; blank reads as none.
    pub fn runtime(&self) -> Option<&str> {
        non_blank(&self.agent_runtime_id)
    }

    /// The private key, unless absent or blank.
    pub fn private_key(&self) -> Option<&SecretString> {
        self.agent_private_key
            .as_ref()
            .filter(|key| !key.expose().trim().is_empty())
    }

    /// The user's email; an empty (or blank) stored email reads as none.
    pub fn email(&self) -> Option<&str> {
        non_blank(&self.email)
    }

    /// The plan text; blank reads as none.
    pub fn plan(&self) -> Option<&str> {
        non_blank(&self.plan_type)
    }

    /// Whether the account is a FedRAMP account (absent reads as false).
    pub fn is_fedramp(&self) -> bool {
        self.chatgpt_account_is_fedramp.unwrap_or(false)
    }

    /// Whether the record is bound to exactly this account **and** user (both non-empty).
    pub fn matches_binding(&self, account_id: &str, chatgpt_user_id: &str) -> bool {
        !account_id.is_empty()
            && !chatgpt_user_id.is_empty()
            && self.account() == Some(account_id)
            && self.user() == Some(chatgpt_user_id)
    }

    /// Whether the record holds a runtime id and a private key.
    pub fn has_auth_material(&self) -> bool {
        self.runtime().is_some() && self.private_key().is_some()
    }

    /// The checked runtime id.
    pub fn runtime_id(&self) -> Result<AgentRuntimeId, IdError> {
        AgentRuntimeId::new(self.agent_runtime_id.as_deref().unwrap_or_default())
    }

    /// The checked task id, if one is stored and non-blank.
    pub fn task(&self) -> Result<Option<TaskId>, IdError> {
        match non_blank(&self.task_id) {
            Some(task) => TaskId::new(task).map(Some),
            None => Ok(None),
        }
    }

    /// Parses the private key.
    pub fn key(&self) -> Result<AgentKey, KeyError> {
        AgentKey::from_pkcs8_base64(
            self.agent_private_key
                .as_ref()
                .map(SecretString::expose)
                .unwrap_or_default(),
        )
    }

    /// The provider that authenticates requests as this identity and its task.
    pub fn assertion_auth(&self) -> Result<AgentAssertionAuth, AgentIdentityRecordError> {
        let task = self.task()?.ok_or(AgentIdentityRecordError::NoTask)?;
        Ok(
            AgentAssertionAuth::new(self.key()?, self.runtime_id()?, task)
                .with_account_id(self.account().unwrap_or_default())
                .with_fedramp(self.is_fedramp()),
        )
    }
}

impl fmt::Debug for AgentIdentityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentIdentityRecord")
            .field("workspace_id", &self.workspace_id)
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
            .field("background_task_id", &self.background_task_id)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
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
        assert_eq!(record.email(), None);
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

        let g1_json = serde_json::json!({
            "workspace_id": "acct", "agent_runtime_id": "ar", "agent_private_key": "k",
            "registered_at": "2026-01-01T00:00:00Z", "background_task_id": "bg"
        });
        let g1: AgentIdentityRecord = serde_json::from_value(g1_json.clone()).unwrap();
        assert_eq!(g1.account(), Some("acct"));
        assert!(!g1.matches_binding("acct", "user"));
        assert_eq!(
            g1.task(),
            Ok(None),
            "a G1 background task is not a run task"
        );
        assert_eq!(serde_json::to_value(&g1).unwrap(), g1_json);
    }

    #[test]
    fn binding_needs_account_and_user() {
        let mut record = AgentIdentityRecord::current(
            "ar",
            SecretString::new("k"),
            "acct",
            "alice",
            None,
            "team",
            false,
        );
        record.task_id = Some("   ".into());
        assert_eq!(record.email.as_deref(), Some(""));
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
