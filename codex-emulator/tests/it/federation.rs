//! Workload identity federation: the jwt-bearer exchange with its strict checks, the OIDC
//! issuer the emulator plays (JWKS, the Actions-style token endpoint) and the faults.

use crate::common;

use std::time::{Duration, Instant};

use codex_emulator::{
    EmulatorConfig, EmulatorHandle, Faults, FederationRule, StatusOverride, SubjectTokenSpec,
};
use common::*;
use serde_json::Value;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn exchange(emulator: &EmulatorHandle, fields: &[(&str, &str)]) -> (u16, Value) {
    let response = client()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .form(fields)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

async fn with_rule(rule: FederationRule) -> EmulatorHandle {
    let emulator = start(EmulatorConfig::default()).await;
    emulator.set_federation_rule(rule);
    emulator
}

fn token(emulator: &EmulatorHandle, spec: SubjectTokenSpec) -> String {
    emulator.mint_subject_token(&spec)
}

#[tokio::test]
async fn a_valid_subject_token_is_exchanged_for_a_backend_access_token() {
    let emulator = with_rule(FederationRule::default()).await;
    let assertion = token(&emulator, SubjectTokenSpec::default());
    let (status, body) = exchange(
        &emulator,
        &[
            ("grant_type", GRANT),
            ("assertion", &assertion),
            ("federation_rule_id", "idpm_emulator"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["chatgpt_account_id"], "acct-emulator-0001");
    assert_eq!(body["chatgpt_account_user_id"], "acctuser-emulator-0001");
    assert_eq!(body["user_id"], "user-emulator-0001");
    assert_eq!(body["chatgpt_plan_type"], "plus");
    assert!(body["scope"].as_str().unwrap().contains("openid"));
    let access = body["access_token"].as_str().unwrap();
    let claims = jwt_claims(access);
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_user_id"],
        "user-emulator-0001"
    );
    // The backend accepts it.
    let usage = client()
        .get(format!("{}/wham/usage", emulator.urls().chatgpt_base_url))
        .bearer_auth(access)
        .header("ChatGPT-Account-ID", "acct-emulator-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status(), 200);
    let stats = emulator.stats();
    assert_eq!(stats.federation_exchanges_ok, 1);
    assert_eq!(stats.federation_exchanges_rejected, 0);
    let log = emulator.federation_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].rule_id, "idpm_emulator");
    assert_eq!(
        log[0].subject.as_deref(),
        Some("repo:octo/app:ref:refs/heads/main")
    );
    assert_eq!(log[0].refused, None);
}

#[tokio::test]
async fn each_strict_check_refuses_with_a_clear_oauth_error() {
    let emulator = with_rule(FederationRule {
        context: Some("{\"job\":\"42\"}".to_owned()),
        subject: Some("repo:octo/app:ref:refs/heads/main".to_owned()),
        ..FederationRule::default()
    })
    .await;
    let good = token(&emulator, SubjectTokenSpec::default());
    let ctx = "{\"job\":\"42\"}";
    let wrong_aud = token(
        &emulator,
        SubjectTokenSpec {
            audience: "someone-else".to_owned(),
            ..SubjectTokenSpec::default()
        },
    );
    let expired = token(
        &emulator,
        SubjectTokenSpec {
            ttl_secs: -10,
            ..SubjectTokenSpec::default()
        },
    );
    let foreign_issuer = token(
        &emulator,
        SubjectTokenSpec {
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            ..SubjectTokenSpec::default()
        },
    );
    let wrong_sub = token(
        &emulator,
        SubjectTokenSpec {
            subject: "repo:evil/app".to_owned(),
            ..SubjectTokenSpec::default()
        },
    );
    // Tampered payload: the signature no longer verifies.
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &good),
                ("federation_rule_id", "idpm_nope"),
                ("workload_identity_context", ctx),
            ],
            "Unknown federation rule",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &wrong_aud),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
            ],
            "audience",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &expired),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
            ],
            "expired",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &foreign_issuer),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
            ],
            "issuer",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &forged),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
            ],
            "signature",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &wrong_sub),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
            ],
            "subject",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &good),
                ("federation_rule_id", "idpm_emulator"),
            ],
            "context",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("assertion", &good),
                ("federation_rule_id", "idpm_emulator"),
                ("workload_identity_context", ctx),
                ("client_id", "x"),
            ],
            "Unexpected parameter",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("federation_rule_id", "idpm_emulator"),
            ],
            "Missing assertion",
        ),
    ];
    let count = cases.len() as u64;
    for (fields, needle) in cases {
        let (status, body) = exchange(&emulator, &fields).await;
        assert_eq!(status, 400, "{needle}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{needle}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{needle}: {description}");
    }
    let (status, body) = exchange(
        &emulator,
        &[
            ("grant_type", GRANT),
            ("assertion", &good),
            ("federation_rule_id", "idpm_emulator"),
            ("workload_identity_context", ctx),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stats = emulator.stats();
    assert_eq!(stats.federation_exchanges_rejected, count);
    assert_eq!(stats.federation_exchanges_ok, 1);
    let log = emulator.federation_log();
    assert_eq!(log.last().unwrap().context.as_deref(), Some(ctx));
}

#[tokio::test]
async fn the_actions_endpoint_and_jwks_serve_verifiable_subject_tokens() {
    let emulator = with_rule(FederationRule::default()).await;
    let urls = emulator.urls().clone();
    assert!(
        urls.actions_id_token_request_url
            .contains("api-version=2.0")
    );
    let url = format!("{}&audience=openai", urls.actions_id_token_request_url);
    let refused = client()
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let (status, body) = json_of(
        client()
            .get(&url)
            .bearer_auth(emulator.actions_request_token())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let subject_token = body["value"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&subject_token);
    assert_eq!(claims["aud"], "openai");
    assert_eq!(claims["iss"], urls.oidc_issuer.as_str());
    // It verifies against the published JWKS.
    let (_, discovery) = json_of(
        client()
            .get(format!(
                "{}/.well-known/openid-configuration",
                urls.oidc_issuer
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, jwks) = json_of(
        client()
            .get(discovery["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["openai"]);
    validation.set_issuer(&[urls.oidc_issuer.as_str()]);
    jsonwebtoken::decode::<Value>(&subject_token, &key, &validation).unwrap();
    // And the issuer exchanges it.
    let (status, body) = exchange(
        &emulator,
        &[
            ("grant_type", GRANT),
            ("assertion", &subject_token),
            ("federation_rule_id", "idpm_emulator"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emulator.stats().oidc_tokens_issued, 1);
}

#[tokio::test]
async fn faults_refuse_stall_and_oversize_the_exchange() {
    let emulator = with_rule(FederationRule::default()).await;
    let assertion = token(&emulator, SubjectTokenSpec::default());
    let fields = [
        ("grant_type", GRANT),
        ("assertion", assertion.as_str()),
        ("federation_rule_id", "idpm_emulator"),
    ];
    emulator.set_faults(Faults {
        status_overrides: vec![StatusOverride {
            path_prefix: "/oauth/token".to_owned(),
            status: 503,
            body: "{\"error\":\"temporarily_unavailable\"}".to_owned(),
            times: 1,
        }],
        ..Faults::default()
    });
    assert_eq!(exchange(&emulator, &fields).await.0, 503);
    emulator.set_faults(Faults {
        federation_delay_ms: 600,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(exchange(&emulator, &fields).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    emulator.set_faults(Faults {
        federation_oversize_response: true,
        ..Faults::default()
    });
    let response = client()
        .post(format!("{}/oauth/token", emulator.urls().issuer))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().len() > 1024 * 1024);
    let stats = emulator.stats();
    assert_eq!(stats.faults_injected, 1);
    assert_eq!(stats.federation_exchanges_ok, 2);
}

#[tokio::test]
async fn rules_and_subject_tokens_are_reachable_over_the_admin_api() {
    let emulator = start(EmulatorConfig::default()).await;
    let issuer = emulator.urls().issuer.clone();
    let rule =
        serde_json::json!({"id": "idpm_admin", "audience": "fleet", "access_token_ttl_secs": 60});
    let (status, _) = post_json(
        &client(),
        &format!("{issuer}/_emulator/federation-rules"),
        &rule,
    )
    .await;
    assert_eq!(status, 200);
    let (status, minted) = post_json(
        &client(),
        &format!("{issuer}/_emulator/oidc/subject-token"),
        &serde_json::json!({"audience": "fleet", "subject": "node-7", "ttl_secs": 60}),
    )
    .await;
    assert_eq!(status, 200, "{minted}");
    let (status, body) = exchange(
        &emulator,
        &[
            ("grant_type", GRANT),
            ("assertion", minted["token"].as_str().unwrap()),
            ("federation_rule_id", "idpm_admin"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 60);
    let (_, log) = json_of(
        client()
            .get(format!("{issuer}/_emulator/federation-log"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(log[0]["subject"], "node-7");
}
