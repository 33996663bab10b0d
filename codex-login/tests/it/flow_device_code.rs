//! Device-code login against `codex-emulator`: the upstream `device_code_login` scenarios plus
//! transient poll failures, expiry and denial.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::flow_support;

use std::time::Duration;

use codex_emulator::{EmulatorHandle, Faults, SeedAccount, StatusOverride};
use codex_login::flows::{
    DeviceCodeError, complete_device_code_login, request_device_code, run_device_code_login,
};
use flow_support::{device_options, emulator, read_auth_json};

const POLL_PATH: &str = "/api/accounts/deviceauth/token";
const USERCODE_PATH: &str = "/api/accounts/deviceauth/usercode";

async fn submit_device_page(emulator: &EmulatorHandle, user_code: &str, decision: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/codex/device", emulator.urls().issuer))
        .form(&[("user_code", user_code), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn override_path(path: &str, status: u16, body: &str, times: u32) -> Faults {
    Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: path.to_owned(),
            status,
            body: body.to_owned(),
            times,
        }],
        ..Faults::default()
    }
}

#[tokio::test]
async fn device_code_login_integration_succeeds() {
    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let code = request_device_code(&options).await.unwrap();
    assert_eq!(
        code.verification_url,
        format!("{}/codex/device", emulator.urls().issuer)
    );
    let user_code = code.user_code.expose().to_owned();
    let completing = tokio::spawn(async move { complete_device_code_login(&options, &code).await });
    // Pending first (403), then a human approves on the emulator's page.
    wait_until("a pending poll", || {
        emulator.stats().device_polls_pending >= 1
    })
    .await;
    assert!(!home.path().join("auth.json").exists());
    submit_device_page(&emulator, &user_code, "approve").await;
    let result = completing.await.unwrap().unwrap();
    let seed = SeedAccount::default();
    assert_eq!(result.account_id.as_deref(), Some(seed.account_id.as_str()));
    let auth = read_auth_json(home.path());
    assert_eq!(auth["auth_mode"], "chatgpt");
    assert!(auth["OPENAI_API_KEY"].is_null(), "no API-key exchange");
    assert_eq!(auth["tokens"]["account_id"], seed.account_id.as_str());
    assert!(auth["tokens"]["refresh_token"].as_str().unwrap().len() > 20);
    let stats = emulator.stats();
    assert_eq!(stats.api_key_exchanges, 0);
    assert_eq!(stats.code_exchanges_ok, 1);
}

#[tokio::test]
async fn auto_approved_login_prints_the_prompt_and_persists() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let mut out = Vec::new();
    let result = run_device_code_login(&options, &mut out).await.unwrap();
    assert!(result.account_id.is_some());
    let prompt = String::from_utf8(out).unwrap();
    assert!(prompt.contains(&format!("{}/codex/device", emulator.urls().issuer)));
    assert!(prompt.contains("Enter this one-time code (expires in 15 minutes)"));
    assert!(prompt.contains("Device codes are a common phishing target. Never share this code."));
    assert!(!prompt.contains('\x1b'), "no colours when not styled");
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
}

#[tokio::test]
async fn server_errors_during_polling_do_not_abort() {
    let emulator = emulator(false).await;
    emulator.set_faults(override_path(POLL_PATH, 500, "upstream exploded", 3));
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let code = request_device_code(&options).await.unwrap();
    let user_code = code.user_code.expose().to_owned();
    let completing = tokio::spawn(async move { complete_device_code_login(&options, &code).await });
    wait_until("three injected 500s and a pending poll", || {
        let stats = emulator.stats();
        stats.faults_injected >= 3 && stats.device_polls_pending >= 1
    })
    .await;
    emulator.set_faults(override_path(POLL_PATH, 503, "", 2));
    emulator.approve_device_code(&user_code);
    let result = completing.await.unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(emulator.stats().faults_injected, 5);
    assert_eq!(read_auth_json(home.path())["auth_mode"], "chatgpt");
}

#[tokio::test]
async fn connection_errors_during_polling_do_not_abort() {
    // Narrow case with wiremock: the issuer is unreachable for the first polls (connection
    // refused), then comes up on the same port and approves.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &issuer);
    let code = codex_login::flows::DeviceCode {
        verification_url: format!("{issuer}/codex/device"),
        user_code: codex_auth_provider::SecretString::new("ABCD-EFGH"),
        device_auth_id: codex_auth_provider::SecretString::new("deviceauth_1"),
        interval: Duration::from_secs(5),
    };
    let completing = tokio::spawn(async move { complete_device_code_login(&options, &code).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !completing.is_finished(),
        "connection refused must not end the login"
    );

    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let server = wiremock::MockServer::builder()
        .listener(listener)
        .start()
        .await;
    use wiremock::matchers::{body_partial_json, body_string_contains, method, path};
    wiremock::Mock::given(method("POST"))
        .and(path(POLL_PATH))
        .and(body_partial_json(serde_json::json!({
            "device_auth_id": "deviceauth_1", "user_code": "ABCD-EFGH"
        })))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "authorization_code": "ac_1", "code_challenge": "x", "code_verifier": "verifier-1"
            })),
        )
        .mount(&server)
        .await;
    let id_token = format!(
        "e30.{}.c2ln",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&serde_json::json!({
                "https://api.openai.com/auth": {"chatgpt_account_id": "acct-1"}
            }))
            .unwrap()
        )
    );
    wiremock::Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("code_verifier=verifier-1"))
        .and(body_string_contains("deviceauth%2Fcallback"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id_token": id_token, "access_token": "at-1", "refresh_token": "rt-1"
            })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let result = completing.await.unwrap().unwrap();
    assert_eq!(result.account_id.as_deref(), Some("acct-1"));
    assert_eq!(
        read_auth_json(home.path())["tokens"]["refresh_token"],
        "rt-1"
    );
}

