//! `codex whoami` is honest about credentials that cannot be used (issue 14,
//! point 3), and one `whoami --check` spends at most one refresh token even
//! when access tokens live less than the proactive-refresh window (point 4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use crate::exit;

use codex_emulator::EmulatorConfig;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::{Home, blocking, code, stderr, stdout};

/// The "stored credentials need a new login" exit code.
fn needs_login() -> i32 {
    i32::from(exit::NEEDS_LOGIN)
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|err| {
        panic!(
            "stdout is not one JSON object ({err}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

/// An emulator whose access tokens live 2 seconds (`--access-token-ttl 2`).
async fn short_lived_home() -> Arc<Home> {
    Arc::new(
        Home::with_emulator(EmulatorConfig {
            access_token_ttl: Duration::from_secs(2),
            auto_approve: true,
            device_poll_interval_secs: 1,
            ..EmulatorConfig::default()
        })
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_whoami_needs_a_new_login_after_a_refresh_was_refused_for_good() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(-60);
    assert!(
        home.emulator()
            .invalidate_refresh_token(&tokens.refresh_token)
    );
    // A live check is refused for good and leaves the record beside auth.json.
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(code(&out), needs_login(), "{}", stderr(&out));
    assert!(home.path().join("auth.json.refresh-failure").exists());
    let before = home.emulator().stats();

    // Offline, the same login is not reported as usable.
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    assert_eq!(code(&out), needs_login(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refused"), "why is missing: {err}");
    assert!(
        err.contains("revoked"),
        "the issuer's reason is missing: {err}"
    );
    assert!(
        err.contains("Run `codex login`"),
        "what to run is missing: {err}"
    );
    let text = stdout(&out);
    assert!(text.contains("(expired)"), "{text}");

    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    assert_eq!(code(&out), needs_login(), "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["needs_login"], true);
    assert_eq!(report["access_token_expired"], true);
    assert_eq!(report["auth_mode"], "chatgpt");
    // Offline means offline: nothing was sent.
    assert_eq!(home.emulator().stats(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_without_refresh_token_is_reported_as_such() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let mut tokens = home
        .emulator()
        .issue_chatgpt_tokens(codex_emulator::IssueTokens {
            access_token_ttl_secs: -60,
            ..Default::default()
        });
    tokens.refresh_token = String::new();
    home.write_chatgpt_login(&tokens);
    for args in [&["whoami"][..], &["whoami", "--json"][..]] {
        let h = home.clone();
        let out = blocking(move || h.run(args, None)).await;
        assert_eq!(code(&out), needs_login(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("expired"), "{err}");
        assert!(err.contains("Run `codex login`"), "{err}");
    }
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    let report = json_of(&out);
    assert_eq!(report["access_token_expired"], true);
    assert_eq!(report["needs_login"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_times_are_marked_in_text_and_json() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // Expired, but refreshable: still a usable login.
    home.seed_chatgpt_login(-60);
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = stdout(&out)
        .lines()
        .find(|line| line.starts_with("Token expires:"))
        .unwrap_or_default()
        .to_owned();
    assert!(line.ends_with("Z (expired)"), "{line}");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["access_token_expired"], true);
    assert_eq!(report["needs_login"], false);
    assert!(
        report["access_token_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // A fresh token is not marked.
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    assert_eq!(json_of(&out)["access_token_expired"], false);
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    assert!(!stdout(&out).contains("(expired)"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_check_sends_one_refresh_when_tokens_live_two_seconds() {
    let home = short_lived_home().await;
    home.seed_chatgpt_login(-60);
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(json_of(&out)["usage"].is_object());
    let after = home.emulator().stats();
    assert_eq!(after.refresh_ok - before.refresh_ok, 1, "{after:?}");
    assert_eq!(after.token_requests - before.token_requests, 1, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_check_after_a_fresh_device_login_refreshes_at_most_once() {
    let home = short_lived_home().await;
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--device-auth"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let sent = home.emulator().stats().refresh_ok - before.refresh_ok;
    assert!(sent <= 1, "{sent} refreshes for one command");
}
