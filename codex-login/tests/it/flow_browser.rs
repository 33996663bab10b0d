//! Browser login against `codex-emulator`, driven by a scripted HTTP browser: the upstream
//! `login_server_e2e` scenarios plus wrong state, paste-back, busy ports and port release.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_emulator::{Faults, IssueTokens, SeedAccount, StatusOverride};
use codex_login::flows::{
    BrowserLoginError, CompletedVia, DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT, LoginServer,
    UrlOpener, run_browser_login,
};
use flow_support::{
    ScriptedBrowser, browser_options, emulator, lock_fixed_ports, port_free_within, read_auth_json,
    seed_chatgpt_auth,
};
use tokio::io::AsyncWriteExt;

/// Serialises, within this binary, the tests that need the registered ports 1455/1457 (the
/// file lock in [`lock_fixed_ports`] does it across processes).
static FIXED_PORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const STATE: &str = "test-state-0123456789";

#[tokio::test]
async fn end_to_end_login_flow_persists_auth_json() {
    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"OPENAI_API_KEY":"sk-stale-key","tokens":null}"#,
    )
    .unwrap();
    let seed = SeedAccount::default();
    let mut options = browser_options(home.path(), &emulator.urls().issuer);
    options.forced_chatgpt_workspace_ids = vec![seed.account_id.clone()];
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let auth_url = server.auth_url().to_owned();
    assert!(auth_url.contains(&format!("allowed_workspace_id={}", seed.account_id)));
    assert!(auth_url.contains(&format!(
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fauth%2Fcallback"
    )));
    let waiting = tokio::spawn(server.wait());

    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    assert!(callback.starts_with(&format!("http://127.0.0.1:{port}/auth/callback?")));
    let (redirect, success) = browser.visit_callback(&callback).await;
    assert_eq!(redirect.status, 302);
    let location = redirect.location.unwrap();
    assert!(location.starts_with(&format!("http://127.0.0.1:{port}/success?")));
    assert!(!location.contains("id_token") && !location.contains("token="));
    let success = success.unwrap();
    assert_eq!(success.status, 200);
    assert!(success.body.contains("Signed in to Codex"));

    let result = waiting.await.unwrap().unwrap();
    assert_eq!(result.completed_via, CompletedVia::Callback);
    assert_eq!(result.account_id.as_deref(), Some(seed.account_id.as_str()));
    assert!(result.api_key_obtained);

    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "chatgpt");
    let api_key = auth["OPENAI_API_KEY"].as_str().unwrap();
    assert!(api_key.starts_with("sk-emu-"), "exchanged key expected");
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(
            auth["tokens"][field].as_str().is_some_and(|t| t.len() > 20),
            "{field}"
        );
    }
    assert_eq!(auth["tokens"]["account_id"], seed.account_id.as_str());
    assert!(auth["last_refresh"].as_str().unwrap().ends_with('Z'));
    let stats = emulator.stats();
    assert_eq!(stats.code_exchanges_ok, 1);
    assert_eq!(stats.api_key_exchanges, 1);
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn a_new_login_revokes_the_login_it_replaces() {
    let emulator = emulator(true).await;
    let old = emulator.issue_chatgpt_tokens(IssueTokens::default());
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(home.path(), &old);
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert_eq!(emulator.stats().revoked, 1);
    let auth = read_auth_json(home.path());
    assert_ne!(auth["tokens"]["refresh_token"], old.refresh_token.as_str());
    let refresh = reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .json(&serde_json::json!({
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_token": old.refresh_token,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401, "the replaced grant is revoked");
}

#[tokio::test]
async fn failing_revocation_of_the_replaced_login_does_not_fail_the_login() {
    let emulator = emulator(true).await;
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/revoke".to_owned(),
            status: 500,
            body: "down".to_owned(),
            times: 0,
        }],
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert_eq!(emulator.stats().faults_injected, 1);
    assert_eq!(emulator.stats().revoked, 0);
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
}

#[tokio::test]
async fn no_revocation_when_the_refresh_token_is_unchanged() {
    let issuer = wiremock::MockServer::start().await;
    let id_token = fake_jwt(&serde_json::json!({
        "https://api.openai.com/auth": {"chatgpt_account_id": "acct-1"}
    }));
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/oauth/token"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id_token": id_token, "access_token": "at-new", "refresh_token": "rt-same"
            })),
        )
        .mount(&issuer)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/oauth/revoke"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(0)
        .mount(&issuer)
        .await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &codex_emulator::IssuedTokens {
            id_token: id_token.clone(),
            access_token: "at-old".to_owned(),
            refresh_token: "rt-same".to_owned(),
            account_id: "acct-1".to_owned(),
        },
    );
    let mut options = browser_options(home.path(), &issuer.uri());
    options.force_state = Some(STATE.into());
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    browser
        .visit_callback(&format!(
            "http://127.0.0.1:{port}/auth/callback?code=c1&state={STATE}"
        ))
        .await;
    waiting.await.unwrap().unwrap();
    assert_eq!(
        read_auth_json(home.path())["tokens"]["access_token"],
        "at-new"
    );
}

