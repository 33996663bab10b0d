//! The in-memory store: process-global, keyed like the keyring, never on disk.

use super::{AuthStorage, CredentialStoreMode, LoadedAuth, StorageError, StoreLocation, store_key};
use crate::auth_dot_json::AuthDotJson;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

fn documents() -> &'static Mutex<HashMap<String, AuthDotJson>> {
    static DOCUMENTS: OnceLock<Mutex<HashMap<String, AuthDotJson>>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Credentials held in process memory for one `CODEX_HOME` (for example
/// tokens handed over by a host app). Every instance for the same home sees
/// the same document.
#[derive(Debug, Clone)]
pub struct EphemeralAuthStorage {
    key: String,
}

impl EphemeralAuthStorage {
    /// The in-memory store for `codex_home`.
    pub fn new(codex_home: &Path) -> Self {
        Self {
            key: store_key(codex_home),
        }
    }
}

impl AuthStorage for EphemeralAuthStorage {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::Ephemeral
    }

    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        let map = documents().lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(&self.key).map(|document| LoadedAuth {
            document: document.clone(),
            location: StoreLocation::Ephemeral,
        }))
    }

    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        let mut map = documents().lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(self.key.clone(), document.clone());
        Ok(())
    }

    fn delete(&self) -> Result<bool, StorageError> {
        let mut map = documents().lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.remove(&self.key).is_some())
    }
}
