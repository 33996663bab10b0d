//! The `use_agent_identity` opt-in for a managed ChatGPT login: reuse the
//! stored identity bound to this account and user, or register one (and its
//! run task), and keep the record beside the tokens in the store.
//!
//! Registration runs while `auth.json.lock` is held, after the store has been
//! re-read under it: two processes on one `CODEX_HOME` register one identity,
//! and an identity is never written over another account's login.

use super::error::AgentIdentityError;
use crate::auth_dot_json::{AuthDotJson, AuthMode, StoredAgentIdentity};
use crate::auth_lock::AuthFileLock;
use crate::codex_auth::CodexAuth;
use crate::codex_auth::same_identity;
use crate::storage::{SharedAuthStorage, StorageError};
use codex_agent_identity::{
    Abom, AgentAssertionAuth, AgentIdentityRecord, ChatGptIdentityBinding, RegistrationClient,
    RegistrationError, RegistrationFailureCache, RegistrationRetryPolicy, TaskId,
    ensure_chatgpt_agent_identity,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What the bootstrap needs from its [`crate::auth_manager::AuthManager`].
#[derive(Debug)]
pub(crate) struct BootstrapContext<'a> {
    /// The client registration requests go through.
    pub(crate) http: &'a reqwest::Client,
    /// The AuthAPI accounts base.
    pub(crate) authapi_base_url: &'a str,
    /// Who is registering.
    pub(crate) abom: Abom,
    /// Registration retries.
    pub(crate) retry: RegistrationRetryPolicy,
    /// Remembered failures (per account, user and AuthAPI base).
    pub(crate) failures: &'a RegistrationFailureCache,
    /// The store the login lives in.
    pub(crate) store: SharedAuthStorage,
    /// `CODEX_HOME`, for `auth.json.lock`.
    pub(crate) codex_home: &'a Path,
    /// How long to wait for the lock.
    pub(crate) lock_wait: Duration,
}

/// How the bootstrap ended, when it did not fail hard.
#[derive(Debug)]
pub(crate) enum BootstrapOutcome {
    /// The login as stored now, signing with its agent identity.
    Ready(CodexAuth),
    /// Registration is unavailable (retries ran out, or that is remembered):
    /// use Bearer with this snapshot for the rest of the session.
    Fallback {
        /// The login as stored now (possibly with an identity that still lacks a task).
        auth: CodexAuth,
        /// What ran out.
        error: RegistrationError,
    },
    /// The tokens name no account or user, so no identity can be bound: use Bearer.
    Unbindable,
    /// The store no longer holds this login (logout, or another account): reload.
    StoreChanged,
}

/// Makes sure the managed ChatGPT login `cached` has a usable agent identity.
/// Hard failures (for example HTTP 403) are errors; running out of retries is
/// [`BootstrapOutcome::Fallback`].
pub(crate) async fn bootstrap_chatgpt_identity(
    cached: &CodexAuth,
    ctx: &BootstrapContext<'_>,
) -> Result<BootstrapOutcome, AgentIdentityError> {
    // Fast path, no lock: the stored identity is bound to this login and ready.
    let Some(current) = current_login(cached, &ctx.store).await? else {
        return Ok(BootstrapOutcome::StoreChanged);
    };
    let Some(binding) = binding_for(&current) else {
        return Ok(BootstrapOutcome::Unbindable);
    };
    if let Some(assertion) = stored_record(&current).and_then(|r| ready_as_stored(&r, &binding)) {
        return Ok(BootstrapOutcome::Ready(
            current.with_agent_assertion(assertion),
        ));
    }

    let lock = AuthFileLock::acquire(ctx.codex_home, ctx.lock_wait)
        .await
        .map_err(|err| AgentIdentityError::Storage(err.to_string()))?;
    let Some(current) = current_login(cached, &ctx.store).await? else {
        return Ok(BootstrapOutcome::StoreChanged);
    };
    let Some(binding) = binding_for(&current) else {
        return Ok(BootstrapOutcome::Unbindable);
    };
    let stored = stored_record(&current);
    // Another process may have registered while we waited for the lock.
    if let Some(assertion) = stored.as_ref().and_then(|r| ready_as_stored(r, &binding)) {
        return Ok(BootstrapOutcome::Ready(
            current.with_agent_assertion(assertion),
        ));
    }
    let client =
        RegistrationClient::new(ctx.http, ctx.authapi_base_url)?.with_retry_policy(ctx.retry);
    let outcome = match ensure_chatgpt_agent_identity(
        &client,
        &ctx.abom,
        &binding,
        stored.as_ref(),
        ctx.failures,
    )
    .await
    {
        Ok(identity) => {
            tracing::info!(
                agent_runtime_id = %identity.record.agent_runtime_id.as_deref().unwrap_or_default(),
                reused = identity.reused_identity,
                "agent identity ready for the ChatGPT login"
            );
            let snapshot = if identity.needs_persist {
                persist(&ctx.store, &current, &identity.record).await?
            } else {
                current
            };
            BootstrapOutcome::Ready(snapshot.with_agent_assertion(identity.auth))
        }
        Err(failure) => {
            let snapshot = match &failure.record_to_persist {
                Some(record) => persist(&ctx.store, &current, record).await?,
                None => current,
            };
            if !failure.is_fallback_eligible() {
                return Err(AgentIdentityError::Registration(failure.error));
            }
            BootstrapOutcome::Fallback {
                auth: snapshot,
                error: failure.error,
            }
        }
    };
    drop(lock);
    Ok(outcome)
}

