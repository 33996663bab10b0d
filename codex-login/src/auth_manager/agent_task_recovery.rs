//! 401 recovery for agent identities (`agentIdentity` logins and a ChatGPT
//! login's opted-in identity): the backend refused the run task's assertion
//! (for example `invalid_agent_assertion` because the task expired or is
//! unknown), so one new run task is registered through the same code and
//! retry policy as the first one, and the request may be retried once.
//!
//! A stored record keeps the new task as `task_id`, written under
//! `auth.json.lock` only after the store was re-read and still holds the same
//! identity. A refused registration keeps its meaning: an `agentIdentity`
//! login is then treated as unusable, as when it was first readied.

use super::{AuthManager, ResolvedAuth};
use crate::agent_identity::{
    AgentIdentityError, register_run_task, replace_chatgpt_run_task, verify_identity,
};
use crate::auth_dot_json::AuthMode;
use crate::codex_auth::AuthDataError;
use codex_agent_identity::TaskId;
use std::sync::PoisonError;

/// What re-registering the run task did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AgentTaskRecovery {
    /// A new run task is in use (registered here, or by a concurrent recovery).
    Replaced,
    /// The cached credentials do not sign as an agent identity (any more).
    NotAgentIdentity,
}

impl AuthManager {
    /// Registers a new run task for the cached agent identity after a 401
    /// and makes it the one requests sign with.
    pub(crate) async fn reregister_agent_task(
        &self,
    ) -> Result<AgentTaskRecovery, AgentIdentityError> {
        let observed = current_task(self.snapshot().0.as_ref());
        let gate = self.agent_gate.lock().await;
        let (resolved, generation) = self.snapshot();
        let Some(resolved) = resolved else {
            return Ok(AgentTaskRecovery::NotAgentIdentity);
        };
        let current = current_task(Some(&resolved));
        if current.is_some() && current != observed {
            // Another request recovered while we waited for the gate.
            return Ok(AgentTaskRecovery::Replaced);
        }
        match (resolved.auth.auth_mode(), current) {
            (AuthMode::AgentIdentity, _) => self.replace_run_task(resolved, generation).await,
            (AuthMode::Chatgpt, Some(stale)) => {
                let replaced = self
                    .replace_chatgpt_task(&resolved, &stale, generation)
                    .await?;
                if replaced {
                    return Ok(AgentTaskRecovery::Replaced);
                }
                // The store holds another login or identity now: use it.
                drop(gate);
                Ok(if self.reload().await {
                    AgentTaskRecovery::Replaced
                } else {
                    AgentTaskRecovery::NotAgentIdentity
                })
            }
            _ => Ok(AgentTaskRecovery::NotAgentIdentity),
        }
    }

    /// An `agentIdentity` login: verify it again and register a new run task.
    async fn replace_run_task(
        &self,
        resolved: ResolvedAuth,
        generation: u64,
    ) -> Result<AgentTaskRecovery, AgentIdentityError> {
        let auth = resolved.auth;
        let http = self.agent_http_client()?;
        let endpoints = self.agent_endpoints();
        let verified = verify_identity(&auth, &http, &endpoints)
            .await
            .inspect_err(|err| self.reject_if_refused(generation, err))?;
        let task = register_run_task(&verified, &http, &endpoints, self.agent_identity.retry)
            .await
            .inspect_err(|err| self.reject_if_refused(generation, err))?;
        tracing::info!(
            agent_runtime_id = %verified.runtime.as_str(),
            "registered a new run task after the backend refused the previous one"
        );
        self.agent_run_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(verified.runtime.as_str().to_owned(), task.clone());
        let ready = auth.with_agent_task(&task).map_err(|err| match err {
            AuthDataError::AgentIdentityUnusable(err) => AgentIdentityError::Record(err),
            other => AgentIdentityError::Config(other.to_string()),
        })?;
        if super::agent_readiness::is_stored_record(&ready)
            && let Some(store) = self.store_for(&resolved.source)
        {
            self.store_run_task(store, &verified, &task).await?;
        }
        // If the cache moved meanwhile, the next `try_auth` readies the new
        // snapshot with the task just remembered for this runtime.
        self.adopt_if_current(ready, resolved.source, generation);
        Ok(AgentTaskRecovery::Replaced)
    }
}

impl AuthManager {
    /// A ChatGPT login's opted-in identity: register a new run task and store
    /// it on the record. `false` when the store no longer holds this login and
    /// identity (nothing was registered or written).
    async fn replace_chatgpt_task(
        &self,
        resolved: &ResolvedAuth,
        stale: &TaskId,
        generation: u64,
    ) -> Result<bool, AgentIdentityError> {
        let Some(store) = self.store_for(&resolved.source) else {
            return Ok(false);
        };
        let http = self.agent_http_client()?;
        let endpoints = self.agent_endpoints();
        let context = self.bootstrap_context(&http, &endpoints, store);
        match replace_chatgpt_run_task(&resolved.auth, stale, &context).await? {
            Some(auth) => {
                tracing::info!(
                    "registered a new run task for the ChatGPT login's agent identity after the backend refused the previous one"
                );
                self.adopt_if_current(auth, resolved.source.clone(), generation);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The run task the snapshot signs with, if it is ready.
fn current_task(resolved: Option<&ResolvedAuth>) -> Option<TaskId> {
    resolved
        .and_then(|resolved| resolved.auth.agent_assertion_auth())
        .map(|assertion| assertion.task_id().clone())
}
