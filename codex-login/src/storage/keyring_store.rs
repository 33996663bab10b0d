//! The OS keyring store, with upstream's naming and chunking.

use super::os_keyring::CHUNK_ON_WRITE;
use super::{
    AuthStorage, CredentialStoreMode, FileAuthStorage, LoadedAuth, StorageError, StoreLocation,
    parse_document, store_key,
};
use crate::auth_dot_json::AuthDotJson;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The keyring service name.
pub const KEYRING_SERVICE: &str = "Codex Auth";
/// Values longer than this many characters are split into chunks (when the
/// store chunks at all; see [`KeyringAuthStorage::with_chunking`]).
pub const KEYRING_CHUNK_SIZE: usize = 1200;
/// Prefix of a chunked main entry: `CODEX_CHUNKED:<count>:<first chunk>`.
pub const KEYRING_CHUNK_PREFIX: &str = "CODEX_CHUNKED:";
/// How long one keyring operation may take before it is abandoned.
pub const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

/// A keyring backend's failure, as text (keyring errors are not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyringBackendError(pub String);

/// The primitive keyring operations, so tests can swap in a failing store.
/// Calls may block; [`KeyringAuthStorage`] runs them on a helper thread with
/// a timeout.
pub trait KeyringBackend: Send + Sync + fmt::Debug + 'static {
    /// Reads an entry; `None` when there is none.
    fn get(&self, service: &str, account: &str) -> Result<Option<String>, KeyringBackendError>;
    /// Creates or replaces an entry.
    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringBackendError>;
    /// Removes an entry; returns whether it existed.
    fn delete(&self, service: &str, account: &str) -> Result<bool, KeyringBackendError>;
}

/// Credentials in the OS keyring: service `Codex Auth`, account
/// `cli|<16 hex of sha256(canonical CODEX_HOME)>`, compact JSON, one entry
/// (what the official CLI writes and reads on Linux). Where the platform
/// store needs it (Windows, see [`CHUNK_ON_WRITE`]), values over 1200
/// characters are chunked: the main entry holds
/// `CODEX_CHUNKED:<count>:<first chunk>` and chunk `i` (from 1) lives under
/// `<account>:<i>`; chunks are written before the main entry. Chunked values
/// are read back everywhere.
///
/// A successful save removes a leftover `auth.json` (a failure to do so is
/// only logged); delete removes both.
#[derive(Debug, Clone)]
pub struct KeyringAuthStorage {
    backend: Arc<dyn KeyringBackend>,
    account: String,
    file: FileAuthStorage,
    timeout: Duration,
    chunking: bool,
}

impl KeyringAuthStorage {
    /// The keyring store for `codex_home` on `backend`.
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        Self {
            backend,
            account: store_key(codex_home),
            file: FileAuthStorage::new(codex_home),
            timeout: DEFAULT_KEYRING_TIMEOUT,
            chunking: CHUNK_ON_WRITE,
        }
    }

    /// Whether long values are written in chunks (default: [`CHUNK_ON_WRITE`]).
    pub fn with_chunking(mut self, chunking: bool) -> Self {
        self.chunking = chunking;
        self
    }

    /// Changes the per-operation timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The keyring account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    fn location(&self) -> StoreLocation {
        StoreLocation::Keyring {
            service: KEYRING_SERVICE.to_owned(),
            account: self.account.clone(),
        }
    }

    /// Runs `op` on a helper thread and gives up after the timeout, so a
    /// keyring that hangs (locked collection, missing D-Bus) cannot hang us.
    fn bounded<T: Send + 'static>(
        &self,
        action: &'static str,
        op: impl FnOnce(&dyn KeyringBackend, &str) -> Result<T, KeyringBackendError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let backend = Arc::clone(&self.backend);
        let account = self.account.clone();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("codex-keyring".to_owned())
            .spawn(move || {
                let result = op(backend.as_ref(), &account);
                // The receiver may have given up; nothing to do then.
                let _ = sender.send(result);
            })
            .map_err(|err| StorageError::Keyring {
                action,
                account: self.account.clone(),
                message: format!("cannot start the keyring thread: {err}"),
            })?;
        match receiver.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StorageError::Keyring {
                action,
                account: self.account.clone(),
                message: err.0,
            }),
            Err(_) => Err(StorageError::KeyringTimeout {
                action,
                account: self.account.clone(),
                seconds: self.timeout.as_secs().max(1),
            }),
        }
    }
}

