//! Readying agent identities before [`AuthManager::try_auth`] hands a snapshot
//! out: the async half of the two-step auth model, so that
//! [`CodexAuth::provider`] stays synchronous and never does I/O.
//!
//! - `agentIdentity` logins (stored JWT, stored record, `CODEX_ACCESS_TOKEN`):
//!   the workspace is checked first, then the JWT is verified against the
//!   JWKS, then one run task is registered per run (remembered in memory; a
//!   stored record also keeps it as `task_id`). Nothing is written for a JWT.
//!   A refused identity leaves the manager logged out.
//! - a managed ChatGPT login with `use_agent_identity`: see
//!   [`crate::agent_identity::bootstrap_chatgpt_identity`]; when registration
//!   is unavailable the session falls back to Bearer once and for all.

use super::{AuthManager, ResolvedAuth, run_blocking};
use crate::agent_identity::{
    AGENT_VERSION, AgentIdentityEndpoints, AgentIdentityError, BootstrapContext, BootstrapOutcome,
    VerifiedIdentity, bootstrap_chatgpt_identity, check_agent_workspace, register_run_task,
    verify_identity,
};
use crate::auth_dot_json::{AuthMode, StoredAgentIdentity};
use crate::auth_lock::AuthFileLock;
use crate::codex_auth::{AuthDataError, CodexAuth};
use crate::resolution::CredentialSource;
use crate::storage::SharedAuthStorage;
use codex_agent_identity::{Abom, TaskId};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

/// How many times the state may move under us before we settle for the cache.
const MAX_PASSES: usize = 3;

/// What one pass over the cached snapshot produced.
enum Pass {
    /// The snapshot to hand out (`None`: logged out).
    Done(Option<CodexAuth>),
    /// The cache changed while we worked; look again.
    Again,
}

impl AuthManager {
    /// Makes the cached snapshot ready to sign requests (see the module docs).
    pub(super) async fn ready_agent_identity(
        &self,
    ) -> Result<Option<CodexAuth>, AgentIdentityError> {
        for _ in 0..MAX_PASSES {
            let (resolved, generation) = self.snapshot();
            let Some(resolved) = resolved else {
                return Ok(None);
            };
            let pass = match resolved.auth.auth_mode() {
                AuthMode::AgentIdentity => self.ready_run_task(resolved, generation).await?,
                AuthMode::Chatgpt if self.wants_chatgpt_identity(&resolved.auth) => {
                    self.ready_chatgpt_identity(resolved, generation).await?
                }
                _ => Pass::Done(Some(resolved.auth)),
            };
            if let Pass::Done(auth) = pass {
                return Ok(auth);
            }
        }
        Ok(self.auth_cached())
    }

    /// Whether a managed ChatGPT snapshot should still get its agent identity.
    fn wants_chatgpt_identity(&self, auth: &CodexAuth) -> bool {
        self.use_agent_identity
            && auth.agent_assertion_auth().is_none()
            && !self.agent_fallback.load(Ordering::SeqCst)
    }

    /// The AuthAPI and JWKS bases in use.
    pub(super) fn agent_endpoints(&self) -> AgentIdentityEndpoints {
        let env = |name: &str| (self.env)(name);
        AgentIdentityEndpoints::resolve(
            self.agent_identity.authapi_base_url.as_deref(),
            self.agent_identity.jwks_base_url.as_deref(),
            &self.issuer,
            &self.agent_identity.chatgpt_base_url,
            &env,
        )
    }

