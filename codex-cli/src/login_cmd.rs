//! `codex login`, `codex login status` and `codex logout`, with the official
//! CLI's messages (on stderr) and exit codes.

use crate::api_key_mask::mask_api_key;
use crate::cli::LoginArgs;
use crate::{context, exit, logging};
use codex_auth_provider::SecretString;
use codex_login::CodexAuth;
use codex_login::auth_dot_json::AuthMode;
use codex_login::config::CodexConfig;
use codex_login::flows::{
    self, BrowserLoginError, CredentialTarget, DeviceCodeOptions, LoginKind, LoginServerOptions,
    LogoutOptions, Revocation, ensure_login_method_allowed,
};
use std::io::{IsTerminal, Read, Write};

const API_KEY_TTY_HINT: &str = "--with-api-key expects the API key on stdin. Try piping it, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.";
const ACCESS_TOKEN_TTY_HINT: &str = "--with-access-token expects the access token on stdin. Try piping it, e.g. `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`.";
const API_KEY_FLAG_REMOVED: &str = "The --api-key flag is no longer supported. Pipe the key instead, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.";

/// `codex login status`: stored credentials only, offline.
pub fn status(overrides: &[String]) -> u8 {
    logging::init_stderr();
    let config = match context::load(overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("Error loading configuration: {err}");
            return exit::FAILURE;
        }
    };
    let storage = context::storage(&config);
    let document = match storage.load() {
        Ok(Some(document)) => document,
        Ok(None) => {
            eprintln!("Not logged in");
            return exit::FAILURE;
        }
        Err(err) => {
            eprintln!("Error checking login status: {err}");
            return exit::FAILURE;
        }
    };
    let auth = match CodexAuth::from_auth_dot_json(document) {
        Ok(auth) => auth,
        Err(err) => {
            eprintln!("Error checking login status: {err}");
            return exit::FAILURE;
        }
    };
    match auth.auth_mode() {
        AuthMode::ApiKey => match auth.api_key() {
            Some(key) => eprintln!(
                "Logged in using an API key - {}",
                mask_api_key(key.expose())
            ),
            None => {
                eprintln!("Unexpected error retrieving API key: no API key is stored");
                return exit::FAILURE;
            }
        },
        AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => eprintln!("Logged in using ChatGPT"),
        AuthMode::AgentIdentity => eprintln!("Logged in using access token"),
    }
    exit::OK
}

/// `codex login [--with-api-key | --with-access-token | --device-auth]`.
pub fn login(overrides: &[String], args: LoginArgs) -> u8 {
    let mut config = match context::load(overrides) {
        Ok(config) => config,
        Err(err) => {
            logging::init_stderr();
            eprintln!("Error loading configuration: {err}");
            return exit::FAILURE;
        }
    };
    logging::init_login(&config.codex_home);
    if let Some(issuer) = &args.experimental_issuer {
        config.issuer = issuer.trim_end_matches('/').to_owned();
    }
    let client_id = args.experimental_client_id.as_deref();
    if args.with_api_key && args.with_access_token {
        eprintln!("Choose one login credential source: --with-api-key or --with-access-token.");
        return exit::FAILURE;
    }
    let (prefix, result) = if args.device_auth {
        (
            "Error logging in with device code",
            device_login(&config, client_id),
        )
    } else if args.api_key.is_some() {
        eprintln!("{API_KEY_FLAG_REMOVED}");
        return exit::FAILURE;
    } else if args.with_api_key {
        ("Error logging in", api_key_login(&config))
    } else if args.with_access_token {
        (
            "Error logging in with access token",
            access_token_login(&config),
        )
    } else {
        ("Error logging in", browser_login(&config, client_id))
    };
    match result {
        Ok(()) => {
            eprintln!("Successfully logged in");
            exit::OK
        }
        // Already reported with the official wording (disabled method, TTY, empty stdin).
        Err(LoginFailure::Reported) => exit::FAILURE,
        Err(LoginFailure::Failed(err)) => {
            eprintln!("{prefix}: {err}");
            exit::FAILURE
        }
    }
}

