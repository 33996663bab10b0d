//! Which credentials are used, and from where.
//!
//! [`CREDENTIAL_CHAIN`] is the one place the precedence between workload
//! identity, environment variables and stores is decided: an ordered list of
//! [`ChainSource`]s, each of which loads credentials, has none ("try the
//! next"), or fails. [`resolve_credentials_report`] walks it once and returns
//! the winner (stored or environment credentials, or a workload identity
//! setup), *which source won*, and, when asked, which lower sources it
//! shadows, so `whoami` can say where the credentials came from and what they
//! hide without reading a store twice. [`resolve_credentials`] is the same walk
//! for callers that only take stored or environment credentials (the
//! `AuthManager`). `AuthManager::from_env`, `whoami`, `token`, `login status`
//! and `doctor` all resolve through it, workload identity included.
//!
//! Loading the chain does no network I/O: the workload identity source only
//! checks the setup (environment and `config.toml`); the token exchange
//! happens later, in the `AuthManager` that gets the session.

use crate::codex_auth::{AuthDataError, CodexAuth};
use crate::config::CodexConfig;
use crate::environment::EnvLookup;
use crate::http_client::HttpClientFactory;
use crate::personal_access_token::AccessTokenKind;
use crate::storage::{
    AuthStorage, CredentialStoreMode, EphemeralAuthStorage, StorageError, StoreLocation,
};
use crate::workload_identity::{RULE_ID_ENV_VAR, RawEnv, TOKEN_FILE_ENV_VAR};
use crate::workload_identity::{WorkloadIdentity, WorkloadIdentityConfig, WorkloadIdentityError};
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

/// A complete workload identity setup that won the chain. Nothing has been
/// exchanged yet: [`SelectedWorkloadIdentity::session`] makes the session an
/// `AuthManager` uses (`AuthManagerConfig::workload_identity`), and the
/// manager exchanges the subject token when credentials are first needed.
#[derive(Debug, Clone)]
pub struct SelectedWorkloadIdentity {
    /// The validated setup.
    pub setup: WorkloadIdentityConfig,
    /// `workload-identity:<subject source>`.
    pub source: CredentialSource,
}

impl SelectedWorkloadIdentity {
    /// The process's session for this setup (builds its HTTP client; no request is sent).
    pub fn session(
        self,
        http: &HttpClientFactory,
    ) -> Result<WorkloadIdentity, WorkloadIdentityError> {
        WorkloadIdentity::new(self.setup, http)
    }
}

/// What won the credential chain.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Credentials from an environment variable or a store.
    Credentials(ResolvedAuth),
    /// A workload identity setup: its token comes from an exchange made later.
    WorkloadIdentity(Box<SelectedWorkloadIdentity>),
}

impl Resolution {
    /// Where the credentials come from.
    pub fn source(&self) -> &CredentialSource {
        match self {
            Self::Credentials(resolved) => &resolved.source,
            Self::WorkloadIdentity(selected) => &selected.source,
        }
    }
}

/// A lower-precedence source that also holds credentials (usable or not),
/// found in the same walk as the winner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowedSource {
    /// Which source of the chain.
    pub chain_source: ChainSource,
    /// Where its credentials are (`env:<NAME>`, `file:<path>`, `keyring`, ...).
    pub source: CredentialSource,
    /// For a store, where the document is as the store names it (the path,
    /// or the keyring entry).
    pub location: Option<StoreLocation>,
}

/// The result of one walk of [`CREDENTIAL_CHAIN`] ([`resolve_credentials_report`]).
#[derive(Debug, Clone, Default)]
pub struct CredentialReport {
    /// The winner; `None` when not logged in.
    pub winner: Option<Resolution>,
    /// The lower-precedence sources that also hold credentials, in chain
    /// order, when the walk was asked for them (empty otherwise).
    pub shadowed: Vec<ShadowedSource>,
    /// The store's warnings (e.g. an `auto` store that fell back to the file)
    /// as of loading the winner, before lower sources were looked at.
    pub warnings: Vec<String>,
}

