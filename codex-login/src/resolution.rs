//! Which credentials are used, and from where.
//!
//! [`CREDENTIAL_CHAIN`] is the one place the precedence between environment
//! variables and stores is decided: an ordered list of [`ChainSource`]s, each
//! of which loads credentials, has none ("try the next"), or fails.
//! [`resolve_credentials`] walks it and returns the snapshot and *which source
//! won*, so `whoami` can say where the credentials came from. `AuthManager`,
//! `whoami`, `token`, `login status` and `doctor` all resolve through it.

use crate::codex_auth::{AuthDataError, CodexAuth};
use crate::environment::EnvLookup;
use crate::personal_access_token::AccessTokenKind;
use crate::storage::{
    AuthStorage, CredentialStoreMode, EphemeralAuthStorage, StorageError, StoreLocation,
};
use codex_auth_provider::SecretString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Env var with an API key; honoured only where the caller enables it.
pub const CODEX_API_KEY_ENV_VAR: &str = "CODEX_API_KEY";
/// Env var with an agent identity JWT.
pub const CODEX_ACCESS_TOKEN_ENV_VAR: &str = "CODEX_ACCESS_TOKEN";
/// Older name of [`CODEX_ACCESS_TOKEN_ENV_VAR`], still read.
pub const CODEX_AGENT_IDENTITY_ENV_VAR: &str = "CODEX_AGENT_IDENTITY";

/// Where the credentials in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// An environment variable (`CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`, `CODEX_AGENT_IDENTITY`).
    Env(&'static str),
    /// The in-memory store of this process.
    Ephemeral,
    /// `auth.json` at this path.
    File(PathBuf),
    /// The OS keyring.
    Keyring,
    /// A workload identity session (issue 19): `workload-identity:<subject source>`.
    WorkloadIdentity(String),
}

impl CredentialSource {
    fn from_location(location: StoreLocation) -> Self {
        match location {
            StoreLocation::File(path) => Self::File(path),
            StoreLocation::Keyring { .. } => Self::Keyring,
            StoreLocation::Ephemeral => Self::Ephemeral,
        }
    }
}

impl fmt::Display for CredentialSource {
    /// `env:<NAME>`, `ephemeral`, `file:<path>` or `keyring`, as `whoami --json` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::Ephemeral => f.write_str("ephemeral"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Keyring => f.write_str("keyring"),
            Self::WorkloadIdentity(label) => f.write_str(label),
        }
    }
}

/// A snapshot and the source it came from.
#[derive(Debug, Clone)]
pub struct ResolvedAuth {
    /// The credentials.
    pub auth: CodexAuth,
    /// Where they came from.
    pub source: CredentialSource,
}

/// Why credentials could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A store could not be read, or holds a malformed document.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A source holds credentials that cannot be used.
    #[error("the credentials from {source_name} cannot be used: {problem}")]
    Unusable {
        /// The source (`file:<path>`, `env:CODEX_ACCESS_TOKEN`, ...).
        source_name: CredentialSource,
        /// What is wrong.
        problem: AuthDataError,
    },
    /// No longer returned: `at-...` tokens are personal access tokens (issue 19).
    #[error("{0} holds a personal access token (at-...), which this version does not support")]
    PersonalAccessTokenUnsupported(&'static str),
}

impl ResolveError {
    /// What kind of failure this is: a store that cannot be read is a storage
    /// failure; credentials that cannot be used need a new login.
    pub fn kind(&self) -> codex_auth_provider::AuthErrorKind {
        match self {
            Self::Storage(err) => err.kind(),
            Self::Unusable { .. } | Self::PersonalAccessTokenUnsupported(_) => {
                codex_auth_provider::AuthErrorKind::NeedsLogin
            }
        }
    }
}

/// What [`resolve_credentials`] looks at.
#[derive(Clone, Copy)]
pub struct ResolveOptions<'a> {
    /// `CODEX_HOME` (keys the in-memory store).
    pub codex_home: &'a Path,
    /// The configured store mode.
    pub store_mode: CredentialStoreMode,
    /// Whether `CODEX_API_KEY` may be used (non-interactive callers enable it).
    pub enable_codex_api_key_env: bool,
    /// The environment.
    pub env: EnvLookup<'a>,
}