#[tokio::test]
async fn client_side_expiry_is_a_distinct_error() {
    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let mut options = device_options(home.path(), &emulator.urls().issuer);
    options.max_wait = Duration::from_millis(300);
    let code = request_device_code(&options).await.unwrap();
    let err = complete_device_code_login(&options, &code)
        .await
        .unwrap_err();
    assert!(matches!(err, DeviceCodeError::TimedOut(_)), "{err}");
    assert!(err.to_string().starts_with("device auth timed out after"));
    assert!(emulator.stats().device_polls_pending >= 2);
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn server_side_expiry_is_a_distinct_error() {
    let emulator = emulator(false).await;
    emulator.set_faults(override_path(
        POLL_PATH,
        410,
        r#"{"error":{"code":"deviceauth_expired","message":"The device code has expired."}}"#,
        0,
    ));
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let code = request_device_code(&options).await.unwrap();
    let err = complete_device_code_login(&options, &code)
        .await
        .unwrap_err();
    assert!(matches!(err, DeviceCodeError::CodeExpired { .. }), "{err}");
    assert!(err.to_string().contains("The device code has expired."));
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn denial_on_the_device_page_stops_polling() {
    let emulator = emulator(false).await;
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let code = request_device_code(&options).await.unwrap();
    let user_code = code.user_code.expose().to_owned();
    let completing = tokio::spawn(async move { complete_device_code_login(&options, &code).await });
    wait_until("a pending poll", || {
        emulator.stats().device_polls_pending >= 1
    })
    .await;
    submit_device_page(&emulator, &user_code, "deny").await;
    let err = completing.await.unwrap().unwrap_err();
    assert!(matches!(err, DeviceCodeError::Denied { .. }), "{err}");
    assert!(err.is_permission_denied());
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn device_code_login_rejects_workspace_mismatch() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let mut options = device_options(home.path(), &emulator.urls().issuer);
    options.forced_chatgpt_workspace_ids = vec!["ws-somewhere-else".to_owned()];
    let err = run_device_code_login(&options, &mut std::io::sink())
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    assert_eq!(
        err.to_string(),
        "Login is restricted to workspace id(s) ws-somewhere-else."
    );
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn device_code_login_integration_handles_usercode_http_failure() {
    let emulator = emulator(true).await;
    emulator.set_faults(override_path(USERCODE_PATH, 503, "busy", 1));
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let err = request_device_code(&options).await.unwrap_err();
    assert!(
        matches!(err, DeviceCodeError::UserCodeStatus { status: 503 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "device code request failed with status 503"
    );
}

#[tokio::test]
async fn usercode_404_means_device_login_is_not_enabled() {
    let emulator = emulator(true).await;
    emulator.set_faults(override_path(USERCODE_PATH, 404, "", 1));
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let err = request_device_code(&options).await.unwrap_err();
    assert!(matches!(err, DeviceCodeError::NotEnabled));
    assert_eq!(
        err.to_string(),
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
    );
}

#[tokio::test]
async fn device_code_login_integration_handles_error_payload() {
    let emulator = emulator(false).await;
    emulator.set_faults(override_path(
        POLL_PATH,
        401,
        r#"{"error":{"code":"unauthorized","message":"bad client"}}"#,
        1,
    ));
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    let code = request_device_code(&options).await.unwrap();
    let err = complete_device_code_login(&options, &code)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeviceCodeError::PollStatus { status: 401, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("401"));
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn device_code_login_persists_without_api_key() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), &emulator.urls().issuer);
    run_device_code_login(&options, &mut std::io::sink())
        .await
        .unwrap();
    let auth = read_auth_json(home.path());
    assert!(auth["OPENAI_API_KEY"].is_null());
    assert!(auth["tokens"]["access_token"].as_str().is_some());
    assert_eq!(emulator.stats().api_key_exchanges, 0);
}

#[tokio::test]
async fn device_login_revokes_the_login_it_replaces() {
    let emulator = emulator(true).await;
    let home = tempfile::tempdir().unwrap();
    flow_support::seed_chatgpt_auth(
        home.path(),
        &emulator.issue_chatgpt_tokens(codex_emulator::IssueTokens::default()),
    );
    let options = device_options(home.path(), &emulator.urls().issuer);
    run_device_code_login(&options, &mut std::io::sink())
        .await
        .unwrap();
    assert_eq!(emulator.stats().revoked, 1);
}

#[tokio::test]
async fn insecure_issuer_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let options = device_options(home.path(), "http://auth.example.com");
    let err = request_device_code(&options).await.unwrap_err();
    assert!(matches!(err, DeviceCodeError::InsecureIssuer(_)), "{err}");
}
