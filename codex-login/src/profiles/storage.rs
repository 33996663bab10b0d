//! [`ProfileAuthStorage`]: the store of one profile chosen by name, wherever it lives now.

use super::layout::{
    ActiveMarker, active_store, existing_inactive_store, inactive_store, read_marker, write_marker,
};
use super::name::ProfileName;
use crate::auth_dot_json::AuthDotJson;
use crate::storage::{
    AuthStorage, CredentialStoreMode, LoadedAuth, SharedAuthStorage, StorageError,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a reader retries while a switch is under way, and how long it sleeps between.
const READ_RETRIES: u32 = 300;
const READ_RETRY_SLEEP: Duration = Duration::from_millis(10);

/// The store of profile `name`: `$CODEX_HOME`'s store while it is active, else the one in
/// `$CODEX_HOME/profiles/NAME`. Every operation decides anew where the profile is.
///
/// Writes and deletes must run under `$CODEX_HOME/auth.json.lock` (the flows and the
/// `AuthManager` do), which also excludes a switch. Reads may run without the lock: they
/// re-read the marker afterwards and read again when a switch happened in between.
///
/// Saving a profile that does not exist yet while nothing is logged in makes it the active
/// one, so a first `codex login --profile NAME` is seen by every tool.
#[derive(Debug, Clone)]
pub struct ProfileAuthStorage {
    codex_home: PathBuf,
    name: ProfileName,
    mode: CredentialStoreMode,
}

impl ProfileAuthStorage {
    /// The store of `name` in `codex_home` with the configured mode.
    pub fn new(codex_home: &Path, name: ProfileName, mode: CredentialStoreMode) -> Self {
        Self {
            codex_home: codex_home.to_path_buf(),
            name,
            mode,
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &ProfileName {
        &self.name
    }

    fn store_for(&self, marker: &ActiveMarker) -> Result<SharedAuthStorage, StorageError> {
        if marker.is_active(&self.name) {
            Ok(active_store(&self.codex_home, self.mode))
        } else {
            inactive_store(&self.codex_home, &self.name, self.mode)
        }
    }

    fn switch_in_progress(&self) -> StorageError {
        StorageError::Io {
            action: "read",
            path: super::layout::marker_path(&self.codex_home),
            source: std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "a profile switch is under way or was interrupted; run `codex profile list` to finish it",
            ),
        }
    }
}

impl AuthStorage for ProfileAuthStorage {
    fn mode(&self) -> CredentialStoreMode {
        self.mode
    }

    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        for _ in 0..READ_RETRIES {
            let before = read_marker(&self.codex_home)?;
            if before.switching_to.is_some() {
                std::thread::sleep(READ_RETRY_SLEEP);
                continue;
            }
            let loaded = if before.is_active(&self.name) {
                active_store(&self.codex_home, self.mode).load_with_location()
            } else {
                match existing_inactive_store(&self.codex_home, &self.name, self.mode) {
                    Some(store) => store.load_with_location(),
                    None => Ok(None),
                }
            };
            if read_marker(&self.codex_home)? == before {
                return loaded;
            }
        }
        Err(self.switch_in_progress())
    }

    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        let mut marker = read_marker(&self.codex_home)?;
        if marker.switching_to.is_some() {
            return Err(self.switch_in_progress());
        }
        if marker.active.is_none()
            && !marker.is_active(&self.name)
            && existing_inactive_store(&self.codex_home, &self.name, self.mode).is_none()
            && active_store(&self.codex_home, self.mode).load()?.is_none()
        {
            // Nothing is logged in: this new profile becomes the active one.
            active_store(&self.codex_home, self.mode).save(document)?;
            marker.active = Some(self.name.as_str().to_owned());
            marker.generation += 1;
            return write_marker(&self.codex_home, &marker);
        }
        self.store_for(&marker)?.save(document)
    }

    fn delete(&self) -> Result<bool, StorageError> {
        let marker = read_marker(&self.codex_home)?;
        if marker.switching_to.is_some() {
            return Err(self.switch_in_progress());
        }
        if marker.is_active(&self.name) {
            return active_store(&self.codex_home, self.mode).delete();
        }
        match existing_inactive_store(&self.codex_home, &self.name, self.mode) {
            Some(store) => store.delete(),
            None => Ok(false),
        }
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        let marker = read_marker(&self.codex_home)?;
        self.store_for(&marker)?.check_writable()
    }

    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}
