//! Helpers shared by the `reliability_*` integration tests: the emulator, seeded homes, the
//! probe process, directory snapshots, and knobs read from the environment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_emulator::{Emulator, EmulatorConfig, EmulatorHandle, IssueTokens, IssuedTokens};
use codex_login::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage, storage_for_mode};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Set to `1` to run the full figures of the issue (20 rounds, ...) instead of the CI defaults.
pub const FULL_RUN_ENV_VAR: &str = "CODEX_RELIABILITY_FULL";

/// Whether the full (slow) figures were asked for.
pub fn full_run() -> bool {
    std::env::var(FULL_RUN_ENV_VAR).is_ok_and(|v| v == "1")
}

/// A count from `name`, else `full` when [`full_run`], else `ci`.
pub fn count_from_env(name: &str, ci: u64, full: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {text:?}")),
        Err(_) if full_run() => full,
        Err(_) => ci,
    }
}

/// SHA-256 hex of a secret, as the probe prints it.
pub fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An emulator with reuse detection and family revocation on (the default, stated anyway).
pub async fn strict_emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        revoke_family_on_reuse: true,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// A fresh refresh-token family whose access token lives `ttl_secs` (negative: expired).
pub fn issue(emulator: &EmulatorHandle, ttl_secs: i64) -> IssuedTokens {
    emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: ttl_secs,
        account: None,
    })
}

pub use crate::common::chatgpt_document;

/// Writes `auth.json` holding `tokens` into `home`.
pub fn seed_home(home: &Path, tokens: &IssuedTokens) {
    FileAuthStorage::new(home)
        .save(&chatgpt_document(tokens))
        .expect("seed auth.json");
}

/// Saves the login holding `tokens` in the `mode` store of `home`.
pub fn seed_store(home: &Path, tokens: &IssuedTokens, mode: CredentialStoreMode) {
    storage_for_mode(home, mode)
        .save(&chatgpt_document(tokens))
        .expect("seed the store");
}

/// The stored login of `home` in the `mode` store, as JSON.
pub fn read_store(home: &Path, mode: CredentialStoreMode) -> serde_json::Value {
    if mode == CredentialStoreMode::File {
        return read_auth_json(home);
    }
    let document = storage_for_mode(home, mode)
        .load()
        .expect("the store can be read")
        .expect("a login is stored");
    serde_json::from_str(&document.to_compact_json()).expect("the document is JSON")
}

/// One stored token of the `mode` store of `home`.
pub fn stored_token_in(home: &Path, field: &str, mode: CredentialStoreMode) -> String {
    read_store(home, mode)["tokens"][field]
        .as_str()
        .unwrap_or_else(|| panic!("the stored login has tokens.{field}"))
        .to_owned()
}

pub use crate::common::read_auth_json;

/// One stored token (`access_token`, `refresh_token`, `id_token`).
pub fn stored_token(home: &Path, field: &str) -> String {
    read_auth_json(home)["tokens"][field]
        .as_str()
        .unwrap_or_else(|| panic!("auth.json has tokens.{field}"))
        .to_owned()
}

/// A probe command refreshing against `emulator`, with a clean environment.
pub fn probe_command(emulator: &EmulatorHandle) -> Command {
    let mut command = crate::probe::command_with_empty_env();
    command
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{}/oauth/token", emulator.urls().issuer),
        )
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("RUST_BACKTRACE", "0")
        .env("NO_PROXY", "*")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The session bus, so probes can reach the Secret Service in keyring mode.
    for name in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The JSON line a `refresh` probe printed, with its stderr for failure messages.
pub fn probe_line(output: &Output) -> serde_json::Value {
    let stdout = crate::probe::stdout_lines(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "bad probe output {stdout:?}; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Every file under `dir` (recursively) with its bytes and Unix mode, for "nothing on disk
/// changed" checks.
pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_dir() {
                files.insert(relative, (Vec::new(), meta.permissions().mode()));
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                files.insert(relative, (bytes, meta.permissions().mode()));
            }
        }
    }
    files
}

/// Whether this process runs as root (where file modes do not stop writes).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The pid holding an exclusive `flock` on `path`, read from `/proc/locks` (Linux).
pub fn flock_holder(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let inode = meta.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&"FLOCK") || fields.get(3) != Some(&"WRITE") {
            return None;
        }
        let device_inode = fields.get(5)?;
        let lock_inode: u64 = device_inode.rsplit(':').next()?.parse().ok()?;
        if lock_inode != inode {
            return None;
        }
        fields.get(4)?.parse().ok()
    })
}
