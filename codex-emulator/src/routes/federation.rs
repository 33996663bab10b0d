//! Workload identity federation: the jwt-bearer exchange at `POST /oauth/token` (RFC 7523 with
//! a `federation_rule_id`) and the OIDC issuer the emulator plays for subject tokens
//! (`/oidc/...`: discovery, JWKS and a GitHub-Actions-style ID token endpoint).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use crate::api_error::ApiError;
use crate::federation::{
    ACCESS_TOKEN_TYPE, FEDERATED_SCOPE, FederationExchange, FederationRule, SubjectTokenSpec,
};
use crate::ids::short_id;
use crate::protocol::now_secs;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::world::AccessRecord;

/// Form fields the exchange accepts; anything else is refused.
const KNOWN_FIELDS: [&str; 4] = [
    "grant_type",
    "assertion",
    "federation_rule_id",
    "workload_identity_context",
];

/// The jwt-bearer grant (the form is already parsed and `grant_type` checked).
pub(crate) async fn exchange(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let (delay_ms, oversize) = {
        let world = shared.world();
        (
            world.faults.federation_delay_ms,
            world.faults.federation_oversize_response,
        )
    };
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let outcome = check_and_issue(shared, form);
    let (rule_id, subject, subject_token_id) = match &outcome {
        Ok((_, claims)) | Err((_, Some(claims))) => (
            form.get("federation_rule_id").cloned().unwrap_or_default(),
            claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            claims.get("jti").and_then(Value::as_str).map(str::to_owned),
        ),
        Err((_, None)) => (
            form.get("federation_rule_id").cloned().unwrap_or_default(),
            None,
            None,
        ),
    };
    let refused = outcome.as_ref().err().map(|(error, _)| error.1.clone());
    shared.world().federation_log.push(FederationExchange {
        rule_id,
        subject,
        subject_token_id,
        context: form.get("workload_identity_context").cloned(),
        refused,
    });
    match outcome {
        Ok((body, _)) => {
            Counters::bump(&shared.counters.federation_exchanges_ok);
            if oversize {
                return oversized(body);
            }
            Json(body).into_response()
        }
        Err(((status, description), _)) => {
            Counters::bump(&shared.counters.federation_exchanges_rejected);
            tracing::info!(
                status = status.as_u16(),
                "workload identity exchange refused"
            );
            ApiError::oauth(status, "invalid_grant", description).into_response()
        }
    }
}

/// A refusal: status and description, with the subject token's claims when they were read.
type Refusal = ((StatusCode, String), Option<Value>);

fn refuse(description: &str, claims: Option<&Value>) -> Refusal {
    (
        (StatusCode::BAD_REQUEST, description.to_owned()),
        claims.cloned(),
    )
}

/// Checks the form and the subject token against the rule; on success issues the token.
fn check_and_issue(
    shared: &Shared,
    form: &HashMap<String, String>,
) -> Result<(Value, Value), Refusal> {
    if let Some(unknown) = form.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(refuse(
            &format!("Unexpected parameter `{unknown}` in a jwt-bearer exchange."),
            None,
        ));
    }
    let assertion = form
        .get("assertion")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| refuse("Missing assertion.", None))?;
    let rule_id = form
        .get("federation_rule_id")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| refuse("Missing federation_rule_id.", None))?;
    let rule: FederationRule = shared
        .world()
        .federation_rules
        .get(rule_id)
        .cloned()
        .ok_or_else(|| refuse(&format!("Unknown federation rule `{rule_id}`."), None))?;
    let claims = shared
        .signer
        .verify(assertion)
        .ok_or_else(|| refuse("The subject token signature does not verify.", None))?;
    let trusted = rule
        .trusted_issuer
        .clone()
        .unwrap_or_else(|| shared.urls.oidc_issuer.clone());
    if claims.get("iss").and_then(Value::as_str) != Some(trusted.as_str()) {
        return Err(refuse(
            "The subject token issuer is not trusted by the federation rule.",
            Some(&claims),
        ));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == rule.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&rule.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse(
            "The subject token audience does not match the federation rule.",
            Some(&claims),
        ));
    }
    let now = now_secs();
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        _ => return Err(refuse("The subject token has expired.", Some(&claims))),
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + 60)
    {
        return Err(refuse("The subject token is not valid yet.", Some(&claims)));
    }
    if let Some(subject) = &rule.subject
        && claims.get("sub").and_then(Value::as_str) != Some(subject.as_str())
    {
        return Err(refuse(
            "The subject token subject does not match the federation rule.",
            Some(&claims),
        ));
    }
    if let Some(context) = &rule.context
        && form.get("workload_identity_context") != Some(context)
    {
        return Err(refuse(
            "The workload identity context does not match the federation rule.",
            Some(&claims),
        ));
    }
    Ok((issue(shared, &rule, now), claims))
}