impl fmt::Debug for ResolveOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveOptions")
            .field("codex_home", &self.codex_home)
            .field("store_mode", &self.store_mode)
            .field("enable_codex_api_key_env", &self.enable_codex_api_key_env)
            .finish_non_exhaustive()
    }
}

/// One source of credentials in [`CREDENTIAL_CHAIN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainSource {
    /// `CODEX_API_KEY` (trimmed, non-empty), only where the caller enables it.
    EnvApiKey,
    /// The in-memory (ephemeral) store for this `CODEX_HOME`: host-supplied
    /// tokens win over persisted ones.
    InMemory,
    /// `CODEX_ACCESS_TOKEN`, else `CODEX_AGENT_IDENTITY` (non-empty): a personal
    /// access token (`at-…`) or an agent identity JWT. Not read when the configured store is `ephemeral`.
    EnvAccessToken,
    /// The configured persistent store (file, keyring or auto). Not read when
    /// the configured store is `ephemeral`.
    ConfiguredStore,
}

/// The credential chain, highest precedence first: the one place precedence
/// between environment variables and stores lives. [`resolve_credentials`]
/// walks it; a source that has nothing says so and the next is tried; the
/// first that loads wins; a source holding unusable credentials stops the walk
/// with an error (it is never skipped silently). A new source (for example a
/// workload identity) is a new [`ChainSource`] variant placed here.
pub const CREDENTIAL_CHAIN: [ChainSource; 4] = [
    ChainSource::EnvApiKey,
    ChainSource::InMemory,
    ChainSource::EnvAccessToken,
    ChainSource::ConfiguredStore,
];

/// Every environment variable the chain reads, in precedence order.
pub fn credential_env_vars() -> impl Iterator<Item = &'static str> {
    CREDENTIAL_CHAIN
        .into_iter()
        .flat_map(|source| source.env_vars().iter().copied())
}

impl ChainSource {
    /// The environment variables this source reads, in the order it reads them.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            Self::EnvApiKey => &[CODEX_API_KEY_ENV_VAR],
            Self::EnvAccessToken => &[CODEX_ACCESS_TOKEN_ENV_VAR, CODEX_AGENT_IDENTITY_ENV_VAR],
            Self::InMemory | Self::ConfiguredStore => &[],
        }
    }

    /// Loads credentials from this source: `Ok(None)` when it has none (try
    /// the next source), an error when it holds credentials that cannot be used
    /// or cannot be read. Nothing is written.
    pub fn load(
        self,
        storage: &dyn AuthStorage,
        options: &ResolveOptions<'_>,
    ) -> Result<Option<ResolvedAuth>, ResolveError> {
        let env = options.env;
        let ephemeral_mode = options.store_mode == CredentialStoreMode::Ephemeral;
        match self {
            Self::EnvApiKey => {
                if !options.enable_codex_api_key_env {
                    return Ok(None);
                }
                let Some(key) = env(CODEX_API_KEY_ENV_VAR).filter(|key| !key.trim().is_empty())
                else {
                    return Ok(None);
                };
                let source = CredentialSource::Env(CODEX_API_KEY_ENV_VAR);
                let auth =
                    CodexAuth::from_api_key(SecretString::new(key.trim())).map_err(|problem| {
                        ResolveError::Unusable {
                            source_name: source.clone(),
                            problem,
                        }
                    })?;
                Ok(Some(ResolvedAuth { auth, source }))
            }
            Self::InMemory => {
                match EphemeralAuthStorage::new(options.codex_home).load_with_location()? {
                    Some(loaded) => {
                        from_document(loaded.document, CredentialSource::Ephemeral).map(Some)
                    }
                    None => Ok(None),
                }
            }
            Self::EnvAccessToken if ephemeral_mode => Ok(None),
            Self::EnvAccessToken => {
                for name in self.env_vars().iter().copied() {
                    let Some(token) = env(name).map(|t| t.trim().to_owned()) else {
                        continue;
                    };
                    if token.is_empty() {
                        continue;
                    }
                    let source = CredentialSource::Env(name);
                    // Issue 19: `at-…` is a personal access token (hydrated by the
                    // manager), anything else an agent identity JWT.
                    let auth =
                        match crate::personal_access_token::classify_codex_access_token(&token) {
                            AccessTokenKind::PersonalAccessToken => {
                                CodexAuth::from_personal_access_token(SecretString::new(token))
                            }
                            AccessTokenKind::AgentIdentityJwt => {
                                CodexAuth::from_agent_identity_jwt(SecretString::new(token))
                            }
                        }
                        .map_err(|problem| ResolveError::Unusable {
                            source_name: source.clone(),
                            problem,
                        })?;
                    return Ok(Some(ResolvedAuth { auth, source }));
                }
                Ok(None)
            }
            Self::ConfiguredStore if ephemeral_mode => Ok(None),
            Self::ConfiguredStore => match storage.load_with_location()? {
                Some(loaded) => {
                    let source = CredentialSource::from_location(loaded.location);
                    from_document(loaded.document, source).map(Some)
                }
                None => Ok(None),
            },
        }
    }
}

