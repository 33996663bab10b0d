//! `codex login`, `codex login status`, `codex logout`: the official CLI's
//! exact lines and exit codes, run through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

const KEY: &str = "sk-proj-1234567890ABCDE";

#[test]
fn status_without_credentials_says_not_logged_in() {
    let home = Home::offline();
    let out = home.run(&["login", "status"], None);
    assert_eq!(stderr(&out), "Not logged in\n");
    assert_eq!(stdout(&out), "");
    assert_eq!(code(&out), 1);
}

#[test]
fn api_key_login_from_a_pipe_then_status_masks_the_key() {
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key"], Some(&format!("  {KEY}\n")));
    assert_eq!(
        stderr(&out),
        "Reading API key from stdin...\nAPI key saved. Authentication is checked when you send a request.\n"
    );
    assert_eq!(code(&out), 0);

    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"auth_mode": "apikey", "OPENAI_API_KEY": KEY})
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.auth_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let out = home.run(&["login", "status"], None);
    assert_eq!(
        stderr(&out),
        "API key configured - sk-proj-***ABCDE\nAuthentication is checked when you send a request.\n"
    );
    assert_eq!(code(&out), 0);
}

#[test]
fn short_and_non_ascii_keys_are_masked_safely() {
    let home = Home::offline();
    home.run(&["login", "--with-api-key"], Some("sk-proj-12345"));
    let out = home.run(&["login", "status"], None);
    assert_eq!(
        stderr(&out),
        "API key configured - ***\nAuthentication is checked when you send a request.\n"
    );

    // Login refuses a key that cannot travel in a header...
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key"], Some("sk-ключ-ключ-ключ-ключ"));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!home.auth_file().exists());
    // ...but a hand-edited file holding one is still shown without a panic.
    std::fs::write(
        home.auth_file(),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-ключ-ключ-ключ-ключ"}"#,
    )
    .unwrap();
    let out = home.run(&["login", "status"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "API key configured - sk-ключ-***-ключ\nAuthentication is checked when you send a request.\n"
    );
}

#[test]
fn empty_stdin_is_refused() {
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key"], Some("  \n"));
    assert_eq!(
        stderr(&out),
        "Reading API key from stdin...\nNo API key provided via stdin.\n"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());
}

#[test]
fn api_key_on_a_terminal_is_refused() {
    // `script` gives the child a pseudo-terminal as stdin.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: `script` (util-linux) is not installed; cannot give codex a TTY");
        return;
    }
    let home = Home::offline();
    let command = format!(
        "CODEX_HOME={} {} login --with-api-key",
        home.path().display(),
        support::codex_bin().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--with-api-key expects the API key on stdin. Try piping it, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`."),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!home.auth_file().exists());
}

#[test]
fn deprecated_api_key_flag_and_two_sources_are_refused() {
    let home = Home::offline();
    let out = home.run(&["login", "--api-key", KEY], None);
    assert_eq!(
        stderr(&out),
        "The --api-key flag is no longer supported. Pipe the key instead, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.\n"
    );
    assert_eq!(code(&out), 1);

    let out = home.run(
        &["login", "--with-api-key", "--with-access-token"],
        Some(KEY),
    );
    assert_eq!(
        stderr(&out),
        "Choose one login credential source: --with-api-key or --with-access-token.\n"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());
}

#[test]
fn forced_login_method_messages() {
    let home = Home::offline();
    let out = home.run(
        &[
            "-c",
            "forced_login_method=chatgpt",
            "login",
            "--with-api-key",
        ],
        Some(KEY),
    );
    assert_eq!(
        stderr(&out),
        "API key login is disabled. Use ChatGPT login instead.\n"
    );
    assert_eq!(code(&out), 1);

    let out = home.run(
        &["-c", "forced_login_method=api", "login", "--device-auth"],
        None,
    );
    assert_eq!(
        stderr(&out),
        "ChatGPT login is disabled. Use API key login instead.\n"
    );
    assert_eq!(code(&out), 1);

    let out = home.run(
        &[
            "-c",
            "forced_login_method=api",
            "login",
            "--with-access-token",
        ],
        Some("a.b.c"),
    );
    // The official CLI reads the token before checking the method (issue 19).
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nAccess token login is disabled. Use API key login instead.\n"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());
}

#[test]
fn bad_configuration_is_reported_with_key_and_file() {
    let home = Home::offline();
    std::fs::write(
        home.path().join("config.toml"),
        "cli_auth_credentials_store = \"vault\"\n",
    )
    .unwrap();
    let out = home.run(&["login", "status"], None);
    let err = stderr(&out);
    assert!(err.starts_with("Error loading configuration: "), "{err}");
    assert!(err.contains("cli_auth_credentials_store"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
    assert_eq!(code(&out), 1);
}

#[test]
fn logout_is_idempotent() {
    let home = Home::offline();
    home.run(&["login", "--with-api-key"], Some(KEY));
    let out = home.run(&["logout"], None);
    assert_eq!(stderr(&out), "Successfully logged out\n");
    assert_eq!(code(&out), 0);
    assert!(!home.auth_file().exists());

    let out = home.run(&["logout"], None);
    assert_eq!(stderr(&out), "Not logged in\n");
    assert_eq!(code(&out), 0);
}

#[test]
fn malformed_auth_json_is_an_error_and_left_alone() {
    let home = Home::offline();
    let junk = b"{\"auth_mode\": \"chatgpt\", \"tokens\": {\"id_token\": 5";
    std::fs::write(home.auth_file(), junk).unwrap();
    let out = home.run(&["login", "status"], None);
    let err = stderr(&out);
    assert!(err.starts_with("Error checking login status: "), "{err}");
    assert!(err.contains("auth.json"), "{err}");
    assert_eq!(code(&out), 1);
    assert_eq!(std::fs::read(home.auth_file()).unwrap(), junk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_login_then_status_then_logout_revokes() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--device-auth"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("/codex/device"), "{}", stdout(&out));
    assert_eq!(stderr(&out), "Successfully logged in\n");

    let h = home.clone();
    let out = blocking(move || h.run(&["login", "status"], None)).await;
    assert_eq!(stderr(&out), "Logged in using ChatGPT\n");
    assert_eq!(code(&out), 0);

    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(stored["auth_mode"], "chatgpt");
    assert!(stored["tokens"]["refresh_token"].is_string());
    assert_eq!(stored["tokens"]["account_id"], "acct-emulator-0001");

    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["logout"], None)).await;
    assert_eq!(stderr(&out), "Successfully logged out\n");
    assert_eq!(code(&out), 0);
    assert_eq!(home.emulator().stats().revoked, before.revoked + 1);
    assert!(!home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_login_revokes_the_device_code_login_it_replaces() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--device-auth"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = home.emulator().stats();

    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--with-api-key"], Some(KEY))).await;
    assert_eq!(
        stderr(&out),
        "Reading API key from stdin...\nAPI key saved. Authentication is checked when you send a request.\n"
    );
    assert_eq!(code(&out), 0);
    assert_eq!(home.emulator().stats().revoked, before.revoked + 1);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"auth_mode": "apikey", "OPENAI_API_KEY": KEY})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_still_removes_credentials_when_revoke_fails() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    // A revoke endpoint at the issuer that minted the login (tokens go nowhere else) that
    // fails: the emulator has no such route.
    let revoke_url = format!("{}/oauth/revoke-gone", home.emulator().urls().issuer);
    let out = blocking(move || {
        h.run_with_env(
            &["logout"],
            None,
            &[("CODEX_REVOKE_TOKEN_URL_OVERRIDE", revoke_url.as_str())],
        )
    })
    .await;
    let err = stderr(&out);
    assert!(err.contains("could not revoke"), "{err}");
    assert!(err.ends_with("Successfully logged out\n"), "{err}");
    assert_eq!(code(&out), 0);
    assert!(!home.auth_file().exists());
}

#[cfg(unix)]
#[test]
fn login_log_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::offline();
    let out = home.run(&["login", "--with-api-key"], Some(KEY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = home.path().join("log").join("codex-login.log");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&home.path().join("log")), 0o700);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(KEY), "the log holds the key:\n{text}");
}

/// Holds the lock file every test that binds the registered callback ports
/// takes (see codex-login's flow tests), so parallel test binaries never race
/// for 1455/1457.
fn lock_fixed_callback_ports() -> std::fs::File {
    let path = std::env::temp_dir().join("codex-login-fixed-callback-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap();
    file.lock().unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_login_falls_back_to_device_code_when_no_callback_port_is_free() {
    let _ports = lock_fixed_callback_ports();
    // Occupy both registered callback ports (wait for other tests' servers to go).
    let mut held = Vec::new();
    for port in [1455u16, 1457] {
        let started = std::time::Instant::now();
        loop {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(listener) => {
                    held.push(listener);
                    break;
                }
                Err(_) if started.elapsed() < std::time::Duration::from_secs(30) => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(err) => panic!("port {port} stays busy: {err}"),
            }
        }
    }
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        })
        .await,
    );
    let h = home.clone();
    let out = blocking(move || h.run(&["login"], None)).await;
    drop(held);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("1455") && err.contains("1457"), "{err}");
    assert!(err.contains("Falling back to device code login."), "{err}");
    assert!(err.ends_with("Successfully logged in\n"), "{err}");
    assert!(stdout(&out).contains("/codex/device"), "{}", stdout(&out));
    assert_eq!(home.emulator().stats().device_codes_approved, 1);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(stored["auth_mode"], "chatgpt");
}
