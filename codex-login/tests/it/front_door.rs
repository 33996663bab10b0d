//! The library front door (issue 18): `AuthManager::from_env_lookup` set up
//! from an environment and `config.toml`, and `AuthMiddleware` giving a plain
//! `reqwest::Client` Codex auth, through an expiry and a `401`, against
//! `codex-emulator`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_auth_provider::{BearerAuth, SecretString, StaticAuthSource};
use codex_emulator::EmulatorHandle;
use codex_login::auth_manager::AuthManager;
use codex_login::auth_manager::FromEnvError;
use codex_login::environment::{SharedEnv, env_from_pairs};
use codex_login::middleware::AuthMiddleware;
use core_support::*;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use std::path::Path;
use std::sync::Arc;

/// A CODEX_HOME whose config.toml points at `emulator`, and its environment.
fn home_for(emulator: &EmulatorHandle) -> (tempfile::TempDir, SharedEnv) {
    let dir = tempfile::tempdir().unwrap();
    let urls = emulator.urls();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "issuer = \"{}\"\nchatgpt_base_url = \"{}\"\n",
            urls.issuer, urls.chatgpt_base_url
        ),
    )
    .unwrap();
    let env = env_of(dir.path(), &[]);
    (dir, env)
}

fn env_of(home: &Path, extra: &[(&str, &str)]) -> SharedEnv {
    let mut pairs = vec![
        ("CODEX_HOME".to_owned(), home.display().to_string()),
        ("HOME".to_owned(), home.display().to_string()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    env_from_pairs(pairs)
}

fn client(middleware: AuthMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

fn usage_url(emulator: &EmulatorHandle) -> String {
    format!("{}/wham/usage", emulator.urls().chatgpt_base_url)
}

#[tokio::test]
async fn a_plain_reqwest_client_gets_auth_through_an_expiry_and_a_401() {
    let emulator = emulator().await;
    let (home, env) = home_for(&emulator);
    seed_home(home.path(), &issue(&emulator, -60));
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    let client = client(AuthMiddleware::new(manager.clone()));

    // Expired: refreshed before the request is sent.
    let response = client.get(usage_url(&emulator)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let stats = emulator.stats();
    assert_eq!(stats.refresh_ok, 1, "{stats:?}");
    assert_eq!(stats.bearer_rejected, 0, "{stats:?}");
    let refreshed = stored_access_token(home.path());

    // The server stops accepting the token before its exp: one 401, one
    // refresh, one retry that succeeds.
    assert!(emulator.expire_access_tokens() > 0);
    let response = client.get(usage_url(&emulator)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let stats = emulator.stats();
    assert_eq!(stats.bearer_rejected, 1, "{stats:?}");
    assert_eq!(stats.refresh_ok, 2, "{stats:?}");
    assert_ne!(stored_access_token(home.path()), refreshed);

    // A valid token: no refresh, one request.
    let before = emulator.stats();
    let response = client.get(usage_url(&emulator)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let after = emulator.stats();
    assert_eq!(after.refresh_ok, before.refresh_ok);
    assert_eq!(after.backend_requests, before.backend_requests + 1);
}

#[tokio::test]
async fn a_401_that_cannot_be_recovered_is_returned_after_one_attempt() {
    let emulator = emulator().await;
    let fixed = BearerAuth::new(&SecretString::new("not-a-token".to_owned()));
    let source = Arc::new(StaticAuthSource::new(Arc::new(fixed)));
    let client = client(AuthMiddleware::new(source));
    let before = emulator.stats();
    let response = client.get(usage_url(&emulator)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let after = emulator.stats();
    assert_eq!(after.backend_requests, before.backend_requests + 1);
}

#[tokio::test]
async fn not_logged_in_is_an_error_naming_it_and_sends_nothing() {
    let emulator = emulator().await;
    let (_home, env) = home_for(&emulator);
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    let client = client(AuthMiddleware::new(manager));
    let before = emulator.stats();
    let err = client
        .get(usage_url(&emulator))
        .send()
        .await
        .expect_err("no credentials");
    assert!(err.to_string().contains("not logged in"), "{err}");
    assert_eq!(emulator.stats().backend_requests, before.backend_requests);
}

#[tokio::test]
async fn from_env_reports_bad_configuration_and_ca_by_kind() {
    let emulator = emulator().await;
    let (home, _) = home_for(&emulator);
    let bad_ca = home.path().join("ca.pem");
    std::fs::write(&bad_ca, "not a certificate").unwrap();
    let env = env_of(
        home.path(),
        &[("CODEX_CA_CERTIFICATE", bad_ca.to_str().unwrap())],
    );
    let err = AuthManager::from_env_lookup(env).await.unwrap_err();
    assert!(matches!(err, FromEnvError::Http(_)), "{err:?}");

    std::fs::write(home.path().join("config.toml"), "issuer = 7\n").unwrap();
    let err = AuthManager::from_env_lookup(env_of(home.path(), &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, FromEnvError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("issuer"), "{err}");

    // CODEX_PROFILE is read as the `codex` command reads it: a bad name is an error.
    std::fs::remove_file(home.path().join("config.toml")).unwrap();
    let err = AuthManager::from_env_lookup(env_of(home.path(), &[("CODEX_PROFILE", "../x")]))
        .await
        .unwrap_err();
    assert!(matches!(err, FromEnvError::Profile(_)), "{err:?}");
    assert!(err.to_string().contains("CODEX_PROFILE"), "{err}");
}

#[tokio::test]
async fn from_env_honours_codex_api_key() {
    let emulator = emulator().await;
    let (home, _) = home_for(&emulator);
    let env = env_of(home.path(), &[("CODEX_API_KEY", "sk-front-door-key")]);
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.api_key().unwrap().expose(), "sk-front-door-key");
}

/// Review finding 1: `from_env` honours workload identity as the `codex`
/// command does. A partial setup is an error even with a stored API key (which
/// is never sent); a complete setup uses only the federated token.
#[tokio::test]
async fn from_env_uses_workload_identity_and_refuses_a_partial_setup() {
    use codex_emulator::{FederationRule, SubjectTokenSpec};
    let emulator = emulator().await;
    emulator.set_federation_rule(FederationRule::default());
    let (home, _) = home_for(&emulator);
    std::fs::write(
        home.path().join("auth.json"),
        "{\"OPENAI_API_KEY\":\"sk-stored-never-used\"}",
    )
    .unwrap();
    let subject = home.path().join("identity-token");
    std::fs::write(
        &subject,
        emulator.mint_subject_token(&SubjectTokenSpec::default()),
    )
    .unwrap();
    let subject = subject.to_str().unwrap();

    // Partial: only the token file. No manager, so the stored key goes nowhere.
    let before = emulator.stats();
    let err = AuthManager::from_env_lookup(env_of(
        home.path(),
        &[("OPENAI_IDENTITY_TOKEN_FILE", subject)],
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, FromEnvError::WorkloadIdentity(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "workload identity requires OPENAI_FEDERATION_RULE_ID"
    );
    // Partial the other way, with CODEX_API_KEY set too: still the error.
    let err = AuthManager::from_env_lookup(env_of(
        home.path(),
        &[
            ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator"),
            ("CODEX_API_KEY", "sk-env-never-used"),
        ],
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, FromEnvError::WorkloadIdentity(_)), "{err:?}");
    assert_eq!(emulator.stats().backend_requests, before.backend_requests);

    // Complete: the federated token signs the request; the stored key is unused.
    let env = env_of(
        home.path(),
        &[
            ("OPENAI_FEDERATION_RULE_ID", "idpm_emulator"),
            ("OPENAI_IDENTITY_TOKEN_FILE", subject),
        ],
    );
    let manager = AuthManager::from_env_lookup(env).await.unwrap();
    assert!(manager.workload_identity().is_some());
    let auth = manager.auth().await.unwrap();
    assert!(auth.api_key().is_none());
    assert_eq!(auth.account_id(), Some("acct-emulator-0001"));
    let response = client(AuthMiddleware::new(manager))
        .get(usage_url(&emulator))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stats = emulator.stats();
    assert_eq!(stats.federation_exchanges_ok, 1, "{stats:?}");
    assert_eq!(stats.bearer_rejected, 0, "{stats:?}");
}
