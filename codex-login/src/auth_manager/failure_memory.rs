//! Failure memory: refresh tokens that already failed for good, in memory
//! and in the on-disk refresh-failure record.

use super::errors::RefreshTokenError;
use super::{AuthManager, token_fingerprint};
use crate::resolution::CredentialSource;
use codex_auth_provider::SecretString;
use std::sync::PoisonError;

impl AuthManager {
    pub(super) fn failure_for(&self, refresh_token: &SecretString) -> Option<RefreshTokenError> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token_fingerprint(refresh_token))
            .cloned()
    }

    pub(super) fn remember_failure(&self, refresh_token: &SecretString, error: &RefreshTokenError) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token_fingerprint(refresh_token), error.clone());
    }

    /// The failure any process recorded beside `auth.json` for `refresh_token`
    /// (see [`crate::refresh_failure_record`]); in-memory credentials have none.
    pub(super) async fn recorded_failure(
        &self,
        source: &CredentialSource,
        refresh_token: &SecretString,
    ) -> Option<RefreshTokenError> {
        if matches!(source, CredentialSource::Ephemeral) {
            return None;
        }
        let home = self.codex_home.clone();
        let token = refresh_token.clone();
        tokio::task::spawn_blocking(move || {
            crate::refresh_failure_record::recorded_failure(&home, &token)
        })
        .await
        .ok()
        .flatten()
        .map(RefreshTokenError::from)
    }

    /// Records for every process that `refresh_token` must not be sent again.
    /// A failure to write the record is logged; the refresh error stands.
    pub(super) async fn record_failure(
        &self,
        source: &CredentialSource,
        refresh_token: &SecretString,
        error: &RefreshTokenError,
    ) {
        if matches!(source, CredentialSource::Ephemeral) {
            return;
        }
        let Some(failure) = error.to_record() else {
            return;
        };
        let home = self.codex_home.clone();
        let token = refresh_token.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::refresh_failure_record::record_failure(&home, &token, &failure)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("could not record the failed refresh: {err}"),
            Err(err) => tracing::warn!("could not record the failed refresh: {err}"),
        }
    }
}
