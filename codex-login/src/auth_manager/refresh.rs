//! `run_refresh`: the refresh protocol of the module docs, its endpoint URL
//! and its lazily built HTTP client.

use super::errors::{RefreshOutcome, RefreshTokenError};
use super::{AuthManager, RefreshMode, identity_guard, read_store, run_blocking, save_rescue};
use crate::auth_dot_json::{AuthMode, StoredIdToken, StoredTimestamp};
use crate::auth_lock::AuthFileLock;
use crate::codex_auth::{CodexAuth, same_identity};
use crate::refresh::{
    REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR, RefreshFailureReason, RefreshReason, RefreshRequestError,
    refresh_token_url, send_refresh_request,
};
use crate::resolution::CredentialSource;
use crate::storage::SharedAuthStorage;
use std::sync::{Arc, PoisonError};

impl AuthManager {
    pub(super) fn refresh_url(&self) -> Result<url::Url, RefreshTokenError> {
        let override_url = self
            .refresh_token_url
            .clone()
            .or_else(|| (self.env)(REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR));
        let text = refresh_token_url(override_url.as_deref(), &self.issuer);
        url::Url::parse(&text).map_err(|err| {
            RefreshTokenError::Config(format!("the refresh token URL is not a valid URL: {err}"))
        })
    }

    pub(super) fn http_client(&self) -> Result<reqwest::Client, RefreshTokenError> {
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let built = self
            .http_factory()
            .and_then(|factory| factory.default_client())
            .map_err(|err| RefreshTokenError::Config(err.to_string()))?;
        *client = Some(built.clone());
        Ok(built)
    }

    /// Re-reads the store without the lock and adopts newer credentials for
    /// the same identity. Used by the reload step of 401 recovery. Returns
    /// whether the cache changed.
    pub(crate) async fn reload_same_identity(&self) -> Result<bool, RefreshTokenError> {
        let (resolved, _) = self.snapshot();
        let Some(cached) = resolved else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let Some(store) = self.store_for(&cached.source) else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let stored = read_store(&store).await?;
        let Some(stored) = stored else {
            return Err(RefreshTokenError::account_mismatch());
        };
        if stored.same_credentials(&cached.auth) {
            return Ok(false);
        }
        if !same_identity(&cached.auth, &stored) {
            return Err(RefreshTokenError::account_mismatch());
        }
        self.adopt(stored, cached.source);
        Ok(true)
    }

