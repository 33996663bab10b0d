//! `config.load`: whether the configuration loads, and where each value the
//! auth stack uses came from (default, config.toml, `-c`, environment).

use super::{Check, Status};
use codex_login::config::{CodexConfig, find_codex_home, load_config_in, parse_override};
use codex_login::environment::EnvLookup;
use std::time::Instant;

/// The loaded configuration (when it loads) and its check.
pub struct Loaded {
    pub config: Option<CodexConfig>,
    pub check: Check,
}

/// A key, the environment variable that overrides it (if any), and its effective value.
type Row = (&'static str, Option<&'static str>, String);

pub fn load(overrides: &[String], env: EnvLookup<'_>) -> Loaded {
    let started = Instant::now();
    let mut loaded = load_inner(overrides, env);
    loaded.check.duration_ms = started.elapsed().as_millis();
    loaded
}

fn load_inner(overrides: &[String], env: EnvLookup<'_>) -> Loaded {
    let codex_home = match find_codex_home(env) {
        Ok(home) => home,
        Err(err) => {
            let check = Check::new("config.load", "config", Status::Fail, &err.to_string())
                .next("Point CODEX_HOME at an existing directory, or unset it to use ~/.codex.");
            return Loaded {
                config: None,
                check,
            };
        }
    };
    let path = codex_home.join("config.toml");
    let config = match load_config_in(codex_home.clone(), overrides, env) {
        Ok(config) => config,
        Err(err) => {
            let check = Check::new("config.load", "config", Status::Fail, &err.to_string())
                .detail("CODEX_HOME", codex_home.display().to_string())
                .detail("config.toml", path.display().to_string())
                .next("Fix or remove the value named above (in config.toml or the -c override).");
            return Loaded {
                config: None,
                check,
            };
        }
    };
    let file: Option<toml::Table> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse().ok());
    let layers: Vec<toml::Table> = overrides
        .iter()
        .filter_map(|raw| parse_override(raw).ok())
        .collect();
    let mut check = Check::new("config.load", "config", Status::Ok, "config loaded")
        .detail("CODEX_HOME", codex_home.display().to_string())
        .detail(
            "config.toml",
            format!(
                "{} ({})",
                path.display(),
                if file.is_some() { "read" } else { "missing" }
            ),
        );
    for (key, variable, value) in rows(&config) {
        let origin = if let Some(name) = variable.filter(|name| env(name).is_some()) {
            format!("env {name}")
        } else if layers.iter().any(|table| has_key(table, key)) {
            "-c".to_owned()
        } else if file.as_ref().is_some_and(|table| has_key(table, key)) {
            "config.toml".to_owned()
        } else {
            "default".to_owned()
        };
        check = check.detail(key, format!("{value} (from {origin})"));
    }
    Loaded {
        config: Some(config),
        check,
    }
}

fn rows(config: &CodexConfig) -> Vec<Row> {
    vec![
        ("issuer", Some("CODEX_ISSUER"), config.issuer.clone()),
        ("chatgpt_base_url", None, config.chatgpt_base_url.clone()),
        (
            "agent_identity_authapi_base_url",
            Some("CODEX_AGENT_IDENTITY_AUTHAPI_BASE_URL"),
            config.authapi_base_url(),
        ),
        (
            "agent_identity_jwks_base_url",
            Some("CODEX_AGENT_IDENTITY_JWKS_BASE_URL"),
            config.jwks_base_url(),
        ),
        (
            "cli_auth_credentials_store",
            None,
            format!("{:?}", config.credential_store).to_lowercase(),
        ),
        (
            "forced_login_method",
            None,
            config.forced_login_method.map_or_else(
                || "none".to_owned(),
                |method| format!("{method:?}").to_lowercase(),
            ),
        ),
        (
            "forced_chatgpt_workspace_id",
            None,
            if config.forced_chatgpt_workspace_ids.is_empty() {
                "none".to_owned()
            } else {
                config.forced_chatgpt_workspace_ids.join(", ")
            },
        ),
        (
            "features.use_agent_identity",
            None,
            config.use_agent_identity.to_string(),
        ),
        (
            "refresh token URL",
            Some("CODEX_REFRESH_TOKEN_URL_OVERRIDE"),
            config.refresh_token_url.clone(),
        ),
        (
            "revoke token URL",
            Some("CODEX_REVOKE_TOKEN_URL_OVERRIDE"),
            config.revoke_token_url.clone(),
        ),
    ]
}

/// Whether `table` sets the (possibly dotted) `key`.
fn has_key(table: &toml::Table, key: &str) -> bool {
    let mut parts = key.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let mut value = match table.get(first) {
        Some(value) => value,
        None => return false,
    };
    for part in parts {
        match value.get(part) {
            Some(next) => value = next,
            None => return false,
        }
    }
    true
}
