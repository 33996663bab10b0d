//! `codex token` (issue 18): the credential in use, valid now, in three
//! formats, against the emulator; its `--headers` output sent as-is on a real
//! request; concurrent callers on an expired token spending one refresh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use crate::exit;

use codex_emulator::{EmulatorConfig, SeedAccount};
use serde_json::Value;
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", stdout(out), stderr(out)))
}

/// Parses `Name: value` lines as `curl -H @file` does.
fn header_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// `GET {backend}/wham/usage` with exactly `headers`; returns the status.
async fn usage_status(home: &Home, headers: &[(String, String)]) -> u16 {
    let url = format!("{}/wham/usage", home.emulator().urls().chatgpt_base_url);
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn run(home: &Arc<Home>, args: &'static [&'static str]) -> std::process::Output {
    let h = home.clone();
    blocking(move || h.run(args, None)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatgpt_token_in_each_format_without_a_refresh_when_valid() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(3600);
    let before = home.emulator().stats();

    let out = run(&home, &["token"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", tokens.access_token));

    let out = run(&home, &["token", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["token"], tokens.access_token.as_str());
    assert_eq!(report["token_type"], "Bearer");
    assert_eq!(report["auth_mode"], "chatgpt");
    assert_eq!(report["account_id"], "acct-emulator-0001");
    assert!(report["expires_at"].as_str().unwrap().ends_with('Z'));

    let out = run(&home, &["token", "--headers"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let headers = header_lines(&stdout(&out));
    assert_eq!(
        headers,
        vec![
            (
                "Authorization".to_owned(),
                format!("Bearer {}", tokens.access_token)
            ),
            (
                "ChatGPT-Account-ID".to_owned(),
                "acct-emulator-0001".to_owned()
            ),
        ]
    );
    assert_eq!(
        home.emulator().stats(),
        before,
        "a valid token is not refreshed"
    );
    // The lines are what a request needs: with them the backend answers,
    // without them it refuses.
    assert_eq!(usage_status(&home, &headers).await, 200);
    assert_eq!(usage_status(&home, &[]).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedramp_headers_are_accepted_by_the_backend() {
    let home = Arc::new(
        Home::with_emulator(EmulatorConfig {
            seed: SeedAccount {
                fedramp: true,
                ..SeedAccount::default()
            },
            ..EmulatorConfig::default()
        })
        .await,
    );
    home.seed_chatgpt_login(3600);
    let out = run(&home, &["token", "--headers"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let headers = header_lines(&stdout(&out));
    assert!(
        headers.contains(&("X-OpenAI-Fedramp".to_owned(), "true".to_owned())),
        "{headers:?}"
    );
    assert_eq!(usage_status(&home, &headers).await, 200);
    let without: Vec<_> = headers
        .into_iter()
        .filter(|(name, _)| name != "X-OpenAI-Fedramp")
        .collect();
    assert_ne!(usage_status(&home, &without).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_valid_decides_whether_to_refresh_first() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(120);
    // Two minutes left and none asked for: printed as is.
    let out = run(&home, &["token", "--min-valid", "0"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), tokens.access_token);
    assert_eq!(home.emulator().stats().refresh_ok, 0);

    // Five minutes asked for: refreshed first, and the new token is stored.
    let out = run(&home, &["token", "--min-valid", "5m", "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let fresh = json_of(&out)["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, tokens.access_token);
    assert_eq!(home.emulator().stats().refresh_ok, 1);
    let stored = std::fs::read_to_string(home.auth_file()).unwrap();
    assert!(stored.contains(&fresh));

    let out = run(&home, &["token", "--json", "--headers"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    let out = run(&home, &["token", "--min-valid", "soon"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_callers_on_an_expired_token_spend_one_refresh() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let tokens = home.seed_chatgpt_login(-60);
    let mut children = Vec::new();
    for _ in 0..8 {
        let h = home.clone();
        children.push(tokio::task::spawn_blocking(move || h.run(&["token"], None)));
    }
    let mut printed = Vec::new();
    for child in children {
        let out = child.await.unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        printed.push(stdout(&out));
    }
    let stats = home.emulator().stats();
    assert_eq!(stats.refresh_ok, 1, "{stats:?}");
    assert_eq!(stats.refresh_reused, 0, "{stats:?}");
    let first = printed[0].clone();
    assert_ne!(first.trim(), tokens.access_token);
    assert!(printed.iter().all(|text| *text == first), "{printed:?}");
    let out = run(&home, &["token", "--headers"]).await;
    assert_eq!(usage_status(&home, &header_lines(&stdout(&out))).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_prints_the_key() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let key = "sk-test-token-cmd-0123456789";
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--with-api-key"], Some(key))).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&home, &["token"]).await;
    assert_eq!(stdout(&out), format!("{key}\n"), "{}", stderr(&out));
    let out = run(&home, &["token", "--json"]).await;
    let report = json_of(&out);
    assert_eq!(report["token"], key);
    assert_eq!(report["token_type"], "Bearer");
    assert_eq!(report["auth_mode"], "apikey");
    assert_eq!(report["expires_at"], Value::Null);
    let out = run(&home, &["token", "--headers"]).await;
    assert_eq!(stdout(&out), format!("Authorization: Bearer {key}\n"));

    // CODEX_API_KEY wins over a stored login, and stderr says so.
    home.seed_chatgpt_login(3600);
    let h = home.clone();
    let out = blocking(move || h.run_with_env(&["token"], None, &[("CODEX_API_KEY", key)])).await;
    assert_eq!(stdout(&out), format!("{key}\n"));
    assert!(
        stderr(&out).contains("CODEX_API_KEY is set and is used instead of the login stored"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_identity_gets_a_fresh_assertion_the_backend_accepts() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let minted = home.emulator().mint_agent_identity_jwt();
    let jwt = minted.jwt.clone();
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["token", "--json"],
            None,
            &[("CODEX_ACCESS_TOKEN", jwt.as_str())],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["token_type"], "AgentAssertion");
    assert_eq!(report["auth_mode"], "agentIdentity");
    assert_ne!(report["token"], minted.jwt.as_str());

    let before = home.emulator().stats();
    let jwt = minted.jwt.clone();
    let h = home.clone();
    let out = blocking(move || {
        h.run_with_env(
            &["token", "--headers"],
            None,
            &[("CODEX_ACCESS_TOKEN", jwt.as_str())],
        )
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let headers = header_lines(&stdout(&out));
    assert!(headers[0].1.starts_with("AgentAssertion "), "{headers:?}");
    assert_eq!(usage_status(&home, &headers).await, 200);
    assert_eq!(
        home.emulator().stats().assertions_ok,
        before.assertions_ok + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_print_no_token_and_use_the_whoami_exit_codes() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let out = run(&home, &["token"]).await;
    assert_eq!(code(&out), i32::from(exit::FAILURE));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("Not logged in"), "{}", stderr(&out));

    // Expired, and the issuer refuses the refresh token for good.
    let tokens = home.seed_chatgpt_login(-60);
    assert!(
        home.emulator()
            .invalidate_refresh_token(&tokens.refresh_token)
    );
    let out = run(&home, &["token", "--json"]).await;
    assert_eq!(code(&out), i32::from(exit::NEEDS_LOGIN), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains("codex login"), "{}", stderr(&out));

    // Expired, and the issuer (which minted it: tokens go only there) cannot be reached.
    home.seed_chatgpt_login_minted_by(-60, "http://127.0.0.1:9");
    let h = home.clone();
    let out =
        blocking(move || h.run(&["token", "-c", "issuer=\"http://127.0.0.1:9\""], None)).await;
    assert_eq!(
        code(&out),
        i32::from(exit::NETWORK_ERROR),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // An unreadable store.
    std::fs::write(home.auth_file(), "{not json").unwrap();
    let out = run(&home, &["token"]).await;
    assert_eq!(
        code(&out),
        i32::from(exit::STORAGE_ERROR),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_chosen_by_flag_or_environment_gives_its_own_credential() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let h = home.clone();
    let (work, personal) = blocking(move || {
        let work = h.run(
            &["login", "--with-api-key", "--profile", "work"],
            Some("sk-proj-work-1111111111\n"),
        );
        let personal = h.run(
            &["login", "--with-api-key", "--profile", "personal"],
            Some("sk-proj-personal-2222222222\n"),
        );
        (work, personal)
    })
    .await;
    assert_eq!(code(&work), 0, "{}", stderr(&work));
    assert_eq!(code(&personal), 0, "{}", stderr(&personal));
    let h = home.clone();
    let (by_flag, by_env, missing) = blocking(move || {
        (
            h.run(&["token", "--profile", "work"], None),
            h.run_with_env(&["token"], None, &[("CODEX_PROFILE", "personal")]),
            h.run(&["token", "--profile", "nobody"], None),
        )
    })
    .await;
    assert_eq!(code(&by_flag), 0, "{}", stderr(&by_flag));
    assert_eq!(stdout(&by_flag), "sk-proj-work-1111111111\n");
    assert_eq!(code(&by_env), 0, "{}", stderr(&by_env));
    assert_eq!(stdout(&by_env), "sk-proj-personal-2222222222\n");
    assert_eq!(code(&missing), 1, "{}", stderr(&missing));
    assert!(stdout(&missing).is_empty());
}
