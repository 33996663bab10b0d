//! A TRACE-level log capture over browser login, device login, API-key login, refresh and
//! logout (against `codex-emulator`) contains none of the tokens, codes, verifiers, state or
//! keys. The capture is scoped to this test's own runtime (every worker and blocking-pool
//! thread of it, and the thread driving it), not installed process-wide: the other tests of
//! this binary run in the same process and neither see this subscriber nor land in its capture.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex};

use codex_auth_provider::SecretString;
use codex_login::environment::env_from_pairs;
use codex_login::flows::{
    ApiKeyLoginOptions, CredentialTarget, LoginServer, complete_device_code_login,
    login_with_api_key, logout_manager_with_revoke, request_device_code,
};
use codex_login::storage::CredentialStoreMode;
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use flow_support::{
    ScriptedBrowser, browser_options, device_options, emulator, http, logout_options,
    read_auth_json,
};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tokens_of(home: &std::path::Path) -> Vec<String> {
    let auth = read_auth_json(home);
    let mut secrets = Vec::new();
    for field in ["id_token", "access_token", "refresh_token"] {
        if let Some(token) = auth["tokens"][field].as_str() {
            secrets.push(token.to_owned());
        }
    }
    if let Some(key) = auth["OPENAI_API_KEY"].as_str() {
        secrets.push(key.to_owned());
    }
    secrets
}

/// The longest run of base64url characters in `line` (a PKCE verifier is 86 of them).
fn longest_base64url_run(line: &str) -> usize {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

thread_local! {
    /// The capture's dispatcher, as the default of a thread of the test's runtime.
    static THREAD_DISPATCH: RefCell<Option<tracing::dispatcher::DefaultGuard>> =
        const { RefCell::new(None) };
}

#[test]
fn trace_logs_contain_no_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,codex_emulator=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    // With exactly one dispatcher registered, tracing-core computes a callsite's interest
    // from the default of whichever thread hits it first: another test's thread (no
    // subscriber) would cache "never" for a callsite this test needs. A second registered
    // dispatcher, alive for the whole test, makes it ask every registered dispatcher.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    // Like `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`, but every thread
    // the runtime starts (workers and the blocking pool) logs to the capture.
    let for_threads = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            let guard = tracing::dispatcher::set_default(&for_threads);
            THREAD_DISPATCH.with(|slot| *slot.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| THREAD_DISPATCH.with(|slot| drop(slot.borrow_mut().take())))
        .build()
        .unwrap();
    let _this_thread = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(logins_refresh_and_logout_leak_nothing(capture));
}

async fn logins_refresh_and_logout_leak_nothing(capture: Capture) {
    let emulator = emulator(false).await;
    // Tokens issued by the login are already expired, so the manager must refresh.
    emulator.set_access_token_ttl(-60);
    let issuer = emulator.urls().issuer.clone();
    let mut secrets: Vec<String> = Vec::new();

    // Browser login (consent page, Continue), with a stray wrong-state callback first.
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), &issuer))
        .await
        .unwrap();
    let auth_url = url::Url::parse(server.auth_url()).unwrap();
    let state = auth_url
        .query_pairs()
        .find(|(key, _)| key == "state")
        .unwrap()
        .1
        .into_owned();
    secrets.push(state);
    let port = server.port();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    browser
        .get(&format!(
            "http://127.0.0.1:{port}/auth/callback?code=stray-code-123456&state=wrong-state-654321"
        ))
        .await;
    secrets.push("stray-code-123456".to_owned());
    let callback = browser.authorize(auth_url.as_str()).await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();
    secrets.push(code);
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    secrets.extend(tokens_of(home.path()));

    // Refresh through the core's AuthManager.
    let mut config = AuthManagerConfig::new(home.path());
    config.issuer = issuer.clone();
    config.refresh_token_url = Some(format!("{issuer}/oauth/token"));
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    let manager = AuthManager::shared(config);
    let refreshed = manager.refresh_token_from_authority().await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
    assert_eq!(emulator.stats().refresh_ok, 1);
    secrets.extend(tokens_of(home.path()));

    // Logout with revocation.
    let outcome = logout_manager_with_revoke(
        &manager,
        logout_options(home.path(), &format!("{issuer}/oauth/revoke")),
    )
    .await
    .unwrap();
    assert!(outcome.removed);
    assert_eq!(emulator.stats().revoked, 1);

    // Device-code login.
    emulator.set_auto_approve(true);
    let device_home = tempfile::tempdir().unwrap();
    let options = device_options(device_home.path(), &issuer);
    let device = request_device_code(&options).await.unwrap();
    secrets.push(device.user_code.expose().to_owned());
    secrets.push(device.device_auth_id.expose().to_owned());
    complete_device_code_login(&options, &device).await.unwrap();
    secrets.extend(tokens_of(device_home.path()));

    // API-key login.
    let key_home = tempfile::tempdir().unwrap();
    let api_key = "sk-proj-logcapture-0123456789abcdef";
    secrets.push(api_key.to_owned());
    login_with_api_key(
        &CredentialTarget {
            codex_home: key_home.path().to_path_buf(),
            store_mode: CredentialStoreMode::File,
            storage: None,
        },
        &SecretString::new(api_key),
        &ApiKeyLoginOptions {
            revoke_replaced_login: None,
        },
    )
    .await
    .unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("browser login completed") && logs.contains("logged out"),
        "the capture must hold our own TRACE/INFO lines"
    );
    assert!(logs.lines().count() > 50, "expected a real TRACE capture");
    for secret in &secrets {
        assert!(secret.len() >= 8, "secret too short to search for");
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({} chars) leaked into the logs",
            secret.len()
        );
    }
    // The PKCE verifier (and any other long opaque secret) never shows: no log line holds a
    // base64url run as long as a verifier.
    for (number, line) in logs.lines().enumerate() {
        let run = longest_base64url_run(line);
        assert!(
            run < 64,
            "a {run}-character opaque value appears in log line {number} (target {:?})",
            line.split_whitespace().nth(2).unwrap_or_default()
        );
    }
}