#[tokio::test]
async fn creates_missing_codex_home_dir() {
    let emulator = emulator(true).await;
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("nested").join("codex-home");
    let server = LoginServer::start(browser_options(&home, &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert_eq!(read_auth_json(&home)["auth_mode"], "chatgpt");
}

#[tokio::test]
async fn login_server_includes_forced_workspaces_as_one_query_param() {
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), "http://127.0.0.1:9");
    options.forced_chatgpt_workspace_ids = vec!["ws-a".to_owned(), "ws-b".to_owned()];
    let server = LoginServer::start(options).await.unwrap();
    let url = url::Url::parse(server.auth_url()).unwrap();
    let values: Vec<String> = url
        .query_pairs()
        .filter(|(key, _)| key == "allowed_workspace_id")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(values, vec!["ws-a,ws-b".to_owned()]);
}

#[tokio::test]
async fn forced_chatgpt_workspace_id_mismatch_blocks_login() {
    // The issuer (a wiremock stand-in, since the emulator itself enforces the workspace at
    // /oauth/authorize) returns tokens for another workspace: the client must refuse them.
    let issuer = wiremock::MockServer::start().await;
    let id_token = fake_jwt(&serde_json::json!({
        "https://api.openai.com/auth": {"chatgpt_account_id": "ws-other"}
    }));
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/oauth/token"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id_token": id_token, "access_token": "at-1", "refresh_token": "rt-1"
            })),
        )
        .expect(1)
        .mount(&issuer)
        .await;
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), &issuer.uri());
    options.force_state = Some(STATE.into());
    options.forced_chatgpt_workspace_ids = vec!["ws-allowed".to_owned()];
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let waiting = tokio::spawn(server.wait());
    let page = ScriptedBrowser::new()
        .get(&format!(
            "http://localhost:{port}/auth/callback?code=c1&state={STATE}"
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Login is restricted to workspace id(s) ws-allowed.")
    );
    let err = waiting.await.unwrap().unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    assert!(matches!(err, BrowserLoginError::Workspace(_)));
    assert!(!home.path().join("auth.json").exists());
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn oauth_access_denied_missing_entitlement_blocks_login_with_clear_error() {
    let emulator = emulator(true).await;
    emulator.set_faults(Faults {
        deny_authorize: Some("missing_codex_entitlement".to_owned()),
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    let (page, _) = browser.visit_callback(&callback).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You do not have access to Codex"));
    assert!(page.body.contains("Contact your workspace administrator"));
    assert!(page.body.contains("access_denied"));
    assert!(!page.body.contains("missing_codex_entitlement"));
    let err = waiting.await.unwrap().unwrap_err();
    assert!(err.is_permission_denied());
    assert_eq!(
        err.to_string(),
        "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn oauth_access_denied_unknown_reason_uses_generic_error_page() {
    let emulator = emulator(true).await;
    emulator.set_faults(Faults {
        deny_authorize: Some("some_other_reason".to_owned()),
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    let (page, _) = browser.visit_callback(&callback).await;
    assert!(page.body.contains("Sign-in could not be completed"));
    assert!(page.body.contains("Return to Codex to retry"));
    assert!(page.body.contains("Sign-in failed: some_other_reason"));
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "Sign-in failed: some_other_reason");
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn token_exchange_failure_shows_error_page_and_persists_nothing() {
    let emulator = emulator(true).await;
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/token".to_owned(),
            status: 400,
            body: serde_json::json!({
                "error": "invalid_grant", "error_description": "Code <expired> & gone"
            })
            .to_string(),
            times: 0,
        }],
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let port = server.port();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    let (page, _) = browser.visit_callback(&callback).await;
    assert_eq!(emulator.stats().faults_injected, 1);
    assert!(page.body.contains("token_exchange_failed"));
    assert!(page.body.contains("Code &lt;expired&gt; &amp; gone"));
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Token exchange failed: token endpoint returned status 400: Code <expired> & gone"
    );
    assert!(!home.path().join("auth.json").exists());
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn missing_code_is_a_terminal_error() {
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), "http://127.0.0.1:9");
    options.force_state = Some(STATE.into());
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let waiting = tokio::spawn(server.wait());
    let page = ScriptedBrowser::new()
        .get(&format!(
            "http://127.0.0.1:{port}/auth/callback?state={STATE}"
        ))
        .await;
    assert!(page.body.contains("missing_authorization_code"));
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, BrowserLoginError::MissingAuthorizationCode));
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn wrong_state_gets_400_and_login_still_completes() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let port = server.port();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    for stray in [
        format!("http://localhost:{port}/auth/callback?code=stray&state=not-ours"),
        format!("http://localhost:{port}/auth/callback?code=stray"),
    ] {
        let page = browser.get(&stray).await;
        assert_eq!(page.status, 400);
        assert_eq!(page.body, "State mismatch");
    }
    let page = browser.get(&format!("http://localhost:{port}/nope")).await;
    assert_eq!(page.status, 404);
    assert!(!waiting.is_finished());
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
    assert_eq!(emulator.stats().code_exchanges_ok, 1);
}

