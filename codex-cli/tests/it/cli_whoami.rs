//! `codex whoami [--json] [--check]`: output, schema and every exit code,
//! each produced by a real situation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::{EmulatorConfig, SeedAccount};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

const SCHEMA_KEYS: [&str; 15] = [
    "schema_version",
    "logged_in",
    "auth_mode",
    "source",
    "email",
    "plan_type",
    "account_id",
    "user_id",
    "fedramp",
    "access_token_expires_at",
    "last_refresh",
    "api_key",
    "agent_identity",
    "access_token_expired",
    "needs_login",
];

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn schema(extra: &[&str]) -> BTreeSet<String> {
    SCHEMA_KEYS
        .iter()
        .chain(extra)
        .map(|k| (*k).to_owned())
        .collect()
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

#[test]
fn not_logged_in_json_and_exit_1() {
    let home = Home::offline();
    let out = home.run(&["whoami", "--json"], None);
    assert_eq!(code(&out), 1);
    let report = json_of(&out);
    assert_eq!(keys(&report), schema(&[]));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["logged_in"], false);
    assert!(report["auth_mode"].is_null());
    assert_eq!(stderr(&out), "Not logged in\n");

    let out = home.run(&["whoami"], None);
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "");
}

#[test]
fn api_key_login_json_masks_the_key() {
    let home = Home::offline();
    home.run(
        &["login", "--with-api-key"],
        Some("sk-proj-1234567890ABCDE"),
    );
    let out = home.run(&["whoami", "--json"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(keys(&report), schema(&[]));
    assert_eq!(report["auth_mode"], "apikey");
    assert_eq!(report["api_key"], "sk-proj-***ABCDE");
    let source = format!("file:{}", home.auth_file().display());
    assert_eq!(report["source"], source.as_str());
    assert!(!stdout(&out).contains("1234567890"));

    let out = home.run(&["whoami"], None);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("API key"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("1234567890ABCDE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatgpt_login_reports_identity_offline() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            seed: SeedAccount {
                email: "dev@example.com".into(),
                plan_type: "pro".into(),
                account_id: "acct-42".into(),
                user_id: "user-42".into(),
                fedramp: true,
            },
            ..EmulatorConfig::default()
        })
        .await,
    );
    let tokens = home.seed_chatgpt_login(3600);
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(keys(&report), schema(&[]));
    assert_eq!(report["auth_mode"], "chatgpt");
    assert_eq!(report["email"], "dev@example.com");
    assert_eq!(report["plan_type"], "pro");
    assert_eq!(report["account_id"], "acct-42");
    assert_eq!(report["user_id"], "user-42");
    assert_eq!(report["fedramp"], true);
    assert!(
        report["access_token_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(report["last_refresh"], "2026-01-01T00:00:00Z");
    assert!(report["api_key"].is_null());
    assert!(report["agent_identity"].is_null());
    for secret in [
        &tokens.access_token,
        &tokens.refresh_token,
        &tokens.id_token,
    ] {
        assert!(!stdout(&out).contains(secret.as_str()));
    }
    // Offline: the emulator saw nothing.
    let after = home.emulator().stats();
    assert_eq!(after.backend_requests, before.backend_requests);
    assert_eq!(after.token_requests, before.token_requests);

    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    let text = stdout(&out);
    for expected in ["dev@example.com", "acct-42", "Pro", "ChatGPT", "auth.json"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_key_shadowing_a_stored_login_is_warned_about() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["whoami", "--json"],
            None,
            &[("CODEX_API_KEY", "sk-env-0123456789abcdef")],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["source"], "env:CODEX_API_KEY");
    assert_eq!(report["auth_mode"], "apikey");
    let err = stderr(&out);
    assert!(err.contains("Warning: CODEX_API_KEY is set"), "{err}");
    assert!(err.contains("auth.json"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_with_an_expired_token_refreshes_once_and_reports_usage() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let old = home.seed_chatgpt_login(-60);
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(keys(&report), schema(&["usage"]));
    assert_eq!(report["usage"]["plan_type"], "plus");
    assert!(report["usage"]["primary_window"]["used_percent"].is_number());
    let after = home.emulator().stats();
    assert_eq!(after.refresh_ok, before.refresh_ok + 1);
    assert_eq!(after.refresh_reused, before.refresh_reused);
    let stored: Value = serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_ne!(
        stored["tokens"]["refresh_token"],
        old.refresh_token.as_str()
    );

    // A second check finds a fresh token: no refresh.
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("Usage"), "{}", stdout(&out));
    assert_eq!(home.emulator().stats().refresh_ok, after.refresh_ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_5_when_the_refresh_token_is_dead() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(-60);
    assert!(
        home.emulator()
            .invalidate_refresh_token(&tokens.refresh_token)
    );
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check"], None)).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(!stderr(&out).is_empty());
    // The failed refresh leaves the stored credentials in place.
    assert!(home.auth_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_5_offline_when_expired_without_refresh_token() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let mut tokens = home
        .emulator()
        .issue_chatgpt_tokens(codex_emulator::IssueTokens {
            access_token_ttl_secs: -60,
            ..Default::default()
        });
    tokens.refresh_token = String::new();
    home.write_chatgpt_login(&tokens);
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("codex login"), "{}", stderr(&out));
}

#[test]
fn exit_3_when_the_store_cannot_be_read() {
    let home = Home::offline();
    std::fs::write(home.auth_file(), b"\x00\x01 not json").unwrap();
    let out = home.run(&["whoami", "--json"], None);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("auth.json"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(home.auth_file()).unwrap(),
        b"\x00\x01 not json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_4_when_the_backend_is_unreachable() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let out = blocking(move || {
        h.run(
            &[
                "-c",
                "chatgpt_base_url=http://127.0.0.1:9/backend-api",
                "whoami",
                "--check",
            ],
            None,
        )
    })
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
}

#[test]
fn help_documents_exit_codes_and_env() {
    let home = Home::offline();
    let out = home.run(&["--help"], None);
    let text = stdout(&out);
    assert_eq!(code(&out), 0);
    for expected in [
        "Exit codes:",
        "CODEX_HOME",
        "CODEX_API_KEY",
        "whoami",
        "logout",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_snapshot() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            seed: SeedAccount {
                email: "dev@example.com".into(),
                plan_type: "team".into(),
                account_id: "acct-snap".into(),
                user_id: "user-snap".into(),
                fedramp: false,
            },
            ..EmulatorConfig::default()
        })
        .await,
    );
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out).replace(&home.path().display().to_string(), "[CODEX_HOME]");
    insta::with_settings!({filters => vec![(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]")]}, {
        insta::assert_snapshot!("whoami_human_chatgpt", text);
    });
}

#[test]
fn help_snapshot() {
    let home = Home::offline();
    let out = home.run(&["--help"], None);
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!("codex_help", stdout(&out));
    let out = home.run(&["login", "--help"], None);
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!("codex_login_help", stdout(&out));
}
