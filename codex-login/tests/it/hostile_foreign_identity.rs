//! Issue 13, points 3 and 4: tokens go back only to the issuer that minted them, and a refresh
//! answer carrying another identity is never saved.
//!
//! Point 3 uses two emulators (A mints the login, B is configured afterwards) and an echo
//! server standing in for a hostile B: B must see no token for a refresh, a logout or a login
//! that replaces A's. Point 4 uses a token endpoint on loopback that answers the refresh with
//! another user's, account's or issuer's tokens: nothing is saved, the error says why, and the
//! spent refresh token is not sent again.
#![cfg(feature = "browser-login")] // needs the browser login server
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;
use crate::hostile_support;

use codex_auth_provider::SecretString;
use codex_emulator::IssueTokens;
use codex_login::auth_dot_json::{AuthDotJson, StoredTokens};
use codex_login::auth_manager::{ForeignIdentityError, GuardError};
use codex_login::environment::env_from_pairs;
use codex_login::flows::{LoginServer, Revocation, logout_with_revoke};
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, auth_manager::RefreshTokenError,
};
use flow_support::{
    ScriptedBrowser, browser_options, emulator, http, logout_options, seed_chatgpt_auth,
};
use hostile_support::{EchoServer, access_token, id_token};
use serde_json::json;

fn manager_for(
    home: &std::path::Path,
    refresh_url: &str,
    forced: &[&str],
) -> std::sync::Arc<AuthManager> {
    let mut config = AuthManagerConfig::new(home);
    config.refresh_token_url = Some(refresh_url.to_owned());
    config.env = env_from_pairs(Vec::<(String, String)>::new());
    config.http = Some(http());
    config.forced_chatgpt_workspace_ids = forced.iter().map(|id| (*id).to_owned()).collect();
    AuthManager::shared(config)
}

// ----- point 3: foreign issuers -----

#[tokio::test]
async fn a_refresh_configured_for_another_issuer_sends_nothing() {
    let issuer_a = emulator(false).await;
    let issuer_b = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let tokens = issuer_a.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: -60,
        ..IssueTokens::default()
    });
    seed_chatgpt_auth(home.path(), &tokens);
    let before = std::fs::read(home.path().join("auth.json")).unwrap();
    let manager = manager_for(
        home.path(),
        &format!("{}/oauth/token", issuer_b.urls().issuer),
        &[],
    );
    let err = manager.refresh_token_from_authority().await.unwrap_err();
    assert!(
        matches!(err, RefreshTokenError::Guard(GuardError::ForeignIssuer(_))),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("issued by {}", issuer_a.urls().issuer)),
        "{message}"
    );
    assert!(message.contains(&issuer_b.urls().issuer), "{message}");
    assert!(message.contains("codex login"), "{message}");
    assert!(err.requires_new_login());
    assert_eq!(issuer_b.stats().token_requests, 0, "B saw no token");
    assert_eq!(issuer_a.stats().token_requests, 0);
    assert_eq!(
        std::fs::read(home.path().join("auth.json")).unwrap(),
        before
    );

    // The same login still refreshes at the issuer that minted it.
    let manager = manager_for(
        home.path(),
        &format!("{}/oauth/token", issuer_a.urls().issuer),
        &[],
    );
    manager.refresh_token_from_authority().await.unwrap();
    assert_eq!(issuer_a.stats().refresh_ok, 1);
}

#[tokio::test]
async fn a_logout_configured_for_another_issuer_removes_the_login_but_revokes_nothing_there() {
    let issuer_a = emulator(false).await;
    let hostile_b = EchoServer::start().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &issuer_a.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let outcome = logout_with_revoke(&logout_options(
        home.path(),
        &format!("{}/oauth/revoke", hostile_b.base),
    ))
    .await
    .unwrap();
    assert!(outcome.removed, "the local copy is removed");
    assert!(!home.path().join("auth.json").exists());
    let Revocation::ForeignIssuer(err) = &outcome.revocation else {
        panic!("{:?}", outcome.revocation);
    };
    assert_eq!(err.minted_by, issuer_a.urls().issuer);
    assert!(
        outcome
            .revocation
            .to_string()
            .starts_with("not_revoked: The stored login was issued by"),
        "{}",
        outcome.revocation
    );
    assert_eq!(hostile_b.requests(), 0, "B saw no token");
}

#[tokio::test]
async fn a_login_at_another_issuer_does_not_send_the_replaced_login_there() {
    let issuer_a = emulator(false).await;
    let issuer_b = emulator(true).await;
    let hostile_revoke = EchoServer::start().await;
    let home = tempfile::tempdir().unwrap();
    seed_chatgpt_auth(
        home.path(),
        &issuer_a.issue_chatgpt_tokens(IssueTokens::default()),
    );
    let mut options = browser_options(home.path(), &issuer_b.urls().issuer);
    options.revoke_replaced_login = true;
    options.revoke_url = Some(format!("{}/oauth/revoke", hostile_revoke.base));
    let server = LoginServer::start(options).await.unwrap();
    let auth_url = server.auth_url().to_owned();
    let waiting = tokio::spawn(server.wait());
    let browser = ScriptedBrowser::new();
    let callback = browser.authorize(&auth_url).await;
    browser.visit_callback(&callback).await;
    waiting.await.unwrap().unwrap();
    assert_eq!(
        issuer_b.stats().code_exchanges_ok,
        1,
        "the new login completed"
    );
    assert_eq!(hostile_revoke.requests(), 0, "A's token went nowhere");
    assert_eq!(issuer_a.stats().revoked, 0);
}

