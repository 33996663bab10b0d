//! `cli_auth_credentials_store = "keyring"` / `"auto"` with our `codex` alone:
//! a login is one Secret Service item laid out as the official CLI lays it
//! out, it survives the kernel keyutils cache being flushed, logout leaves
//! nothing behind, and a missing Secret Service gives advice (keyring) or a
//! reported fallback to `auth.json` (auto).
//!
//! The Secret Service tests need a real one (`.ci/run` starts gnome-keyring
//! in `dbus-run-session`); without it they print `SKIPPED:` (or fail when
//! `CODEX_REQUIRE_SECRET_SERVICE=1`). The "no Secret Service" tests point
//! D-Bus at a socket that does not exist, so they run everywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;
use codex_test_support::keyring as keyring_support;

use codex_login::storage::store_key;
use keyring_support::{secret_service_items, secret_service_or_skip, the_secret_service_item};
use std::io::Write;
use support::{Home, code, stderr};

/// Selects a credential store in the home's config.toml.
fn use_store(home: &Home, mode: &str) {
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(home.path().join("config.toml"))
        .unwrap();
    writeln!(config, "cli_auth_credentials_store = \"{mode}\"").unwrap();
}

/// The environment of a session with no Secret Service: the bus socket does
/// not exist.
fn no_bus(home: &Home) -> Vec<(&'static str, String)> {
    let missing = home.path().join("no-such-bus");
    vec![
        (
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", missing.display()),
        ),
        ("XDG_RUNTIME_DIR", home.path().display().to_string()),
    ]
}

fn run_without_bus(home: &Home, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let env = no_bus(home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    home.run_with_env(args, stdin, &env)
}

/// Kernel keyutils copies of this entry as the `keyring` crate names them
/// (`keyring-rs:<account>@Codex Auth`) in the session, user and persistent
/// keyrings.
#[cfg(target_os = "linux")]
mod keyutils {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};

    fn description(account: &str) -> String {
        format!("keyring-rs:{account}@Codex Auth")
    }

    fn keyrings() -> Vec<KeyRing> {
        let mut rings: Vec<KeyRing> = [KeyRingIdentifier::Session, KeyRingIdentifier::User]
            .into_iter()
            .filter_map(|id| KeyRing::from_special_id(id, false).ok())
            .collect();
        if let Ok(persistent) = KeyRing::get_persistent(KeyRingIdentifier::Session) {
            rings.push(persistent);
        }
        rings
    }

    /// Puts a copy holding `value` into the session keyring, as a keyutils
    /// cache in front of the Secret Service (or an older build) would.
    /// `Err` when this kernel or sandbox refuses keyutils.
    pub fn plant(account: &str, value: &str) -> Result<(), String> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, true)
            .map_err(|err| format!("no session keyring: {err:?}"))?;
        session
            .add_key(&description(account), value)
            .map(|_| ())
            .map_err(|err| format!("cannot add a key: {err:?}"))
    }

    /// Whether any keyring still holds a copy.
    pub fn present(account: &str) -> bool {
        keyrings()
            .iter()
            .any(|ring| ring.search(&description(account)).is_ok())
    }

    /// What a reboot does to the cache: every copy is gone.
    pub fn flush(account: &str) {
        for ring in keyrings() {
            while let Ok(key) = ring.search(&description(account)) {
                key.invalidate().unwrap();
            }
        }
        assert!(!present(account));
    }
}