#[tokio::test]
async fn pasted_redirect_url_completes_login() {
    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let port = server.port();
    let auth_url = server.auth_url().to_owned();
    let (mut typing, stdin) = tokio::io::duplex(4096);
    let feedback = SharedBuffer::default();
    let mut feedback_writer = feedback.clone();
    let waiting = tokio::spawn(async move {
        server
            .wait_with_pasted_input(Some(tokio::io::BufReader::new(stdin)), &mut feedback_writer)
            .await
    });
    // The browser runs elsewhere: its redirect to localhost never reaches us.
    let callback = ScriptedBrowser::new().authorize(&auth_url).await;
    typing.write_all(b"this is not a url\n").await.unwrap();
    typing
        .write_all(format!("http://localhost:{port}/auth/callback?code=x&state=wrong\n").as_bytes())
        .await
        .unwrap();
    typing
        .write_all(format!("  {callback}  \n").as_bytes())
        .await
        .unwrap();
    let result = waiting.await.unwrap().unwrap();
    assert_eq!(result.completed_via, CompletedVia::PastedInput);
    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "chatgpt");
    assert!(
        auth["OPENAI_API_KEY"]
            .as_str()
            .unwrap()
            .starts_with("sk-emu-")
    );
    let said = feedback.text();
    assert!(said.contains("not a redirect URL"), "{said}");
    assert!(said.contains("state mismatch"), "{said}");
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn a_pasted_code_that_fails_to_redeem_keeps_the_login_waiting() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let callback = ScriptedBrowser::new().authorize(&auth_url).await;
    let feedback = SharedBuffer::default();
    let mut feedback_writer = feedback.clone();
    let input = std::io::Cursor::new(format!("ac_mistyped_code\n{callback}\n").into_bytes());
    let result = server
        .wait_with_pasted_input(Some(input), &mut feedback_writer)
        .await
        .unwrap();
    assert_eq!(result.completed_via, CompletedVia::PastedInput);
    assert!(
        feedback.text().contains("could not be redeemed"),
        "{}",
        feedback.text()
    );
    let stats = emulator.stats();
    assert_eq!(stats.code_exchanges_rejected, 1);
    assert_eq!(stats.code_exchanges_ok, 1);
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
}

#[tokio::test]
async fn callback_first_wins_over_a_later_paste() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let (mut typing, stdin) = tokio::io::duplex(4096);
    let waiting = tokio::spawn(async move {
        server
            .wait_with_pasted_input(Some(tokio::io::BufReader::new(stdin)), &mut std::io::sink())
            .await
    });
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    let result = waiting.await.unwrap().unwrap();
    assert_eq!(result.completed_via, CompletedVia::Callback);
    // The same code pasted afterwards goes nowhere: the server is gone.
    let _ = typing.write_all(format!("{callback}\n").as_bytes()).await;
    assert_eq!(emulator.stats().code_exchanges_ok, 1);
    assert_eq!(emulator.stats().code_exchanges_rejected, 0);
}

