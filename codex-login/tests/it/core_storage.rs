//! Storage backends: file permissions and atomic writes, keyring naming and
//! chunking (in-memory backend; the real Secret Service is in
//! `keyring_secret_service.rs`), `auto` fallback with a
//! recorded warning, the ephemeral store, and the lock file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::storage::AuthFileLock;
use codex_login::storage::{
    AuthStorage, AutoAuthStorage, CHUNK_ON_WRITE, CredentialStoreMode, EphemeralAuthStorage,
    FileAuthStorage, KEYRING_SERVICE, KeyringAuthStorage, KeyringBackend, KeyringBackendError,
    StorageError, storage_for_mode, store_key,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn api_key_doc(key: &str) -> AuthDotJson {
    AuthDotJson::api_key(SecretString::new(key))
}

#[cfg(unix)]
#[test]
fn new_file_is_0600_and_new_directory_is_0700() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("nested").join("codex-home");
    let storage = FileAuthStorage::new(&home);
    storage.save(&api_key_doc("sk-1")).unwrap();
    assert_eq!(mode_of(&home.join("auth.json")), 0o600);
    assert_eq!(mode_of(&home), 0o700);
    assert_eq!(mode_of(&root.path().join("nested")), 0o700);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["auth.json".to_owned()]);
}

#[cfg(unix)]
#[test]
fn rewriting_a_0644_file_leaves_it_0600() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    std::fs::write(&path, r#"{"OPENAI_API_KEY":"sk-old"}"#).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(mode_of(&path), 0o644);
    let storage = FileAuthStorage::new(home.path());
    storage.save(&api_key_doc("sk-new")).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(
        storage
            .load()
            .unwrap()
            .unwrap()
            .openai_api_key
            .unwrap()
            .expose(),
        "sk-new"
    );
}

#[cfg(unix)]
#[test]
fn lock_file_is_created_0600() {
    let home = tempfile::tempdir().unwrap();
    let lock = AuthFileLock::try_acquire(home.path())
        .unwrap()
        .expect("free");
    assert_eq!(mode_of(&home.path().join("auth.json.lock")), 0o600);
    // A second holder (another open file description) is refused while held.
    assert!(AuthFileLock::try_acquire(home.path()).unwrap().is_none());
    drop(lock);
    assert!(AuthFileLock::try_acquire(home.path()).unwrap().is_some());
}

#[test]
fn concurrent_writers_never_expose_a_torn_file() {
    let home = tempfile::tempdir().unwrap();
    let storage = Arc::new(FileAuthStorage::new(home.path()));
    storage
        .save(&api_key_doc(&format!("sk-{}", "k".repeat(5000))))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let storage = Arc::clone(&storage);
        let stop = Arc::clone(&stop);
        writers.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("sk-{w}-{i}-{}", "x".repeat(4000 + (i as usize % 3000)));
                storage.save(&api_key_doc(&key)).unwrap();
                i += 1;
            }
            i
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..4 {
        let storage = Arc::clone(&storage);
        let stop = Arc::clone(&stop);
        readers.push(std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let document = storage.load().expect("never torn").expect("present");
                assert!(document.openai_api_key.unwrap().expose().starts_with("sk-"));
                reads += 1;
            }
            reads
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let writes: u64 = writers.into_iter().map(|h| h.join().unwrap()).sum();
    let reads: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(writes > 10 && reads > 10, "writes {writes}, reads {reads}");
}

#[test]
fn file_delete_reports_whether_anything_was_removed() {
    let home = tempfile::tempdir().unwrap();
    let storage = FileAuthStorage::new(home.path());
    assert!(!storage.delete().unwrap());
    assert!(
        storage.load().unwrap().is_none(),
        "missing file is not an error"
    );
    storage.save(&api_key_doc("sk-1")).unwrap();
    assert!(storage.delete().unwrap());
    assert!(!home.path().join("auth.json").exists());
}