#[test]
fn our_keyring_login_is_one_secret_service_item_and_survives_a_keyutils_flush() {
    if !secret_service_or_skip(
        "our_keyring_login_is_one_secret_service_item_and_survives_a_keyutils_flush",
    ) {
        return;
    }
    let home = Home::offline();
    use_store(&home, "keyring");
    let account = store_key(home.path());
    let out = home.run(
        &["login", "--with-api-key"],
        Some("sk-proj-keyring0001ABCDE\n"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let item = the_secret_service_item(&account);
    assert_eq!(
        item.secret,
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-proj-keyring0001ABCDE"}"#
    );
    assert!(!home.auth_file().exists(), "a keyring login writes no file");

    #[cfg(target_os = "linux")]
    {
        // A stale kernel copy (a keyutils cache, or an older build of ours)
        // is not what we read: the Secret Service is the one source, as for
        // the official CLI.
        match keyutils::plant(
            &account,
            r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stale-99999"}"#,
        ) {
            Ok(()) => {
                let out = home.run(&["login", "status"], None);
                assert_eq!(code(&out), 0, "{}", stderr(&out));
                assert!(
                    stderr(&out).contains("sk-proj-***ABCDE"),
                    "{}",
                    stderr(&out)
                );
            }
            Err(reason) => eprintln!(
                "SKIPPED (part): planting a kernel keyutils copy is refused here ({reason}); \
                 the flush below still runs"
            ),
        }
        keyutils::flush(&account);
    }
    // After the flush (what a reboot does to kernel keys) the login is still there.
    let out = home.run(&["login", "status"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sk-proj-***ABCDE"),
        "{}",
        stderr(&out)
    );
    let out = home.run(&["whoami", "--json"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source"], "keyring");

    // Logout removes the item, the file, and any kernel copy.
    #[cfg(target_os = "linux")]
    let planted = keyutils::plant(&account, "stale").is_ok();
    let out = home.run(&["logout"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(secret_service_items(&account), Vec::new());
    assert!(!home.auth_file().exists());
    #[cfg(target_os = "linux")]
    if planted {
        assert!(
            !keyutils::present(&account),
            "logout removed the kernel copy"
        );
    }
    let out = home.run(&["login", "status"], None);
    assert_eq!(stderr(&out), "Not logged in\n");
}

#[test]
fn keyring_mode_without_a_secret_service_names_it_and_says_what_to_do() {
    let home = Home::offline();
    use_store(&home, "keyring");
    let out = run_without_bus(
        &home,
        &["login", "--with-api-key"],
        Some("sk-proj-nobus0001ABCDE\n"),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let message = stderr(&out);
    #[cfg(target_os = "linux")]
    {
        assert!(
            message.contains("no Secret Service answers on the D-Bus session bus"),
            "{message}"
        );
        assert!(
            message.contains("gnome-keyring-daemon --start"),
            "{message}"
        );
    }
    assert!(
        message.contains("cli_auth_credentials_store = \"file\""),
        "{message}"
    );
    assert!(
        !message.contains("nobus0001"),
        "no secret in errors: {message}"
    );
    assert!(!home.auth_file().exists(), "keyring mode never falls back");

    let out = run_without_bus(&home, &["login", "status"], None);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).starts_with("Error checking login status: the OS keyring could not read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn auto_mode_without_a_secret_service_uses_the_file_and_says_so() {
    let home = Home::offline();
    use_store(&home, "auto");
    let out = run_without_bus(
        &home,
        &["login", "--with-api-key"],
        Some("sk-proj-autofile01ABCDE\n"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("because the OS keyring failed"),
        "the fallback is reported: {message}"
    );
    #[cfg(target_os = "linux")]
    assert!(message.contains("no Secret Service answers"), "{message}");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(stored["OPENAI_API_KEY"], "sk-proj-autofile01ABCDE");

    let out = run_without_bus(&home, &["login", "status"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(
        lines[0].starts_with("Warning: using ")
            && lines[0].contains("because the OS keyring failed"),
        "{lines:?}"
    );
    assert!(lines[1].contains("sk-proj-***ABCDE"), "{lines:?}");

    let out = run_without_bus(&home, &["whoami", "--json"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["source"].as_str().unwrap().starts_with("file:"),
        "{report}"
    );
    assert!(
        stderr(&out).contains("because the OS keyring failed"),
        "{}",
        stderr(&out)
    );

    let out = run_without_bus(&home, &["logout"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!home.auth_file().exists());
}

/// Whether the tools for a private Secret Service session are installed.
fn private_session_tools() -> Result<(), String> {
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "timeout"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!("{tool} is not installed"));
        }
    }
    Ok(())
}

#[test]
fn a_locked_secret_service_is_named_with_how_to_unlock_it() {
    if let Err(reason) = private_session_tools() {
        assert!(
            std::env::var(keyring_support::REQUIRE_ENV).as_deref() != Ok("1"),
            "{} =1 but {reason}",
            keyring_support::REQUIRE_ENV
        );
        eprintln!("SKIPPED: a_locked_secret_service_is_named_with_how_to_unlock_it: {reason}");
        return;
    }
    let home = Home::offline();
    use_store(&home, "keyring");
    // A session of its own whose gnome-keyring was started but never
    // unlocked: its login keyring is locked (here: not even created).
    let keyring_dir = tempfile::tempdir().unwrap();
    for sub in ["home", "data", "run"] {
        std::fs::create_dir(keyring_dir.path().join(sub)).unwrap();
    }
    let script = r#"HOME="$KR/home" XDG_DATA_HOME="$KR/data" XDG_RUNTIME_DIR="$KR/run" \
        gnome-keyring-daemon --daemonize --start --components=secrets >/dev/null 2>&1
        printf 'sk-proj-locked001ABCDE\n' | "$CODEX" login --with-api-key; echo "login=$?" >&2
        "$CODEX" login status; echo "status=$?" >&2"#;
    let out = std::process::Command::new("timeout")
        .args(["60", "dbus-run-session", "--", "sh", "-c", script])
        .env("KR", keyring_dir.path())
        .env("CODEX", support::codex_bin())
        .env("CODEX_HOME", home.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    let text = stderr(&out);
    assert!(
        text.contains("login=1") && text.contains("status=1"),
        "{text}"
    );
    let locked = text
        .lines()
        .filter(|line| {
            line.contains("the Secret Service keyring is locked")
                && line.contains("gnome-keyring-daemon --unlock")
        })
        .count();
    assert_eq!(locked, 2, "both commands say how to unlock: {text}");
    assert!(!text.contains("locked001"), "no secret in errors: {text}");
    assert!(!home.auth_file().exists(), "keyring mode never falls back");
}