// ----- point 4: foreign identities -----

const OLD_REFRESH: &str = "rt-old-0123456789abcdef";

/// Seeds a login for `user-a` in `acct-a` minted by `iss`, with an expired access token.
fn seed_identity(home: &std::path::Path, iss: &str) -> Vec<u8> {
    let document = AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(id_token(Some(iss), "user-a", "acct-a")),
            SecretString::new(access_token("user-a", "acct-a", 1)),
            SecretString::new(OLD_REFRESH),
            Some("acct-a".to_owned()),
        ),
        None,
        chrono::Utc::now(),
    );
    FileAuthStorage::new(home).save(&document).unwrap();
    std::fs::read(home.join("auth.json")).unwrap()
}

fn assert_nothing_saved(home: &tempfile::TempDir, before: &[u8]) {
    assert_eq!(
        std::fs::read(home.path().join("auth.json")).unwrap(),
        before,
        "auth.json is untouched"
    );
}

#[tokio::test]
async fn foreign_identity_answers_are_refused_with_the_reason() {
    for (user, account, forced, expected) in [
        (
            "user-b",
            "acct-a",
            &[][..],
            "tokens for another user (user-b, not user-a)",
        ),
        (
            "user-a",
            "acct-b",
            &[][..],
            "tokens for another account (acct-b, not acct-a)",
        ),
        (
            "user-a",
            "acct-b",
            &["acct-a"][..],
            "Login is restricted to workspace id(s) acct-a, but the token endpoint answered the \
             refresh with tokens for acct-b",
        ),
    ] {
        let (err, home, before, requests) = refresh_with_answer(user, account, None, forced).await;
        let message = err.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("nothing was saved"), "{message}");
        assert!(message.contains("codex login"), "{message}");
        assert!(err.requires_new_login());
        assert_nothing_saved(&home, &before);
        assert_eq!(requests, 1, "{expected}: the spent token is not sent again");
    }
    let (err, home, before, _) =
        refresh_with_answer("user-a", "acct-a", Some("https://evil.example"), &[]).await;
    assert!(
        matches!(
            &err,
            RefreshTokenError::Guard(GuardError::ForeignIdentity(
                ForeignIdentityError::AnotherIssuer { actual, .. }
            )) if actual == "https://evil.example"
        ),
        "{err:?}"
    );
    assert_nothing_saved(&home, &before);
}

#[tokio::test]
async fn an_answer_for_the_same_identity_is_saved() {
    let (outcome, home, _before, requests) =
        refresh_with_answer_result("user-a", "acct-a", None, &["acct-a"]).await;
    outcome.unwrap();
    assert_eq!(requests, 1);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("auth.json")).unwrap()).unwrap();
    assert_eq!(stored["tokens"]["refresh_token"], "rt-new-0123456789abcdef");
}

/// Seeds a login for `user-a`/`acct-a` minted by a scripted token endpoint, which answers the
/// refresh with tokens for `user`/`account` minted by `iss` (itself when `None`). Refreshes
/// once, then once more from a new manager (another process). Returns the first error, the
/// home, the stored bytes before, and how many requests the endpoint saw.
async fn refresh_with_answer(
    user: &str,
    account: &str,
    iss: Option<&str>,
    forced: &[&str],
) -> (RefreshTokenError, tempfile::TempDir, Vec<u8>, usize) {
    let (outcome, home, before, requests) =
        refresh_with_answer_result(user, account, iss, forced).await;
    (outcome.unwrap_err(), home, before, requests)
}

async fn refresh_with_answer_result(
    user: &str,
    account: &str,
    iss: Option<&str>,
    forced: &[&str],
) -> (
    Result<codex_login::auth_manager::RefreshOutcome, RefreshTokenError>,
    tempfile::TempDir,
    Vec<u8>,
    usize,
) {
    // Bind first so the answer can name the endpoint's own origin as its issuer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = json!({
        "id_token": id_token(Some(iss.unwrap_or(&base)), user, account),
        "access_token": access_token(user, account, 4_000_000_000),
        "refresh_token": "rt-new-0123456789abcdef",
    });
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().fallback(move || {
        let answer = answer.clone();
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            axum::Json(answer)
        }
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let home = tempfile::tempdir().unwrap();
    let before = seed_identity(home.path(), &base);
    let url = format!("{base}/oauth/token");
    let outcome = manager_for(home.path(), &url, forced)
        .refresh_token_from_authority()
        .await;
    if outcome.is_err() {
        let again = manager_for(home.path(), &url, forced)
            .refresh_token_from_authority()
            .await;
        assert!(again.is_err(), "the second process refuses too");
    }
    server.abort();
    let requests = received.load(std::sync::atomic::Ordering::SeqCst);
    (outcome, home, before, requests)
}
