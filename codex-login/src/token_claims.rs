//! Reading claims out of id tokens, access tokens and agent identity JWTs.
//!
//! As upstream, signatures are not checked here: the tokens come from our
//! own store or straight from the issuer over TLS, and only informational
//! claims (email, plan, account, expiry) are read. Agent identity JWTs are
//! verified elsewhere (`codex-agent-identity`) before they are trusted.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::fmt;

/// The namespaced claim holding ChatGPT account data.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";
/// The namespaced claim holding profile data (email fallback).
pub const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// Why a JWT's payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtDecodeError {
    /// Not three non-empty dot-separated segments.
    #[error("invalid ID token format")]
    Format,
    /// The payload segment is not base64url.
    #[error("invalid ID token payload: not base64url")]
    Base64,
    /// The payload is not a JSON object.
    #[error("invalid ID token payload: not a JSON object")]
    Json,
}

/// Decodes the payload (middle segment) of a compact JWT without checking
/// its signature (`jsonwebtoken::dangerous::insecure_decode_claims`; the
/// header is not read, as upstream). A JWT must have three non-empty
/// segments; padding after the payload is tolerated.
pub fn decode_jwt_payload(jwt: &str) -> Result<Map<String, Value>, JwtDecodeError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtDecodeError::Format);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(JwtDecodeError::Format);
    }
    let unpadded = payload.trim_end_matches('=');
    let token = if unpadded.len() == payload.len() {
        std::borrow::Cow::Borrowed(jwt)
    } else {
        std::borrow::Cow::Owned(format!("{header}.{unpadded}.{signature}"))
    };
    jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, Value>>(token.as_bytes()).map_err(
        |err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::Base64(_) => JwtDecodeError::Base64,
            _ => JwtDecodeError::Json,
        },
    )
}

/// The `exp` claim of a JWT, when it has one and is decodable.
pub fn jwt_expiry(jwt: &str) -> Option<DateTime<Utc>> {
    let claims = decode_jwt_payload(jwt).ok()?;
    claim_timestamp(&claims, "exp")
}

fn claim_timestamp(claims: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    let seconds = match claims.get(key)? {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))?,
        _ => return None,
    };
    DateTime::from_timestamp(seconds, 0)
}

/// The ChatGPT plan type, shared with the backend client's usage payload.
pub use codex_backend_client::PlanType;

/// The claims Codex reads from an id token (or from an access token used as
/// one). Missing claims are `None`/`false`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdTokenClaims {
    /// `email`, else `https://api.openai.com/profile`.`email`.
    pub email: Option<String>,
    /// `chatgpt_plan_type`.
    pub plan_type: Option<PlanType>,
    /// `chatgpt_user_id`, else `user_id`.
    pub chatgpt_user_id: Option<String>,
    /// `chatgpt_account_id` (the workspace).
    pub chatgpt_account_id: Option<String>,
    /// `chatgpt_account_is_fedramp`.
    pub is_fedramp: bool,
    /// `organization_id`.
    pub organization_id: Option<String>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `completed_platform_onboarding`.
    pub completed_platform_onboarding: bool,
    /// `is_org_owner`.
    pub is_org_owner: bool,
    /// `exp`.
    pub expires_at: Option<DateTime<Utc>>,
}

impl IdTokenClaims {
    /// Parses a compact JWT's payload (no signature check).
    pub fn parse(jwt: &str) -> Result<Self, JwtDecodeError> {
        decode_jwt_payload(jwt).map(|claims| Self::from_claims(&claims))
    }

    /// Reads the claims out of a decoded payload.
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let text = |map: &Map<String, Value>, key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let flag = |map: &Map<String, Value>, key: &str| {
            map.get(key).and_then(Value::as_bool).unwrap_or(false)
        };
        let email = text(claims, "email").or_else(|| {
            claims
                .get(PROFILE_CLAIM)
                .and_then(Value::as_object)
                .and_then(|profile| text(profile, "email"))
        });
        let empty = Map::new();
        let auth = claims
            .get(AUTH_CLAIM)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        Self {
            email,
            plan_type: text(auth, "chatgpt_plan_type").map(|raw| PlanType::from_wire(&raw)),
            chatgpt_user_id: text(auth, "chatgpt_user_id").or_else(|| text(auth, "user_id")),
            chatgpt_account_id: text(auth, "chatgpt_account_id"),
            is_fedramp: flag(auth, "chatgpt_account_is_fedramp"),
            organization_id: text(auth, "organization_id"),
            project_id: text(auth, "project_id"),
            completed_platform_onboarding: flag(auth, "completed_platform_onboarding"),
            is_org_owner: flag(auth, "is_org_owner"),
            expires_at: claim_timestamp(claims, "exp"),
        }
    }
}