impl CredentialReport {
    /// The configured persistent store, when it holds a login the winner shadows.
    pub fn shadowed_store(&self) -> Option<&ShadowedSource> {
        self.shadowed
            .iter()
            .find(|shadowed| shadowed.chain_source == ChainSource::ConfiguredStore)
    }
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
    /// Workload identity is selected (`OPENAI_FEDERATION_RULE_ID` /
    /// `OPENAI_IDENTITY_TOKEN_FILE`, or `[workload_identity]`) but the setup is
    /// partial or broken; the text is the official CLI's. Nothing lower in the
    /// chain is used instead.
    #[error(transparent)]
    WorkloadIdentity(WorkloadIdentityError),
    /// [`resolve_credentials`] only: workload identity won the chain, and its
    /// credentials come from a token exchange, not from a store or a variable
    /// (use [`resolve_credentials_report`]).
    #[error(
        "workload identity ({0}) is configured: its credentials come from a token exchange, not from a store or an environment variable"
    )]
    WorkloadIdentitySelected(CredentialSource),
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
            Self::WorkloadIdentity(_) | Self::WorkloadIdentitySelected(_) => {
                codex_auth_provider::AuthErrorKind::Config
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
    /// What selects workload identity. `None` skips
    /// [`ChainSource::WorkloadIdentity`]: the caller chose it elsewhere (an
    /// `AuthManager` gets its session when it is built).
    pub workload_identity: Option<WorkloadIdentityInputs<'a>>,
}

impl fmt::Debug for ResolveOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveOptions")
            .field("codex_home", &self.codex_home)
            .field("store_mode", &self.store_mode)
            .field("enable_codex_api_key_env", &self.enable_codex_api_key_env)
            .field("workload_identity", &self.workload_identity.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`ChainSource::WorkloadIdentity`] reads: the official variables and
/// `[workload_identity]` (see [`crate::workload_identity::resolve`]).
#[derive(Clone, Copy)]
pub struct WorkloadIdentityInputs<'a> {
    /// The configuration (`[workload_identity]`, routing, `CODEX_HOME`).
    pub config: &'a CodexConfig,
    /// The environment as the OS holds it: an official variable that is set,
    /// even empty, selects workload identity.
    pub env: RawEnv<'a>,
}

impl fmt::Debug for WorkloadIdentityInputs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadIdentityInputs")
            .field("codex_home", &self.config.codex_home)
            .finish_non_exhaustive()
    }
}

/// One source of credentials in [`CREDENTIAL_CHAIN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainSource {
    /// Workload identity federation (issue 19): `OPENAI_FEDERATION_RULE_ID` +
    /// `OPENAI_IDENTITY_TOKEN_FILE`, else a `[workload_identity]` table. A
    /// complete setup wins over everything; a partial or broken one is an
    /// error (never a fallback). Only read when the caller passes
    /// [`ResolveOptions::workload_identity`]; loads the setup, not a token.
    WorkloadIdentity,
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
/// between workload identity, environment variables and stores lives.
/// [`resolve_credentials_report`] walks it; a source that has nothing says so
/// and the next is tried; the first that loads wins; a source holding unusable
/// credentials (or a broken workload identity setup) stops the walk with an
/// error (it is never skipped silently). A new source is a new [`ChainSource`]
/// variant placed here.
pub const CREDENTIAL_CHAIN: [ChainSource; 5] = [
    ChainSource::WorkloadIdentity,
    ChainSource::EnvApiKey,
    ChainSource::InMemory,
    ChainSource::EnvAccessToken,
    ChainSource::ConfiguredStore,
];

/// Every environment variable that holds a credential itself, in precedence
/// order: what `doctor` lists and what `profile list` reports as overriding a
/// profile. The workload identity selectors (`OPENAI_FEDERATION_RULE_ID`,
/// `OPENAI_IDENTITY_TOKEN_FILE`) are not among them: they name a federation
/// setup, which wins or fails on its own and is never shadowed
/// (`ChainSource::WorkloadIdentity.env_vars()` lists them).
pub fn credential_env_vars() -> impl Iterator<Item = &'static str> {
    CREDENTIAL_CHAIN
        .into_iter()
        .filter(|source| *source != ChainSource::WorkloadIdentity)
        .flat_map(|source| source.env_vars().iter().copied())
}

