//! Interoperability with the official Codex CLI 0.169.0 on one CODEX_HOME,
//! loopback only (see `support::official` for how it is found and isolated).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use std::sync::Arc;
use support::official::{all_output, official_bin, run_official, run_official_with_env};
use support::{Home, blocking, code, stderr};

#[test]
fn official_api_key_login_is_read_by_our_status_and_whoami() {
    let Some(official) = official_bin() else {
        return;
    };
    let home = Home::offline();
    let out = run_official(
        &official,
        home.path(),
        &["login", "--with-api-key"],
        Some("sk-proj-1234567890ABCDE\n"),
    );
    assert!(out.status.success(), "{}", all_output(&out));

    let ours = home.run(&["login", "status"], None);
    assert_eq!(
        stderr(&ours),
        "API key configured - sk-proj-***ABCDE\nAuthentication is checked when you send a request.\n"
    );
    assert_eq!(code(&ours), 0);

    let ours = home.run(&["whoami", "--json"], None);
    assert_eq!(code(&ours), 0, "{}", stderr(&ours));
    let report: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    assert_eq!(report["auth_mode"], "apikey");
    assert_eq!(report["api_key"], "sk-proj-***ABCDE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_chatgpt_login_is_read_by_the_official_status() {
    let Some(official) = official_bin() else {
        return;
    };
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

    let path = home.path().to_path_buf();
    let out = blocking(move || run_official(&official, &path, &["login", "status"], None)).await;
    assert!(
        all_output(&out).contains("Logged in using ChatGPT"),
        "{}",
        all_output(&out)
    );
    assert!(out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_access_token_login_is_read_by_the_official_status() {
    let Some(official) = official_bin() else {
        return;
    };
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let minted = home.emulator().mint_agent_identity_jwt();
    let h = home.clone();
    let jwt = minted.jwt.clone();
    let out = blocking(move || h.run(&["login", "--with-access-token"], Some(&jwt))).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let before = home.emulator().stats();
    let path = home.path().to_path_buf();
    let urls = home.emulator().urls().clone();
    let out = blocking(move || {
        run_official_with_env(
            &official,
            &path,
            &["login", "status"],
            None,
            &[
                ("CODEX_AGENT_IDENTITY_JWKS_BASE_URL", &urls.chatgpt_base_url),
                (
                    "CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL",
                    &urls.authapi_base_url,
                ),
            ],
        )
    })
    .await;
    assert!(
        all_output(&out).contains("Logged in using access token"),
        "{}",
        all_output(&out)
    );
    assert!(out.status.success());
    // The official CLI registered its task with the key inside our stored JWT.
    let after = home.emulator().stats();
    assert_eq!(after.task_registrations, before.task_registrations + 1);
}
