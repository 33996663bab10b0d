//! Issue 13, point 2, through the library: a store that cannot save (but can still be read and
//! passes the writability check) after the issuer rotated the refresh token. The new tokens are
//! kept in memory, the spent refresh token is recorded beside `auth.json`, and another process
//! never sends it again. (The full-disk case, where not even the record can be written, runs
//! the real binary on a tmpfs: `codex-cli/tests/cli_hostile.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_login::auth_dot_json::AuthDotJson;
use codex_login::auth_manager::{GuardError, SpentTokenGuard};
use codex_login::storage::{AuthStorage, FileAuthStorage, LoadedAuth, StorageError};
use codex_login::{auth_manager::RefreshTokenError, storage::CredentialStoreMode};
use core_support::{emulator, issue, manager_config, seed_home, stored_refresh_token};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `auth.json` that reads fine but whose saves fail as on a full disk.
#[derive(Debug)]
struct NoSpaceStorage {
    inner: FileAuthStorage,
    saves: AtomicUsize,
}

impl AuthStorage for NoSpaceStorage {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::File
    }
    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        self.inner.load_with_location()
    }
    fn save(&self, _document: &AuthDotJson) -> Result<(), StorageError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        Err(StorageError::Io {
            action: "write",
            path: self.inner.path().to_path_buf(),
            source: std::io::Error::from_raw_os_error(28),
        })
    }
    fn delete(&self) -> Result<bool, StorageError> {
        self.inner.delete()
    }
}

#[tokio::test]
async fn an_unsaved_refresh_is_kept_in_memory_and_its_spent_token_is_never_sent_again() {
    let emu = emulator().await;
    let home = tempfile::tempdir().unwrap();
    seed_home(home.path(), &issue(&emu, -60));
    let spent = stored_refresh_token(home.path());
    let storage = Arc::new(NoSpaceStorage {
        inner: FileAuthStorage::new(home.path()),
        saves: AtomicUsize::new(0),
    });
    let mut config = manager_config(home.path(), &emu);
    config.storage = Some(storage.clone());
    let manager = codex_login::auth_manager::AuthManager::shared(config);

    let err = manager.refresh_token_from_authority().await.unwrap_err();
    let RefreshTokenError::Guard(GuardError::NotSaved(not_saved)) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(not_saved.guard, SpentTokenGuard::Recorded);
    assert_eq!(
        storage.saves.load(Ordering::SeqCst),
        3,
        "saved once, retried twice"
    );
    let message = err.to_string();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains("will not be sent again"), "{message}");
    assert!(message.contains("run `codex login`"), "{message}");
    assert!(err.requires_new_login());
    assert_eq!(emu.stats().refresh_ok, 1);

    // This process keeps the received tokens.
    let cached = manager.auth_cached().unwrap();
    assert_ne!(cached.refresh_token().unwrap().expose(), spent);
    assert_eq!(
        stored_refresh_token(home.path()),
        spent,
        "nothing was saved"
    );

    // Another process (a new manager on the same home) sends nothing.
    let other = codex_login::auth_manager::AuthManager::shared(manager_config(home.path(), &emu));
    let err = other.refresh_token_from_authority().await.unwrap_err();
    assert!(
        matches!(err, RefreshTokenError::OutcomeUnknown(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("run `codex login`"), "{err}");
    let stats = emu.stats();
    assert_eq!(stats.token_requests, 1, "{stats:?}");
    assert_eq!(stats.refresh_reused, 0, "{stats:?}");
    emu.shutdown().await;
}
