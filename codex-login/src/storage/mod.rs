//! Where credentials are kept: `auth.json`, the OS keyring, both (`auto`),
//! or process memory (`ephemeral`), behind the one [`AuthStorage`] trait.
//!
//! Every backend stores the same JSON document ([`AuthDotJson`]): pretty in
//! the file, compact in the keyring. Operations are synchronous; async
//! callers (the `AuthManager`) run them on the blocking pool, and keyring
//! calls are additionally bounded by a timeout.

mod auto;
mod ephemeral;
mod file;
pub(crate) use file::create_private_dir;
mod keyring_store;
mod os_keyring;

pub use auto::AutoAuthStorage;
pub use ephemeral::EphemeralAuthStorage;
pub use file::{
    AUTH_FILE_NAME, FileAuthStorage, STALE_TEMP_FILE_AGE, remove_stale_temp_files,
    write_file_atomically,
};
pub use keyring_store::{
    DEFAULT_KEYRING_TIMEOUT, KEYRING_CHUNK_PREFIX, KEYRING_CHUNK_SIZE, KEYRING_SERVICE,
    KeyringAuthStorage, KeyringBackend, KeyringBackendError,
};
pub use os_keyring::{CHUNK_ON_WRITE, OS_KEYRING_NAME, OsKeyring};

pub use crate::auth_lock::{AuthFileLock, AuthLockError, DEFAULT_LOCK_WAIT, LOCK_FILE_NAME};

use crate::auth_dot_json::{AuthDotJson, AuthJsonProblem};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `cli_auth_credentials_store` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CredentialStoreMode {
    /// `auth.json` in `CODEX_HOME` (the default).
    #[default]
    File,
    /// The OS keyring only; fails when there is none.
    Keyring,
    /// The keyring when it works, else `auth.json`, with a recorded warning.
    Auto,
    /// Process memory only; never touches disk.
    Ephemeral,
}

impl CredentialStoreMode {
    /// Parses the config spelling (`file`, `keyring`, `auto`, `ephemeral`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "file" => Some(Self::File),
            "keyring" => Some(Self::Keyring),
            "auto" => Some(Self::Auto),
            "ephemeral" => Some(Self::Ephemeral),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Keyring => "keyring",
            Self::Auto => "auto",
            Self::Ephemeral => "ephemeral",
        }
    }
}

impl fmt::Display for CredentialStoreMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a loaded document actually came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// `auth.json` at this path.
    File(PathBuf),
    /// The OS keyring entry (service, account).
    Keyring {
        /// The keyring service (`Codex Auth`).
        service: String,
        /// The keyring account (`cli|<16 hex>`).
        account: String,
    },
    /// The in-memory store for this process.
    Ephemeral,
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Keyring { service, account } => {
                write!(f, "the OS keyring entry {service:?} / {account:?}")
            }
            Self::Ephemeral => f.write_str("the in-memory credential store"),
        }
    }
}

/// A document and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedAuth {
    /// The document.
    pub document: AuthDotJson,
    /// Where it was read from.
    pub location: StoreLocation,
}

/// Why a store operation failed. Messages name the file or keyring entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The stored document is not a valid `auth.json`. The stored bytes are
    /// left untouched.
    #[error("{location} is not a valid auth.json: {problem}")]
    Malformed {
        /// The file or keyring entry.
        location: StoreLocation,
        /// What is wrong with it.
        problem: AuthJsonProblem,
    },
    /// Reading, writing or deleting a file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `delete`, `create directory`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store cannot be written, so a refresh would lose its result.
    #[error(
        "{location} cannot be written ({reason}); not refreshing, because the new tokens could not be saved"
    )]
    NotWritable {
        /// The file or keyring entry.
        location: StoreLocation,
        /// Why not.
        reason: String,
    },
    /// The OS keyring refused an operation. The message names the store
    /// (for example the Secret Service) and what to do.
    #[error("the OS keyring could not {action} {account:?}: {message}")]
    Keyring {
        /// What was being done (`read`, `write`, `delete`).
        action: &'static str,
        /// The keyring account.
        account: String,
        /// The keyring's explanation.
        message: String,
    },
    /// The OS keyring did not answer in time (locked keyring, missing D-Bus).
    #[error(
        "the OS keyring ({store}) did not answer within {seconds} s while trying to {action} \
         {account:?}; it may be waiting for an unlock prompt that cannot be shown, or be hung: \
         unlock or restart it, or set cli_auth_credentials_store = \"file\"",
        store = OS_KEYRING_NAME
    )]
    KeyringTimeout {
        /// What was being done.
        action: &'static str,
        /// The keyring account.
        account: String,
        /// The timeout.
        seconds: u64,
    },
}