/// The identity claims of an agent identity JWT (read without verification).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AgentIdentityClaims {
    /// `agent_runtime_id`.
    pub agent_runtime_id: Option<String>,
    /// `agent_private_key` (standard base64 PKCS#8).
    pub agent_private_key: Option<codex_auth_provider::SecretString>,
    /// `account_id`.
    pub account_id: Option<String>,
    /// `chatgpt_user_id`.
    pub chatgpt_user_id: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `plan_type`.
    pub plan_type: Option<PlanType>,
    /// `chatgpt_account_is_fedramp`.
    pub is_fedramp: bool,
    /// `exp`.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for AgentIdentityClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentIdentityClaims")
            .field("agent_runtime_id", &self.agent_runtime_id)
            .field("agent_private_key", &self.agent_private_key)
            .field("account_id", &self.account_id)
            .field("chatgpt_user_id", &self.chatgpt_user_id)
            .field("email", &self.email)
            .field("plan_type", &self.plan_type)
            .field("is_fedramp", &self.is_fedramp)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl AgentIdentityClaims {
    /// Parses an agent identity JWT's payload (no signature check).
    pub fn parse(jwt: &str) -> Result<Self, JwtDecodeError> {
        let claims = decode_jwt_payload(jwt)?;
        let text = |key: &str| {
            claims
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Ok(Self {
            agent_runtime_id: text("agent_runtime_id"),
            agent_private_key: text("agent_private_key")
                .map(codex_auth_provider::SecretString::from),
            account_id: text("account_id"),
            chatgpt_user_id: text("chatgpt_user_id"),
            email: text("email"),
            plan_type: text("plan_type").map(|raw| PlanType::from_wire(&raw)),
            is_fedramp: claims
                .get("chatgpt_account_is_fedramp")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            expires_at: claim_timestamp(&claims, "exp"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &Value) -> String {
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            enc(br#"{"alg":"none","typ":"JWT"}"#),
            enc(payload.to_string().as_bytes()),
            enc(b"sig")
        )
    }

    #[test]
    fn parses_email_plan_user_and_account() {
        let token = jwt(&serde_json::json!({
            "email": "user@example.com",
            "exp": 1_700_000_000,
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "pro",
                "user_id": "user-12345",
                "chatgpt_account_id": "acct-1",
                "chatgpt_account_is_fedramp": true
            }
        }));
        let claims = IdTokenClaims::parse(&token).unwrap();
        assert_eq!(claims.email.as_deref(), Some("user@example.com"));
        assert_eq!(claims.plan_type, Some(PlanType::Pro));
        assert_eq!(claims.chatgpt_user_id.as_deref(), Some("user-12345"));
        assert_eq!(claims.chatgpt_account_id.as_deref(), Some("acct-1"));
        assert!(claims.is_fedramp);
        assert_eq!(claims.expires_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn missing_claims_are_empty_and_profile_email_is_a_fallback() {
        let token = jwt(&serde_json::json!({
            "https://api.openai.com/profile": {"email": "p@example.com"}
        }));
        let claims = IdTokenClaims::parse(&token).unwrap();
        assert_eq!(claims.email.as_deref(), Some("p@example.com"));
        assert_eq!(claims.plan_type, None);
        assert_eq!(claims.expires_at, None);
        assert!(!claims.is_fedramp);
    }

    #[test]
    fn bad_tokens_are_rejected_with_upstream_text() {
        assert_eq!(
            IdTokenClaims::parse("not-a-jwt").unwrap_err().to_string(),
            "invalid ID token format"
        );
        assert_eq!(IdTokenClaims::parse("a..c"), Err(JwtDecodeError::Format));
        assert_eq!(IdTokenClaims::parse("a.!!!.c"), Err(JwtDecodeError::Base64));
        assert_eq!(
            IdTokenClaims::parse("a.bnVsbA.c"),
            Err(JwtDecodeError::Json)
        );
    }
}
