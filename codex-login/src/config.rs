//! Configuration: `$CODEX_HOME/config.toml`, `-c key=value` overrides, and
//! the environment variables that move endpoints.
//!
//! Precedence, lowest first: built-in defaults, `config.toml`, `-c`
//! overrides, environment variables. Unknown keys are ignored; a known key
//! with a bad value is an error naming the key and where it came from.

use crate::endpoints::REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR;
use crate::endpoints::{
    AUTHAPI_BASE_URL_ENV_VAR, JWKS_BASE_URL_ENV_VAR, REVOKE_TOKEN_URL_OVERRIDE_ENV_VAR,
    authapi_base_url_for_issuer, jwks_base_url_for_chatgpt, revoke_endpoint,
};
use crate::environment::EnvLookup;
use crate::storage::CredentialStoreMode;
use std::fmt;
use std::path::{Path, PathBuf};

mod overrides;

pub use overrides::{MAX_OVERRIDE_KEY_PARTS, parse_override};

pub use crate::endpoints::{CLIENT_ID, DEFAULT_ISSUER};

/// The login method an administrator forces (`forced_login_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedLoginMethod {
    /// `chatgpt`: only ChatGPT logins (browser, device code, host tokens, agent identity).
    Chatgpt,
    /// `api`: only API keys.
    Api,
}

/// The default ChatGPT backend base URL.
pub const DEFAULT_CHATGPT_BASE_URL: &str = "https://chatgpt.com/backend-api/";

/// Fully resolved settings for the auth stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexConfig {
    /// The directory holding `auth.json` and `config.toml`.
    pub codex_home: PathBuf,
    /// The OAuth issuer base URL, without a trailing slash.
    pub issuer: String,
    /// The ChatGPT backend base URL.
    pub chatgpt_base_url: String,
    /// Base URL of the agent-identity AuthAPI, when set explicitly.
    pub agent_identity_authapi_base_url: Option<String>,
    /// Base URL the agent-identity JWKS is fetched under, when set explicitly.
    pub agent_identity_jwks_base_url: Option<String>,
    /// Where credentials are kept.
    pub credential_store: CredentialStoreMode,
    /// The login method an administrator forces, if any.
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// Workspaces a ChatGPT login must belong to (empty: any).
    pub forced_chatgpt_workspace_ids: Vec<String>,
    /// Whether a ChatGPT login should also register an agent identity.
    pub use_agent_identity: bool,
    /// The token endpoint used for refresh.
    pub refresh_token_url: String,
    /// The endpoint used to revoke tokens at logout.
    pub revoke_token_url: String,
}

impl CodexConfig {
    /// The path of `auth.json`.
    pub fn auth_file(&self) -> PathBuf {
        self.codex_home.join("auth.json")
    }

    /// The agent-identity AuthAPI base: explicit setting, else `<issuer>/api/accounts`.
    pub fn authapi_base_url(&self) -> String {
        self.agent_identity_authapi_base_url
            .clone()
            .unwrap_or_else(|| authapi_base_url_for_issuer(&self.issuer))
    }

