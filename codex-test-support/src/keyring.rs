//! The real OS keyring in tests (the Secret Service on Linux): whether one is
//! usable, and what `secret-tool` sees in it.
//!
//! `.ci/run` runs the tests inside `dbus-run-session` with an unlocked
//! gnome-keyring and sets `CODEX_REQUIRE_SECRET_SERVICE=1`, so there a
//! missing Secret Service fails the test. Elsewhere (`cargo test --workspace`
//! on a machine without one) the tests print a `SKIPPED:` line to stderr.

use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::AuthDotJson;
use codex_login::storage::{AuthStorage, KeyringAuthStorage, OsKeyring};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

/// Set to `1` to turn a missing Secret Service into a test failure.
pub const REQUIRE_ENV: &str = "CODEX_REQUIRE_SECRET_SERVICE";

/// Whether the OS keyring works here. Without one, prints a loud
/// `SKIPPED:` line and returns `false`, or panics when [`REQUIRE_ENV`] is `1`.
pub fn secret_service_or_skip(test: &str) -> bool {
    match probe() {
        Ok(()) => true,
        Err(reason) => {
            assert!(
                std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                "{REQUIRE_ENV}=1 but {test} has no usable Secret Service: {reason}"
            );
            eprintln!(
                "\n*** SKIPPED: {test}: no usable Secret Service ({reason}); run the tests in \
                 `dbus-run-session` with an unlocked gnome-keyring and secret-tool installed, as \
                 .ci/run does ***\n"
            );
            false
        }
    }
}

/// Saves, reads back and removes a probe login for a fresh `CODEX_HOME`, and
/// checks that `secret-tool` can search the store.
fn probe() -> Result<(), String> {
    let home = tempfile::tempdir().map_err(|err| err.to_string())?;
    let storage = KeyringAuthStorage::new(home.path(), Arc::new(OsKeyring));
    let document = AuthDotJson::api_key(SecretString::new("sk-keyring-probe"));
    let saved = storage.save(&document).map_err(|err| err.to_string());
    let loaded = saved.and_then(|()| storage.load().map_err(|err| err.to_string()));
    // Remove whatever a half-successful save left, whatever happened.
    let deleted = storage.delete().map_err(|err| err.to_string());
    match loaded? {
        Some(found) if found == document => {}
        _ => return Err("a saved probe login did not read back".to_owned()),
    }
    deleted?;
    let search = Command::new("secret-tool")
        .args(["search", "--all", "service", "Codex Auth probe"])
        .output()
        .map_err(|err| format!("secret-tool cannot run: {err}"))?;
    if !search.status.success() {
        return Err(format!(
            "secret-tool search failed: {}",
            String::from_utf8_lossy(&search.stderr).trim()
        ));
    }
    Ok(())
}

/// One Secret Service item as `secret-tool search --all` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretItem {
    /// The item label.
    pub label: String,
    /// The stored secret.
    pub secret: String,
    /// Its attributes (`service`, `username`, ...).
    pub attributes: BTreeMap<String, String>,
}

/// The Secret Service items for service `Codex Auth` and this account (the
/// main entry; chunk entries have accounts `<account>:<i>`).
pub fn secret_service_items(account: &str) -> Vec<SecretItem> {
    let output = Command::new("secret-tool")
        .args([
            "search",
            "--all",
            "service",
            "Codex Auth",
            "username",
            account,
        ])
        .output()
        .expect("secret-tool runs");
    assert!(
        output.status.success(),
        "secret-tool search failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Label and secret go to stdout, attributes to stderr.
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 output");
    let mut items: Vec<SecretItem> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("[/") {
            items.push(SecretItem {
                label: String::new(),
                secret: String::new(),
                attributes: BTreeMap::new(),
            });
        } else if let (Some(item), Some((key, value))) = (items.last_mut(), line.split_once(" = "))
        {
            match key {
                "label" => item.label = value.to_owned(),
                "secret" => item.secret = value.to_owned(),
                _ => {}
            }
        }
    }
    if let [item] = items.as_mut_slice() {
        for line in stderr.lines() {
            if let Some((key, value)) = line
                .strip_prefix("attribute.")
                .and_then(|rest| rest.split_once(" = "))
            {
                item.attributes.insert(key.to_owned(), value.to_owned());
            }
        }
    }
    items
}

/// The one item for `account`, checked to be laid out as the official CLI
/// lays it out.
pub fn the_secret_service_item(account: &str) -> SecretItem {
    let items = secret_service_items(account);
    assert_eq!(items.len(), 1, "one item for {account}: {items:?}");
    let item = items.into_iter().next().unwrap();
    assert_eq!(
        item.label,
        format!("{account}@Codex Auth:default (keyring v3.6.3)")
    );
    let expected: BTreeMap<String, String> = [
        ("application", "rust-keyring"),
        ("service", "Codex Auth"),
        ("target", "default"),
        ("username", account),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(item.attributes, expected);
    item
}
