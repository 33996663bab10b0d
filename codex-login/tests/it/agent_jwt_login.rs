//! Agent identity JWTs end to end against `codex-emulator`: `login
//! --with-access-token` verifies and stores exactly what the official CLI
//! stores; the first use registers one run task and signs backend requests
//! with `AgentAssertion`; `CODEX_ACCESS_TOKEN` works without writing anything;
//! bad tokens and foreign workspaces are refused before anything is written or
//! registered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::agent_support;

use agent_support::*;
use codex_agent_identity::JwtError;
use codex_auth_provider::headers::{AUTHORIZATION, CHATGPT_ACCOUNT_ID};
use codex_auth_provider::{AuthErrorKind, AuthSource, SecretString, SharedAuthSource};
use codex_backend_client::BackendClient;
use codex_emulator::{Faults, SeedAccount, StatusOverride};
use codex_login::agent_identity::{AgentIdentityError, AgentWorkspaceError};
use codex_login::config::ForcedLoginMethod;
use codex_login::environment::env_from_pairs;
use codex_login::flows::{
    AccessTokenLoginError, ApiKeyLoginOptions, LoginMethodDisabled, login_with_access_token,
    login_with_api_key,
};
use codex_login::{
    auth_dot_json::AuthMode, auth_manager::AuthManager, auth_manager::RefreshTokenError,
    resolution::CredentialSource,
};
use serde_json::json;

#[tokio::test]
async fn jwt_login_stores_the_jwt_and_first_use_registers_one_task_that_reads_usage() {
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();
    let home = tempfile::tempdir().unwrap();

    login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(format!("  {}\n", minted.jwt)),
        &login_options(&emulator),
    )
    .await
    .unwrap();
    let written = String::from_utf8(auth_json_bytes(home.path()).unwrap()).unwrap();
    assert_eq!(
        written,
        format!(
            "{{\n  \"auth_mode\": \"agentIdentity\",\n  \"OPENAI_API_KEY\": null,\n  \"agent_identity\": \"{}\"\n}}",
            minted.jwt
        )
    );
    let stats = emulator.stats();
    assert_eq!(
        stats.jwks_requests, 1,
        "the JWT is verified against the JWKS"
    );
    assert_eq!(
        stats.task_registrations, 0,
        "login itself registers no task"
    );

    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    let unready = manager.auth_cached().unwrap();
    assert!(unready.agent_assertion_auth().is_none());
    assert!(
        unready
            .provider()
            .auth_headers()
            .get(AUTHORIZATION)
            .is_none()
    );

    let auth = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(auth.auth_mode(), AuthMode::AgentIdentity);
    assert_eq!(emulator.stats().task_registrations, 1);
    let assertion = auth.agent_assertion_auth().unwrap();
    assert_eq!(
        assertion.agent_runtime_id().as_str(),
        minted.agent_runtime_id
    );
    let identity = auth.agent_identity().unwrap();
    assert_eq!(
        identity.task_id.as_deref(),
        Some(assertion.task_id().as_str())
    );
    let headers = auth.provider().auth_headers();
    let authorization = headers.get(AUTHORIZATION).unwrap();
    assert!(
        authorization
            .to_str()
            .unwrap()
            .starts_with("AgentAssertion ")
    );
    assert!(authorization.is_sensitive());
    assert_eq!(
        headers.get(CHATGPT_ACCOUNT_ID).unwrap(),
        SeedAccount::default().account_id.as_str()
    );
    assert_eq!(usage_status(&emulator, &auth).await, 200);
    assert_eq!(emulator.stats().assertions_ok, 1);

    // The same AuthManager through the backend client's AuthSource seam.
    let source: SharedAuthSource = manager.clone();
    let backend = BackendClient::builder(emulator.urls().chatgpt_base_url.clone())
        .auth_source(source)
        .build()
        .unwrap();
    backend.get_usage().await.unwrap();
    assert_eq!(emulator.stats().assertions_ok, 2);

    // One task per run: later calls and reloads reuse it, and the file is untouched.
    manager.try_auth().await.unwrap().unwrap();
    manager.reload().await;
    let reloaded = manager.try_auth().await.unwrap().unwrap();
    assert_eq!(
        reloaded.agent_assertion_auth().unwrap().task_id(),
        assertion.task_id()
    );
    assert_eq!(emulator.stats().task_registrations, 1);
    assert_eq!(
        String::from_utf8(auth_json_bytes(home.path()).unwrap()).unwrap(),
        written,
        "a JWT login's auth.json stays byte-identical"
    );
}