/// Resolves the credentials to use by walking [`CREDENTIAL_CHAIN`]; the first
/// source that loads wins and [`ResolvedAuth::source`] says which:
///
/// 1. `CODEX_API_KEY` (trimmed, non-empty), only if
///    `enable_codex_api_key_env`;
/// 2. the in-memory (ephemeral) store for this `CODEX_HOME` (host-supplied
///    tokens win over persisted ones);
/// 3. if the configured mode is `ephemeral`: nothing;
/// 4. `CODEX_ACCESS_TOKEN`, else `CODEX_AGENT_IDENTITY` (non-empty): a
///    personal access token when it starts with `at-` (not yet hydrated, see
///    [`crate::auth_manager::hydrate_personal_access_token`]), else an agent identity JWT;
/// 5. the configured persistent store (`storage`: file, keyring or auto).
///
/// `Ok(None)` means not logged in. Nothing is written.
pub fn resolve_credentials(
    storage: &dyn AuthStorage,
    options: &ResolveOptions<'_>,
) -> Result<Option<ResolvedAuth>, ResolveError> {
    for source in CREDENTIAL_CHAIN {
        if let Some(resolved) = source.load(storage, options)? {
            return Ok(Some(resolved));
        }
    }
    Ok(None)
}

fn from_document(
    document: crate::auth_dot_json::AuthDotJson,
    source: CredentialSource,
) -> Result<ResolvedAuth, ResolveError> {
    match CodexAuth::from_auth_dot_json(document) {
        Ok(auth) => Ok(ResolvedAuth { auth, source }),
        Err(problem) => Err(ResolveError::Unusable {
            source_name: source,
            problem,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_reads_the_variables_in_precedence_order() {
        assert_eq!(
            credential_env_vars().collect::<Vec<_>>(),
            [
                CODEX_API_KEY_ENV_VAR,
                CODEX_ACCESS_TOKEN_ENV_VAR,
                CODEX_AGENT_IDENTITY_ENV_VAR
            ]
        );
    }

    #[test]
    fn each_source_says_not_loaded_and_the_next_is_tried() {
        let home = tempfile::tempdir().expect("tempdir");
        let storage = EphemeralAuthStorage::new(home.path());
        let env =
            |name: &str| (name == CODEX_API_KEY_ENV_VAR).then(|| "sk-chain-test-1".to_owned());
        let mut options = ResolveOptions {
            codex_home: home.path(),
            store_mode: CredentialStoreMode::File,
            enable_codex_api_key_env: false,
            env: &env,
        };
        for source in CREDENTIAL_CHAIN {
            assert!(
                source.load(&storage, &options).expect("load").is_none(),
                "{source:?}"
            );
        }
        assert!(
            resolve_credentials(&storage, &options)
                .expect("resolve")
                .is_none()
        );
        options.enable_codex_api_key_env = true;
        let resolved = resolve_credentials(&storage, &options)
            .expect("resolve")
            .expect("the API key wins");
        assert_eq!(
            resolved.source,
            CredentialSource::Env(CODEX_API_KEY_ENV_VAR)
        );
    }
}