/// Mints the federated access token (accepted by the backend routes) and the answer body.
fn issue(shared: &Shared, rule: &FederationRule, now: i64) -> Value {
    let ttl = rule.access_token_ttl_secs;
    let account = &rule.account;
    let access_token = shared.signer.sign(&json!({
        "iss": shared.urls.issuer,
        "aud": ["https://api.openai.com/v1"],
        "sub": account.user_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": short_id(""),
        "scp": FEDERATED_SCOPE.split(' ').collect::<Vec<_>>(),
        "https://api.openai.com/profile": {"email": account.email, "email_verified": true},
        "https://api.openai.com/auth": {
            "chatgpt_account_id": account.account_id,
            "chatgpt_plan_type": account.plan_type,
            "chatgpt_user_id": account.user_id,
            "user_id": account.user_id,
            "chatgpt_account_user_id": rule.account_user_id,
            "chatgpt_account_is_fedramp": account.fedramp,
        },
    }));
    shared.world().access_tokens.insert(
        access_token.clone(),
        AccessRecord {
            account: account.clone(),
            expires_at: now + ttl,
            revoked: false,
        },
    );
    json!({
        "access_token": access_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": FEDERATED_SCOPE,
        "chatgpt_account_id": account.account_id,
        "chatgpt_account_user_id": rule.account_user_id,
        "user_id": account.user_id,
        "chatgpt_plan_type": account.plan_type,
    })
}

/// The answer padded past 1 MiB (a client must refuse to read it all).
fn oversized(mut body: Value) -> Response {
    body["padding"] = Value::String("x".repeat(1024 * 1024 + 16));
    let mut response = (StatusCode::OK, Body::from(body.to_string())).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

impl Shared {
    /// Signs a subject token as the emulator's OIDC issuer.
    pub(crate) fn mint_subject_token(&self, spec: &SubjectTokenSpec) -> String {
        let now = now_secs();
        Counters::bump(&self.counters.oidc_tokens_issued);
        self.signer.sign(&json!({
            "iss": spec.issuer.clone().unwrap_or_else(|| self.urls.oidc_issuer.clone()),
            "aud": spec.audience,
            "sub": spec.subject,
            "iat": now,
            "nbf": now,
            "exp": now + spec.ttl_secs,
            "jti": short_id("oidc_"),
        }))
    }
}

/// `GET /oidc/.well-known/openid-configuration`.
pub(crate) async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = &shared.urls.oidc_issuer;
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    }))
}

/// `GET /oidc/jwks`: the key subject tokens are signed with.
pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Counters::bump(&shared.counters.jwks_requests);
    Json(shared.signer.jwks())
}

/// `GET /oidc/actions/token?audience=...` with `Authorization: Bearer <request token>`: a
/// subject token as GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL` hands one out.
pub(crate) async fn actions_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let expected = shared.world().actions_request_token.clone();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if presented.is_empty() || !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return ApiError::coded(
            StatusCode::UNAUTHORIZED,
            "invalid_request_token",
            "Missing or wrong ACTIONS_ID_TOKEN_REQUEST_TOKEN.",
        )
        .into_response();
    }
    let Some(audience) = query.get("audience").filter(|a| !a.is_empty()) else {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing audience.",
        )
        .into_response();
    };
    let subject = shared.world().actions_subject.clone();
    let spec = SubjectTokenSpec {
        audience: audience.clone(),
        subject,
        ..SubjectTokenSpec::default()
    };
    Json(json!({"count": 1, "value": shared.mint_subject_token(&spec)})).into_response()
}