#[tokio::test]
async fn codex_access_token_env_works_the_same_without_writing_anything() {
    let emulator = emulator().await;
    for var in ["CODEX_ACCESS_TOKEN", "CODEX_AGENT_IDENTITY"] {
        let minted = emulator.mint_agent_identity_jwt();
        let home = tempfile::tempdir().unwrap();
        let env = env_from_pairs([("TERM", "xterm".to_owned()), (var, minted.jwt.clone())]);
        let before = emulator.stats().task_registrations;
        let manager = AuthManager::shared(manager_config_with_env(home.path(), &emulator, env));
        let auth = manager.try_auth().await.unwrap().unwrap();
        assert_eq!(
            manager.resolved_cached().unwrap().source,
            CredentialSource::Env(var)
        );
        assert_eq!(emulator.stats().task_registrations, before + 1, "{var}");
        assert_eq!(usage_status(&emulator, &auth).await, 200, "{var}");
        assert_eq!(
            std::fs::read_dir(home.path()).unwrap().count(),
            0,
            "{var}: nothing is written to CODEX_HOME"
        );
    }
}

/// A bad token: what is wrong with it, the token, and the error verification must give.
type BadToken = (&'static str, String, fn(&JwtError) -> bool);

/// Bad tokens for `emulator`.
fn bad_tokens(emulator: &codex_emulator::EmulatorHandle) -> Vec<BadToken> {
    let good = emulator.mint_agent_identity_jwt();
    let claims = jwt_claims(&good.jwt);
    let kid = emulator_kid(emulator);
    let with = |key: &str, value: serde_json::Value| {
        let mut claims = claims.clone();
        claims[key] = value;
        claims
    };
    let now = chrono::Utc::now().timestamp();
    let mut parts: Vec<String> = good.jwt.split('.').map(str::to_owned).collect();
    parts[1] = unsigned_jwt(&json!({}), &with("account_id", json!("acct-forged")), "x")
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let tampered = parts.join(".");
    vec![
        (
            "untrusted kid",
            emulator.agent_identity_jwt_with_claims(claims.clone(), Some("not-in-the-jwks")),
            |e| matches!(e, JwtError::UntrustedKid { .. }),
        ),
        (
            "no kid",
            emulator.agent_identity_jwt_with_claims(claims.clone(), Some("")),
            |e| matches!(e, JwtError::MissingKid),
        ),
        (
            "wrong issuer",
            emulator.agent_identity_jwt_with_claims(
                with("iss", json!("https://evil.example/agent-identity")),
                None,
            ),
            |e| matches!(e, JwtError::Issuer),
        ),
        (
            "wrong audience",
            emulator.agent_identity_jwt_with_claims(with("aud", json!("someone-else")), None),
            |e| matches!(e, JwtError::Audience),
        ),
        (
            "expired",
            emulator.agent_identity_jwt_with_claims(with("exp", json!(now - 3600)), None),
            |e| matches!(e, JwtError::Expired),
        ),
        (
            "alg none, empty signature",
            unsigned_jwt(&json!({"alg": "none", "typ": "JWT"}), &claims, ""),
            |e| matches!(e, JwtError::Shape(_)),
        ),
        (
            "alg none",
            unsigned_jwt(
                &json!({"alg": "none", "typ": "JWT", "kid": kid}),
                &claims,
                "c2ln",
            ),
            |e| matches!(e, JwtError::Algorithm { .. }),
        ),
        (
            "HS256",
            unsigned_jwt(
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &claims,
                "c2ln",
            ),
            |e| matches!(e, JwtError::Algorithm { .. }),
        ),
        ("tampered payload", tampered, |e| {
            matches!(e, JwtError::Signature)
        }),
    ]
}

#[tokio::test]
async fn bad_jwts_are_refused_and_nothing_is_written() {
    let emulator = emulator().await;
    let private_key = emulator
        .mint_agent_identity_jwt()
        .private_key_pkcs8_base64
        .clone();
    for (what, jwt, expected) in bad_tokens(&emulator) {
        // Into an empty CODEX_HOME: no file appears.
        let empty = tempfile::tempdir().unwrap();
        let err = login_with_access_token(
            &file_target(empty.path()),
            &SecretString::new(jwt.clone()),
            &login_options(&emulator),
        )
        .await
        .unwrap_err();
        let AccessTokenLoginError::Jwt(jwt_error) = &err else {
            panic!("{what}: expected a JWT error, got {err:?}");
        };
        assert!(expected(jwt_error), "{what}: got {jwt_error:?}");
        assert_eq!(auth_json_bytes(empty.path()), None, "{what}");
        assert!(!err.to_string().contains(&jwt), "{what}: the token leaked");
        assert!(!format!("{err:?}").contains(&private_key));

        // Over an existing login: the file stays byte-identical.
        let existing = tempfile::tempdir().unwrap();
        login_with_api_key(
            &file_target(existing.path()),
            &SecretString::new("sk-existing-123"),
            &ApiKeyLoginOptions {
                revoke_replaced_login: None,
            },
        )
        .await
        .unwrap();
        let before = auth_json_bytes(existing.path());
        login_with_access_token(
            &file_target(existing.path()),
            &SecretString::new(jwt),
            &login_options(&emulator),
        )
        .await
        .unwrap_err();
        assert_eq!(auth_json_bytes(existing.path()), before, "{what}");
    }
    assert_eq!(emulator.stats().task_registrations, 0);
}

#[tokio::test]
async fn workspace_and_login_method_restrictions_apply_before_any_write() {
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();
    let home = tempfile::tempdir().unwrap();
    login_with_api_key(
        &file_target(home.path()),
        &SecretString::new("sk-prior-1"),
        &ApiKeyLoginOptions {
            revoke_replaced_login: None,
        },
    )
    .await
    .unwrap();
    let before = auth_json_bytes(home.path());

    let mut options = login_options(&emulator);
    options.forced_chatgpt_workspace_ids = vec!["ws-allowed".to_owned()];
    let err = login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(minted.jwt.clone()),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            AccessTokenLoginError::Workspace(AgentWorkspaceError::NotAllowed { actual, .. })
                if actual == &SeedAccount::default().account_id
        ),
        "{err:?}"
    );
    assert_eq!(auth_json_bytes(home.path()), before);

    let mut options = login_options(&emulator);
    options.forced_login_method = Some(ForcedLoginMethod::Api);
    let err = login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(minted.jwt.clone()),
        &options,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        AccessTokenLoginError::MethodDisabled(LoginMethodDisabled::AccessToken)
    ));
    assert_eq!(auth_json_bytes(home.path()), before);

    let mut options = login_options(&emulator);
    options.forced_chatgpt_workspace_ids = vec![SeedAccount::default().account_id];
    options.forced_login_method = Some(ForcedLoginMethod::Chatgpt);
    login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(minted.jwt.clone()),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(read_auth_json(home.path())["agent_identity"], minted.jwt);
    assert_eq!(emulator.stats().task_registrations, 0);
}

