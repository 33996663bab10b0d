//! The jwt-bearer exchange (RFC 7523 with a federation rule id) and the checks on its answer.

use std::time::Duration;

use codex_auth_provider::SecretString;
use serde_json::Value;
use url::Url;

use super::error::WorkloadIdentityError;
use crate::secret_scrub::SentSecrets;

/// The `grant_type` of the exchange.
pub(super) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The `issued_token_type` a valid answer carries.
pub(super) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// How long one exchange may take.
pub(super) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read.
pub(super) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Who a federated access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FederatedIdentity {
    /// `chatgpt_account_id` (the workspace).
    pub account_id: String,
    /// `chatgpt_account_user_id` (the membership).
    pub account_user_id: String,
    /// `user_id`.
    pub user_id: String,
}

/// A validated exchange answer.
#[derive(Debug, Clone)]
pub(super) struct ExchangeAnswer {
    /// The ChatGPT access token (a JWT).
    pub access_token: SecretString,
    /// Its lifetime in seconds (1–3600).
    pub expires_in: u64,
    /// Whom it belongs to.
    pub identity: FederatedIdentity,
    /// `chatgpt_plan_type`, when sent.
    pub plan_type: Option<String>,
}

/// Sends one exchange: the form POST the official CLI sends, fields in its order.
pub(super) async fn exchange(
    client: &reqwest::Client,
    token_url: &Url,
    rule_id: &str,
    assertion: &SecretString,
    context: Option<&str>,
) -> Result<ExchangeAnswer, WorkloadIdentityError> {
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", assertion.expose())
            .append_pair("federation_rule_id", rule_id);
        if let Some(context) = context {
            form.append_pair("workload_identity_context", context);
        }
        SecretString::new(form.finish())
    };
    let mut response = client
        .post(token_url.clone())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .timeout(EXCHANGE_TIMEOUT)
        .body(body.expose().to_owned())
        .send()
        .await
        .map_err(|err| WorkloadIdentityError::Unavailable(err.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        let secrets = SentSecrets::new().with(assertion);
        let text = crate::secret_scrub::read_error_body(response, &secrets).await;
        return Err(WorkloadIdentityError::Rejected {
            status: status.as_u16(),
            detail: oauth_detail(&text, &secrets),
        });
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(WorkloadIdentityError::InvalidResponse);
    }
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| WorkloadIdentityError::Unavailable(err.without_url()))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(WorkloadIdentityError::InvalidResponse);
        }
        bytes.extend_from_slice(&chunk);
    }
    parse_answer(&bytes)
}

/// `error: description` of an OAuth error body (scrubbed, short), or empty.
fn oauth_detail(text: &str, secrets: &SentSecrets) -> String {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return String::new();
    };
    let error = match body.get("error") {
        Some(Value::String(code)) => code.clone(),
        Some(Value::Object(object)) => object
            .get("code")
            .or_else(|| object.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let joined = match (error.is_empty(), description.is_empty()) {
        (true, _) => String::new(),
        (false, true) => error,
        (false, false) => format!("{error}: {description}"),
    };
    secrets.shown(&joined)
}

fn non_blank(body: &Value, field: &str) -> Result<String, WorkloadIdentityError> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned)
        .ok_or(WorkloadIdentityError::InvalidResponse)
}

/// Validates an answer as the official CLI does, and that the token's own claims name the
/// same user as the answer.
pub(super) fn parse_answer(bytes: &[u8]) -> Result<ExchangeAnswer, WorkloadIdentityError> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|_| WorkloadIdentityError::InvalidResponse)?;
    let access_token = SecretString::new(non_blank(&body, "access_token")?);
    if non_blank(&body, "issued_token_type")? != ACCESS_TOKEN_TYPE
        || !non_blank(&body, "token_type")?.eq_ignore_ascii_case("bearer")
    {
        return Err(WorkloadIdentityError::InvalidResponse);
    }
    let expires_in = body
        .get("expires_in")
        .and_then(Value::as_u64)
        .filter(|secs| (1..=3600).contains(secs))
        .ok_or(WorkloadIdentityError::InvalidResponse)?;
    non_blank(&body, "scope")?;
    let identity = FederatedIdentity {
        account_id: non_blank(&body, "chatgpt_account_id")?,
        account_user_id: non_blank(&body, "chatgpt_account_user_id")?,
        user_id: non_blank(&body, "user_id")?,
    };
    let plan_type = match body.get("chatgpt_plan_type") {
        None | Some(Value::Null) => None,
        Some(_) => Some(non_blank(&body, "chatgpt_plan_type")?),
    };
    let claims = crate::token_claims::decode_jwt_payload(access_token.expose())
        .map_err(|_| WorkloadIdentityError::InvalidResponse)?;
    let claimed_user = claims
        .get("https://api.openai.com/auth")
        .and_then(|auth| auth.get("chatgpt_user_id").or_else(|| auth.get("user_id")))
        .and_then(Value::as_str);
    if claimed_user != Some(identity.user_id.as_str()) {
        return Err(WorkloadIdentityError::InvalidResponse);
    }
    Ok(ExchangeAnswer {
        access_token,
        expires_in,
        identity,
        plan_type,
    })
}