#[cfg(unix)]
#[test]
fn read_only_store_is_reported_before_a_refresh() {
    use std::os::unix::fs::PermissionsExt;
    // Root ignores file modes, but not an `auth.json` that is a directory.
    let blocked = tempfile::tempdir().unwrap();
    std::fs::create_dir(blocked.path().join("auth.json")).unwrap();
    let err = FileAuthStorage::new(blocked.path())
        .check_writable()
        .unwrap_err();
    assert!(matches!(err, StorageError::NotWritable { .. }), "{err}");
    if nix_is_root() {
        eprintln!(
            "SKIPPED: read_only_store_is_reported_before_a_refresh (mode 0500 part): running as root, \
             permissions are not enforced (reliability_read_only_store covers it as nobody)"
        );
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let storage = FileAuthStorage::new(home.path());
    storage.save(&api_key_doc("sk-1")).unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
    let err = storage.check_writable().unwrap_err();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(matches!(err, StorageError::NotWritable { .. }), "{err}");
}

#[cfg(unix)]
fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn store_key_matches_upstream_vector() {
    assert_eq!(store_key(Path::new("~/.codex")), "cli|940db7b1d0e4eb40");
    let home = tempfile::tempdir().unwrap();
    let via_dotdot = home.path().join("x").join("..");
    std::fs::create_dir(home.path().join("x")).unwrap();
    assert_eq!(
        store_key(&via_dotdot),
        store_key(home.path()),
        "canonical path"
    );
}

#[test]
fn ephemeral_store_never_touches_disk_and_is_shared_per_home() {
    let home = tempfile::tempdir().unwrap();
    let a = EphemeralAuthStorage::new(home.path());
    let b = EphemeralAuthStorage::new(home.path());
    let other = EphemeralAuthStorage::new(&home.path().join("other"));
    assert!(a.load().unwrap().is_none());
    a.save(&api_key_doc("sk-mem")).unwrap();
    assert_eq!(
        b.load().unwrap().unwrap().openai_api_key.unwrap().expose(),
        "sk-mem"
    );
    assert!(other.load().unwrap().is_none());
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
    assert!(b.delete().unwrap());
    assert!(!a.delete().unwrap());
    assert_eq!(
        storage_for_mode(home.path(), CredentialStoreMode::Ephemeral).mode(),
        CredentialStoreMode::Ephemeral
    );
}

/// An in-memory keyring with switchable failures.
#[derive(Debug, Default)]
struct MemoryKeyring {
    entries: Mutex<BTreeMap<(String, String), String>>,
    fail: AtomicBool,
    hang: AtomicBool,
}

impl MemoryKeyring {
    fn check(&self) -> Result<(), KeyringBackendError> {
        if self.hang.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(3));
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(KeyringBackendError("no secret service available".into()));
        }
        Ok(())
    }
    fn accounts(&self) -> Vec<String> {
        self.entries
            .lock()
            .unwrap()
            .keys()
            .map(|(_, a)| a.clone())
            .collect()
    }
}

impl KeyringBackend for MemoryKeyring {
    fn get(&self, service: &str, account: &str) -> Result<Option<String>, KeyringBackendError> {
        self.check()?;
        Ok(self
            .entries
            .lock()
            .unwrap()
            .get(&(service.into(), account.into()))
            .cloned())
    }
    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringBackendError> {
        self.check()?;
        self.entries
            .lock()
            .unwrap()
            .insert((service.into(), account.into()), value.into());
        Ok(())
    }
    fn delete(&self, service: &str, account: &str) -> Result<bool, KeyringBackendError> {
        self.check()?;
        Ok(self
            .entries
            .lock()
            .unwrap()
            .remove(&(service.into(), account.into()))
            .is_some())
    }
}

#[test]
fn keyring_save_writes_compact_json_under_the_cli_account_and_removes_the_file() {
    let home = tempfile::tempdir().unwrap();
    FileAuthStorage::new(home.path())
        .save(&api_key_doc("sk-file"))
        .unwrap();
    let backend = Arc::new(MemoryKeyring::default());
    let storage = KeyringAuthStorage::new(home.path(), backend.clone());
    let document = api_key_doc("sk-key");
    storage.save(&document).unwrap();
    let account = store_key(home.path());
    let stored = backend
        .entries
        .lock()
        .unwrap()
        .get(&(KEYRING_SERVICE.to_owned(), account.clone()))
        .cloned()
        .unwrap();
    assert_eq!(
        stored,
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-key"}"#
    );
    assert!(
        !home.path().join("auth.json").exists(),
        "fallback file removed"
    );
    assert_eq!(storage.load().unwrap().unwrap(), document);
    assert!(storage.delete().unwrap());
    assert!(backend.accounts().is_empty());
    assert!(!storage.delete().unwrap());
}

#[test]
fn keyring_writes_one_entry_of_any_size_where_the_official_cli_does() {
    let home = tempfile::tempdir().unwrap();
    let backend = Arc::new(MemoryKeyring::default());
    let storage = KeyringAuthStorage::new(home.path(), backend.clone());
    let document = api_key_doc(&format!("sk-{}", "ключ🔑".repeat(2800)));
    storage.save(&document).unwrap();
    let account = store_key(home.path());
    if CHUNK_ON_WRITE {
        assert!(backend.accounts().len() > 1, "Windows chunks");
    } else {
        // The official CLI neither writes nor reads chunks on Linux.
        assert_eq!(backend.accounts(), vec![account.clone()]);
        let stored = backend
            .entries
            .lock()
            .unwrap()
            .get(&(KEYRING_SERVICE.to_owned(), account))
            .cloned()
            .unwrap();
        assert_eq!(stored, document.to_compact_json());
    }
    assert_eq!(storage.load().unwrap().unwrap(), document);
    assert!(storage.delete().unwrap());
    assert!(backend.accounts().is_empty());
}

