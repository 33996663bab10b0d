//! Issue 13 point 7: `GET /cancel` on the login callback server ends a login only when it
//! carries this login's secret, and never when a browser marks it cross-site. Real HTTP
//! requests against a running `LoginServer`.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::time::Duration;

use codex_login::flows::{BrowserLoginError, LoginServer};
use codex_login::flows::{cancel_secret_path, read_cancel_secret};
use flow_support::{browser_options, port_free_within};

#[tokio::test]
async fn cancel_without_this_logins_secret_or_from_another_site_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let server = LoginServer::start(browser_options(home.path(), "http://127.0.0.1:9"))
        .await
        .unwrap();
    let port = server.port();
    let token = read_cancel_secret(home.path(), port).expect("the secret is published");
    let waiting = tokio::spawn(server.wait());
    let client = reqwest::Client::new();
    let cancel = format!("http://127.0.0.1:{port}/cancel");
    let with_token = format!("{cancel}?cancel_token={}", token.expose());

    // What a web page or another local user can send: no token, a guessed one, a POST.
    let attempts = [
        client.get(&cancel),
        client.get(format!("{cancel}?cancel_token=guess")),
        client.get(format!("http://localhost:{port}/cancel?cancel_token=")),
        // The right token, but the browser says another site sent it.
        client
            .get(&with_token)
            .header("origin", "https://evil.example"),
        client
            .get(&with_token)
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "no-cors"),
        client
            .get(&with_token)
            .header("sec-fetch-site", "same-site"),
        client.post(&with_token),
    ];
    for (index, request) in attempts.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        assert!(
            response.status() == 403 || response.status() == 405,
            "attempt #{index} got {}",
            response.status()
        );
        assert_ne!(response.text().await.unwrap(), "Login cancelled");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "a refused /cancel must leave the login waiting"
    );

    // Our own cancel (what a newer `codex login` on the same CODEX_HOME sends) still works.
    let response = client.get(&with_token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "Login cancelled");
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, BrowserLoginError::Cancelled), "{err}");
    assert!(port_free_within(port, Duration::from_secs(1)).await);
    assert!(
        !cancel_secret_path(home.path(), port).exists(),
        "the secret file goes away with the login"
    );
}

#[tokio::test]
async fn a_newer_login_from_another_codex_home_cannot_take_the_port() {
    let first_home = tempfile::tempdir().unwrap();
    let other_home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = browser_options(first_home.path(), "http://127.0.0.1:9");
    options.port = port;
    let first = LoginServer::start(options.clone()).await.unwrap();
    let first_cancel = first.cancel_handle();
    let first_waiting = tokio::spawn(first.wait());

    // Another CODEX_HOME (another user, or a stranger's process) does not know the secret:
    // its plain `/cancel` is refused and it cannot bind the busy port.
    options.codex_home = other_home.path().to_path_buf();
    let err = LoginServer::start(options).await.unwrap_err();
    assert!(matches!(err, BrowserLoginError::Bind(_)), "{err}");
    assert!(!first_waiting.is_finished(), "the first login goes on");
    first_cancel.cancel();
    assert!(matches!(
        first_waiting.await.unwrap().unwrap_err(),
        BrowserLoginError::NotCompleted
    ));
}
