//! Personal access tokens (`at-…`, issue 19): what a minted token stands for.
//! A leaf: minting, lookup and revocation are methods of `Shared`
//! (`shared/personal_access_tokens.rs`), used by the admin API, the handle,
//! the whoami route and backend Bearer authentication.

use crate::config::SeedAccount;
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
