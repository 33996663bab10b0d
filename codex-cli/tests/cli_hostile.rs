//! Issue 13 against the real `codex` binary: administrator restrictions enforced by
//! `whoami --check` before any request (point 5), the spent refresh token never replayed after
//! a save fails on a full disk (point 2), and an echoing token endpoint during a browser login
//! (point 1: the page, stderr and `codex-login.log` hold none of the sent secrets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use codex_emulator::{EmulatorConfig, SeedAccount};
use std::sync::Arc;
use support::{Home, blocking, code, stderr};

fn add_config(home: &Home, line: &str) {
    let path = home.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_login_outside_the_forced_workspace_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    // Expired: a careless check would refresh before calling the backend.
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_chatgpt_workspace_id = \"ws-allowed\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        format!(
            "Login is restricted to workspace(s) ws-allowed, but current credentials belong to {}. Logging out.\n",
            SeedAccount::default().account_id
        )
    );
    assert_eq!(code(&out), 2);
    assert!(!home.auth_file().exists(), "logged out");
    let stats = home.emulator().stats();
    assert_eq!(stats.token_requests, 0, "{stats:?}");
    assert_eq!(stats.backend_requests, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_check_refuses_a_forbidden_login_method_before_any_request() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(-60);
    add_config(&home, "forced_login_method = \"api\"");
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(
        stderr(&out),
        "API key login is required, but ChatGPT is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 2);

    // ChatGPT forced and CODEX_API_KEY set.
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    add_config(&home, "forced_login_method = \"chatgpt\"");
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--check"],
            None,
            &[("CODEX_API_KEY", "sk-proj-forced-0123456789abcdef")],
        )
    })
    .await;
    assert_eq!(
        stderr(&out),
        "ChatGPT login is required, but an API key is currently being used. Logging out.\n"
    );
    assert_eq!(code(&out), 2);
    let stats = home.emulator().stats();
    assert_eq!(
        stats.token_requests + stats.backend_requests,
        0,
        "{stats:?}"
    );
}