impl ChainSource {
    /// The environment variables whose presence makes this source load
    /// credentials, in the order it reads them (workload identity also reads
    /// the optional `OPENAI_WORKLOAD_IDENTITY_CONTEXT`, and a
    /// `[workload_identity]` table may name others).
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            Self::WorkloadIdentity => &[RULE_ID_ENV_VAR, TOKEN_FILE_ENV_VAR],
            Self::EnvApiKey => &[CODEX_API_KEY_ENV_VAR],
            Self::EnvAccessToken => &[CODEX_ACCESS_TOKEN_ENV_VAR, CODEX_AGENT_IDENTITY_ENV_VAR],
            Self::InMemory | Self::ConfiguredStore => &[],
        }
    }

    /// Loads credentials from this source: `Ok(None)` when it has none (try
    /// the next source), an error when it holds credentials that cannot be used
    /// or cannot be read. Nothing is written, and nothing is sent.
    pub fn load(
        self,
        storage: &dyn AuthStorage,
        options: &ResolveOptions<'_>,
    ) -> Result<Option<Resolution>, ResolveError> {
        match self {
            Self::WorkloadIdentity => Ok(workload_identity_setup(options)?.map(|setup| {
                Resolution::WorkloadIdentity(Box::new(SelectedWorkloadIdentity {
                    source: CredentialSource::WorkloadIdentity(setup.source_label()),
                    setup,
                }))
            })),
            _ => Ok(self
                .load_credentials(storage, options)?
                .map(Resolution::Credentials)),
        }
    }

    /// Whether this source holds credentials, usable or not, for the report of
    /// what a winner shadows. A source that cannot be read holds none here.
    fn shadowed(
        self,
        storage: &dyn AuthStorage,
        options: &ResolveOptions<'_>,
    ) -> Option<ShadowedSource> {
        let ephemeral_mode = options.store_mode == CredentialStoreMode::Ephemeral;
        let (source, location) = match self {
            Self::WorkloadIdentity => {
                let setup = workload_identity_setup(options).ok()??;
                (
                    CredentialSource::WorkloadIdentity(setup.source_label()),
                    None,
                )
            }
            Self::EnvApiKey | Self::EnvAccessToken => {
                let source = match self.load_credentials(storage, options) {
                    Ok(found) => found?.source,
                    Err(ResolveError::Unusable { source_name, .. }) => source_name,
                    Err(_) => return None,
                };
                (source, None)
            }
            Self::InMemory => {
                let loaded = EphemeralAuthStorage::new(options.codex_home)
                    .load_with_location()
                    .ok()??;
                (CredentialSource::Ephemeral, Some(loaded.location))
            }
            Self::ConfiguredStore if ephemeral_mode => return None,
            Self::ConfiguredStore => {
                let loaded = storage.load_with_location().ok()??;
                (
                    CredentialSource::from_location(loaded.location.clone()),
                    Some(loaded.location),
                )
            }
        };
        Some(ShadowedSource {
            chain_source: self,
            source,
            location,
        })
    }

    fn load_credentials(
        self,
        storage: &dyn AuthStorage,
        options: &ResolveOptions<'_>,
    ) -> Result<Option<ResolvedAuth>, ResolveError> {
        let env = options.env;
        let ephemeral_mode = options.store_mode == CredentialStoreMode::Ephemeral;
        match self {
            Self::WorkloadIdentity => Ok(None),
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

/// Walks [`CREDENTIAL_CHAIN`] once; the first source that loads wins and
/// [`Resolution::source`] says which:
///
/// 1. workload identity, when [`ResolveOptions::workload_identity`] is given:
///    a complete setup wins (a partial or broken one is
///    [`ResolveError::WorkloadIdentity`]; nothing below is tried);
/// 2. `CODEX_API_KEY` (trimmed, non-empty), only if
///    `enable_codex_api_key_env`;
/// 3. the in-memory (ephemeral) store for this `CODEX_HOME` (host-supplied
///    tokens win over persisted ones);
/// 4. if the configured mode is `ephemeral`: nothing;
/// 5. `CODEX_ACCESS_TOKEN`, else `CODEX_AGENT_IDENTITY` (non-empty): a
///    personal access token when it starts with `at-` (not yet hydrated, see
///    [`crate::auth_manager::hydrate_personal_access_token`]), else an agent identity JWT;
/// 6. the configured persistent store (`storage`: file, keyring or auto).
///
/// With `report_shadowed`, the sources below a winner that is not workload
/// identity are looked at too, and those holding credentials (usable or not)
/// are listed in [`CredentialReport::shadowed`] (under workload identity no
/// store is read at all). No winner means not logged in. Nothing is written
/// and nothing is sent.
pub fn resolve_credentials_report(
    storage: &dyn AuthStorage,
    options: &ResolveOptions<'_>,
    report_shadowed: bool,
) -> Result<CredentialReport, ResolveError> {
    let mut report = CredentialReport::default();
    let mut below = CREDENTIAL_CHAIN.into_iter();
    for source in below.by_ref() {
        if let Some(winner) = source.load(storage, options)? {
            report.winner = Some(winner);
            break;
        }
    }
    report.warnings = storage.warnings();
    if report_shadowed && matches!(report.winner, Some(Resolution::Credentials(_))) {
        report.shadowed = below
            .filter_map(|source| source.shadowed(storage, options))
            .collect();
    }
    Ok(report)
}

/// Resolves stored or environment credentials: the walk of
/// [`resolve_credentials_report`] without the report. `Ok(None)` means not
/// logged in. A workload identity winner (only when
/// [`ResolveOptions::workload_identity`] is given) is
/// [`ResolveError::WorkloadIdentitySelected`]: it has no credentials to return
/// until its token is exchanged.
pub fn resolve_credentials(
    storage: &dyn AuthStorage,
    options: &ResolveOptions<'_>,
) -> Result<Option<ResolvedAuth>, ResolveError> {
    match resolve_credentials_report(storage, options, false)?.winner {
        None => Ok(None),
        Some(Resolution::Credentials(resolved)) => Ok(Some(resolved)),
        Some(Resolution::WorkloadIdentity(selected)) => {
            Err(ResolveError::WorkloadIdentitySelected(selected.source))
        }
    }
}

fn workload_identity_setup(
    options: &ResolveOptions<'_>,
) -> Result<Option<WorkloadIdentityConfig>, ResolveError> {
    match options.workload_identity {
        None => Ok(None),
        Some(inputs) => crate::workload_identity::resolve(inputs.config, inputs.env)
            .map_err(ResolveError::WorkloadIdentity),
    }
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
    use crate::auth_dot_json::AuthDotJson;
    use crate::storage::FileAuthStorage;
    use std::ffi::OsString;

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
        assert_eq!(CREDENTIAL_CHAIN[0], ChainSource::WorkloadIdentity);
        assert_eq!(
            ChainSource::WorkloadIdentity.env_vars(),
            [RULE_ID_ENV_VAR, TOKEN_FILE_ENV_VAR]
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
            workload_identity: None,
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

    /// A logged-in file store under `home`, an API key in the environment.
    fn stored_login(home: &Path) -> FileAuthStorage {
        let storage = FileAuthStorage::new(home);
        let document = AuthDotJson::api_key(SecretString::new("sk-stored-login-1"));
        storage.save(&document).expect("save");
        storage
    }

    fn config_for(home: &Path) -> CodexConfig {
        let env = |_: &str| None;
        crate::config::load_config_in(home.to_path_buf(), &[], &env).expect("config")
    }

    #[test]
    fn workload_identity_wins_over_every_other_source_and_a_partial_setup_never_falls_back() {
        let home = tempfile::tempdir().expect("tempdir");
        let storage = stored_login(home.path());
        let config = config_for(home.path());
        let token_file = home.path().join("identity-token");
        let complete = |name: &str| match name {
            RULE_ID_ENV_VAR => Some(OsString::from("idpm_chain")),
            TOKEN_FILE_ENV_VAR => Some(token_file.clone().into_os_string()),
            _ => None,
        };
        let env = |name: &str| (name == CODEX_API_KEY_ENV_VAR).then(|| "sk-env-key-1".to_owned());
        let mut options = ResolveOptions {
            codex_home: home.path(),
            store_mode: CredentialStoreMode::File,
            enable_codex_api_key_env: true,
            env: &env,
            workload_identity: Some(WorkloadIdentityInputs {
                config: &config,
                env: &complete,
            }),
        };
        let report = resolve_credentials_report(&storage, &options, true).expect("resolve");
        let Some(Resolution::WorkloadIdentity(selected)) = &report.winner else {
            panic!("workload identity must win: {:?}", report.winner);
        };
        assert_eq!(selected.setup.rule_id, "idpm_chain");
        assert_eq!(
            selected.source.to_string(),
            format!("workload-identity:file:{}", token_file.display())
        );
        // Nothing below workload identity is read for the report.
        assert!(report.shadowed.is_empty(), "{:?}", report.shadowed);
        assert!(matches!(
            resolve_credentials(&storage, &options),
            Err(ResolveError::WorkloadIdentitySelected(_))
        ));

        // Only one of the two official variables: an error in the official text.
        let partial =
            |name: &str| (name == TOKEN_FILE_ENV_VAR).then(|| token_file.clone().into_os_string());
        options.workload_identity = Some(WorkloadIdentityInputs {
            config: &config,
            env: &partial,
        });
        let err = resolve_credentials_report(&storage, &options, true)
            .expect_err("a partial setup is an error");
        assert!(matches!(err, ResolveError::WorkloadIdentity(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "workload identity requires OPENAI_FEDERATION_RULE_ID"
        );

        // Without inputs the source is skipped and the API key wins.
        options.workload_identity = None;
        let resolved = resolve_credentials(&storage, &options)
            .expect("resolve")
            .expect("the API key wins");
        assert_eq!(
            resolved.source,
            CredentialSource::Env(CODEX_API_KEY_ENV_VAR)
        );
    }

    #[test]
    fn the_walk_reports_the_stored_login_an_environment_variable_shadows() {
        let home = tempfile::tempdir().expect("tempdir");
        let storage = stored_login(home.path());
        let env = |name: &str| (name == CODEX_API_KEY_ENV_VAR).then(|| "sk-env-key-2".to_owned());
        let options = ResolveOptions {
            codex_home: home.path(),
            store_mode: CredentialStoreMode::File,
            enable_codex_api_key_env: true,
            env: &env,
            workload_identity: None,
        };
        let report = resolve_credentials_report(&storage, &options, true).expect("resolve");
        assert_eq!(
            report.winner.as_ref().map(Resolution::source),
            Some(&CredentialSource::Env(CODEX_API_KEY_ENV_VAR))
        );
        let auth_json = home.path().join("auth.json");
        assert_eq!(
            report.shadowed,
            [ShadowedSource {
                chain_source: ChainSource::ConfiguredStore,
                source: CredentialSource::File(auth_json.clone()),
                location: Some(StoreLocation::File(auth_json)),
            }]
        );
        assert!(report.shadowed_store().is_some());
        // Not asked for: nothing below the winner is read.
        let report = resolve_credentials_report(&storage, &options, false).expect("resolve");
        assert!(report.shadowed.is_empty());

        // The store itself winning shadows nothing.
        let no_env = |_: &str| None;
        let options = ResolveOptions {
            env: &no_env,
            ..options
        };
        let report = resolve_credentials_report(&storage, &options, true).expect("resolve");
        assert_eq!(
            report.winner.as_ref().map(Resolution::source),
            Some(&CredentialSource::File(home.path().join("auth.json")))
        );
        assert!(report.shadowed.is_empty());
    }
}
