//! Several logins side by side ("profiles").
//!
//! The active profile is what `$CODEX_HOME/auth.json` (or its keyring entry) holds; the
//! others live in `$CODEX_HOME/profiles/NAME/`; `$CODEX_HOME/profiles/.active` names the
//! active one (see [`ActiveMarker`]). A process may use a profile without switching
//! ([`ProfileAuthStorage`], `AuthManagerConfig::profile`, `CODEX_PROFILE`): every refresh
//! and every change of the layout holds `$CODEX_HOME/auth.json.lock`, and the profile's
//! location is resolved anew under it, so there is one lock and one place per profile
//! whichever way a process chose it.

pub(crate) mod layout;
mod list;
pub(crate) mod name;
mod storage;
pub(crate) mod switch;

pub use layout::{ActiveMarker, profile_dir, read_marker, write_marker};
pub use list::{ProfileHealth, ProfileSummary, list_profiles};
pub use name::{MAX_PROFILE_NAME_CHARS, ProfileName, ProfileNameError, default_profile_name};
pub use storage::ProfileAuthStorage;
pub use switch::{SwitchOutcome, forget_active_name, rename_profile, switch_profile};

use crate::auth_lock::AuthLockError;
use crate::storage::StorageError;

/// Env var choosing a profile for one process without switching.
pub const CODEX_PROFILE_ENV_VAR: &str = "CODEX_PROFILE";

/// Why a profile operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// No profile has this name.
    #[error("no profile named '{0}'; `codex profile list` shows the profiles")]
    NotFound(ProfileName),
    /// The new name is taken.
    #[error("a profile named '{0}' already exists")]
    Exists(ProfileName),
    /// Profiles need a store on disk or in the keyring.
    #[error("profiles cannot be used with cli_auth_credentials_store = \"ephemeral\"")]
    Ephemeral,
    /// A store could not be read or written.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// `auth.json.lock` could not be taken.
    #[error(transparent)]
    Lock(#[from] AuthLockError),
    /// A blocking task did not finish.
    #[error("the credential store task failed: {0}")]
    Task(String),
}

/// The store of `profile` (or, without one, the active login's store) for `mode`.
pub fn storage_for_profile(
    codex_home: &std::path::Path,
    profile: Option<&ProfileName>,
    mode: crate::storage::CredentialStoreMode,
) -> crate::storage::SharedAuthStorage {
    match profile {
        Some(name) if mode != crate::storage::CredentialStoreMode::Ephemeral => {
            std::sync::Arc::new(ProfileAuthStorage::new(codex_home, name.clone(), mode))
        }
        _ => crate::storage::storage_for_mode(codex_home, mode),
    }
}

/// The profile `CODEX_PROFILE` names in `env` (`None` when unset or empty), for embedders
/// that set [`crate::auth_manager::AuthManagerConfig::profile`] the way the `codex` command does.
pub fn profile_from_env(
    env: crate::environment::EnvLookup<'_>,
) -> Result<Option<ProfileName>, ProfileNameError> {
    env(CODEX_PROFILE_ENV_VAR)
        .filter(|raw| !raw.is_empty())
        .map(|raw| ProfileName::parse(&raw))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_profile_is_read_and_validated() {
        let env = |value: &'static str| {
            move |name: &str| (name == CODEX_PROFILE_ENV_VAR).then(|| value.to_owned())
        };
        assert_eq!(profile_from_env(&env("")), Ok(None));
        assert_eq!(
            profile_from_env(&env("work")).map(|n| n.map(|n| n.to_string())),
            Ok(Some("work".to_owned()))
        );
        assert!(matches!(
            profile_from_env(&env("..")),
            Err(ProfileNameError::Dot(_))
        ));
    }
}
