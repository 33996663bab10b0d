//! `auto`: the keyring when it works, else `auth.json`, never silently.

use super::{
    AuthStorage, CredentialStoreMode, FileAuthStorage, KeyringAuthStorage, KeyringBackend,
    LoadedAuth, StorageError,
};
use crate::auth_dot_json::AuthDotJson;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// Keyring first, file as the fallback. Every fallback is logged as a
/// warning and recorded; [`AuthStorage::warnings`] returns them so `whoami`
/// can show `store=file (fallback: <reason>)`.
///
/// Load: keyring; nothing there -> file; keyring error -> warning, file.
/// Save: keyring (which removes the file); keyring error -> warning, file.
/// Delete: keyring and file; a keyring error -> warning, file only.
#[derive(Debug, Clone)]
pub struct AutoAuthStorage {
    keyring: KeyringAuthStorage,
    file: FileAuthStorage,
    warnings: Arc<Mutex<Vec<String>>>,
}

impl AutoAuthStorage {
    /// The `auto` store for `codex_home` on `backend`.
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        Self {
            keyring: KeyringAuthStorage::new(codex_home, backend),
            file: FileAuthStorage::new(codex_home),
            warnings: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Replaces the keyring store (for example to change its timeout).
    pub fn with_keyring(mut self, keyring: KeyringAuthStorage) -> Self {
        self.keyring = keyring;
        self
    }

    fn record(&self, warning: String) {
        tracing::warn!("{warning}");
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(warning);
    }
}

impl AuthStorage for AutoAuthStorage {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::Auto
    }

    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        match self.keyring.load_with_location() {
            Ok(Some(loaded)) => Ok(Some(loaded)),
            Ok(None) => self.file.load_with_location(),
            Err(err @ StorageError::Malformed { .. }) => Err(err),
            Err(err) => {
                self.record(format!(
                    "using {} because the OS keyring failed: {err}",
                    self.file.path().display()
                ));
                self.file.load_with_location()
            }
        }
    }

    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        match self.keyring.save(document) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.record(format!(
                    "saved credentials to {} because the OS keyring failed: {err}",
                    self.file.path().display()
                ));
                self.file.save(document)
            }
        }
    }

    fn delete(&self) -> Result<bool, StorageError> {
        match self.keyring.delete() {
            Ok(removed) => Ok(removed),
            Err(err) => {
                self.record(format!(
                    "could not remove credentials from the OS keyring: {err}"
                ));
                self.file.delete()
            }
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