    /// The refresh protocol described in the module docs.
    pub(crate) async fn run_refresh(
        &self,
        mode: RefreshMode,
        reason: RefreshReason,
        observed_generation: u64,
    ) -> Result<RefreshOutcome, RefreshTokenError> {
        self.enforce_restrictions().await?;
        let _gate = self.refresh_gate.lock().await;

        let (resolved, generation) = self.snapshot();
        let Some(cached) = resolved else {
            return Err(RefreshTokenError::account_mismatch());
        };
        match mode {
            RefreshMode::Proactive if !self.needs_proactive_refresh(&cached.auth) => {
                return Ok(if generation == observed_generation {
                    RefreshOutcome::NotNeeded
                } else {
                    RefreshOutcome::Adopted
                });
            }
            RefreshMode::Guarded | RefreshMode::Authority if generation != observed_generation => {
                // Another caller in this process changed the credentials
                // while we waited: theirs are at least as new as ours.
                return Ok(RefreshOutcome::Adopted);
            }
            _ => {}
        }
        // issue 19: host-supplied tokens are refreshed by their host, in memory only.
        if cached.auth.auth_mode() == AuthMode::ChatgptAuthTokens && self.host_can_refresh() {
            return self.refresh_host_tokens(&cached.auth, reason).await;
        }
        if cached.auth.auth_mode() != AuthMode::Chatgpt {
            return Err(RefreshTokenError::Permanent {
                reason: RefreshFailureReason::Other,
                message: "Only ChatGPT logins managed by Codex can be refreshed.".to_owned(),
            });
        }
        let Some(store) = self.store_for(&cached.source) else {
            return Err(RefreshTokenError::Permanent {
                reason: RefreshFailureReason::Other,
                message: "Credentials from the environment cannot be refreshed.".to_owned(),
            });
        };

        let lock = AuthFileLock::acquire(&self.codex_home, self.lock_wait).await?;

        let Some(stored) = read_store(&store).await? else {
            return Err(RefreshTokenError::account_mismatch());
        };
        let base = if !stored.same_credentials(&cached.auth) {
            if !same_identity(&cached.auth, &stored) {
                return Err(RefreshTokenError::account_mismatch());
            }
            self.adopt(stored.clone(), cached.source.clone());
            if mode != RefreshMode::Proactive || !self.needs_proactive_refresh(&stored) {
                return Ok(RefreshOutcome::Adopted);
            }
            stored
        } else {
            // Same credentials; the stored copy also carries any fields
            // another writer added, which the rewrite must keep.
            stored
        };

        let Some(refresh_token) = base.refresh_token().filter(|t| !t.is_empty()).cloned() else {
            return Err(RefreshTokenError::permanent(RefreshFailureReason::Other));
        };
        if let Some(previous) = self.failure_for(&refresh_token) {
            return Err(previous);
        }
        if let Some(recorded) = self.recorded_failure(&cached.source, &refresh_token).await {
            // Another process already spent (or lost) this token: never send it again.
            self.remember_failure(&refresh_token, &recorded);
            return Err(recorded);
        }
        {
            let store = Arc::clone(&store);
            run_blocking(move || store.check_writable()).await?;
        }
        let url = self.refresh_url()?;
        identity_guard::ensure_refresh_at_minting_issuer(&base, &url)?;
        let client = self.http_client()?;

        match send_refresh_request(&client, &url, &refresh_token, reason).await {
            Ok(tokens) => {
                self.refuse_foreign_identity(&base, &tokens, &cached.source, &refresh_token)
                    .await?;
                let mut document = base.document().cloned().unwrap_or_default();
                if let Some(stored_tokens) = document.tokens.as_mut() {
                    if let Some(id_token) = tokens.id_token {
                        stored_tokens.id_token = Some(StoredIdToken::Jwt(id_token));
                    }
                    if let Some(access_token) = tokens.access_token {
                        stored_tokens.access_token = access_token;
                    }
                    if let Some(new_refresh) = tokens.refresh_token {
                        stored_tokens.refresh_token = new_refresh;
                    }
                }
                document.last_refresh = Some(StoredTimestamp::new(self.clock.now()));
                let refreshed = match CodexAuth::from_auth_dot_json(document.clone()) {
                    Ok(refreshed) => refreshed,
                    Err(problem) => {
                        // The issuer answered, so the old refresh token may be spent, but
                        // its tokens cannot be used: save nothing and never resend it.
                        let error = RefreshTokenError::OutcomeUnknown(format!(
                            "{} (the token endpoint answered with tokens that cannot be \
                             used: {problem})",
                            crate::refresh::REFRESH_OUTCOME_UNKNOWN_MESSAGE
                        ));
                        self.remember_failure(&refresh_token, &error);
                        self.record_failure(&cached.source, &refresh_token, &error)
                            .await;
                        return Err(error);
                    }
                };
                if let Err(error) = save_rescue::save_refreshed(
                    &store,
                    &document,
                    &refresh_token,
                    &self.codex_home,
                    &cached.source,
                )
                .await
                {
                    // Keep what was received: this process goes on with the new tokens.
                    self.adopt_received(refreshed, cached.source);
                    return Err(error);
                }
                drop(lock);
                self.adopt_received(refreshed, cached.source);
                Ok(RefreshOutcome::Refreshed)
            }
            Err(RefreshRequestError::Permanent {
                reason: failure, ..
            }) => {
                if failure == RefreshFailureReason::Exhausted
                    && let Some(outcome) = self
                        .adopt_if_store_moved(&store, &base, &cached.source)
                        .await?
                {
                    return Ok(outcome);
                }
                let error = RefreshTokenError::permanent(failure);
                self.remember_failure(&refresh_token, &error);
                self.record_failure(&cached.source, &refresh_token, &error)
                    .await;
                Err(error)
            }
            Err(RefreshRequestError::Transient(message)) => {
                Err(RefreshTokenError::Transient(message))
            }
            Err(err @ RefreshRequestError::OutcomeUnknown { .. }) => {
                if let Some(outcome) = self
                    .adopt_if_store_moved(&store, &base, &cached.source)
                    .await?
                {
                    return Ok(outcome);
                }
                let error = RefreshTokenError::OutcomeUnknown(err.to_string());
                self.remember_failure(&refresh_token, &error);
                self.record_failure(&cached.source, &refresh_token, &error)
                    .await;
                Err(error)
            }
            Err(err @ RefreshRequestError::UnsafeUrl(_)) => {
                Err(RefreshTokenError::Config(err.to_string()))
            }
        }
    }

    /// After a reuse refusal or a lost answer: if the store now holds other
    /// credentials for the same identity (someone else refreshed), adopt them.
    pub(super) async fn adopt_if_store_moved(
        &self,
        store: &SharedAuthStorage,
        base: &CodexAuth,
        source: &CredentialSource,
    ) -> Result<Option<RefreshOutcome>, RefreshTokenError> {
        let Some(stored) = read_store(store).await? else {
            return Ok(None);
        };
        if stored.same_credentials(base) || !same_identity(base, &stored) {
            return Ok(None);
        }
        self.adopt(stored, source.clone());
        Ok(Some(RefreshOutcome::Adopted))
    }
}
