//! The providers a snapshot hands out beyond plain bearer auth: agent
//! assertions and account headers alone.

use super::tokens::AgentIdentityAuth;
use codex_agent_identity::{
    AgentAssertionAuth, AgentIdentityRecordError, AgentKey, AgentRuntimeId, TaskId,
};
use codex_auth_provider::headers::{CHATGPT_ACCOUNT_ID, X_OPENAI_FEDRAMP};
use codex_auth_provider::{AuthProvider, visible_header_value};
use http::{HeaderMap, HeaderValue};

/// The provider signing as `identity` for `task`.
pub(super) fn assertion_for(
    identity: &AgentIdentityAuth,
    task: &TaskId,
) -> Result<AgentAssertionAuth, AgentIdentityRecordError> {
    let key = AgentKey::from_pkcs8_base64(identity.agent_private_key.expose())?;
    let runtime = AgentRuntimeId::new(identity.agent_runtime_id.as_str())?;
    let mut assertion =
        AgentAssertionAuth::new(key, runtime, task.clone()).with_fedramp(identity.is_fedramp);
    if let Some(account_id) = identity.account_id.as_deref().filter(|id| !id.is_empty()) {
        assertion = assertion.with_account_id(account_id);
    }
    Ok(assertion)
}

/// Adds `ChatGPT-Account-ID` (and FedRAMP) but no `Authorization`: what an
/// agent identity sends before a task is registered.
#[derive(Debug, Clone)]
pub(super) struct AccountHeadersOnly {
    account_id: Option<HeaderValue>,
    fedramp: bool,
}

impl AccountHeadersOnly {
    pub(super) fn new(account_id: Option<&str>, fedramp: bool) -> Self {
        Self {
            account_id: account_id.and_then(|id| visible_header_value("chatgpt-account-id", id)),
            fedramp,
        }
    }
}

impl AuthProvider for AccountHeadersOnly {
    fn add_auth_headers(&self, headers: &mut HeaderMap) {
        if let Some(value) = &self.account_id {
            headers.insert(CHATGPT_ACCOUNT_ID, value.clone());
        }
        if self.fedramp {
            headers.insert(X_OPENAI_FEDRAMP, HeaderValue::from_static("true"));
        }
    }
}