    /// What registering a ChatGPT login's agent identity (or its run task) needs.
    pub(super) fn bootstrap_context<'a>(
        &'a self,
        http: &'a reqwest::Client,
        endpoints: &'a AgentIdentityEndpoints,
        store: SharedAuthStorage,
    ) -> BootstrapContext<'a> {
        BootstrapContext {
            http,
            authapi_base_url: &endpoints.authapi_base_url,
            abom: Abom::for_session(AGENT_VERSION, &self.agent_identity.session_source),
            retry: self.agent_identity.retry,
            failures: self.agent_identity.failures(),
            store,
            codex_home: &self.codex_home,
            lock_wait: self.lock_wait,
        }
    }

    pub(super) fn agent_http_client(&self) -> Result<reqwest::Client, AgentIdentityError> {
        self.http_client()
            .map_err(|err| AgentIdentityError::Config(err.to_string()))
    }

    async fn ready_run_task(
        &self,
        resolved: ResolvedAuth,
        generation: u64,
    ) -> Result<Pass, AgentIdentityError> {
        let auth = resolved.auth;
        if let Err(err) =
            check_agent_workspace(&self.forced_chatgpt_workspace_ids, auth.account_id())
        {
            let err = AgentIdentityError::from(err);
            self.reject_agent_identity(generation, &err);
            return Err(err);
        }
        if auth.agent_assertion_auth().is_some() {
            return Ok(Pass::Done(Some(auth)));
        }
        let _gate = self.agent_gate.lock().await;
        if self.snapshot().1 != generation {
            return Ok(Pass::Again);
        }
        let http = self.agent_http_client()?;
        let endpoints = self.agent_endpoints();
        let verified = verify_identity(&auth, &http, &endpoints)
            .await
            .inspect_err(|err| self.reject_if_refused(generation, err))?;
        let task = match self.remembered_task(&verified) {
            Some(task) => task,
            None => {
                let task =
                    register_run_task(&verified, &http, &endpoints, self.agent_identity.retry)
                        .await
                        .inspect_err(|err| self.reject_if_refused(generation, err))?;
                self.agent_run_tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(verified.runtime.as_str().to_owned(), task.clone());
                task
            }
        };
        let ready = auth.with_agent_task(&task).map_err(|err| match err {
            AuthDataError::AgentIdentityUnusable(err) => AgentIdentityError::Record(err),
            other => AgentIdentityError::Config(other.to_string()),
        })?;
        if is_stored_record(&ready)
            && let Some(store) = self.store_for(&resolved.source)
        {
            self.store_run_task(store, &verified, &task).await?;
        }
        Ok(self.hand_out(ready, resolved.source, generation))
    }

    async fn ready_chatgpt_identity(
        &self,
        resolved: ResolvedAuth,
        generation: u64,
    ) -> Result<Pass, AgentIdentityError> {
        let gate = self.agent_gate.lock().await;
        if self.snapshot().1 != generation {
            return Ok(Pass::Again);
        }
        if !self.wants_chatgpt_identity(&resolved.auth) {
            return Ok(Pass::Done(Some(resolved.auth)));
        }
        let Some(store) = self.store_for(&resolved.source) else {
            return Ok(Pass::Done(Some(resolved.auth)));
        };
        let http = self.agent_http_client()?;
        let endpoints = self.agent_endpoints();
        let context = self.bootstrap_context(&http, &endpoints, store);
        match bootstrap_chatgpt_identity(&resolved.auth, &context).await? {
            BootstrapOutcome::Ready(auth) => Ok(self.hand_out(auth, resolved.source, generation)),
            BootstrapOutcome::Fallback { auth, error } => {
                if !self.agent_fallback.swap(true, Ordering::SeqCst) {
                    tracing::warn!(
                        %error,
                        "agent identity registration is unavailable; using Bearer auth for the rest of this session"
                    );
                }
                self.adopt_if_current(auth.clone(), resolved.source, generation);
                Ok(Pass::Done(Some(auth)))
            }
            BootstrapOutcome::Unbindable => {
                self.agent_fallback.store(true, Ordering::SeqCst);
                tracing::warn!(
                    "the ChatGPT tokens name no account or user id; using Bearer auth for this session"
                );
                Ok(Pass::Done(Some(resolved.auth)))
            }
            BootstrapOutcome::StoreChanged => {
                drop(gate);
                self.reload().await;
                Ok(Pass::Again)
            }
        }
    }

    /// The run task this manager already registered for the identity, if any.
    fn remembered_task(&self, verified: &VerifiedIdentity) -> Option<TaskId> {
        self.agent_run_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(verified.runtime.as_str())
            .cloned()
    }

    /// Writes a new run task onto the stored record, under `auth.json.lock`,
    /// if the store still holds that identity.
    pub(super) async fn store_run_task(
        &self,
        store: SharedAuthStorage,
        verified: &VerifiedIdentity,
        task: &TaskId,
    ) -> Result<(), AgentIdentityError> {
        let lock = AuthFileLock::acquire(&self.codex_home, self.lock_wait)
            .await
            .map_err(|err| AgentIdentityError::Storage(err.to_string()))?;
        let runtime = verified.runtime.as_str().to_owned();
        let task = task.as_str().to_owned();
        let written = run_blocking(move || {
            let Some(mut document) = store.load()? else {
                return Ok(false);
            };
            let Some(StoredAgentIdentity::Record(record)) = document.agent_identity.as_mut() else {
                return Ok(false);
            };
            if document.auth_mode != Some(AuthMode::AgentIdentity)
                || record.agent_runtime_id.as_deref() != Some(runtime.as_str())
            {
                return Ok(false);
            }
            record.task_id = Some(task);
            store.save(&document).map(|()| true)
        })
        .await
        .map_err(|err| AgentIdentityError::Storage(err.to_string()))?;
        drop(lock);
        if !written {
            tracing::info!("the stored agent identity changed; its run task was not written");
        }
        Ok(())
    }

    /// Logs out the manager when the identity itself was refused.
    pub(super) fn reject_if_refused(&self, generation: u64, err: &AgentIdentityError) {
        if err.requires_new_login() {
            self.reject_agent_identity(generation, err);
        }
    }

    /// Treats the cached agent identity as unusable: logged out, with the reason
    /// as the load error (nothing is written or deleted).
    fn reject_agent_identity(&self, generation: u64, err: &AgentIdentityError) {
        tracing::warn!("the agent identity cannot be used: {err}");
        let mut state = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        if state.generation == generation {
            state.resolved = None;
            state.load_error = Some(format!("the agent identity cannot be used: {err}"));
            state.generation += 1;
        }
    }

    /// Caches `auth` unless the cache moved since `generation`.
    pub(super) fn adopt_if_current(
        &self,
        auth: CodexAuth,
        source: CredentialSource,
        generation: u64,
    ) -> bool {
        let mut state = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        if state.generation != generation {
            return false;
        }
        state.resolved = Some(ResolvedAuth { auth, source });
        state.load_error = None;
        state.generation += 1;
        true
    }

    fn hand_out(&self, auth: CodexAuth, source: CredentialSource, generation: u64) -> Pass {
        if self.adopt_if_current(auth.clone(), source, generation) {
            Pass::Done(Some(auth))
        } else {
            Pass::Again
        }
    }
}

/// Whether the identity lives in a stored record (rather than a JWT).
pub(super) fn is_stored_record(auth: &CodexAuth) -> bool {
    auth.agent_identity()
        .is_some_and(|identity| identity.jwt.is_none())
        && matches!(
            auth.document().and_then(|d| d.agent_identity.as_ref()),
            Some(StoredAgentIdentity::Record(_))
        )
}
