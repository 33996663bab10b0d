//! Issue 19: a personal access token login with `cli_auth_credentials_store =
//! "keyring"` is one Secret Service item holding the official document
//! (compact), and status, whoami and logout work from it. Needs a Secret
//! Service (`.ci/with-secret-service`); prints `SKIPPED:` otherwise.

use crate::support;
use codex_test_support::keyring as keyring_support;

use codex_emulator::{EmulatorConfig, PersonalAccessTokenSpec};
use codex_login::storage::store_key;
use keyring_support::{secret_service_items, secret_service_or_skip, the_secret_service_item};
use std::io::Write;
use std::sync::Arc;
use support::{Home, blocking, code, stderr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pat_login_in_the_keyring_is_one_item_with_the_official_document() {
    if !secret_service_or_skip("a_pat_login_in_the_keyring_is_one_item_with_the_official_document")
    {
        return;
    }
    let home = Arc::new(Home::with_emulator(EmulatorConfig::default()).await);
    writeln!(
        std::fs::OpenOptions::new()
            .append(true)
            .open(home.path().join("config.toml"))
            .unwrap(),
        "cli_auth_credentials_store = \"keyring\""
    )
    .unwrap();
    let token = home
        .emulator()
        .mint_personal_access_token(PersonalAccessTokenSpec::default());
    let authapi = home.emulator().urls().authapi_base_url.clone();
    let account = store_key(home.path());

    let run = |args: &'static [&'static str], stdin: Option<String>| {
        let (h, authapi) = (home.clone(), authapi.clone());
        blocking(move || {
            h.run_with_env(
                args,
                stdin.as_deref(),
                &[("CODEX_AUTHAPI_BASE_URL", authapi.as_str())],
            )
        })
    };
    let out = run(
        &["login", "--with-access-token"],
        Some(format!("{token}\n")),
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let item = the_secret_service_item(&account);
    assert_eq!(
        item.secret,
        format!(r#"{{"OPENAI_API_KEY":null,"personal_access_token":"{token}"}}"#)
    );
    assert!(!home.auth_file().exists(), "a keyring login writes no file");

    let out = run(&["login", "status"], None).await;
    assert_eq!(stderr(&out), "Logged in using personal access token\n");
    let out = run(&["whoami", "--check"], None).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = run(&["logout"], None).await;
    assert_eq!(stderr(&out), "Successfully logged out\n");
    assert!(secret_service_items(&account).is_empty());
}
