//! The HTTP client factory (headers, redirects, custom CA) and the exact
//! refresh request on the wire, with `wiremock` as the narrow server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_login::auth_dot_json::StoredIdToken;
use codex_login::environment::env_from_pairs;
use codex_login::http_client::{HttpClientError, HttpClientFactory, parse_pem_certificates};
use codex_login::storage::{AuthStorage, FileAuthStorage};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, auth_manager::RefreshOutcome,
};
use core_support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn factory(pairs: &[(&str, &str)]) -> Result<HttpClientFactory, HttpClientError> {
    let env = env_from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    HttpClientFactory::from_env(&move |name: &str| env(name))
}

#[tokio::test]
async fn default_client_sends_originator_and_user_agent_and_bare_client_does_not() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let factory = factory(&[("TERM", "xterm")]).unwrap();
    factory
        .default_client()
        .unwrap()
        .get(server.uri())
        .send()
        .await
        .unwrap();
    factory
        .bare_client()
        .unwrap()
        .get(server.uri())
        .send()
        .await
        .unwrap();
    let overridden = self::factory(&[
        ("TERM", "xterm"),
        ("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "codex_vscode"),
    ])
    .unwrap()
    .with_residency("us");
    overridden
        .default_client()
        .unwrap()
        .get(server.uri())
        .send()
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let header = |i: usize, name: &str| {
        requests[i]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header(0, "originator").as_deref(), Some("codex_cli_rs"));
    let ua = header(0, "user-agent").unwrap();
    assert!(
        ua.starts_with(&format!("codex_cli_rs/{} (", env!("CARGO_PKG_VERSION"))),
        "{ua}"
    );
    assert!(ua.ends_with(") xterm"), "{ua}");
    assert_eq!(ua, factory.user_agent());
    assert_eq!(header(1, "originator"), None);
    assert!(header(1, "user-agent").is_none_or(|ua| !ua.starts_with("codex_cli_rs")));
    assert_eq!(header(2, "originator").as_deref(), Some("codex_vscode"));
    assert!(
        header(2, "user-agent")
            .unwrap()
            .starts_with("codex_vscode/")
    );
    assert_eq!(
        header(2, "x-openai-internal-codex-residency").as_deref(),
        Some("us")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn user_agent_names_the_os_like_the_official_cli() {
    // The official CLI on this Debian 12 machine sent `(Debian 12.0.0; x86_64)`.
    let factory = factory(&[("TERM", "xterm")]).unwrap();
    let ua = factory.user_agent();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if os_release.contains("ID=debian") && os_release.contains("VERSION_ID=\"12\"") {
        assert!(
            ua.contains(&format!("(Debian 12.0.0; {})", std::env::consts::ARCH)),
            "{ua}"
        );
    } else {
        eprintln!("SKIPPED exact OS check: not Debian 12 ({ua})");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .mount(&server)
        .await;
    let factory = factory(&[]).unwrap();
    let response = factory
        .default_client()
        .unwrap()
        .post(format!("{}/oauth/token", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

fn system_bundle() -> Option<String> {
    std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").ok()
}

fn first_cert(bundle: &str) -> String {
    let start = bundle.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = bundle[start..].find("-----END CERTIFICATE-----").unwrap() + start + 25;
    bundle[start..end].to_owned() + "\n"
}

#[test]
fn custom_ca_bundles_load_from_codex_var_then_ssl_cert_file() {
    let Some(bundle) = system_bundle() else {
        eprintln!("SKIPPED: custom_ca test: no system CA bundle to borrow certificates from");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let one = write("one.pem", &first_cert(&bundle));
    let many = write("many.pem", &bundle);
    let trusted = write(
        "trusted.pem",
        &first_cert(&bundle)
            .replace("BEGIN CERTIFICATE", "BEGIN TRUSTED CERTIFICATE")
            .replace("END CERTIFICATE", "END TRUSTED CERTIFICATE"),
    );
    let empty = write("empty.pem", "");
    let junk = write(
        "junk.pem",
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    );
    let key_only = write(
        "key.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );

    let f = factory(&[("CODEX_CA_CERTIFICATE", &one)]).unwrap();
    assert_eq!(f.ca_source().unwrap().0, "CODEX_CA_CERTIFICATE");
    f.default_client().unwrap();
    let f = factory(&[("SSL_CERT_FILE", &many)]).unwrap();
    assert_eq!(f.ca_source().unwrap().0, "SSL_CERT_FILE");
    f.default_client().unwrap();
    assert!(
        parse_pem_certificates(bundle.as_bytes()).unwrap().len() > 10,
        "multi-cert bundle"
    );
    factory(&[("CODEX_CA_CERTIFICATE", &trusted)])
        .unwrap()
        .default_client()
        .unwrap();
    // The Codex variable wins over a broken SSL_CERT_FILE.
    let f = factory(&[("CODEX_CA_CERTIFICATE", &one), ("SSL_CERT_FILE", &junk)]).unwrap();
    assert_eq!(f.ca_source().unwrap().0, "CODEX_CA_CERTIFICATE");

    for (file, needle) in [
        (&empty, "no certificates found in PEM file"),
        (&key_only, "no certificates found in PEM file"),
        (&junk, "failed to parse PEM file"),
    ] {
        let err = factory(&[("SSL_CERT_FILE", file)]).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
        assert!(
            err.contains("CODEX_CA_CERTIFICATE") && err.contains("SSL_CERT_FILE"),
            "{err}"
        );
        assert!(err.contains(file.as_str()), "{err}");
    }
    let err = factory(&[("CODEX_CA_CERTIFICATE", "/nonexistent/ca.pem")]).unwrap_err();
    assert!(matches!(
        err,
        HttpClientError::CaFileUnreadable {
            variable: "CODEX_CA_CERTIFICATE",
            ..
        }
    ));
    let truncated = write("truncated.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let err = factory(&[("CODEX_CA_CERTIFICATE", &truncated)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("failed to parse PEM file") && err.contains("no matching END"),
        "{err}"
    );
}

#[tokio::test]
async fn refresh_request_matches_the_official_cli_on_the_wire() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": fake_access_token(4_102_444_800),
            "refresh_token": "rt-new",
        })))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().unwrap();
    let id_token = fake_id_token("user@example.com", "pro", "acct-1", "user-1");
    let mut document = codex_login::auth_dot_json::AuthDotJson::chatgpt(
        codex_login::auth_dot_json::StoredTokens::new(
            id_token.clone().into(),
            fake_access_token(1).into(),
            "rt-old".into(),
            Some("acct-1".into()),
        ),
        None,
        chrono::Utc::now(),
    );
    document
        .extra
        .insert("kept".into(), serde_json::json!(true));
    FileAuthStorage::new(home.path()).save(&document).unwrap();

    let mut config = AuthManagerConfig::new(home.path());
    // The override env var, as the official CLI reads it.
    config.env = env_from_pairs([
        ("TERM", "xterm"),
        (
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            &format!("{}/oauth/token", server.uri()),
        ),
    ]);
    let manager = AuthManager::new(config);
    let auth = manager.auth().await.unwrap();
    assert_eq!(auth.refresh_token().unwrap().expose(), "rt-new");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(request.headers.get("originator").unwrap(), "codex_cli_rs");
    assert!(
        request
            .headers
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("codex_cli_rs/")
    );
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(
        String::from_utf8(request.body.clone()).unwrap(),
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_reason":"proactive_expiry","refresh_token":"rt-old"}"#
    );

    // A response without id_token keeps the old raw JWT; other fields kept too.
    let stored = FileAuthStorage::new(home.path()).load().unwrap().unwrap();
    let tokens = stored.tokens.as_ref().unwrap();
    assert!(matches!(&tokens.id_token, Some(StoredIdToken::Jwt(jwt)) if jwt.expose() == id_token));
    assert_eq!(tokens.refresh_token.expose(), "rt-new");
    assert_eq!(stored.extra.get("kept"), Some(&serde_json::json!(true)));
    assert_eq!(
        manager.refresh_token().await.unwrap(),
        RefreshOutcome::Refreshed
    );
}

#[tokio::test]
async fn credentials_are_never_sent_over_plain_http_to_a_remote_host() {
    let home = tempfile::tempdir().unwrap();
    let mut document = codex_login::auth_dot_json::AuthDotJson::chatgpt(
        codex_login::auth_dot_json::StoredTokens::new(
            fake_jwt(&serde_json::json!({})).into(),
            fake_access_token(1).into(),
            "rt-secret".into(),
            None,
        ),
        None,
        chrono::Utc::now(),
    );
    document.last_refresh = None;
    FileAuthStorage::new(home.path()).save(&document).unwrap();
    let mut config = AuthManagerConfig::new(home.path());
    config.env = env_from_pairs([("TERM", "xterm")]);
    // 192.0.2.0/24 is TEST-NET-1: never routed. The check refuses before connecting.
    config.refresh_token_url = Some("http://192.0.2.1/oauth/token".into());
    let manager = AuthManager::new(config);
    let err = manager.refresh_token().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("refusing to send credentials") && text.contains("https"),
        "{text}"
    );
    assert!(!text.contains("rt-secret"));
}

#[tokio::test]
async fn a_refresh_token_echoed_in_an_error_body_never_reaches_the_error_text() {
    let server = MockServer::start().await;
    let token = "rt-echoed-0123456789abcdef";
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_string(format!("proxy error for refresh_token={token}")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = factory(&[]).unwrap().bare_client().unwrap();
    let url = url::Url::parse(&format!("{}/oauth/token", server.uri())).unwrap();
    let err = codex_login::refresh::send_refresh_request(
        &client,
        &url,
        &codex_auth_provider::SecretString::new(token),
        codex_login::refresh::RefreshReason::Unauthorized,
    )
    .await
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(token), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}
