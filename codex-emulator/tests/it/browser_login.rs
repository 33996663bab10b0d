//! Browser login: `/oauth/authorize` validation, consent page, code + PKCE exchange, API key.

// Test code: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use codex_emulator::{EmulatorConfig, Faults};
use common::*;
use url::Url;

const REDIRECT: &str = "http://localhost:1455/auth/callback";
const SCOPE: &str = "openid profile email offline_access api.connectors.read api.connectors.invoke";

/// The authorize URL with every parameter the official CLI sends, in its order.
fn authorize_url(issuer: &str, challenge: &str, state: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{issuer}/oauth/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", SCOPE)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("state", state)
            .append_pair("originator", "codex_cli_rs");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Query parameters of a redirect's Location header.
fn location_params(
    response: &reqwest::Response,
) -> (String, std::collections::HashMap<String, String>) {
    assert_eq!(response.status().as_u16(), 302, "expected a 302 redirect");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = Url::parse(&location).unwrap();
    let mut base = url.clone();
    base.set_query(None);
    let base = base.to_string();
    (base, url.query_pairs().into_owned().collect())
}

/// Extracts the hidden authorization id from the consent page.
fn authorization_id(html: &str) -> String {
    let marker = "name=\"authorization_id\" value=\"";
    let start = html
        .find(marker)
        .expect("consent form has an authorization_id")
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn exchange(
    client: &reqwest::Client,
    issuer: &str,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> (u16, serde_json::Value) {
    json_of(
        client
            .post(format!("{issuer}/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("client_id", CLIENT_ID),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn consent_page_continue_then_code_and_pkce_exchange_yield_verifiable_tokens() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let (verifier, challenge) = pkce_pair();

    let page = client
        .get(authorize_url(&issuer, &challenge, "state-123", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form") && html.contains(">Continue</button>"),
        "{html}"
    );
    assert!(html.contains("user@example.com"));

    let decided = client
        .post(format!("{issuer}/oauth/authorize/decision"))
        .form(&[
            ("authorization_id", authorization_id(&html).as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    let (base, params) = location_params(&decided);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["state"], "state-123");
    let code = params["code"].clone();

    let (status, body) = exchange(&client, &issuer, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{body}");
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "missing {field}"
        );
    }

    // The id token verifies against the published JWKS and carries the §5 claims.
    let (_, jwks) = json_of(
        client
            .get(format!("{issuer}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&[issuer.as_str()]);
    let id = jsonwebtoken::decode::<serde_json::Value>(
        body["id_token"].as_str().unwrap(),
        &key,
        &validation,
    )
    .unwrap();
    let claims = id.claims;
    assert_eq!(claims["email"], "user@example.com");
    assert_eq!(
        claims["https://api.openai.com/profile"]["email"],
        "user@example.com"
    );
    let auth = &claims["https://api.openai.com/auth"];
    assert_eq!(auth["chatgpt_account_id"], "acct-emulator-0001");
    assert_eq!(auth["chatgpt_plan_type"], "plus");
    assert_eq!(auth["chatgpt_user_id"], "user-emulator-0001");
    assert_eq!(auth["user_id"], "user-emulator-0001");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    let exp = access["exp"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 3590..=now + 3610).contains(&exp),
        "exp {exp} is not now+3600"
    );
    assert_eq!(
        access["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-emulator-0001"
    );

    // The access token works on the backend.
    let usage = client
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status().as_u16(), 200);

    let stats = emulator.stats();
    assert_eq!(stats.authorization_codes_issued, 1);
    assert_eq!(stats.code_exchanges_ok, 1);
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant_and_burns_the_code() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let (verifier, challenge) = pkce_pair();
    let (other_verifier, _) = pkce_pair();

    let response = client
        .get(authorize_url(&issuer, &challenge, "s", &[]))
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    let code = params["code"].clone();

    let (status, body) = exchange(&client, &issuer, &code, &other_verifier, REDIRECT).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );

    // One-time: the right verifier no longer helps.
    let (status, body) = exchange(&client, &issuer, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(emulator.stats().code_exchanges_rejected, 2);
    assert_eq!(emulator.stats().code_exchanges_ok, 0);
}

#[tokio::test]
async fn redirect_uri_mismatch_and_code_replay_are_rejected_and_replay_revokes_tokens() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();

    let (verifier, challenge) = pkce_pair();
    let response = client
        .get(authorize_url(&issuer, &challenge, "s", &[]))
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    let (status, body) = exchange(
        &client,
        &issuer,
        &params["code"],
        &verifier,
        "http://localhost:9999/auth/callback",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (verifier, challenge) = pkce_pair();
    let response = client
        .get(authorize_url(&issuer, &challenge, "s", &[]))
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    let (status, tokens) = exchange(&client, &issuer, &params["code"], &verifier, REDIRECT).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&client, &issuer, &params["code"], &verifier, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let usage = client
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(usage).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "token_invalidated");
}

#[tokio::test]
async fn authorize_validates_each_parameter_the_official_cli_sends() {
    let emulator = start(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let (_, challenge) = pkce_pair();
    let good = authorize_url(&issuer, &challenge, "st", &[]);

    // Unknown client or non-loopback redirect: an error page, never a redirect.
    for (name, bad) in [
        ("client_id", "app_other"),
        ("redirect_uri", "https://evil.example/auth/callback"),
        ("redirect_uri", "http://localhost/auth/callback"),
        ("redirect_uri", "http://localhost:1455/other"),
    ] {
        let mut url = Url::parse(&good).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == name {
                    (k, bad.to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let response = client.get(url.as_str()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{name}={bad}");
    }

    // Other defects: redirected back with an OAuth error and the state.
    for (name, bad, error) in [
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge", "short", "invalid_request"),
        ("scope", "openid profile email", "invalid_scope"),
        (
            "scope",
            "openid profile email offline_access admin",
            "invalid_scope",
        ),
        ("response_type", "token", "unsupported_response_type"),
    ] {
        let mut url = Url::parse(&good).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == name {
                    (k, bad.to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let response = client.get(url.as_str()).send().await.unwrap();
        let (base, params) = location_params(&response);
        assert_eq!(base, REDIRECT);
        assert_eq!(params["error"], error, "{name}={bad}");
        assert_eq!(params["state"], "st");
        assert!(!params.contains_key("code"));
    }

    // The unmodified request is approved (auto-approve) straight to the redirect URI.
    let response = client.get(good.as_str()).send().await.unwrap();
    let (_, params) = location_params(&response);
    assert!(params.contains_key("code"));
    assert_eq!(params["state"], "st");
    assert_eq!(emulator.stats().authorize_rejected, 9);
}

#[tokio::test]
async fn access_denied_fault_and_workspace_restriction_are_honoured() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let (_, challenge) = pkce_pair();

    let response = client
        .get(authorize_url(
            &issuer,
            &challenge,
            "st",
            &[("allowed_workspace_id", "acct-other,acct-third")],
        ))
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert!(params["error_description"].contains("acct-other, acct-third"));

    let response = client
        .get(authorize_url(
            &issuer,
            &challenge,
            "st",
            &[("allowed_workspace_id", "acct-other,acct-emulator-0001")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "allowed workspace shows the consent page"
    );

    emulator.set_faults(Faults {
        deny_authorize: Some("missing_codex_entitlement".to_owned()),
        ..Faults::default()
    });
    let response = client
        .get(authorize_url(&issuer, &challenge, "st", &[]))
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "missing_codex_entitlement");
    assert_eq!(params["state"], "st");

    // Cancel on the consent page is access_denied too.
    emulator.set_faults(Faults::default());
    let html = client
        .get(authorize_url(&issuer, &challenge, "st2", &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("{issuer}/oauth/authorize/decision"))
        .form(&[
            ("authorization_id", authorization_id(&html).as_str()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st2");
}

#[tokio::test]
async fn id_token_exchanges_for_an_api_key_once_issued_by_this_issuer() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let client = client();
    let tokens = emulator.issue_chatgpt_tokens(Default::default());

    let exchange = |subject: String| {
        let client = client.clone();
        let url = format!("{issuer}/oauth/token");
        async move {
            json_of(
                client
                    .post(url)
                    .form(&[
                        (
                            "grant_type",
                            "urn:ietf:params:oauth:grant-type:token-exchange",
                        ),
                        ("client_id", CLIENT_ID),
                        ("requested_token", "openai-api-key"),
                        ("subject_token", subject.as_str()),
                        (
                            "subject_token_type",
                            "urn:ietf:params:oauth:token-type:id_token",
                        ),
                    ])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, body) = exchange(tokens.id_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("sk-"));
    let (status, body) = exchange("e30.e30.c2ln".to_owned()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let expired = emulator.issue_chatgpt_tokens(codex_emulator::IssueTokens {
        access_token_ttl_secs: -60,
        account: None,
    });
    let (status, body) = exchange(expired.id_token).await;
    assert_eq!(
        (
            status,
            body["error"].as_str(),
            body["error_description"].as_str()
        ),
        (
            400,
            Some("invalid_grant"),
            Some("subject_token has expired.")
        )
    );
    assert_eq!(emulator.stats().api_key_exchanges, 1);
}
