//! A personal access token as the credential snapshot holds it: the token and,
//! once hydrated, whoami's answer. A leaf (plain data) so that `codex_auth`
//! (which holds it) and `personal_access_token` (which fetches whoami and
//! hydrates a `CodexAuth`) do not import each other in a cycle. Public as
//! `codex_login::personal_access_token::{PersonalAccessTokenAuth, PersonalAccessTokenMetadata}`.

use crate::token_claims::PlanType;
use codex_auth_provider::SecretString;
use std::fmt;

/// What the whoami call says about a personal access token.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonalAccessTokenMetadata {
    /// `email` (may be `null`).
    pub email: Option<String>,
    /// `chatgpt_user_id`.
    pub chatgpt_user_id: String,
    /// `chatgpt_account_id` (the workspace).
    pub chatgpt_account_id: String,
    /// `chatgpt_plan_type`, parsed.
    pub plan_type: PlanType,
    /// `chatgpt_account_is_fedramp`.
    pub is_fedramp: bool,
}

impl fmt::Debug for PersonalAccessTokenMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalAccessTokenMetadata")
            .field("chatgpt_account_id", &self.chatgpt_account_id)
            .field("plan_type", &self.plan_type)
            .field("is_fedramp", &self.is_fedramp)
            .finish_non_exhaustive()
    }
}

/// A personal access token and, once hydrated, what whoami said about it.
#[derive(Clone)]
pub struct PersonalAccessTokenAuth {
    /// The `at-…` token (the bearer token).
    pub token: SecretString,
    /// Whoami's answer; `None` until hydrated.
    pub metadata: Option<PersonalAccessTokenMetadata>,
}

impl fmt::Debug for PersonalAccessTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalAccessTokenAuth")
            .field("token", &self.token)
            .field("metadata", &self.metadata)
            .finish()
    }
}