/// Registers a new run task for the identity `cached` signs with, after the
/// backend refused `stale_task`. Runs under `auth.json.lock` after re-reading
/// the store: when the store no longer holds this login and identity, nothing
/// is registered or written and `None` is returned (reload instead); when
/// another process already replaced the task, its task is used.
pub(crate) async fn replace_chatgpt_run_task(
    cached: &CodexAuth,
    stale_task: &TaskId,
    ctx: &BootstrapContext<'_>,
) -> Result<Option<CodexAuth>, AgentIdentityError> {
    let Some(in_use) = cached.agent_assertion_auth() else {
        return Ok(None);
    };
    let lock = AuthFileLock::acquire(ctx.codex_home, ctx.lock_wait)
        .await
        .map_err(|err| AgentIdentityError::Storage(err.to_string()))?;
    let Some(current) = current_login(cached, &ctx.store).await? else {
        return Ok(None);
    };
    let (Some(binding), Some(mut record)) = (binding_for(&current), stored_record(&current)) else {
        return Ok(None);
    };
    if record.agent_runtime_id.as_deref().unwrap_or_default() != in_use.agent_runtime_id().as_str()
        || !record.matches_binding(&binding.account_id, &binding.chatgpt_user_id)
    {
        return Ok(None);
    }
    if record.task_id.as_deref() != Some(stale_task.as_str())
        && let Some(assertion) = ready_as_stored(&record, &binding)
    {
        return Ok(Some(current.with_agent_assertion(assertion)));
    }
    let key = record
        .key()
        .map_err(|err| AgentIdentityError::Record(err.into()))?;
    let runtime = record
        .runtime_id()
        .map_err(|err| AgentIdentityError::Record(err.into()))?;
    let client =
        RegistrationClient::new(ctx.http, ctx.authapi_base_url)?.with_retry_policy(ctx.retry);
    let task = client.register_task(&key, &runtime).await?;
    record.task_id = Some(task.as_str().to_owned());
    let assertion = record.assertion_auth()?;
    let snapshot = persist(&ctx.store, &current, &record).await?;
    drop(lock);
    Ok(Some(snapshot.with_agent_assertion(assertion)))
}

/// The stored login, if it is still the managed ChatGPT login of the same
/// account and user as `cached` (its tokens may be newer).
async fn current_login(
    cached: &CodexAuth,
    store: &SharedAuthStorage,
) -> Result<Option<CodexAuth>, AgentIdentityError> {
    let store = Arc::clone(store);
    let document = run_storage(move || store.load()).await?;
    let Some(document) = document else {
        return Ok(None);
    };
    let current = CodexAuth::from_auth_dot_json(document)
        .map_err(|err| AgentIdentityError::Storage(err.to_string()))?;
    Ok(
        (current.auth_mode() == AuthMode::Chatgpt && same_identity(cached, &current))
            .then_some(current),
    )
}

/// Who the login is, from its tokens; `None` without an account or user id.
fn binding_for(auth: &CodexAuth) -> Option<ChatGptIdentityBinding> {
    let non_empty = |value: Option<&str>| value.filter(|v| !v.trim().is_empty()).map(str::to_owned);
    Some(ChatGptIdentityBinding {
        account_id: non_empty(auth.account_id())?,
        chatgpt_user_id: non_empty(auth.chatgpt_user_id())?,
        email: non_empty(auth.email()),
        plan_type: auth
            .plan_type()
            .map(|plan| plan.as_wire_str().to_owned())
            .unwrap_or_default(),
        fedramp: auth.is_fedramp_account(),
        access_token: auth.bearer_token()?.clone(),
    })
}

/// The record stored beside the tokens, if any.
fn stored_record(auth: &CodexAuth) -> Option<AgentIdentityRecord> {
    match auth.document()?.agent_identity.as_ref()? {
        StoredAgentIdentity::Record(record) => Some(record.as_ref().clone()),
        StoredAgentIdentity::Jwt(_) => None,
    }
}

/// The provider for `record` when it can be used exactly as stored: bound to
/// this account and user, profile unchanged, task present, key and ids valid.
fn ready_as_stored(
    record: &AgentIdentityRecord,
    binding: &ChatGptIdentityBinding,
) -> Option<AgentAssertionAuth> {
    let same_profile = record.email() == binding.email.as_deref()
        && record.plan_type.as_deref().unwrap_or_default() == binding.plan_type
        && record.is_fedramp() == binding.fedramp;
    if !same_profile || !record.matches_binding(&binding.account_id, &binding.chatgpt_user_id) {
        return None;
    }
    record.assertion_auth().ok()
}

/// Writes `record` beside the tokens of `current` (the document just re-read
/// under the lock) and returns the stored login.
async fn persist(
    store: &SharedAuthStorage,
    current: &CodexAuth,
    record: &AgentIdentityRecord,
) -> Result<CodexAuth, AgentIdentityError> {
    let mut document: AuthDotJson = current.document().cloned().ok_or_else(|| {
        AgentIdentityError::Storage("the stored login has no document to update".to_owned())
    })?;
    document.agent_identity = Some(StoredAgentIdentity::Record(Box::new(record.clone())));
    let to_save = document.clone();
    let store = Arc::clone(store);
    run_storage(move || store.save(&to_save)).await?;
    CodexAuth::from_auth_dot_json(document)
        .map_err(|err| AgentIdentityError::Storage(err.to_string()))
}

async fn run_storage<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, AgentIdentityError> {
    match tokio::task::spawn_blocking(op).await {
        Ok(result) => result.map_err(|err| AgentIdentityError::Storage(err.to_string())),
        Err(err) => Err(AgentIdentityError::Storage(format!(
            "the storage task failed: {err}"
        ))),
    }
}
