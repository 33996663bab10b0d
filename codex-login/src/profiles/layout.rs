//! Where profiles live.
//!
//! - the **active** profile is whatever `$CODEX_HOME/auth.json` (or the keyring entry of
//!   `$CODEX_HOME`) holds, so every tool that reads `auth.json` sees it;
//! - an **inactive** profile `NAME` lives in `$CODEX_HOME/profiles/NAME/` as if that directory
//!   were a `CODEX_HOME` of its own: `auth.json` there, or the keyring entry whose account is
//!   derived from that directory's path (so each profile has a distinct entry);
//! - `$CODEX_HOME/profiles/.active` (JSON) names the active profile, counts switches
//!   (`generation`) and records a switch in progress (`switching_to`), so a reader that takes
//!   no lock can tell that what it read may be torn and read again.
//!
//! Everything that changes this layout, and every refresh, holds `$CODEX_HOME/auth.json.lock`.

use super::name::ProfileName;
use crate::storage::{
    CredentialStoreMode, SharedAuthStorage, StorageError, create_private_dir, storage_for_mode,
    write_file_atomically,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The directory of inactive profiles in `CODEX_HOME`.
pub(crate) const PROFILES_DIR_NAME: &str = "profiles";
/// The marker naming the active profile, inside [`PROFILES_DIR_NAME`].
pub(crate) const ACTIVE_MARKER_NAME: &str = ".active";

/// `$CODEX_HOME/profiles`.
pub(crate) fn profiles_dir(codex_home: &Path) -> PathBuf {
    codex_home.join(PROFILES_DIR_NAME)
}

/// `$CODEX_HOME/profiles/NAME`: the home of inactive profile `NAME`.
pub fn profile_dir(codex_home: &Path, name: &ProfileName) -> PathBuf {
    profiles_dir(codex_home).join(name.as_str())
}

/// `$CODEX_HOME/profiles/.active`.
pub(crate) fn marker_path(codex_home: &Path) -> PathBuf {
    profiles_dir(codex_home).join(ACTIVE_MARKER_NAME)
}

/// The content of the active marker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveMarker {
    /// The format version (1).
    #[serde(default)]
    pub schema_version: u32,
    /// The active profile; `None` while the login in `auth.json` (if any) has no name yet.
    pub active: Option<String>,
    /// Counts completed and started switches.
    #[serde(default)]
    pub generation: u64,
    /// Set while a switch to this profile is under way (or was interrupted).
    #[serde(default)]
    pub switching_to: Option<String>,
}

impl ActiveMarker {
    /// The active profile's name, if it has a valid one.
    pub fn active_name(&self) -> Option<ProfileName> {
        self.active
            .as_deref()
            .and_then(|raw| ProfileName::parse(raw).ok())
    }

    /// Whether `name` is the active profile.
    pub fn is_active(&self, name: &ProfileName) -> bool {
        self.active.as_deref() == Some(name.as_str())
    }
}

/// Reads the marker; a missing marker is the default (nothing named, generation 0).
pub fn read_marker(codex_home: &Path) -> Result<ActiveMarker, StorageError> {
    let path = marker_path(codex_home);
    // A small file of ours: anything larger, or not a regular file (a FIFO), is an error.
    match crate::bounded_file::read_regular_file(&path, 64 * 1024) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| StorageError::Io {
            action: "parse",
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(ActiveMarker::default()),
        Err(source) => Err(StorageError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Replaces the marker atomically. Call only while holding `auth.json.lock`.
pub fn write_marker(codex_home: &Path, marker: &ActiveMarker) -> Result<(), StorageError> {
    let mut marker = marker.clone();
    marker.schema_version = 1;
    let text = serde_json::to_string_pretty(&marker).map_err(|err| StorageError::Io {
        action: "serialize",
        path: marker_path(codex_home),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()),
    })?;
    write_file_atomically(&marker_path(codex_home), text.as_bytes())
}

/// The store of the active profile (`$CODEX_HOME` itself).
pub(crate) fn active_store(codex_home: &Path, mode: CredentialStoreMode) -> SharedAuthStorage {
    storage_for_mode(codex_home, mode)
}

/// The store of inactive profile `name`, creating its directory (`0700`) first so the
/// keyring account derived from its canonical path is the same on every call.
pub(crate) fn inactive_store(
    codex_home: &Path,
    name: &ProfileName,
    mode: CredentialStoreMode,
) -> Result<SharedAuthStorage, StorageError> {
    let dir = profile_dir(codex_home, name);
    create_private_dir(&dir)?;
    Ok(storage_for_mode(&dir, mode))
}

/// The store of inactive profile `name` if its directory exists (else nothing is stored).
pub(crate) fn existing_inactive_store(
    codex_home: &Path,
    name: &ProfileName,
    mode: CredentialStoreMode,
) -> Option<SharedAuthStorage> {
    let dir = profile_dir(codex_home, name);
    dir.is_dir().then(|| storage_for_mode(&dir, mode))
}

/// The names of the inactive profiles (directories under `profiles/` with valid names),
/// sorted.
pub(crate) fn inactive_names(codex_home: &Path) -> Vec<ProfileName> {
    let Ok(entries) = std::fs::read_dir(profiles_dir(codex_home)) else {
        return Vec::new();
    };
    let mut names: Vec<ProfileName> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .filter_map(|raw| ProfileName::parse(&raw).ok())
        .collect();
    names.sort();
    names
}

/// Removes an inactive profile's (by then empty of credentials) directory with what is left
/// in it (the refresh-failure record, stale temporary files).
pub(crate) fn remove_profile_dir(
    codex_home: &Path,
    name: &ProfileName,
) -> Result<(), StorageError> {
    let dir = profile_dir(codex_home, name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StorageError::Io {
            action: "delete",
            path: dir,
            source,
        }),
    }
}
