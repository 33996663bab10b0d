//! The store-clearing step of the one logout path: under `auth.json.lock`, read the stored
//! login and remove it from every store (ephemeral, configured, and `auth.json` when the
//! configured store is another). `AuthManager::logout` and `flows::logout_with_revoke` (the
//! CLI's `codex logout`) both clear through [`clear_stores`], and both fail with the one
//! [`LogoutError`] (public as `flows::LogoutError`).

use std::path::Path;
use std::time::Duration;

use tracing::warn;

use crate::auth_dot_json::AuthDotJson;
use crate::auth_lock::{AuthFileLock, AuthLockError};
use crate::storage::{SharedAuthStorage, StorageError, stores_to_clear};

/// Why local credentials could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The cross-process lock could not be taken; nothing was removed.
    #[error(transparent)]
    Lock(#[from] AuthLockError),
    /// A store could not be cleared (the others were still cleared).
    #[error("could not remove stored credentials: {0}")]
    Storage(#[from] StorageError),
    /// The blocking storage task did not finish.
    #[error("the credential store task failed: {0}")]
    Task(String),
}

/// What clearing the stores found and did.
pub(crate) struct ClearedStores {
    /// The login the first store holding one had (`None`: not logged in), or why the stores
    /// could not be read.
    pub(crate) previous: Result<Option<AuthDotJson>, String>,
    /// Whether any store held credentials that were removed.
    pub(crate) removed: bool,
}

/// Reads the stored login and clears every store, all while holding `auth.json.lock`.
pub(crate) async fn clear_stores(
    codex_home: &Path,
    configured: SharedAuthStorage,
    lock_wait: Duration,
) -> Result<ClearedStores, LogoutError> {
    let lock = AuthFileLock::acquire(codex_home, lock_wait).await?;
    let stores = stores_to_clear(codex_home, configured);
    let result = tokio::task::spawn_blocking(move || {
        let mut previous = Ok(None);
        for store in &stores {
            match store.load() {
                Ok(Some(document)) => {
                    previous = Ok(Some(document));
                    break;
                }
                Ok(None) => {}
                Err(err) => {
                    previous = Err(format!("the stored credentials could not be read ({err})"));
                    break;
                }
            }
        }
        let mut removed = false;
        let mut first_error = None;
        for store in &stores {
            match store.delete() {
                Ok(was_there) => removed |= was_there,
                Err(err) => {
                    warn!(error = %err, "could not clear a credential store during logout");
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(LogoutError::Storage(err)),
            None => Ok(ClearedStores { previous, removed }),
        }
    })
    .await
    .map_err(|err| LogoutError::Task(err.to_string()))?;
    drop(lock);
    result
}
