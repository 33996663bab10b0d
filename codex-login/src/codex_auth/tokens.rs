//! The parts of a snapshot (ChatGPT tokens, an agent identity) and how they
//! are read from a stored document or a JWT.

use super::error::{AuthDataError, EXTERNAL_PLAN_TYPE_FIELD};
use crate::auth_dot_json::{AgentIdentityRecord, StoredIdToken, StoredTokens};
use crate::token_claims::{AgentIdentityClaims, IdTokenClaims, PlanType, jwt_expiry};
use chrono::{DateTime, Utc};
use codex_auth_provider::SecretString;

/// The ChatGPT tokens of a snapshot, with the claims read from them.
#[derive(Debug, Clone)]
pub struct ChatgptTokens {
    /// Claims from the id token (or, for host-supplied tokens, the access token).
    pub id_token: IdTokenClaims,
    /// The raw id token, when there is one.
    pub raw_id_token: Option<SecretString>,
    /// The bearer access token.
    pub access_token: SecretString,
    /// The refresh token (empty for host-supplied tokens).
    pub refresh_token: SecretString,
    /// `tokens.account_id` as stored.
    pub account_id: Option<String>,
    /// `exp` of the access token, when it is a JWT with one.
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

/// An agent identity, from the stored record or the JWT's claims.
#[derive(Debug, Clone)]
pub struct AgentIdentityAuth {
    /// `agent_runtime_id`.
    pub agent_runtime_id: String,
    /// `agent_private_key` (standard base64 PKCS#8 Ed25519).
    pub agent_private_key: SecretString,
    /// The ChatGPT account (workspace) id.
    pub account_id: Option<String>,
    /// The ChatGPT user id.
    pub chatgpt_user_id: Option<String>,
    /// The email, when known.
    pub email: Option<String>,
    /// The plan.
    pub plan_type: Option<PlanType>,
    /// Whether the account is FedRAMP.
    pub is_fedramp: bool,
    /// The task id, when one is registered and stored.
    pub task_id: Option<String>,
    /// The JWT this identity came from, when it came from one.
    pub jwt: Option<SecretString>,
    /// `exp` of the JWT.
    pub expires_at: Option<DateTime<Utc>>,
}

pub(super) fn chatgpt_tokens(tokens: &StoredTokens) -> Result<ChatgptTokens, AuthDataError> {
    if tokens.access_token.expose().is_empty() {
        return Err(AuthDataError::EmptyAccessToken);
    }
    let (id_token, raw_id_token) = match &tokens.id_token {
        Some(StoredIdToken::Jwt(jwt)) if !jwt.expose().is_empty() => (
            IdTokenClaims::parse(jwt.expose()).map_err(AuthDataError::IdToken)?,
            Some(jwt.clone()),
        ),
        Some(StoredIdToken::Jwt(_)) | None => (IdTokenClaims::default(), None),
        Some(StoredIdToken::Legacy(object)) => match object.0.get("raw_jwt") {
            Some(serde_json::Value::String(jwt)) => (
                IdTokenClaims::parse(jwt).map_err(AuthDataError::IdToken)?,
                Some(SecretString::new(jwt.clone())),
            ),
            _ => (IdTokenClaims::from_claims(&object.0), None),
        },
    };
    Ok(ChatgptTokens {
        id_token,
        raw_id_token,
        access_token_expires_at: jwt_expiry(tokens.access_token.expose()),
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        account_id: tokens.account_id.clone(),
    })
}

/// Host-supplied tokens: the supplied account id and plan win over the
/// access token's claims; a missing plan is `Unknown("unknown")`.
pub(super) fn apply_external_metadata(parsed: &mut ChatgptTokens, stored: &StoredTokens) {
    if let Some(account_id) = stored.account_id.as_ref().filter(|id| !id.is_empty()) {
        parsed.id_token.chatgpt_account_id = Some(account_id.clone());
    }
    let supplied = stored
        .extra
        .get(EXTERNAL_PLAN_TYPE_FIELD)
        .and_then(serde_json::Value::as_str)
        .map(PlanType::from_wire);
    parsed.id_token.plan_type = Some(
        supplied
            .or_else(|| parsed.id_token.plan_type.clone())
            .unwrap_or_else(|| PlanType::Unknown("unknown".to_owned())),
    );
}

pub(super) fn agent_identity_from_jwt(
    jwt: SecretString,
) -> Result<AgentIdentityAuth, AuthDataError> {
    let claims =
        AgentIdentityClaims::parse(jwt.expose()).map_err(AuthDataError::AgentIdentityJwt)?;
    Ok(AgentIdentityAuth {
        agent_runtime_id: claims
            .agent_runtime_id
            .ok_or(AuthDataError::AgentIdentityIncomplete("agent_runtime_id"))?,
        agent_private_key: claims
            .agent_private_key
            .ok_or(AuthDataError::AgentIdentityIncomplete("agent_private_key"))?,
        account_id: claims.account_id,
        chatgpt_user_id: claims.chatgpt_user_id,
        email: claims.email,
        plan_type: claims.plan_type,
        is_fedramp: claims.is_fedramp,
        task_id: None,
        jwt: Some(jwt),
        expires_at: claims.expires_at,
    })
}

pub(super) fn agent_identity_from_record(
    record: &AgentIdentityRecord,
) -> Result<AgentIdentityAuth, AuthDataError> {
    let non_blank = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    Ok(AgentIdentityAuth {
        agent_runtime_id: non_blank(&record.agent_runtime_id)
            .ok_or(AuthDataError::AgentIdentityIncomplete("agent_runtime_id"))?,
        agent_private_key: record
            .agent_private_key
            .clone()
            .filter(|key| !key.expose().trim().is_empty())
            .ok_or(AuthDataError::AgentIdentityIncomplete("agent_private_key"))?,
        account_id: non_blank(&record.account_id).or_else(|| non_blank(&record.workspace_id)),
        chatgpt_user_id: non_blank(&record.chatgpt_user_id),
        email: non_blank(&record.email),
        plan_type: non_blank(&record.plan_type).map(|raw| PlanType::from_wire(&raw)),
        is_fedramp: record.chatgpt_account_is_fedramp.unwrap_or(false),
        task_id: non_blank(&record.task_id).or_else(|| non_blank(&record.background_task_id)),
        jwt: None,
        expires_at: None,
    })
}
