//! `codex login --with-access-token` and `whoami` for an agent identity,
//! against the emulator's JWKS and agent registration endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use codex_emulator::EmulatorConfig;
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Home, blocking, code, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_login_writes_the_official_shape_and_whoami_shows_the_identity() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let minted = home.emulator().mint_agent_identity_jwt();
    let jwt = minted.jwt.clone();
    let h = home.clone();
    let out =
        blocking(move || h.run(&["login", "--with-access-token"], Some(&format!("{jwt}\n")))).await;
    assert_eq!(
        stderr(&out),
        "Reading access token from stdin...\nSuccessfully logged in\n"
    );
    assert_eq!(code(&out), 0);
    let stored: Value = serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"auth_mode": "agentIdentity", "OPENAI_API_KEY": null, "agent_identity": minted.jwt})
    );

    let h = home.clone();
    let out = blocking(move || h.run(&["login", "status"], None)).await;
    assert_eq!(stderr(&out), "Logged in using access token\n");
    assert_eq!(code(&out), 0);

    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["auth_mode"], "agentIdentity");
    assert_eq!(report["email"], "user@example.com");
    assert_eq!(report["account_id"], "acct-emulator-0001");
    assert_eq!(
        report["agent_identity"]["agent_runtime_id"],
        minted.agent_runtime_id.as_str()
    );
    assert!(!stdout(&out).contains(&minted.jwt));
    assert!(!stdout(&out).contains(&minted.private_key_pkcs8_base64));

    // --check registers this run's task and calls the backend with an AgentAssertion.
    let before = home.emulator().stats();
    let h = home.clone();
    let out = blocking(move || h.run(&["whoami", "--check", "--json"], None)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(report["usage"].is_object(), "{report}");
    let after = home.emulator().stats();
    assert_eq!(after.task_registrations, before.task_registrations + 1);
    assert_eq!(after.assertions_ok, before.assertions_ok + 1);
    assert_eq!(after.assertions_rejected, before.assertions_rejected);
    assert!(report["agent_identity"]["task_id"].is_string(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_jwt_is_refused_and_nothing_is_written() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let minted = home.emulator().mint_agent_identity_jwt();
    // Same claims, but signed under a kid the JWKS does not hold.
    let claims: Value = {
        use base64::Engine;
        let payload = minted.jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let forged = home
        .emulator()
        .agent_identity_jwt_with_claims(claims, Some("kid-not-in-jwks"));
    let h = home.clone();
    let out = blocking(move || h.run(&["login", "--with-access-token"], Some(&forged))).await;
    let err = stderr(&out);
    assert!(
        err.contains("Error logging in with access token: "),
        "{err}"
    );
    assert_eq!(code(&out), 1);
    assert!(!home.auth_file().exists());
    assert!(!err.contains(&minted.private_key_pkcs8_base64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_access_token_is_used_without_being_stored() {
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    let minted = home.emulator().mint_agent_identity_jwt();
    let h = home.clone();
    let jwt = minted.jwt.clone();
    let out = blocking(move || {
        h.run_with_env(&["whoami", "--json"], None, &[("CODEX_ACCESS_TOKEN", &jwt)])
    })
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["source"], "env:CODEX_ACCESS_TOKEN");
    assert_eq!(report["auth_mode"], "agentIdentity");
    assert!(!home.auth_file().exists());
}