fn chunk_account(account: &str, index: usize) -> String {
    format!("{account}:{index}")
}

fn split_chunks(value: &str) -> Vec<String> {
    let chars: Vec<char> = value.chars().collect();
    chars
        .chunks(KEYRING_CHUNK_SIZE)
        .map(|chunk| chunk.iter().collect())
        .collect()
}

/// Parses `CODEX_CHUNKED:<count>:<first>`; `None` when the value is not chunked.
fn parse_chunk_header(value: &str) -> Option<Result<(usize, &str), KeyringBackendError>> {
    let rest = value.strip_prefix(KEYRING_CHUNK_PREFIX)?;
    let parsed = rest
        .split_once(':')
        .and_then(|(count, first)| count.parse::<usize>().ok().map(|count| (count, first)))
        .filter(|(count, _)| *count >= 1)
        .ok_or_else(|| KeyringBackendError("the chunked entry header is malformed".to_owned()));
    Some(parsed)
}

fn read_value(
    backend: &dyn KeyringBackend,
    account: &str,
) -> Result<Option<String>, KeyringBackendError> {
    let Some(main) = backend.get(KEYRING_SERVICE, account)? else {
        return Ok(None);
    };
    let Some(header) = parse_chunk_header(&main) else {
        return Ok(Some(main));
    };
    let (count, first) = header?;
    let mut value = first.to_owned();
    for index in 1..count {
        let chunk = backend
            .get(KEYRING_SERVICE, &chunk_account(account, index))?
            .ok_or_else(|| KeyringBackendError(format!("chunk {index} of {count} is missing")))?;
        value.push_str(&chunk);
    }
    Ok(Some(value))
}

fn write_value(
    backend: &dyn KeyringBackend,
    account: &str,
    value: &str,
    chunking: bool,
) -> Result<(), KeyringBackendError> {
    let chunks = if chunking && value.chars().count() > KEYRING_CHUNK_SIZE {
        split_chunks(value)
    } else {
        vec![value.to_owned()]
    };
    for (index, chunk) in chunks.iter().enumerate().skip(1) {
        backend.set(KEYRING_SERVICE, &chunk_account(account, index), chunk)?;
    }
    let main = if chunks.len() > 1 {
        format!(
            "{KEYRING_CHUNK_PREFIX}{}:{}",
            chunks.len(),
            chunks.first().map(String::as_str).unwrap_or_default()
        )
    } else {
        value.to_owned()
    };
    backend.set(KEYRING_SERVICE, account, &main)?;
    // Remove chunks a previous, longer value left behind.
    let mut index = chunks.len().max(1);
    while backend.delete(KEYRING_SERVICE, &chunk_account(account, index))? {
        index += 1;
    }
    Ok(())
}

fn delete_value(backend: &dyn KeyringBackend, account: &str) -> Result<bool, KeyringBackendError> {
    let count = match backend.get(KEYRING_SERVICE, account)? {
        Some(main) => match parse_chunk_header(&main) {
            Some(Ok((count, _))) => count,
            _ => 1,
        },
        None => 1,
    };
    for index in 1..count {
        backend.delete(KEYRING_SERVICE, &chunk_account(account, index))?;
    }
    backend.delete(KEYRING_SERVICE, account)
}

impl AuthStorage for KeyringAuthStorage {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::Keyring
    }

    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        let value = self.bounded("read", read_value)?;
        match value {
            Some(text) => parse_document(text.as_bytes(), self.location()).map(Some),
            None => Ok(None),
        }
    }

    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        let text = document.to_compact_json();
        let chunking = self.chunking;
        self.bounded("write", move |backend, account| {
            write_value(backend, account, &text, chunking)
        })?;
        if let Err(err) = self.file.delete() {
            tracing::warn!(
                "saved credentials to the OS keyring but could not remove the old file: {err}"
            );
        }
        Ok(())
    }

    fn delete(&self) -> Result<bool, StorageError> {
        let removed_entry = self.bounded("delete", delete_value)?;
        let removed_file = self.file.delete()?;
        Ok(removed_entry || removed_file)
    }
}
