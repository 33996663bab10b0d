//! Minting id/access/refresh token sets as RS256 JWTs with the OpenAI claim namespaces.

use serde_json::{Value, json};

use crate::config::SeedAccount;
use crate::ids::{opaque_token, short_id};
use crate::protocol::{CLIENT_ID, now_secs};
use crate::shared::Shared;
use crate::world::{AccessRecord, IdTokenRecord, RefreshRecord, RefreshState, TokenFamily, World};

/// The claim namespace holding ChatGPT account facts.
const AUTH_CLAIMS: &str = "https://api.openai.com/auth";
/// The claim namespace holding profile facts.
const PROFILE_CLAIMS: &str = "https://api.openai.com/profile";

/// A freshly issued id/access/refresh token triple.
#[derive(Clone)]
pub(crate) struct TokenSet {
    pub(crate) id_token: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_in: i64,
    pub(crate) scope: String,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("id_token", &"[REDACTED]")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenSet {
    /// The JSON body of a successful token response.
    pub(crate) fn response_body(&self) -> Value {
        json!({
            "id_token": self.id_token,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": self.scope,
        })
    }
}

/// The `https://api.openai.com/auth` claims of an account.
fn auth_claims(account: &SeedAccount) -> Value {
    json!({
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan_type,
        "chatgpt_user_id": account.user_id,
        "user_id": account.user_id,
        "chatgpt_account_is_fedramp": account.fedramp,
        "completed_platform_onboarding": true,
        "is_org_owner": false,
    })
}

impl Shared {
    /// Issues a token triple for `account` in `family_id` (a new family when `None`) and records
    /// every token in `world`.
    pub(crate) fn issue_token_set(
        &self,
        world: &mut World,
        account: &SeedAccount,
        family_id: Option<&str>,
        scope: &str,
        access_ttl_secs: i64,
    ) -> TokenSet {
        let now = now_secs();
        let exp = now + access_ttl_secs;
        let family_id = match family_id {
            Some(id) => id.to_owned(),
            None => {
                let id = short_id("fam_");
                world.families.insert(
                    id.clone(),
                    TokenFamily {
                        account: account.clone(),
                        scope: scope.to_owned(),
                        revoked: false,
                        access_tokens: Vec::new(),
                        refresh_tokens: Vec::new(),
                    },
                );
                id
            }
        };
        let issuer = &self.urls.issuer;
        let profile = json!({"email": account.email, "email_verified": true});
        let id_token = self.signer.sign(&json!({
            "iss": issuer,
            "aud": [CLIENT_ID],
            "sub": account.user_id,
            "iat": now,
            "auth_time": now,
            "exp": exp,
            "jti": short_id(""),
            "email": account.email,
            "email_verified": true,
            PROFILE_CLAIMS: profile,
            AUTH_CLAIMS: auth_claims(account),
        }));
        let access_token = self.signer.sign(&json!({
            "iss": issuer,
            "aud": ["https://api.openai.com/v1"],
            "sub": account.user_id,
            "client_id": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "jti": short_id(""),
            "scp": scope.split(' ').collect::<Vec<_>>(),
            PROFILE_CLAIMS: profile,
            AUTH_CLAIMS: auth_claims(account),
        }));
        let refresh_token = opaque_token("rt_emu_");
        let refresh_ttl = world.settings.refresh_token_ttl_secs;
        world.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshRecord {
                family_id: family_id.clone(),
                state: RefreshState::Active,
                expires_at: now + refresh_ttl,
            },
        );
        world.access_tokens.insert(
            access_token.clone(),
            AccessRecord {
                account: account.clone(),
                expires_at: exp,
                revoked: false,
            },
        );
        world.id_tokens.insert(
            id_token.clone(),
            IdTokenRecord {
                account: account.clone(),
                expires_at: exp,
            },
        );
        if let Some(family) = world.families.get_mut(&family_id) {
            family.access_tokens.push(access_token.clone());
            family.refresh_tokens.push(refresh_token.clone());
        }
        TokenSet {
            id_token,
            access_token,
            refresh_token,
            expires_in: access_ttl_secs,
            scope: scope.to_owned(),
        }
    }

    /// The claims of an agent identity JWT for `account`, runtime and key.
    pub(crate) fn agent_identity_claims(
        &self,
        account: &SeedAccount,
        agent_runtime_id: &str,
        private_key_pkcs8_base64: &str,
    ) -> Value {
        let now = now_secs();
        json!({
            "iss": crate::protocol::AGENT_IDENTITY_ISSUER,
            "aud": crate::protocol::AGENT_IDENTITY_AUDIENCE,
            "iat": now,
            "exp": now + crate::protocol::AGENT_IDENTITY_JWT_TTL_SECS,
            "agent_runtime_id": agent_runtime_id,
            "agent_private_key": private_key_pkcs8_base64,
            "account_id": account.account_id,
            "chatgpt_user_id": account.user_id,
            "email": account.email,
            "plan_type": account.plan_type,
            "chatgpt_account_is_fedramp": account.fedramp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TokenSet;

    #[test]
    fn debug_of_a_token_set_shows_no_token() {
        let set = TokenSet {
            id_token: "id-token-secret-value".to_owned(),
            access_token: "access-token-secret-value".to_owned(),
            refresh_token: "rt_emu_refresh-secret-value".to_owned(),
            expires_in: 3600,
            scope: "openid".to_owned(),
        };
        let debug = format!("{set:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
        assert!(
            debug.contains("3600") && debug.contains("openid"),
            "{debug}"
        );
    }
}
