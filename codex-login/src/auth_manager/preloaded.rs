//! A manager built from credentials the caller already resolved, so that a
//! command resolves its credentials once: what it shows is what it uses.

use super::{AuthManager, AuthManagerConfig};
use crate::resolution::ResolvedAuth;

impl AuthManager {
    /// A manager whose cache starts with `resolved` instead of loading the
    /// credentials a second time.
    pub fn with_resolved(config: AuthManagerConfig, resolved: ResolvedAuth) -> Self {
        Self::with_loaded(config, Ok(Some(resolved)))
    }

    /// A manager whose cache starts with the outcome of a load the caller made
    /// (a load error is remembered as [`AuthManager::load_error`]).
    pub(crate) fn with_loaded(
        config: AuthManagerConfig,
        loaded: Result<Option<ResolvedAuth>, String>,
    ) -> Self {
        let manager = Self::unloaded(config);
        manager.apply_load(loaded);
        manager
    }
}