/// Why a login did not complete.
enum LoginFailure {
    /// The message is already on stderr.
    Reported,
    /// The error to print after the command's prefix.
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for LoginFailure {
    fn from(err: E) -> Self {
        Self::Failed(err.to_string())
    }
}

fn target(config: &CodexConfig) -> CredentialTarget {
    CredentialTarget {
        codex_home: config.codex_home.clone(),
        store_mode: config.credential_store,
        storage: context::profile_storage(config),
    }
}

/// Refuses a login kind that `forced_login_method` forbids, with upstream's message.
fn ensure_allowed(kind: LoginKind, config: &CodexConfig) -> Result<(), LoginFailure> {
    ensure_login_method_allowed(kind, config.forced_login_method).map_err(|err| {
        eprintln!("{err}");
        LoginFailure::Reported
    })
}

/// Reads a whole secret from stdin (refusing a terminal), trimmed.
fn read_stdin_secret(
    tty_hint: &str,
    reading: &str,
    empty: &str,
) -> Result<SecretString, LoginFailure> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("{tty_hint}");
        return Err(LoginFailure::Reported);
    }
    eprintln!("{reading}");
    let mut raw = String::new();
    if let Err(err) = stdin.read_to_string(&mut raw) {
        eprintln!("Failed to read stdin: {err}");
        return Err(LoginFailure::Reported);
    }
    let secret = SecretString::new(raw.trim());
    // Wipe the untrimmed copy too.
    drop(SecretString::new(raw));
    if secret.is_empty() {
        eprintln!("{empty}");
        return Err(LoginFailure::Reported);
    }
    Ok(secret)
}

fn api_key_login(config: &CodexConfig) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::ApiKey, config)?;
    let key = read_stdin_secret(
        API_KEY_TTY_HINT,
        "Reading API key from stdin...",
        "No API key provided via stdin.",
    )?;
    let options = flows::ApiKeyLoginOptions::from_config(config, context::http_factory()?);
    let runtime = context::runtime()?;
    Ok(runtime.block_on(flows::login_with_api_key(&target(config), &key, &options))?)
}

fn access_token_login(config: &CodexConfig) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::AccessToken, config)?;
    let token = read_stdin_secret(
        ACCESS_TOKEN_TTY_HINT,
        "Reading access token from stdin...",
        "No access token provided via stdin.",
    )?;
    let options = flows::AccessTokenLoginOptions::from_config(config, context::http_factory()?);
    let runtime = context::runtime()?;
    Ok(runtime.block_on(flows::login_with_access_token(
        &target(config),
        &token,
        &options,
    ))?)
}

fn device_login(config: &CodexConfig, client_id: Option<&str>) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::Chatgpt, config)?;
    let mut options = DeviceCodeOptions::from_config(config, context::http_factory()?);
    options.storage = context::profile_storage(config);
    if let Some(client_id) = client_id {
        options.client_id = client_id.to_owned();
    }
    options.cli_version = env!("CARGO_PKG_VERSION").to_owned();
    options.styled = std::io::stdout().is_terminal();
    let runtime = context::runtime()?;
    let mut stdout = std::io::stdout();
    runtime.block_on(flows::run_device_code_login(&options, &mut stdout))?;
    let _ = stdout.flush();
    Ok(())
}

fn browser_login(config: &CodexConfig, client_id: Option<&str>) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::Chatgpt, config)?;
    let mut options = LoginServerOptions::from_config(config, context::http_factory()?);
    options.storage = context::profile_storage(config);
    if let Some(client_id) = client_id {
        options.client_id = client_id.to_owned();
    }
    options.open_browser = std::env::var_os("NO_BROWSER").is_none();
    let runtime = context::runtime()?;
    let mut stderr = std::io::stderr();
    let result = runtime.block_on(async {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        flows::run_browser_login(options, &mut stderr, Some(stdin)).await
    });
    drop(runtime);
    match result {
        Ok(_) => Ok(()),
        // No callback port could be bound: a device code needs none.
        Err(BrowserLoginError::Bind(err)) => {
            eprintln!("{err}");
            eprintln!("Falling back to device code login.");
            device_login(config, client_id)
        }
        Err(err) => Err(err.into()),
    }
}

/// `codex logout`: remove every stored copy, then revoke (reported separately).
pub fn logout(overrides: &[String]) -> u8 {
    logging::init_stderr();
    let config = match context::load(overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("Error loading configuration: {err}");
            return exit::FAILURE;
        }
    };
    let http = match context::http_factory() {
        Ok(http) => http,
        Err(err) => {
            eprintln!("Error logging out: {err}");
            return exit::FAILURE;
        }
    };
    let options = LogoutOptions::from_config(&config, http);
    let runtime = match context::runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("Error logging out: {err}");
            return exit::FAILURE;
        }
    };
    match runtime.block_on(flows::logout_with_revoke(&options)) {
        Ok(outcome) if outcome.removed => {
            if let Revocation::Failed { reason, .. } = &outcome.revocation {
                eprintln!(
                    "Warning: could not revoke the token at the server ({reason}); local credentials were removed."
                );
            }
            eprintln!("Successfully logged out");
            exit::OK
        }
        Ok(_) => {
            eprintln!("Not logged in");
            exit::OK
        }
        Err(err) => {
            eprintln!("Error logging out: {err}");
            exit::FAILURE
        }
    }
}
