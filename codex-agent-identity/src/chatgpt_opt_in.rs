//! The `use_agent_identity` opt-in for a managed ChatGPT login: reuse the
//! identity bound to this account and user, or register one, then make sure it
//! has a run task. Persisting the result is the caller's job.

use crate::assertion_auth::AgentAssertionAuth;
use crate::failure_cache::{RegistrationFailureCache, RegistrationFailureKey};
use crate::ids::{AgentRuntimeId, TaskId};
use crate::key::AgentKey;
use crate::record::AgentIdentityRecord;
use crate::registration::{Abom, AgentRegistrationRequest, RegistrationClient, RegistrationError};
use chrono::{SecondsFormat, Utc};
use codex_auth_provider::SecretString;

/// Who the managed ChatGPT login is, from its tokens (a forced workspace replaces `account_id`).
#[derive(Debug, Clone)]
pub struct ChatGptIdentityBinding {
    /// The ChatGPT account (workspace) id.
    pub account_id: String,
    /// The ChatGPT user id.
    pub chatgpt_user_id: String,
    /// The user's email.
    pub email: Option<String>,
    /// The ChatGPT plan.
    pub plan_type: String,
    /// Whether the account is a FedRAMP account.
    pub fedramp: bool,
    /// The current access token, sent as Bearer to register a new agent.
    pub access_token: SecretString,
}

/// A usable agent identity for a ChatGPT login.
#[derive(Debug, Clone)]
pub struct ChatGptAgentIdentity {
    /// The record to keep beside the tokens (with `task_id`).
    pub record: AgentIdentityRecord,
    /// Whether `record` differs from what was stored and must be written back
    /// (after re-reading storage and confirming the account is unchanged).
    pub needs_persist: bool,
    /// Whether the stored identity was reused rather than a new agent registered.
    pub reused_identity: bool,
    /// The provider for requests made as this identity.
    pub auth: AgentAssertionAuth,
}

/// A failed bootstrap.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
pub struct ChatGptBootstrapError {
    /// What went wrong; [`RegistrationError::is_unavailable`] means "fall back to Bearer".
    #[source]
    pub error: RegistrationError,
    /// A newly registered identity whose task registration failed: still worth persisting.
    pub record_to_persist: Option<AgentIdentityRecord>,
    /// Whether this is a remembered failure and no request was sent.
    pub from_failure_cache: bool,
}

impl ChatGptBootstrapError {
    /// Whether the session may fall back to Bearer auth (retries ran out).
    pub fn is_fallback_eligible(&self) -> bool {
        self.error.is_unavailable()
    }
}

/// Reuses `stored` when it is bound to the binding's account **and** user and
/// its key and id parse; otherwise registers a new agent. Then registers a run
/// task if the identity has none. Failures are remembered in `failures`
/// (keyed by account, user and AuthAPI base) and returned without I/O while
/// remembered.
pub async fn ensure_chatgpt_agent_identity(
    client: &RegistrationClient,
    abom: &Abom,
    binding: &ChatGptIdentityBinding,
    stored: Option<&AgentIdentityRecord>,
    failures: &RegistrationFailureCache,
) -> Result<ChatGptAgentIdentity, ChatGptBootstrapError> {
    let failure_key = RegistrationFailureKey {
        account_id: binding.account_id.clone(),
        chatgpt_user_id: binding.chatgpt_user_id.clone(),
        authapi_base_url: client.authapi_base_url().to_owned(),
    };
    if let Some(error) = failures.get(&failure_key) {
        return Err(ChatGptBootstrapError {
            error,
            record_to_persist: None,
            from_failure_cache: true,
        });
    }
    let fail = |error: RegistrationError, record_to_persist: Option<AgentIdentityRecord>| {
        failures.record(failure_key.clone(), &error);
        ChatGptBootstrapError {
            error,
            record_to_persist,
            from_failure_cache: false,
        }
    };

    let reusable = stored
        .filter(|record| record.matches_binding(&binding.account_id, &binding.chatgpt_user_id))
        .and_then(|record| {
            Some((
                record.clone(),
                record.key().ok()?,
                record.runtime_id().ok()?,
            ))
        });
    let reused_identity = reusable.is_some();
    let (mut record, key, runtime, mut needs_persist) = match reusable {
        Some((record, key, runtime)) => (record, key, runtime, false),
        None => {
            let (record, key, runtime) = register_new_agent(client, abom, binding)
                .await
                .map_err(|error| fail(error, None))?;
            (record, key, runtime, true)
        }
    };
    needs_persist |= refresh_profile(&mut record, binding);

    let task = match record.task().ok().flatten() {
        Some(task) => task,
        None => {
            let task = match client.register_task(&key, &runtime).await {
                Ok(task) => task,
                Err(error) => {
                    record.task_id = None;
                    return Err(fail(error, needs_persist.then_some(record)));
                }
            };
            record.task_id = Some(task.as_str().to_owned());
            needs_persist = true;
            task
        }
    };

    let auth = assertion_auth(key, runtime, task, binding);
    Ok(ChatGptAgentIdentity {
        record,
        needs_persist,
        reused_identity,
        auth,
    })
}

async fn register_new_agent(
    client: &RegistrationClient,
    abom: &Abom,
    binding: &ChatGptIdentityBinding,
) -> Result<(AgentIdentityRecord, AgentKey, AgentRuntimeId), RegistrationError> {
    let key = AgentKey::generate()?;
    let request = AgentRegistrationRequest::new(abom.clone(), key.public_key());
    let runtime = client
        .register_agent(&binding.access_token, binding.fedramp, &request)
        .await?;
    let mut record = AgentIdentityRecord::current(
        runtime.as_str(),
        key.to_pkcs8_base64(),
        &binding.account_id,
        &binding.chatgpt_user_id,
        binding.email.as_deref(),
        &binding.plan_type,
        binding.fedramp,
    );
    record.registered_at = Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    Ok((record, key, runtime))
}

/// Copies email, plan and FedRAMP flag from the login; true if anything changed.
fn refresh_profile(record: &mut AgentIdentityRecord, binding: &ChatGptIdentityBinding) -> bool {
    let before = (
        record.email().map(str::to_owned),
        record.plan_type.clone().unwrap_or_default(),
        record.is_fedramp(),
    );
    let after = (
        binding.email.clone(),
        binding.plan_type.clone(),
        binding.fedramp,
    );
    // A reused record is bound to this account and user; write every field
    // the current generation has, as the official CLI does.
    record.account_id = Some(binding.account_id.clone());
    record.chatgpt_user_id = Some(binding.chatgpt_user_id.clone());
    record.email = Some(binding.email.clone().unwrap_or_default());
    record.plan_type = Some(binding.plan_type.clone());
    record.chatgpt_account_is_fedramp = Some(binding.fedramp);
    before != after
}

fn assertion_auth(
    key: AgentKey,
    runtime: AgentRuntimeId,
    task: TaskId,
    binding: &ChatGptIdentityBinding,
) -> AgentAssertionAuth {
    AgentAssertionAuth::new(key, runtime, task)
        .with_account_id(&binding.account_id)
        .with_fedramp(binding.fedramp)
}
