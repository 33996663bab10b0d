//! Whether workload identity is selected, and with what: the official environment variables
//! (`OPENAI_FEDERATION_RULE_ID`, `OPENAI_IDENTITY_TOKEN_FILE`, `OPENAI_WORKLOAD_IDENTITY_CONTEXT`)
//! or, beyond the official CLI, a `[workload_identity]` table in `config.toml`. Either of the
//! two official variables being present (even empty) selects the environment setup, which then
//! must be complete: the table is not consulted and nothing falls back to stored credentials.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use codex_auth_provider::SecretString;
use url::Url;

use super::error::WorkloadIdentityError;
use crate::config::CodexConfig;

/// The federation rule id (official).
pub const RULE_ID_ENV_VAR: &str = "OPENAI_FEDERATION_RULE_ID";
/// The absolute path of the file holding the current subject token (official).
pub const TOKEN_FILE_ENV_VAR: &str = "OPENAI_IDENTITY_TOKEN_FILE";
/// Opaque audit context sent with the exchange (official, optional).
pub(super) const CONTEXT_ENV_VAR: &str = "OPENAI_WORKLOAD_IDENTITY_CONTEXT";
/// GitHub Actions' ID token request URL (runner-provided with `id-token: write`).
pub(super) const ACTIONS_URL_ENV_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions' ID token request bearer.
pub(super) const ACTIONS_TOKEN_ENV_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Looks up a variable as the OS holds it (`None` when unset; empty and non-Unicode values are
/// seen as such).
pub type RawEnv<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The process environment as a [`RawEnv`].
pub fn raw_process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Where the subject token (the assertion) comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubjectSource {
    /// A file re-read at each exchange (`OPENAI_IDENTITY_TOKEN_FILE`, or `type = "file"`).
    File(PathBuf),
    /// GitHub Actions' OIDC endpoint, asked for `audience` at each exchange.
    GithubActions {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL` (its `audience` parameter is replaced).
        request_url: Url,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: SecretString,
        /// The audience the federation rule expects.
        audience: String,
    },
    /// A program run at each exchange; its standard output is the token.
    Command(Vec<String>),
    /// An environment variable, read once at startup.
    Environment {
        /// The variable's name.
        variable: String,
        /// Its value.
        value: SecretString,
    },
}

impl SubjectSource {
    /// `file:<path>`, `github-actions`, `command:<program>` or `env:<NAME>`.
    pub fn label(&self) -> String {
        match self {
            Self::File(path) => format!("file:{}", path.display()),
            Self::GithubActions { .. } => "github-actions".to_owned(),
            Self::Command(argv) => format!("command:{}", argv.first().map_or("", String::as_str)),
            Self::Environment { variable, .. } => format!("env:{variable}"),
        }
    }
}

/// A complete workload identity setup.
#[derive(Debug, Clone)]
pub struct WorkloadIdentityConfig {
    /// `CODEX_HOME` (holds the cross-process cache and its lock).
    pub codex_home: PathBuf,
    /// The trimmed federation rule id.
    pub rule_id: String,
    /// Where the subject token comes from.
    pub source: SubjectSource,
    /// `workload_identity_context`, sent only when set.
    pub context: Option<String>,
    /// The issuer's token endpoint.
    pub token_url: Url,
    /// Whether processes share tokens through `$CODEX_HOME/workload-identity.json`.
    pub shared_cache: bool,
    /// `environment` (the official variables) or `config.toml`.
    pub configured_by: &'static str,
}

impl WorkloadIdentityConfig {
    /// `workload-identity:<source>` as `whoami` shows it.
    pub fn source_label(&self) -> String {
        format!("workload-identity:{}", self.source.label())
    }
}

/// The workload identity setup `config` and the environment select, if any.
pub fn resolve(
    config: &CodexConfig,
    env: RawEnv<'_>,
) -> Result<Option<WorkloadIdentityConfig>, WorkloadIdentityError> {
    let rule = env(RULE_ID_ENV_VAR);
    let file = env(TOKEN_FILE_ENV_VAR);
    if rule.is_none() && file.is_none() {
        return from_config_file(config, env);
    }
    let rule = rule.ok_or(WorkloadIdentityError::Requires(RULE_ID_ENV_VAR))?;
    let file = file.ok_or(WorkloadIdentityError::Requires(TOKEN_FILE_ENV_VAR))?;
    let rule_id = rule
        .to_str()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or(WorkloadIdentityError::InvalidVariable(RULE_ID_ENV_VAR))?
        .to_owned();
    let path = PathBuf::from(file);
    if !path.is_absolute() {
        return Err(WorkloadIdentityError::RelativeTokenFile);
    }
    let context = match env(CONTEXT_ENV_VAR) {
        None => None,
        Some(value) => Some(
            value
                .into_string()
                .map_err(|_| WorkloadIdentityError::InvalidVariable(CONTEXT_ENV_VAR))?,
        ),
    };
    Ok(Some(WorkloadIdentityConfig {
        codex_home: config.codex_home.clone(),
        rule_id,
        source: SubjectSource::File(path),
        context,
        token_url: token_url_for(config)?,
        shared_cache: true,
        configured_by: "environment",
    }))
}

/// The token endpoint `chatgpt_base_url` routes to: production and staging as the official
/// CLI maps them; in this build also `<issuer>/oauth/token` when both the ChatGPT base URL and
/// the issuer are loopback (the emulator), never anything else.
pub(super) fn token_url_for(config: &CodexConfig) -> Result<Url, WorkloadIdentityError> {
    let base = config.chatgpt_base_url.trim().trim_end_matches('/');
    let matches = |host: &str| {
        ["", "/backend-api", "/codex", "/backend-api/codex"]
            .iter()
            .any(|suffix| base == format!("{host}{suffix}"))
    };
    let url = if matches("https://chatgpt.com") || matches("https://chat.openai.com") {
        "https://auth.openai.com/oauth/token".to_owned()
    } else if matches("https://chatgpt-staging.com") {
        "https://auth.api.openai.org/oauth/token".to_owned()
    } else if is_loopback_url(base) && is_loopback_url(&config.issuer) {
        format!("{}/oauth/token", config.issuer.trim_end_matches('/'))
    } else {
        return Err(WorkloadIdentityError::UntrustedRouting);
    };
    check_token_url(&url)
}

/// `[workload_identity].token_url`: a valid token URL ([`check_token_url`]) that is either on
/// loopback or on the origin [`token_url_for`] picks for this config (another path there is
/// allowed, another host never: the assertion must not go elsewhere, since the bearer it buys
/// is then sent to ChatGPT).
fn check_configured_token_url(
    config: &CodexConfig,
    raw: &str,
) -> Result<Url, WorkloadIdentityError> {
    let url = check_token_url(raw)?;
    if is_loopback_url(raw) {
        return Ok(url);
    }
    match token_url_for(config) {
        Ok(expected) if expected.origin() == url.origin() => Ok(url),
        Ok(expected) => Err(config_error(
            "token_url",
            format!(
                "must be on {} (the issuer chatgpt_base_url routes to) or on loopback",
                expected.origin().ascii_serialization()
            ),
        )),
        Err(_) => Err(config_error(
            "token_url",
            "must be on loopback: chatgpt_base_url names no trusted issuer",
        )),
    }
}

/// Parses a token URL: `https`, or `http` to a loopback host; no userinfo, query or fragment.
pub(super) fn check_token_url(raw: &str) -> Result<Url, WorkloadIdentityError> {
    let url = Url::parse(raw).map_err(|_| WorkloadIdentityError::TokenUrl)?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => is_loopback_url(raw),
        _ => false,
    };
    if !scheme_ok
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(WorkloadIdentityError::TokenUrl);
    }
    Ok(url)
}

/// Whether `raw` is an http(s) URL whose host is `localhost`, 127/8 or `::1`.
pub(super) fn is_loopback_url(raw: &str) -> bool {
    let Ok(url) = Url::parse(raw) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn config_error(key: &str, problem: impl Into<String>) -> WorkloadIdentityError {
    WorkloadIdentityError::Config {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// The `[workload_identity]` table of `$CODEX_HOME/config.toml`, if there is one.
fn from_config_file(
    config: &CodexConfig,
    env: RawEnv<'_>,
) -> Result<Option<WorkloadIdentityConfig>, WorkloadIdentityError> {
    let path = config.codex_home.join("config.toml");
    let text = match crate::bounded_file::read_regular_text_file(
        &path,
        crate::bounded_file::MAX_CONFIG_FILE_BYTES,
    ) {
        Ok(text) => text,
        // `load_config` already reported any problem with the file itself.
        Err(_) => return Ok(None),
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(None);
    };
    let Some(section) = table.get("workload_identity") else {
        return Ok(None);
    };
    let section = section
        .as_table()
        .ok_or_else(|| config_error("", "must be a table"))?;
    parse_section(config, section, env).map(Some)
}

fn string<'a>(table: &'a toml::Table, key: &str) -> Result<Option<&'a str>, WorkloadIdentityError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(value)) if value.trim().is_empty() => {
            Err(config_error(key, "must not be empty"))
        }
        Some(toml::Value::String(value)) => Ok(Some(value.trim())),
        Some(_) => Err(config_error(key, "must be a string")),
    }
}

fn reject_unknown(
    table: &toml::Table,
    prefix: &str,
    known: &[&str],
) -> Result<(), WorkloadIdentityError> {
    match table.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(config_error(
            &format!("{prefix}{key}"),
            "is not a known key",
        )),
        None => Ok(()),
    }
}

fn parse_section(
    config: &CodexConfig,
    section: &toml::Table,
    env: RawEnv<'_>,
) -> Result<WorkloadIdentityConfig, WorkloadIdentityError> {
    reject_unknown(
        section,
        "",
        &[
            "federation_rule_id",
            "context",
            "token_url",
            "cache",
            "subject_token",
        ],
    )?;
    let rule_id = string(section, "federation_rule_id")?
        .ok_or_else(|| config_error("federation_rule_id", "is required"))?
        .to_owned();
    let context = match section.get("context") {
        None => None,
        Some(toml::Value::String(value)) => Some(value.clone()),
        Some(_) => return Err(config_error("context", "must be a string")),
    };
    let token_url = match string(section, "token_url")? {
        Some(raw) => check_configured_token_url(config, raw)?,
        None => token_url_for(config)?,
    };
    let shared_cache = match section.get("cache") {
        None => true,
        Some(toml::Value::Boolean(value)) => *value,
        Some(_) => return Err(config_error("cache", "must be true or false")),
    };
    let source = section
        .get("subject_token")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| config_error("subject_token", "is required (a table with a `type`)"))?;
    Ok(WorkloadIdentityConfig {
        codex_home: config.codex_home.clone(),
        rule_id,
        source: parse_source(source, env)?,
        context,
        token_url,
        shared_cache,
        configured_by: "config.toml",
    })
}

fn parse_source(
    table: &toml::Table,
    env: RawEnv<'_>,
) -> Result<SubjectSource, WorkloadIdentityError> {
    let key = |k: &str| format!("subject_token.{k}");
    let kind = string(table, "type")
        .map_err(|_| config_error(&key("type"), "must be a string"))?
        .ok_or_else(|| config_error(&key("type"), "is required"))?;
    let field = |name: &str| -> Result<&str, WorkloadIdentityError> {
        string(table, name)
            .map_err(|_| config_error(&key(name), "must be a non-empty string"))?
            .ok_or_else(|| config_error(&key(name), "is required"))
    };
    match kind {
        "file" => {
            reject_unknown(table, "subject_token.", &["type", "path"])?;
            let path = PathBuf::from(field("path")?);
            if !path.is_absolute() {
                return Err(config_error(&key("path"), "must be an absolute path"));
            }
            Ok(SubjectSource::File(path))
        }
        "github_actions" => {
            reject_unknown(table, "subject_token.", &["type", "audience"])?;
            let audience = field("audience")?.to_owned();
            let required = |name: &'static str| {
                env(name)
                    .and_then(|v| v.into_string().ok())
                    .filter(|v| !v.trim().is_empty())
                    .ok_or(WorkloadIdentityError::Source {
                        source_name: "github_actions",
                        problem: format!(
                            "it requires {name} (give the job `permissions: id-token: write`)"
                        ),
                        transient: false,
                    })
            };
            let raw_url = required(ACTIONS_URL_ENV_VAR)?;
            let request_token = SecretString::new(required(ACTIONS_TOKEN_ENV_VAR)?.trim());
            Ok(SubjectSource::GithubActions {
                request_url: check_actions_url(raw_url.trim())?,
                request_token,
                audience,
            })
        }
        "command" => {
            reject_unknown(table, "subject_token.", &["type", "command"])?;
            let argv: Vec<String> = table
                .get("command")
                .and_then(toml::Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let len = table
                .get("command")
                .and_then(toml::Value::as_array)
                .map_or(0, Vec::len);
            if argv.is_empty() || argv.len() != len || argv[0].trim().is_empty() {
                return Err(config_error(
                    &key("command"),
                    "must be a non-empty array of strings (program, then arguments)",
                ));
            }
            Ok(SubjectSource::Command(argv))
        }
        "environment" => {
            reject_unknown(table, "subject_token.", &["type", "variable"])?;
            let variable = field("variable")?.to_owned();
            let valid_name = variable
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && variable
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(config_error(&key("variable"), "is invalid"));
            }
            let value = env(&variable)
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| WorkloadIdentityError::Source {
                    source_name: "environment",
                    problem: format!("it requires {variable}"),
                    transient: false,
                })?;
            Ok(SubjectSource::Environment {
                variable,
                value: SecretString::new(value),
            })
        }
        other => Err(config_error(
            &key("type"),
            format!("`{other}` is not one of file, github_actions, command, environment"),
        )),
    }
}

/// GitHub's request URL: `https` on `actions.githubusercontent.com` (or a subdomain), or http(s)
/// to loopback (tests); no userinfo or fragment.
fn check_actions_url(raw: &str) -> Result<Url, WorkloadIdentityError> {
    let invalid = || WorkloadIdentityError::Source {
        source_name: "github_actions",
        problem: format!(
            "{ACTIONS_URL_ENV_VAR} must be an https URL on actions.githubusercontent.com \
             without user info or fragment"
        ),
        transient: false,
    };
    let url = Url::parse(raw).map_err(|_| invalid())?;
    let github = url.scheme() == "https"
        && url.host_str().is_some_and(|host| {
            host == "actions.githubusercontent.com"
                || host.ends_with(".actions.githubusercontent.com")
        });
    if !(github || is_loopback_url(raw))
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid());
    }
    Ok(url)
}

/// Whether `path` is where the shared cache of `codex_home` lives.
pub(super) fn cache_path(codex_home: &Path) -> PathBuf {
    codex_home.join("workload-identity.json")
}