#[tokio::test]
async fn pasted_bare_code_completes_login() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &emulator.urls().issuer))
        .await
        .unwrap();
    let auth_url = server.auth_url().to_owned();
    let callback = ScriptedBrowser::new().authorize(&auth_url).await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();
    let input = std::io::Cursor::new(format!("{code}\n").into_bytes());
    let result = server
        .wait_with_pasted_input(Some(input), &mut std::io::sink())
        .await
        .unwrap();
    assert_eq!(result.completed_via, CompletedVia::PastedInput);
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
}

#[derive(Debug)]
struct RecordingOpener {
    output: SharedBuffer,
    saw_url_first: Arc<Mutex<Option<bool>>>,
    result: Result<(), String>,
}

impl UrlOpener for RecordingOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        *self.saw_url_first.lock().unwrap() = Some(self.output.text().contains(url));
        self.result.clone()
    }
}

#[tokio::test]
async fn url_is_printed_before_the_browser_opens_and_a_failing_opener_is_a_warning() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let output = SharedBuffer::default();
    let saw_url_first = Arc::new(Mutex::new(None));
    let mut options = browser_options(home.path(), &emulator.urls().issuer);
    options.open_browser = true;
    options.url_opener = Some(Arc::new(RecordingOpener {
        output: output.clone(),
        saw_url_first: saw_url_first.clone(),
        result: Err("no xdg-open on this host".to_owned()),
    }));
    let mut writer = output.clone();
    let login = tokio::spawn(async move {
        run_browser_login(options, &mut writer, None::<tokio::io::Empty>).await
    });
    // Wait for the printed URL, then act as the user's browser.
    let auth_url = loop {
        if let Some(line) = output
            .text()
            .lines()
            .find(|line| line.contains("/oauth/authorize?"))
        {
            break line.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    login.await.unwrap().unwrap();
    assert_eq!(*saw_url_first.lock().unwrap(), Some(true));
    let text = output.text();
    assert!(text.starts_with("Starting local login server on http://localhost:"));
    assert!(text.contains("If your browser did not open, navigate to this URL to authenticate:"));
    assert!(text.contains("Warning: could not open a browser (no xdg-open on this host)"));
}

#[tokio::test]
async fn cancel_endpoint_ends_login_and_frees_port() {
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), "http://127.0.0.1:9"))
        .await
        .unwrap();
    let port = server.port();
    let waiting = tokio::spawn(server.wait());
    let page = ScriptedBrowser::new()
        .get(&own_cancel_url(home.path(), port))
        .await;
    assert_eq!(page.body, "Login cancelled");
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, BrowserLoginError::Cancelled));
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn cancel_handle_and_timeout_free_the_port() {
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), "http://127.0.0.1:9"))
        .await
        .unwrap();
    let port = server.port();
    let cancel = server.cancel_handle();
    let waiting = tokio::spawn(server.wait());
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, BrowserLoginError::NotCompleted));
    assert!(port_free_within(port, Duration::from_secs(1)).await);

    let mut options = browser_options(home.path(), "http://127.0.0.1:9");
    options.timeout = Some(Duration::from_millis(300));
    let server = LoginServer::start(options).await.unwrap();
    let port = server.port();
    let started = std::time::Instant::now();
    let err = server.wait().await.unwrap_err();
    assert!(matches!(err, BrowserLoginError::TimedOut(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(port_free_within(port, Duration::from_secs(1)).await);

    // Dropping an unfinished login (Ctrl-C) releases the port as well.
    let server = LoginServer::start(browser_options(home.path(), "http://127.0.0.1:9"))
        .await
        .unwrap();
    let port = server.port();
    drop(server);
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn cancels_previous_login_server_when_port_is_in_use() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut options = browser_options(home.path(), "http://127.0.0.1:9");
    options.port = port;
    let first = LoginServer::start(options.clone()).await.unwrap();
    let first_waiting = tokio::spawn(first.wait());
    let second = LoginServer::start(options).await.unwrap();
    assert_eq!(second.port(), port);
    let err = first_waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, BrowserLoginError::Cancelled));
    let second_waiting = tokio::spawn(second.wait());
    ScriptedBrowser::new()
        .get(&own_cancel_url(home.path(), port))
        .await;
    assert!(matches!(
        second_waiting.await.unwrap().unwrap_err(),
        BrowserLoginError::Cancelled
    ));
    assert!(port_free_within(port, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn falls_back_to_registered_fallback_port_when_default_port_is_in_use() {
    let _ports = FIXED_PORTS.lock().await;
    let _ports_across_processes = lock_fixed_ports().await;
    let emulator = emulator(true).await;
    // A foreign server (not ours: it ignores /cancel) holds 1455.
    let holder = std::net::TcpListener::bind(("127.0.0.1", DEFAULT_CALLBACK_PORT))
        .expect("port 1455 must be free for this test");
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), &emulator.urls().issuer);
    options.port = DEFAULT_CALLBACK_PORT;
    options.fallback_port = Some(FALLBACK_CALLBACK_PORT);
    let server = LoginServer::start(options).await.unwrap();
    assert_eq!(server.port(), FALLBACK_CALLBACK_PORT);
    assert!(
        server
            .auth_url()
            .contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A1457%2Fauth%2Fcallback")
    );
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    assert!(callback.starts_with("http://127.0.0.1:1457/auth/callback?"));
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    drop(holder);
    assert!(port_free_within(FALLBACK_CALLBACK_PORT, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn both_ports_busy_gives_clear_error_naming_the_ports() {
    let _ports = FIXED_PORTS.lock().await;
    let _ports_across_processes = lock_fixed_ports().await;
    let _first = std::net::TcpListener::bind(("127.0.0.1", DEFAULT_CALLBACK_PORT))
        .expect("port 1455 must be free for this test");
    let _second = std::net::TcpListener::bind(("127.0.0.1", FALLBACK_CALLBACK_PORT))
        .expect("port 1457 must be free for this test");
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), "http://127.0.0.1:9");
    options.port = DEFAULT_CALLBACK_PORT;
    options.fallback_port = Some(FALLBACK_CALLBACK_PORT);
    let err = LoginServer::start(options).await.unwrap_err();
    let BrowserLoginError::Bind(bind) = &err else {
        panic!("expected a bind error, got {err}");
    };
    assert_eq!(bind.ports(), vec![1455, 1457]);
    let text = err.to_string();
    assert!(
        text.contains("Port 127.0.0.1:1455 is already in use"),
        "{text}"
    );
    assert!(
        text.contains("Port 127.0.0.1:1457 is already in use"),
        "{text}"
    );
}

#[tokio::test]
async fn default_port_login_succeeds_and_releases_1455() {
    let _ports = FIXED_PORTS.lock().await;
    let _ports_across_processes = lock_fixed_ports().await;
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let mut options = browser_options(home.path(), &emulator.urls().issuer);
    options.port = DEFAULT_CALLBACK_PORT;
    options.fallback_port = Some(FALLBACK_CALLBACK_PORT);
    let server = LoginServer::start(options).await.unwrap();
    assert_eq!(server.port(), DEFAULT_CALLBACK_PORT);
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert!(port_free_within(DEFAULT_CALLBACK_PORT, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn insecure_issuer_is_refused_before_binding() {
    let home = tempfile::tempdir().unwrap();
    let err = LoginServer::start(browser_options(home.path(), "http://auth.example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, BrowserLoginError::InsecureIssuer(_)), "{err}");
}

#[tokio::test]
async fn foreign_host_header_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), "http://127.0.0.1:9"))
        .await
        .unwrap();
    let port = server.port();
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/cancel"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // The login is still waiting: a rebinding page cannot cancel it.
    let cancel = server.cancel_handle();
    let waiting = tokio::spawn(server.wait());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    cancel.cancel();
    assert!(matches!(
        waiting.await.unwrap().unwrap_err(),
        BrowserLoginError::NotCompleted
    ));
}

/// `/cancel` with the secret our login server published in `home` (what a newer login sends).
fn own_cancel_url(home: &std::path::Path, port: u16) -> String {
    let token = codex_login::flows::read_cancel_secret(home, port)
        .expect("a running login server publishes its cancel secret");
    format!(
        "http://127.0.0.1:{port}/cancel?cancel_token={}",
        token.expose()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fake_jwt(payload: &serde_json::Value) -> String {
    use base64::Engine;
    let encode = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    };
    format!(
        "{}.{}.c2ln",
        encode(&serde_json::json!({"alg": "none"})),
        encode(payload)
    )
}

/// A `Write` sink several owners can read back.
#[derive(Debug, Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