    /// The base the agent-identity JWKS is fetched under: explicit setting,
    /// else derived from `chatgpt_base_url` (see
    /// [`crate::endpoints::jwks_base_url_for_chatgpt`]).
    pub fn jwks_base_url(&self) -> String {
        self.agent_identity_jwks_base_url
            .clone()
            .unwrap_or_else(|| jwks_base_url_for_chatgpt(&self.chatgpt_base_url))
    }
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingOrigin {
    /// A key in a `config.toml` file.
    File(PathBuf),
    /// A `-c key=value` override.
    Override,
    /// An environment variable.
    Env(&'static str),
}

impl fmt::Display for SettingOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Override => f.write_str("-c override"),
            Self::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `CODEX_HOME` is set but unusable.
    #[error("CODEX_HOME points to {path:?}, but {problem}")]
    CodexHome {
        /// The offending path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A variable such as `CODEX_HOME` is set to bytes that are not UTF-8.
    #[error(transparent)]
    NonTextVariable(#[from] crate::environment::NonTextVariable),
    /// Neither `CODEX_HOME` nor a home directory is known.
    #[error("cannot find a home directory; set CODEX_HOME")]
    NoHome,
    /// `config.toml` exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `config.toml` is not valid TOML.
    #[error("{path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },
    /// A `-c` override is not of the form `key=value`.
    #[error("invalid -c override {raw:?}: expected key=value")]
    Override {
        /// The override as given.
        raw: String,
    },
    /// A `-c` override key has more dotted parts than any setting can have.
    #[error(
        "invalid -c override: the key has {parts} dotted parts, at most {MAX_OVERRIDE_KEY_PARTS} are allowed"
    )]
    OverrideTooDeep {
        /// How many parts the key has.
        parts: usize,
    },
    /// A known key holds a value of the wrong kind.
    #[error("invalid value for `{key}` in {origin}: {message}")]
    InvalidValue {
        /// The dotted key.
        key: String,
        /// Where the value came from.
        origin: SettingOrigin,
        /// What was expected.
        message: String,
    },
}

/// Finds `CODEX_HOME`: the env var (must be an existing directory; canonicalised)
/// or `~/.codex`.
pub fn find_codex_home(env: EnvLookup<'_>) -> Result<PathBuf, ConfigError> {
    if let Some(raw) = env("CODEX_HOME") {
        let path = PathBuf::from(&raw);
        let meta = std::fs::metadata(&path).map_err(|err| ConfigError::CodexHome {
            path: path.clone(),
            problem: format!("it cannot be read: {err}"),
        })?;
        if !meta.is_dir() {
            return Err(ConfigError::CodexHome {
                path,
                problem: "it is not a directory".to_owned(),
            });
        }
        return std::fs::canonicalize(&path).map_err(|err| ConfigError::CodexHome {
            path,
            problem: format!("it cannot be resolved: {err}"),
        });
    }
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .ok_or(ConfigError::NoHome)?;
    Ok(Path::new(&home).join(".codex"))
}

/// Loads configuration from `config.toml` under the resolved `CODEX_HOME`,
/// applies `-c` overrides, then environment variables.
pub fn load_config(overrides: &[String], env: EnvLookup<'_>) -> Result<CodexConfig, ConfigError> {
    let codex_home = find_codex_home(env)?;
    load_config_in(codex_home, overrides, env)
}

/// [`load_config`] with the process environment, after checking that no variable the auth
/// stack reads holds non-UTF-8 bytes (such a variable would otherwise count as unset).
pub fn load_config_from_process_env(overrides: &[String]) -> Result<CodexConfig, ConfigError> {
    crate::environment::check_process_env_is_text()?;
    load_config(overrides, &crate::environment::process_env)
}

/// Like [`load_config`], for an already known `CODEX_HOME`.
pub fn load_config_in(
    codex_home: PathBuf,
    overrides: &[String],
    env: EnvLookup<'_>,
) -> Result<CodexConfig, ConfigError> {
    let path = codex_home.join("config.toml");
    let mut layers: Vec<(toml::Table, SettingOrigin)> = Vec::new();
    match crate::bounded_file::read_regular_text_file(
        &path,
        crate::bounded_file::MAX_CONFIG_FILE_BYTES,
    ) {
        Ok(text) => {
            let table: toml::Table =
                text.parse()
                    .map_err(|err: toml::de::Error| ConfigError::Syntax {
                        path: path.clone(),
                        message: err.message().to_owned(),
                    })?;
            layers.push((table, SettingOrigin::File(path.clone())));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(ConfigError::Read { path, source }),
    }
    for raw in overrides {
        layers.push((parse_override(raw)?, SettingOrigin::Override));
    }

    let mut settings = Settings::default();
    for (table, origin) in &layers {
        settings.apply(table, origin)?;
    }

    let issuer_setting = env("CODEX_ISSUER")
        .map(|value| (value, SettingOrigin::Env("CODEX_ISSUER")))
        .or(settings.issuer);
    let issuer = match issuer_setting {
        Some((value, origin)) => normalize_url("issuer", &value, origin)?,
        None => DEFAULT_ISSUER.to_owned(),
    };
    let chatgpt_base_url = match settings.chatgpt_base_url {
        Some((value, origin)) => {
            check_url("chatgpt_base_url", &value, origin)?;
            value
        }
        None => DEFAULT_CHATGPT_BASE_URL.to_owned(),
    };
    let authapi = optional_url(
        env,
        AUTHAPI_BASE_URL_ENV_VAR,
        settings.authapi,
        "agent_identity_authapi_base_url",
    )?;
    let jwks = optional_url(
        env,
        JWKS_BASE_URL_ENV_VAR,
        settings.jwks,
        "agent_identity_jwks_base_url",
    )?;
    let refresh_override = env(REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR);
    if let Some(value) = &refresh_override {
        check_url(
            "refresh token URL",
            value,
            SettingOrigin::Env(REFRESH_TOKEN_URL_OVERRIDE_ENV_VAR),
        )?;
    }
    let refresh_token_url = match &refresh_override {
        Some(value) => value.clone(),
        None => crate::refresh::refresh_token_url(None, &issuer),
    };
    let revoke_override = env(REVOKE_TOKEN_URL_OVERRIDE_ENV_VAR);
    if let Some(value) = &revoke_override {
        check_url(
            "revoke token URL",
            value,
            SettingOrigin::Env(REVOKE_TOKEN_URL_OVERRIDE_ENV_VAR),
        )?;
    }
    let revoke_token_url = revoke_endpoint(
        revoke_override.as_deref(),
        refresh_override.as_deref(),
        &issuer,
    );

    Ok(CodexConfig {
        codex_home,
        issuer,
        chatgpt_base_url,
        agent_identity_authapi_base_url: authapi,
        agent_identity_jwks_base_url: jwks,
        credential_store: settings.store.unwrap_or_default(),
        forced_login_method: settings.forced_login_method,
        forced_chatgpt_workspace_ids: settings.forced_workspaces.unwrap_or_default(),
        use_agent_identity: settings.use_agent_identity.unwrap_or(false),
        refresh_token_url,
        revoke_token_url,
    })
}

/// Settings gathered from the TOML layers, each remembering where it came from.
#[derive(Default)]
struct Settings {
    issuer: Option<(String, SettingOrigin)>,
    chatgpt_base_url: Option<(String, SettingOrigin)>,
    authapi: Option<(String, SettingOrigin)>,
    jwks: Option<(String, SettingOrigin)>,
    store: Option<CredentialStoreMode>,
    forced_login_method: Option<ForcedLoginMethod>,
    forced_workspaces: Option<Vec<String>>,
    use_agent_identity: Option<bool>,
}

impl Settings {
    fn apply(&mut self, table: &toml::Table, origin: &SettingOrigin) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::InvalidValue {
            key: key.to_owned(),
            origin: origin.clone(),
            message: message.to_owned(),
        };
        let string = |key: &str| -> Result<Option<String>, ConfigError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(value)) => Ok(Some(value.clone())),
                Some(_) => Err(invalid(key, "expected a string")),
            }
        };
        if let Some(value) = string("issuer")? {
            self.issuer = Some((value, origin.clone()));
        }
        if let Some(value) = string("chatgpt_base_url")? {
            self.chatgpt_base_url = Some((value, origin.clone()));
        }
        if let Some(value) = string("agent_identity_authapi_base_url")? {
            self.authapi = Some((value, origin.clone()));
        }
        if let Some(value) = string("agent_identity_jwks_base_url")? {
            self.jwks = Some((value, origin.clone()));
        }
        if let Some(value) = string("cli_auth_credentials_store")? {
            self.store = Some(CredentialStoreMode::parse(&value).ok_or_else(|| {
                invalid(
                    "cli_auth_credentials_store",
                    &format!("{value:?} is not one of file, keyring, auto, ephemeral"),
                )
            })?);
        }
        if let Some(value) = string("forced_login_method")? {
            self.forced_login_method = Some(match value.as_str() {
                "chatgpt" => ForcedLoginMethod::Chatgpt,
                "api" => ForcedLoginMethod::Api,
                _ => {
                    return Err(invalid(
                        "forced_login_method",
                        &format!("{value:?} is not one of chatgpt, api"),
                    ));
                }
            });
        }
        match table.get("forced_chatgpt_workspace_id") {
            None => {}
            Some(toml::Value::String(one)) => self.forced_workspaces = Some(vec![one.clone()]),
            Some(toml::Value::Array(items)) => {
                let mut ids = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(id) => ids.push(id.clone()),
                        _ => {
                            return Err(invalid(
                                "forced_chatgpt_workspace_id",
                                "expected a string or a list of strings",
                            ));
                        }
                    }
                }
                self.forced_workspaces = Some(ids);
            }
            Some(_) => {
                return Err(invalid(
                    "forced_chatgpt_workspace_id",
                    "expected a string or a list of strings",
                ));
            }
        }
        if let Some(features) = table.get("features") {
            let toml::Value::Table(features) = features else {
                return Err(invalid("features", "expected a table"));
            };
            match features.get("use_agent_identity") {
                None => {}
                Some(toml::Value::Boolean(flag)) => self.use_agent_identity = Some(*flag),
                Some(_) => {
                    return Err(invalid(
                        "features.use_agent_identity",
                        "expected true or false",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// An optional URL setting: its env var, else the TOML layers, normalized.
fn optional_url(
    env: EnvLookup<'_>,
    var: &'static str,
    setting: Option<(String, SettingOrigin)>,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    env(var)
        .map(|value| (value, SettingOrigin::Env(var)))
        .or(setting)
        .map(|(value, origin)| normalize_url(key, &value, origin))
        .transpose()
}

fn check_url(key: &str, value: &str, origin: SettingOrigin) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(_) => Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            origin,
            message: format!("{value:?} is not an http(s) URL"),
        }),
        Err(err) => Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            origin,
            message: format!("{value:?} is not a URL: {err}"),
        }),
    }
}

