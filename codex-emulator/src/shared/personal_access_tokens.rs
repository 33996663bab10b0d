//! Personal access tokens held by the shared state: minted through the admin
//! API or the handle, looked up by the whoami route and by backend Bearer
//! authentication, revocable. What a token stands for is the leaf
//! `crate::personal_access_tokens::PersonalAccessTokenSpec`.

use crate::ids::opaque_token;
use crate::personal_access_tokens::PersonalAccessTokenSpec;
use crate::shared::Shared;
use crate::world::PatRecord;

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
