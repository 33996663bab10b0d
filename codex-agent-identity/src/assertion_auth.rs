//! The `AuthProvider` for agent identity auth: a fresh `AgentAssertion` per request.

use crate::assertion::AgentAssertion;
use crate::ids::{AgentRuntimeId, TaskId};
use crate::key::AgentKey;
use chrono::{DateTime, Utc};
use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_auth_provider::{
    AuthProvider, SecretString, sensitive_header_value, visible_header_value,
};
use http::{HeaderMap, HeaderValue};
use std::fmt;

/// Writes `Authorization: AgentAssertion <token>` (marked sensitive, minted
/// with the current time on every call), `ChatGPT-Account-ID`, and
/// `X-OpenAI-Fedramp: true` for FedRAMP accounts. It does no I/O.
#[derive(Clone)]
pub struct AgentAssertionAuth {
    key: AgentKey,
    runtime: AgentRuntimeId,
    task: TaskId,
    account_id: Option<HeaderValue>,
    account_id_text: Option<String>,
    fedramp: bool,
}

impl AgentAssertionAuth {
    /// A provider that asserts `runtime` acts for `task`, signed with `key`.
    pub fn new(key: AgentKey, runtime: AgentRuntimeId, task: TaskId) -> Self {
        Self {
            key,
            runtime,
            task,
            account_id: None,
            account_id_text: None,
            fedramp: false,
        }
    }

    /// Adds the `ChatGPT-Account-ID` header (left out if the id is not valid header text).
    pub fn with_account_id(mut self, account_id: &str) -> Self {
        self.account_id = visible_header_value("chatgpt-account-id", account_id);
        self.account_id_text = Some(account_id.to_owned());
        self
    }

    /// Sends `X-OpenAI-Fedramp: true` when `fedramp` is set.
    pub fn with_fedramp(mut self, fedramp: bool) -> Self {
        self.fedramp = fedramp;
        self
    }

    /// The runtime this provider asserts.
    pub fn agent_runtime_id(&self) -> &AgentRuntimeId {
        &self.runtime
    }

    /// The task this provider asserts.
    pub fn task_id(&self) -> &TaskId {
        &self.task
    }

    /// The account id this provider sends, if any.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id_text.as_deref()
    }

    /// Whether this provider marks requests as FedRAMP.
    pub fn is_fedramp(&self) -> bool {
        self.fedramp
    }

    /// The `Authorization` value this provider would send at `at`.
    pub fn authorization_at(&self, at: DateTime<Utc>) -> SecretString {
        AgentAssertion::authorization_value(&self.key, &self.runtime, &self.task, at)
    }
}

impl AuthProvider for AgentAssertionAuth {
    fn add_auth_headers(&self, headers: &mut HeaderMap) {
        let authorization = self.authorization_at(Utc::now());
        if let Some(value) = sensitive_header_value("authorization", authorization.expose()) {
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(value) = &self.account_id {
            headers.insert(CHATGPT_ACCOUNT_ID, value.clone());
        }
        if self.fedramp {
            headers.insert(X_OPENAI_FEDRAMP, HeaderValue::from_static("true"));
        }
    }
}

impl fmt::Debug for AgentAssertionAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentAssertionAuth")
            .field("key", &self.key)
            .field("agent_runtime_id", &self.runtime)
            .field("task_id", &self.task)
            .field("account_id", &self.account_id_text)
            .field("fedramp", &self.fedramp)
            .finish()
    }
}