#[test]
fn keyring_chunks_large_non_ascii_values_and_reassembles_them() {
    let home = tempfile::tempdir().unwrap();
    let backend = Arc::new(MemoryKeyring::default());
    let storage = KeyringAuthStorage::new(home.path(), backend.clone()).with_chunking(true);
    // ~16 KiB with multi-byte characters.
    let big = format!("sk-{}", "ключ🔑".repeat(2800));
    let document = api_key_doc(&big);
    storage.save(&document).unwrap();
    let account = store_key(home.path());
    let accounts = backend.accounts();
    let json_chars = document.to_compact_json().chars().count();
    let chunks = json_chars.div_ceil(1200);
    assert!(chunks > 1);
    assert_eq!(accounts.len(), chunks);
    let main = backend
        .entries
        .lock()
        .unwrap()
        .get(&(KEYRING_SERVICE.to_owned(), account.clone()))
        .cloned()
        .unwrap();
    assert!(
        main.starts_with(&format!("CODEX_CHUNKED:{chunks}:")),
        "{}",
        &main[..30]
    );
    assert!(accounts.contains(&format!("{account}:1")));
    assert_eq!(storage.load().unwrap().unwrap(), document);

    // A smaller value replaces it and leaves no stale chunks.
    storage.save(&api_key_doc("sk-small")).unwrap();
    assert_eq!(backend.accounts(), vec![account.clone()]);
    assert_eq!(storage.load().unwrap().unwrap(), api_key_doc("sk-small"));

    storage.save(&document).unwrap();
    assert!(storage.delete().unwrap());
    assert!(backend.accounts().is_empty());

    // Chunks written elsewhere are read back by a store that does not chunk.
    KeyringAuthStorage::new(home.path(), backend.clone())
        .with_chunking(true)
        .save(&document)
        .unwrap();
    let plain = KeyringAuthStorage::new(home.path(), backend.clone()).with_chunking(false);
    assert_eq!(plain.load().unwrap().unwrap(), document);
    // A shorter value written unchunked removes the leftover chunks.
    plain.save(&api_key_doc("sk-small")).unwrap();
    assert_eq!(backend.accounts(), vec![store_key(home.path())]);
    assert!(plain.delete().unwrap());
}

#[test]
fn keyring_calls_time_out_instead_of_hanging() {
    let home = tempfile::tempdir().unwrap();
    let backend = Arc::new(MemoryKeyring::default());
    backend.hang.store(true, Ordering::SeqCst);
    let storage =
        KeyringAuthStorage::new(home.path(), backend).with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = storage.load().unwrap_err();
    assert!(matches!(err, StorageError::KeyringTimeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn auto_prefers_keyring_then_file_and_records_fallbacks() {
    let home = tempfile::tempdir().unwrap();
    let backend = Arc::new(MemoryKeyring::default());
    let auto = AutoAuthStorage::new(home.path(), backend.clone());

    // Keyring empty -> the file is used.
    FileAuthStorage::new(home.path())
        .save(&api_key_doc("sk-file"))
        .unwrap();
    assert_eq!(auto.load().unwrap().unwrap(), api_key_doc("sk-file"));
    assert!(auto.warnings().is_empty());

    // Save goes to the keyring and removes the file; keyring wins on load.
    auto.save(&api_key_doc("sk-key")).unwrap();
    assert!(!home.path().join("auth.json").exists());
    assert_eq!(auto.load().unwrap().unwrap(), api_key_doc("sk-key"));

    // Keyring failing: save falls back to the file, with a recorded warning.
    backend.fail.store(true, Ordering::SeqCst);
    auto.save(&api_key_doc("sk-fallback")).unwrap();
    assert_eq!(
        FileAuthStorage::new(home.path()).load().unwrap().unwrap(),
        api_key_doc("sk-fallback")
    );
    assert_eq!(auto.load().unwrap().unwrap(), api_key_doc("sk-fallback"));
    let warnings = auto.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("auth.json") && warnings[0].contains("no secret service available")
    );

    // Delete with a failing keyring still removes the file.
    assert!(auto.delete().unwrap());
    assert!(!home.path().join("auth.json").exists());
    backend.fail.store(false, Ordering::SeqCst);
    assert!(
        auto.delete().unwrap(),
        "keyring entry removed once it works"
    );
}
