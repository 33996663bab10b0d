//! Personal access tokens (`at-…`, issue 19): minted through the admin API or
//! the handle, looked up by the whoami route and by backend Bearer
//! authentication, revocable.

use crate::config::SeedAccount;
use crate::ids::opaque_token;
use crate::shared::Shared;
use crate::world::PatRecord;
use serde::{Deserialize, Serialize};

/// What a minted personal access token stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonalAccessTokenSpec {
    /// The account and user; `None` uses the seed account.
    pub account: Option<SeedAccount>,
    /// Whoami answers `"email": null` (the field is nullable upstream).
    pub null_email: bool,
}

impl Shared {
    /// Mints and registers a personal access token.
    pub(crate) fn mint_personal_access_token(&self, spec: PersonalAccessTokenSpec) -> String {
        let token = opaque_token("at-");
        let record = PatRecord {
            account: spec.account.unwrap_or_else(|| self.config.seed.clone()),
            null_email: spec.null_email,
            revoked: false,
        };
        self.world()
            .personal_access_tokens
            .insert(token.clone(), record);
        token
    }

    /// Revokes a personal access token; `false` when unknown.
    pub(crate) fn revoke_personal_access_token(&self, token: &str) -> bool {
        match self.world().personal_access_tokens.get_mut(token.trim()) {
            Some(record) => {
                record.revoked = true;
                true
            }
            None => false,
        }
    }

    /// The live (known, not revoked) personal access token's record.
    pub(crate) fn live_personal_access_token(&self, token: &str) -> Option<PatRecord> {
        self.world()
            .personal_access_tokens
            .get(token.trim())
            .filter(|record| !record.revoked)
            .cloned()
    }
}