impl StorageError {
    /// What kind of failure this is (always a storage failure).
    pub fn kind(&self) -> codex_auth_provider::AuthErrorKind {
        codex_auth_provider::AuthErrorKind::Storage
    }
}

/// A credential store.
pub trait AuthStorage: Send + Sync + fmt::Debug {
    /// Which backend this is.
    fn mode(&self) -> CredentialStoreMode;

    /// Loads the stored document and where it came from; `None` when nothing
    /// is stored.
    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError>;

    /// Loads the stored document; `None` when nothing is stored.
    fn load(&self) -> Result<Option<AuthDotJson>, StorageError> {
        Ok(self.load_with_location()?.map(|loaded| loaded.document))
    }

    /// Replaces the stored document.
    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError>;

    /// Removes the stored document; returns whether anything was removed.
    fn delete(&self) -> Result<bool, StorageError>;

    /// Checks, without changing anything, that a later [`AuthStorage::save`]
    /// can succeed. Refresh calls this before spending a refresh token.
    fn check_writable(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Warnings recorded so far (for example an `auto` store that fell back
    /// to the file), oldest first, so `whoami` can show them.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A shared, type-erased store.
pub type SharedAuthStorage = Arc<dyn AuthStorage>;

/// The keyring account (and ephemeral key) for a `CODEX_HOME`: `cli|` and the
/// first 16 hex digits of SHA-256 of the canonical path (the path as given
/// when it cannot be canonicalised).
pub fn store_key(codex_home: &Path) -> String {
    let canonical = std::fs::canonicalize(codex_home).unwrap_or_else(|_| codex_home.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let hex = hex::encode(digest);
    format!("cli|{}", &hex[..16])
}

/// The store for a mode, using the real OS keyring.
pub fn storage_for_mode(codex_home: &Path, mode: CredentialStoreMode) -> SharedAuthStorage {
    match mode {
        CredentialStoreMode::File => Arc::new(FileAuthStorage::new(codex_home)),
        CredentialStoreMode::Keyring => {
            Arc::new(KeyringAuthStorage::new(codex_home, Arc::new(OsKeyring)))
        }
        CredentialStoreMode::Auto => {
            Arc::new(AutoAuthStorage::new(codex_home, Arc::new(OsKeyring)))
        }
        CredentialStoreMode::Ephemeral => Arc::new(EphemeralAuthStorage::new(codex_home)),
    }
}

pub(crate) fn parse_document(
    bytes: &[u8],
    location: StoreLocation,
) -> Result<LoadedAuth, StorageError> {
    match AuthDotJson::from_json_bytes(bytes) {
        Ok(document) => Ok(LoadedAuth { document, location }),
        Err(problem) => Err(StorageError::Malformed { location, problem }),
    }
}

/// The stores a logout (or a restriction violation) clears: the in-memory store, the
/// `configured` store, and `auth.json` (which a keyring or auto store may have fallen back to).
pub(crate) fn stores_to_clear(
    codex_home: &Path,
    configured: SharedAuthStorage,
) -> Vec<SharedAuthStorage> {
    let mut stores: Vec<SharedAuthStorage> = vec![
        Arc::new(EphemeralAuthStorage::new(codex_home)),
        configured.clone(),
    ];
    if configured.mode() != CredentialStoreMode::File {
        stores.push(Arc::new(FileAuthStorage::new(codex_home)));
    }
    stores
}
