//! Issue 13, point 1: a server (or proxy) that answers errors with a copy of the request never
//! gets the secrets of that request shown, logged or rendered. Each test drives the real flow
//! against an echo server on loopback that returns the raw form/JSON body and every header:
//! the browser login's code exchange (the page served to the browser and the error), the
//! API-key token exchange, the revocation at logout and a refresh; and error bodies are capped.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;
use crate::hostile_support;

use std::time::{Duration, Instant};

use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::{AuthDotJson, StoredTokens};
use codex_login::config::CLIENT_ID;
use codex_login::environment::env_from_pairs;
use codex_login::flows::obtain_api_key;
use codex_login::flows::{LoginServer, Revocation, logout_with_revoke};
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{auth_manager::AuthManager, auth_manager::AuthManagerConfig};
use flow_support::{ScriptedBrowser, browser_options, http, logout_options};
use hostile_support::{
    EchoServer, access_token, assert_no_secret, id_token, longest_base64url_run,
};

/// An authorization code with characters that form- and percent-encoding change.
const CODE: &str = "ac/secret+code=with&chars 0123456789abcdef";
/// A refresh token with characters that JSON escapes.
const REFRESH_TOKEN: &str = "rt/secret\"quoted+plus=0123456789abcdef-refresh";

fn seed(home: &std::path::Path, iss: &str) -> (String, String) {
    let id = id_token(Some(iss), "user-echo", "acct-echo");
    let access = access_token("user-echo", "acct-echo", 1);
    let document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(id.clone()),
            SecretString::new(access.clone()),
            SecretString::new(REFRESH_TOKEN),
            Some("acct-echo".to_owned()),
        ),
        None,
        chrono::Utc::now(),
    );
    FileAuthStorage::new(home).save(&document).unwrap();
    (id, access)
}

#[tokio::test]
async fn echoed_code_exchange_is_scrubbed_from_the_page_and_the_error() {
    for flavour in ["text", "json"] {
        let echo = EchoServer::start().await;
        let home = tempfile::tempdir().unwrap();
        let issuer = format!("{}/{flavour}", echo.base);
        let server = LoginServer::start(browser_options(home.path(), &issuer))
            .await
            .unwrap();
        let port = server.port();
        let auth_url = url::Url::parse(server.auth_url()).unwrap();
        let state = auth_url
            .query_pairs()
            .find(|(key, _)| key == "state")
            .unwrap()
            .1
            .into_owned();
        let waiting = tokio::spawn(server.wait());
        let callback = url::Url::parse_with_params(
            &format!("http://127.0.0.1:{port}/auth/callback"),
            &[("code", CODE), ("state", state.as_str())],
        )
        .unwrap();
        let (page, _) = ScriptedBrowser::new()
            .visit_callback(callback.as_str())
            .await;
        let err = waiting.await.unwrap().unwrap_err().to_string();

        // The echo really carried the code and the verifier.
        let sent = echo.received();
        let form: String = url::form_urlencoded::byte_serialize(CODE.as_bytes()).collect();
        assert!(sent.contains(&format!("code={form}")), "{sent}");
        assert!(sent.contains("code_verifier="), "{sent}");
        assert!(err.contains("[REDACTED]"), "{flavour}: {err}");
        assert!(page.body.contains("[REDACTED]"), "{flavour}: {}", page.body);
        for (what, text) in [("page", &page.body), ("error", &err)] {
            assert_no_secret(what, text, CODE);
            assert!(
                longest_base64url_run(text) < 43,
                "{flavour}: the {what} holds a verifier-sized opaque value:\n{text}"
            );
        }
        assert!(err.len() < 600, "{flavour}: the error is capped: {err}");
        assert!(!home.path().join("auth.json").exists());
    }
}

#[tokio::test]
async fn echoed_subject_token_is_scrubbed_from_the_api_key_exchange_error() {
    let echo = EchoServer::start().await;
    for flavour in ["text", "json"] {
        let issuer = format!("{}/{flavour}", echo.base);
        let id = id_token(Some(&echo.base), "user-echo", "acct-echo");
        let client = http().default_client().unwrap();
        let err = obtain_api_key(&client, &issuer, CLIENT_ID, &SecretString::new(id.clone()))
            .await
            .unwrap_err()
            .to_string();
        assert!(echo.received().contains(&id), "the id token was sent");
        assert!(err.contains("[REDACTED]"), "{flavour}: {err}");
        assert_no_secret("API-key exchange error", &err, &id);
    }
}

#[tokio::test]
async fn echoed_refresh_token_is_scrubbed_from_the_logout_revocation() {
    let echo = EchoServer::start().await;
    for flavour in ["text", "json"] {
        let home = tempfile::tempdir().unwrap();
        seed(home.path(), &echo.base);
        let options = logout_options(
            home.path(),
            &format!("{}/{flavour}/oauth/revoke", echo.base),
        );
        let outcome = logout_with_revoke(&options).await.unwrap();
        assert!(outcome.removed);
        let Revocation::Failed { reason, .. } = &outcome.revocation else {
            panic!("{flavour}: {:?}", outcome.revocation);
        };
        assert!(
            echo.received().contains("quoted+plus"),
            "the token was sent"
        );
        assert!(reason.contains("[REDACTED]"), "{flavour}: {reason}");
        let shown = outcome.revocation.to_string();
        assert_no_secret("revocation outcome", &shown, REFRESH_TOKEN);
        assert_no_secret("revocation outcome", &shown, r#"rt/secret\"quoted"#);
    }
}

#[tokio::test]
async fn echoed_refresh_token_is_scrubbed_from_the_refresh_error() {
    let echo = EchoServer::start().await;
    for flavour in ["text", "json"] {
        let home = tempfile::tempdir().unwrap();
        let (_, access) = seed(home.path(), &echo.base);
        let mut config = AuthManagerConfig::new(home.path());
        config.refresh_token_url = Some(format!("{}/{flavour}/oauth/token", echo.base));
        config.env = env_from_pairs(Vec::<(String, String)>::new());
        config.http = Some(http());
        let manager = AuthManager::shared(config);
        let err = manager
            .refresh_token_from_authority()
            .await
            .unwrap_err()
            .to_string();
        assert!(echo.received().contains("quoted"), "the token was sent");
        assert!(err.contains("[REDACTED]"), "{flavour}: {err}");
        assert_no_secret("refresh error", &err, REFRESH_TOKEN);
        assert_no_secret("refresh error", &err, r#"rt/secret\"quoted"#);
        assert_no_secret("refresh error", &err, &access);
    }
}

#[tokio::test]
async fn huge_error_bodies_are_read_only_up_to_the_cap() {
    let echo = EchoServer::start().await;
    let id = id_token(Some(&echo.base), "user-echo", "acct-echo");
    let client = http().default_client().unwrap();
    let started = Instant::now();
    let err = obtain_api_key(
        &client,
        &format!("{}/huge", echo.base),
        CLIENT_ID,
        &SecretString::new(id.clone()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.len() < 600, "{} bytes: {}", err.len(), &err[..600]);
    assert!(err.contains("[REDACTED]"), "{err}");
    assert_no_secret("capped error", &err, &id);
    assert!(started.elapsed() < Duration::from_secs(10));
}
