//! Conversions between the `auth.json` record (every field optional, so any
//! generation loads) and the `codex-agent-identity` record (the G3 shape).

use crate::auth_dot_json::AgentIdentityRecord as StoredRecord;
use codex_agent_identity::AgentIdentityRecord as IdentityRecord;
use serde_json::Value;

const WORKSPACE_ID: &str = "workspace_id";
const BACKGROUND_TASK_ID: &str = "background_task_id";

fn non_blank(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

impl From<&StoredRecord> for IdentityRecord {
    /// The stored record as the identity crate sees it; the oldest generation's
    /// `workspace_id` stands in for a missing `account_id`, and fields only the
    /// oldest generation had travel in `extra`.
    fn from(stored: &StoredRecord) -> Self {
        let mut extra = stored.extra.clone();
        if let Some(workspace) = &stored.workspace_id {
            extra.insert(WORKSPACE_ID.to_owned(), Value::String(workspace.clone()));
        }
        if let Some(task) = &stored.background_task_id {
            extra.insert(BACKGROUND_TASK_ID.to_owned(), Value::String(task.clone()));
        }
        Self {
            agent_runtime_id: stored.agent_runtime_id.clone().unwrap_or_default(),
            agent_private_key: stored.agent_private_key.clone().unwrap_or_default(),
            account_id: non_blank(&stored.account_id)
                .or_else(|| non_blank(&stored.workspace_id))
                .unwrap_or_default(),
            chatgpt_user_id: stored.chatgpt_user_id.clone().unwrap_or_default(),
            email: non_blank(&stored.email),
            plan_type: stored.plan_type.clone().unwrap_or_default(),
            chatgpt_account_is_fedramp: stored.chatgpt_account_is_fedramp.unwrap_or(false),
            task_id: non_blank(&stored.task_id),
            registered_at: stored.registered_at.clone(),
            extra,
        }
    }
}

impl From<&IdentityRecord> for StoredRecord {
    /// The record as written to `auth.json`: every G3 field present, a missing
    /// email written as `""` (as the official CLI does), `task_id` only when known.
    fn from(record: &IdentityRecord) -> Self {
        let mut extra = record.extra.clone();
        let mut take = |key: &str| match extra.shift_remove(key) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let workspace_id = take(WORKSPACE_ID);
        let background_task_id = take(BACKGROUND_TASK_ID);
        Self {
            agent_runtime_id: Some(record.agent_runtime_id.clone()),
            agent_private_key: Some(record.agent_private_key.clone()),
            account_id: Some(record.account_id.clone()),
            chatgpt_user_id: Some(record.chatgpt_user_id.clone()),
            email: Some(record.email.clone().unwrap_or_default()),
            plan_type: Some(record.plan_type.clone()),
            chatgpt_account_is_fedramp: Some(record.chatgpt_account_is_fedramp),
            task_id: record.task_id.clone(),
            registered_at: record.registered_at.clone(),
            workspace_id,
            background_task_id,
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_auth_provider::SecretString;

    #[test]
    fn round_trips_and_maps_the_oldest_generation() {
        let stored = StoredRecord {
            agent_runtime_id: Some("ar_1".into()),
            agent_private_key: Some(SecretString::new("a2V5")),
            workspace_id: Some("acct".into()),
            background_task_id: Some("bg".into()),
            email: Some(String::new()),
            ..StoredRecord::default()
        };
        let identity = IdentityRecord::from(&stored);
        assert_eq!(identity.account_id, "acct");
        assert_eq!(identity.email, None);
        assert_eq!(
            identity.task_id, None,
            "a G1 background task is not a run task"
        );
        let back = StoredRecord::from(&identity);
        assert_eq!(back.workspace_id.as_deref(), Some("acct"));
        assert_eq!(back.background_task_id.as_deref(), Some("bg"));
        assert_eq!(back.email.as_deref(), Some(""));
        assert!(back.extra.is_empty());
        assert_eq!(back.agent_private_key.unwrap().expose(), "a2V5");
    }
}
