//! The few id-token claims a login needs (workspace, plan, organization), read without verification.

use serde_json::Value;

pub(crate) use crate::token_claims::AUTH_CLAIM;
use crate::token_claims::decode_jwt_payload;

/// Claims from a login's id token that decide where the login lands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginClaims {
    /// `chatgpt_account_id`: the workspace the tokens act in.
    pub chatgpt_account_id: Option<String>,
    /// `chatgpt_plan_type`, e.g. `plus`.
    pub plan_type: Option<String>,
    /// `organization_id` (API platform organization).
    pub organization_id: Option<String>,
    /// `project_id` (API platform project).
    pub project_id: Option<String>,
    /// Whether the platform onboarding was completed.
    pub completed_platform_onboarding: bool,
    /// Whether the user owns the organization.
    pub is_org_owner: bool,
}

/// The id token was not a decodable JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ID token format")]
pub struct InvalidIdToken;

impl LoginClaims {
    /// Decodes the payload of a compact JWT (three non-empty segments) without checking its signature.
    pub fn from_id_token(jwt: &str) -> Result<Self, InvalidIdToken> {
        let payload = decode_jwt_payload(jwt).map_err(|_| InvalidIdToken)?;
        let auth = payload.get(AUTH_CLAIM).and_then(Value::as_object);
        let text = |key: &str| {
            auth.and_then(|map| map.get(key))
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let flag = |key: &str| {
            auth.and_then(|map| map.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        Ok(Self {
            chatgpt_account_id: text("chatgpt_account_id"),
            plan_type: text("chatgpt_plan_type"),
            organization_id: text("organization_id"),
            project_id: text("project_id"),
            completed_platform_onboarding: flag("completed_platform_onboarding"),
            is_org_owner: flag("is_org_owner"),
        })
    }

    /// Whether the user should be sent to finish the API platform setup.
    pub fn needs_setup(&self) -> bool {
        self.is_org_owner && !self.completed_platform_onboarding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jwt(payload: &Value) -> String {
        format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
        )
    }

    #[test]
    fn reads_auth_claims() {
        let claims = LoginClaims::from_id_token(&jwt(&serde_json::json!({
            "email": "a@b.c",
            AUTH_CLAIM: {
                "chatgpt_account_id": "acct-1",
                "chatgpt_plan_type": "pro",
                "organization_id": "org-1",
                "is_org_owner": true
            }
        })))
        .unwrap();
        assert_eq!(claims.chatgpt_account_id.as_deref(), Some("acct-1"));
        assert_eq!(claims.plan_type.as_deref(), Some("pro"));
        assert!(claims.needs_setup());
    }

    #[test]
    fn missing_auth_object_is_empty_claims() {
        assert_eq!(
            LoginClaims::from_id_token(&jwt(&serde_json::json!({}))).unwrap(),
            LoginClaims::default()
        );
    }

    #[test]
    fn rejects_non_jwt() {
        assert_eq!(LoginClaims::from_id_token("not-a-jwt"), Err(InvalidIdToken));
        assert_eq!(LoginClaims::from_id_token("a..c"), Err(InvalidIdToken));
    }
}