fn normalize_url(key: &str, value: &str, origin: SettingOrigin) -> Result<String, ConfigError> {
    check_url(key, value, origin)?;
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn home_with(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        dir
    }

    #[test]
    fn defaults_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[]);
        let config = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap();
        assert_eq!(config.issuer, DEFAULT_ISSUER);
        assert_eq!(config.chatgpt_base_url, DEFAULT_CHATGPT_BASE_URL);
        assert_eq!(config.credential_store, CredentialStoreMode::File);
        assert_eq!(
            config.refresh_token_url,
            "https://auth.openai.com/oauth/token"
        );
        assert_eq!(
            config.revoke_token_url,
            "https://auth.openai.com/oauth/revoke"
        );
        assert_eq!(
            config.authapi_base_url(),
            "https://auth.openai.com/api/accounts"
        );
        assert!(!config.use_agent_identity);
    }

    #[test]
    fn file_then_overrides_then_env() {
        let dir = home_with(
            "issuer = \"http://127.0.0.1:9/\"\ncli_auth_credentials_store = \"keyring\"\n\
             forced_chatgpt_workspace_id = [\"ws-1\", \"ws-2\"]\nunknown_key = 3\n\
             [features]\nuse_agent_identity = true\n",
        );
        let env = env_of(&[]);
        let overrides = vec!["cli_auth_credentials_store=auto".to_owned()];
        let config = load_config_in(dir.path().to_path_buf(), &overrides, &env).unwrap();
        assert_eq!(config.issuer, "http://127.0.0.1:9");
        assert_eq!(config.credential_store, CredentialStoreMode::Auto);
        assert_eq!(config.forced_chatgpt_workspace_ids, vec!["ws-1", "ws-2"]);
        assert!(config.use_agent_identity);

        let env = env_of(&[
            ("CODEX_ISSUER", "http://127.0.0.1:7"),
            ("CODEX_REFRESH_TOKEN_URL_OVERRIDE", "http://127.0.0.1:8/t"),
        ]);
        let config = load_config_in(dir.path().to_path_buf(), &overrides, &env).unwrap();
        assert_eq!(config.issuer, "http://127.0.0.1:7");
        assert_eq!(config.refresh_token_url, "http://127.0.0.1:8/t");
        // The revoke endpoint follows the refresh override's origin, as upstream.
        assert_eq!(config.revoke_token_url, "http://127.0.0.1:8/oauth/revoke");
    }

    #[test]
    fn bad_values_name_key_and_file() {
        let dir = home_with("cli_auth_credentials_store = \"vault\"\n");
        let env = env_of(&[]);
        let err = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cli_auth_credentials_store"), "{text}");
        assert!(text.contains("config.toml"), "{text}");
        assert!(text.contains("vault"), "{text}");

        let dir = home_with("[features]\nuse_agent_identity = \"yes\"\n");
        let err = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap_err();
        assert!(err.to_string().contains("features.use_agent_identity"));

        let dir = home_with("issuer = 5\n");
        let err = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidValue { ref key, .. } if key == "issuer"));

        let dir = home_with("issuer = [\n");
        let err = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }));
    }

    #[test]
    fn overrides_parse_dotted_keys_and_bare_strings() {
        let table = parse_override("features.use_agent_identity=true").unwrap();
        assert_eq!(
            table["features"]["use_agent_identity"],
            toml::Value::Boolean(true)
        );
        let table = parse_override("issuer=http://127.0.0.1:1").unwrap();
        assert_eq!(
            table["issuer"],
            toml::Value::String("http://127.0.0.1:1".into())
        );
        assert!(matches!(
            parse_override("no-equals"),
            Err(ConfigError::Override { .. })
        ));
        assert!(matches!(
            parse_override("a..b=1"),
            Err(ConfigError::Override { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[]);
        let err = load_config_in(
            dir.path().to_path_buf(),
            &["forced_login_method=bogus".to_owned()],
            &env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("-c override"), "{err}");
    }

    #[test]
    fn jwks_base_is_configured_or_derived_from_the_chatgpt_base() {
        let dir = home_with("chatgpt_base_url = \"https://chatgpt.com\"\n");
        let config = load_config_in(dir.path().to_path_buf(), &[], &env_of(&[])).unwrap();
        assert_eq!(config.agent_identity_jwks_base_url, None);
        assert_eq!(config.jwks_base_url(), "https://chatgpt.com/backend-api");

        let dir = home_with("agent_identity_jwks_base_url = \"http://127.0.0.1:9/jwks/\"\n");
        let config = load_config_in(dir.path().to_path_buf(), &[], &env_of(&[])).unwrap();
        assert_eq!(config.jwks_base_url(), "http://127.0.0.1:9/jwks");
        let env = env_of(&[(
            "CODEX_AGENT_IDENTITY_JWKS_BASE_URL",
            "http://127.0.0.1:8/backend-api",
        )]);
        let config = load_config_in(dir.path().to_path_buf(), &[], &env).unwrap();
        assert_eq!(config.jwks_base_url(), "http://127.0.0.1:8/backend-api");
    }

    #[test]
    fn codex_home_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let path = file.to_string_lossy().into_owned();
        let env = env_of(&[("CODEX_HOME", &path)]);
        assert!(matches!(
            find_codex_home(&env),
            Err(ConfigError::CodexHome { .. })
        ));
        let env = env_of(&[("HOME", "/home/someone")]);
        assert_eq!(
            find_codex_home(&env).unwrap(),
            PathBuf::from("/home/someone/.codex")
        );
    }
}
