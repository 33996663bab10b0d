//! Saving a login's result into the configured credential store, under the cross-process lock.

use std::path::PathBuf;

use chrono::Utc;
use codex_auth_provider::SecretString;

use super::token_endpoint::ExchangedTokens;
use crate::auth_dot_json::{AuthDotJson, StoredTokens};
use crate::auth_lock::{AuthFileLock, AuthLockError, DEFAULT_LOCK_WAIT};
use crate::storage::{CredentialStoreMode, SharedAuthStorage, StorageError, storage_for_mode};

/// Why a login could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The cross-process lock on `auth.json.lock` could not be taken.
    #[error(transparent)]
    Lock(#[from] AuthLockError),
    /// The store refused the write.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blocking storage task did not finish.
    #[error("the credential store task failed: {0}")]
    Task(String),
}

/// Where a login's credentials go.
#[derive(Debug, Clone)]
pub struct CredentialTarget {
    /// `CODEX_HOME` (holds `auth.json` and the lock file).
    pub codex_home: PathBuf,
    /// The configured store mode.
    pub store_mode: CredentialStoreMode,
    /// A store to use instead of the one `store_mode` names (tests, embedders).
    pub storage: Option<SharedAuthStorage>,
}

impl CredentialTarget {
    /// The store to write to.
    pub fn storage(&self) -> SharedAuthStorage {
        self.storage
            .clone()
            .unwrap_or_else(|| storage_for_mode(&self.codex_home, self.store_mode))
    }
}

/// Replaces the stored document, holding `auth.json.lock` so no refresh interleaves.
/// Returns the document it replaced (`None` when nothing, or nothing readable, was stored).
pub(crate) async fn save_document(
    target: &CredentialTarget,
    document: AuthDotJson,
) -> Result<Option<AuthDotJson>, PersistError> {
    let lock = AuthFileLock::acquire(&target.codex_home, DEFAULT_LOCK_WAIT).await?;
    let storage = target.storage();
    let result = tokio::task::spawn_blocking(move || {
        let previous = storage.load().ok().flatten();
        storage.save(&document).map(|()| previous)
    })
    .await
    .map_err(|err| PersistError::Task(err.to_string()))?;
    drop(lock);
    Ok(result?)
}

/// Saves a ChatGPT login as the official CLI does: `auth_mode: chatgpt`, the exchanged API key
/// (or `null`), the tokens with `account_id`, and `last_refresh = now`. Returns the replaced
/// document.
pub(crate) async fn persist_chatgpt_login(
    target: &CredentialTarget,
    tokens: &ExchangedTokens,
    account_id: Option<&str>,
    api_key: Option<&SecretString>,
) -> Result<Option<AuthDotJson>, PersistError> {
    let stored = StoredTokens::new(
        tokens.id_token.clone(),
        tokens.access_token.clone(),
        tokens.refresh_token.clone(),
        account_id.map(str::to_owned),
    );
    let document = AuthDotJson::chatgpt(stored, api_key.cloned(), Utc::now());
    save_document(target, document).await
}
