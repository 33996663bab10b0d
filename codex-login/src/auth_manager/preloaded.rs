//! A manager built from credentials the caller already resolved, so that a
//! command resolves its credentials once: what it shows is what it uses.

use super::{AuthManager, AuthManagerConfig};
use crate::resolution::ResolvedAuth;

impl AuthManager {
    /// A manager whose cache starts with `resolved` instead of loading the
    /// credentials a second time.
    pub fn with_resolved(config: AuthManagerConfig, resolved: ResolvedAuth) -> Self {
        let manager = Self::unloaded(config);
        manager.apply_load(Ok(Some(resolved)));
        manager
    }
}