#[tokio::test]
async fn stored_and_env_jwts_in_a_foreign_workspace_are_refused_before_task_registration() {
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();

    let home = tempfile::tempdir().unwrap();
    login_with_access_token(
        &file_target(home.path()),
        &SecretString::new(minted.jwt.clone()),
        &login_options(&emulator),
    )
    .await
    .unwrap();
    let before = auth_json_bytes(home.path());
    let mut config = manager_config(home.path(), &emulator);
    config.forced_chatgpt_workspace_ids = vec!["ws-allowed".to_owned()];
    let manager = AuthManager::shared(config);
    let err = manager.try_auth().await.unwrap_err();
    assert!(
        matches!(
            &err,
            RefreshTokenError::AgentIdentity(AgentIdentityError::Workspace(_))
        ),
        "{err:?}"
    );
    assert!(err.requires_new_login());
    assert!(manager.auth_cached().is_none(), "treated as logged out");
    assert!(manager.load_error().unwrap().contains("ws-allowed"));
    assert_eq!(manager.try_auth().await.unwrap().map(|_| ()), None);
    assert_eq!(
        auth_json_bytes(home.path()),
        before,
        "auth.json is not touched"
    );

    let empty = tempfile::tempdir().unwrap();
    let env = env_from_pairs([("CODEX_ACCESS_TOKEN", minted.jwt.clone())]);
    let mut config = manager_config_with_env(empty.path(), &emulator, env);
    config.forced_chatgpt_workspace_ids = vec!["ws-allowed".to_owned()];
    let manager = AuthManager::shared(config);
    let source: &dyn AuthSource = manager.as_ref();
    assert!(matches!(
        source.current_provider().await.unwrap_err(),
        err if err.kind() == AuthErrorKind::NeedsLogin && err.to_string().contains("ws-allowed")
    ));
    assert_eq!(emulator.stats().task_registrations, 0);
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_stored_jwt_that_fails_verification_at_load_means_logged_out() {
    let emulator = emulator().await;
    let good = emulator.mint_agent_identity_jwt();
    let mut claims = jwt_claims(&good.jwt);
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    let expired = emulator.agent_identity_jwt_with_claims(claims, None);
    let home = tempfile::tempdir().unwrap();
    codex_login::storage::AuthStorage::save(
        &codex_login::storage::FileAuthStorage::new(home.path()),
        &codex_login::auth_dot_json::AuthDotJson::agent_identity_jwt(SecretString::new(expired)),
    )
    .unwrap();
    let before = auth_json_bytes(home.path());

    let manager = AuthManager::shared(manager_config(home.path(), &emulator));
    assert!(manager.auth_cached().is_some(), "loads unverified at first");
    let err = manager.try_auth().await.unwrap_err();
    assert!(
        matches!(
            err,
            RefreshTokenError::AgentIdentity(AgentIdentityError::Jwt(JwtError::Expired))
        ),
        "{err:?}"
    );
    assert!(manager.auth_cached().is_none());
    assert!(manager.auth().await.is_none());
    assert_eq!(emulator.stats().task_registrations, 0);
    assert_eq!(auth_json_bytes(home.path()), before);
}

#[tokio::test]
async fn jwt_task_registration_that_runs_out_of_retries_is_strict() {
    let emulator = emulator().await;
    let minted = emulator.mint_agent_identity_jwt();
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/api/accounts/v1/agent/".to_owned(),
            status: 503,
            body: r#"{"error":"unavailable"}"#.to_owned(),
            times: 3,
        }],
        ..Faults::default()
    });
    let home = tempfile::tempdir().unwrap();
    let env = env_from_pairs([("CODEX_ACCESS_TOKEN", minted.jwt.clone())]);
    let manager = AuthManager::shared(manager_config_with_env(home.path(), &emulator, env));

    let err = manager.try_auth().await.unwrap_err();
    assert!(
        matches!(&err, RefreshTokenError::AgentIdentity(e) if e.is_unavailable()),
        "{err:?}"
    );
    assert!(!err.requires_new_login());
    assert_eq!(emulator.stats().faults_injected, 3, "three attempts");
    assert!(manager.auth().await.is_some(), "the faults are used up now");
    assert_eq!(emulator.stats().task_registrations, 1);

    // No Bearer to fall back to: the AuthSource reports a transient failure.
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/api/accounts/v1/agent/".to_owned(),
            status: 503,
            body: String::new(),
            times: 0,
        }],
        ..Faults::default()
    });
    let other = AuthManager::shared(manager_config_with_env(
        tempfile::tempdir().unwrap().path(),
        &emulator,
        env_from_pairs([("CODEX_ACCESS_TOKEN", minted.jwt)]),
    ));
    let source: &dyn AuthSource = other.as_ref();
    assert!(matches!(
        source.current_provider().await.unwrap_err(),
        err if err.kind() == AuthErrorKind::Transient
    ));
}
