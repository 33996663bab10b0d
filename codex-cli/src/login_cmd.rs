//! `codex login`, `codex login status` and `codex logout`, with the official
//! CLI's messages (on stderr) and exit codes.

use crate::api_key_mask::mask_api_key;
use crate::cli::LoginArgs;
use crate::{context, exit, logging, term};
use codex_agent_identity::JwtError;
use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::AuthMode;
use codex_login::codex_auth::AuthDataError;
use codex_login::config::CodexConfig;
use codex_login::flows::AccessTokenLoginError;
use codex_login::flows::render_device_code_prompt;
use codex_login::flows::{
    self, BrowserLoginError, CredentialTarget, DeviceCodeOptions, LoginKind, LoginServerOptions,
    LogoutOptions, Revocation, ensure_login_method_allowed,
};
use codex_login::resolution::{CredentialSource, Resolution, ResolveError};
use codex_login::storage::SharedAuthStorage;
use codex_login::token_claims::JwtDecodeError;
use std::io::{IsTerminal, Read};

const API_KEY_TTY_HINT: &str = "--with-api-key expects the API key on stdin. Try piping it, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.";
const ACCESS_TOKEN_TTY_HINT: &str = "--with-access-token expects the access token on stdin. Try piping it, e.g. `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`.";
/// What upstream says after saving or showing an API key: nothing checks it offline.
const API_KEY_CHECKED_LATER: &str = "Authentication is checked when you send a request.";
const API_KEY_FLAG_REMOVED: &str = "The --api-key flag is no longer supported. Pipe the key instead, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.";

/// `codex login status`: the stored credentials, or an agent identity from
/// `CODEX_ACCESS_TOKEN`, offline. `CODEX_API_KEY` is not a login (as upstream).
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
    // One walk of the chain, workload identity first (issue 19: a broken setup is an error,
    // never a fallback to stored credentials). `CODEX_API_KEY` is not a login here.
    let resolved = context::resolve(&config, storage.as_ref(), false, false);
    let resolved = match resolved {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("Warning: {warning}");
            }
            Ok(report.winner)
        }
        Err(err) => {
            for warning in storage.warnings() {
                eprintln!("Warning: {warning}");
            }
            Err(err)
        }
    };
    let auth = match resolved {
        Ok(Some(Resolution::WorkloadIdentity(selected))) => {
            return match crate::workload_cmd::start(*selected) {
                Ok(session) => crate::workload_cmd::status(&config, session),
                Err(err) => {
                    eprintln!("Error checking login status: {err}");
                    exit::FAILURE
                }
            };
        }
        // issue 19: a personal access token is hydrated (whoami) first, as upstream.
        Ok(Some(Resolution::Credentials(resolved))) => {
            match crate::pat::hydrate(resolved.auth, &config) {
                Ok(auth) => auth,
                Err(failure) => {
                    eprintln!("Error checking login status: {}", failure.message);
                    return exit::FAILURE;
                }
            }
        }
        Ok(None) => {
            eprintln!("Not logged in");
            return exit::FAILURE;
        }
        Err(err) => {
            eprintln!("Error checking login status: {}", status_error(&err));
            return exit::FAILURE;
        }
    };
    match auth.auth_mode() {
        AuthMode::ApiKey => match auth.api_key() {
            Some(key) => {
                eprintln!("API key configured - {}", mask_api_key(key.expose()));
                eprintln!("{API_KEY_CHECKED_LATER}");
            }
            None => {
                eprintln!("Unexpected error retrieving API key: no API key is stored");
                return exit::FAILURE;
            }
        },
        AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => eprintln!("Logged in using ChatGPT"),
        AuthMode::AgentIdentity => eprintln!("Logged in using access token"),
        AuthMode::PersonalAccessToken => {
            if let Some(refusal) =
                crate::pat::workspace_refusal(&auth, &config.forced_chatgpt_workspace_ids)
            {
                eprintln!("Error checking login status: {refusal}");
                return exit::FAILURE;
            }
            eprintln!("Logged in using personal access token");
        }
    }
    exit::OK
}

/// Upstream's words for an agent identity token that is not a JWT at all.
const JWT_FORMAT_ERROR: &str =
    "failed to decode agent identity JWT: invalid agent identity JWT format";

/// Upstream's words for a refused agent identity token, where it has them.
fn upstream_jwt_error(err: &JwtError) -> Option<&'static str> {
    match err {
        JwtError::Shape(_) => Some(JWT_FORMAT_ERROR),
        JwtError::MissingKid => Some("agent identity JWT header does not include a kid"),
        JwtError::Signature
        | JwtError::Expired
        | JwtError::Issuer
        | JwtError::Audience
        | JwtError::Algorithm { .. }
        | JwtError::Invalid(_) => Some("failed to verify agent identity JWT"),
        _ => None,
    }
}

/// The reason `login status` gives, in upstream's words where scripts may match them.
fn status_error(err: &ResolveError) -> String {
    match err {
        ResolveError::Unusable {
            source_name: CredentialSource::Env(_),
            problem: AuthDataError::AgentIdentityJwt(JwtDecodeError::Format),
        } => JWT_FORMAT_ERROR.to_owned(),
        ResolveError::Unusable {
            source_name: CredentialSource::Env(_),
            problem,
        } => format!("failed to decode agent identity JWT: {problem}"),
        // A stored document that parses but is unusable: upstream names just the problem.
        ResolveError::Unusable { problem, .. } => problem.to_string(),
        other => other.to_string(),
    }
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
    // One store for the whole login, so an `auto` fallback can be reported.
    let storage = context::storage(&config);
    if args.with_api_key && args.with_access_token {
        eprintln!("Choose one login credential source: --with-api-key or --with-access-token.");
        return exit::FAILURE;
    }
    let (prefix, result) = if args.device_auth {
        (
            "Error logging in with device code",
            device_login(&config, &storage, client_id),
        )
    } else if args.api_key.is_some() {
        eprintln!("{API_KEY_FLAG_REMOVED}");
        return exit::FAILURE;
    } else if args.with_api_key {
        ("Error logging in", api_key_login(&config, &storage))
    } else if args.with_access_token {
        (
            "Error logging in with access token",
            access_token_login(&config, &storage),
        )
    } else {
        (
            "Error logging in",
            browser_login(&config, &storage, client_id),
        )
    };
    for warning in storage.warnings() {
        eprintln!("Warning: {warning}");
    }
    match result {
        Ok(()) if args.with_api_key => {
            eprintln!("API key saved. {API_KEY_CHECKED_LATER}");
            exit::OK
        }
        Ok(()) => {
            eprintln!("Successfully logged in");
            exit::OK
        }
        // Already reported with the official wording (disabled method, TTY, empty stdin).
        Err(LoginFailure::Reported) => exit::FAILURE,
        Err(LoginFailure::Interrupted) => {
            eprintln!("Login cancelled (Ctrl-C); nothing was saved.");
            exit::INTERRUPTED
        }
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
    /// The user pressed Ctrl-C.
    Interrupted,
    /// The error to print after the command's prefix.
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for LoginFailure {
    fn from(err: E) -> Self {
        Self::Failed(err.to_string())
    }
}

fn target(config: &CodexConfig, storage: &SharedAuthStorage) -> CredentialTarget {
    CredentialTarget {
        codex_home: config.codex_home.clone(),
        store_mode: config.credential_store,
        storage: Some(storage.clone()),
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
/// Most bytes read from stdin for a key or token (an agent identity JWT is at most 64 KiB).
const MAX_STDIN_SECRET_BYTES: u64 = 1024 * 1024;

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
    if let Err(err) = (&mut stdin)
        .take(MAX_STDIN_SECRET_BYTES + 1)
        .read_to_string(&mut raw)
    {
        eprintln!("Failed to read stdin: {err}");
        return Err(LoginFailure::Reported);
    }
    if raw.len() as u64 > MAX_STDIN_SECRET_BYTES {
        drop(SecretString::new(raw));
        eprintln!(
            "Failed to read stdin: it holds more than 1 MiB, far more than a key or token; nothing was saved"
        );
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

fn api_key_login(config: &CodexConfig, storage: &SharedAuthStorage) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::ApiKey, config)?;
    let key = read_stdin_secret(
        API_KEY_TTY_HINT,
        "Reading API key from stdin...",
        "No API key provided via stdin.",
    )?;
    let options = flows::ApiKeyLoginOptions::from_config(config, context::http_factory()?);
    let runtime = context::runtime()?;
    Ok(runtime.block_on(flows::login_with_api_key(
        &target(config, storage),
        &key,
        &options,
    ))?)
}

fn access_token_login(
    config: &CodexConfig,
    storage: &SharedAuthStorage,
) -> Result<(), LoginFailure> {
    let token = read_stdin_secret(
        ACCESS_TOKEN_TTY_HINT,
        "Reading access token from stdin...",
        "No access token provided via stdin.",
    )?;
    // As the official CLI: the token is read first, then the method checked (issue 19).
    ensure_allowed(LoginKind::AccessToken, config)?;
    let options = flows::AccessTokenLoginOptions::from_config(config, context::http_factory()?);
    let runtime = context::runtime()?;
    match runtime.block_on(flows::login_with_access_token(
        &target(config, storage),
        &token,
        &options,
    )) {
        Ok(()) => Ok(()),
        Err(AccessTokenLoginError::Jwt(err)) => match upstream_jwt_error(&err) {
            // Upstream's line, so scripts matching it keep working; ours goes to the log.
            Some(line) => {
                tracing::info!(reason = %err, "the access token was refused");
                Err(LoginFailure::Failed(line.to_owned()))
            }
            None => Err(err.into()),
        },
        Err(err) => Err(err.into()),
    }
}

fn device_login(
    config: &CodexConfig,
    storage: &SharedAuthStorage,
    client_id: Option<&str>,
) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::Chatgpt, config)?;
    let mut options = DeviceCodeOptions::from_config(config, context::http_factory()?);
    options.storage = Some(storage.clone());
    if let Some(client_id) = client_id {
        options.client_id = client_id.to_owned();
    }
    options.cli_version = env!("CARGO_PKG_VERSION").to_owned();
    // Always styled: `anstream` drops the escapes wherever colour is off.
    options.styled = true;
    let runtime = context::runtime()?;
    runtime.block_on(async {
        let code = until_interrupted(flows::request_device_code(&options)).await??;
        term::print_stdout_styled(&render_device_code_prompt(
            &code,
            &options.cli_version,
            options.styled,
        ));
        let countdown =
            term::Countdown::start("Waiting for the code to be approved", options.max_wait);
        let result = until_interrupted(flows::complete_device_code_login(&options, &code)).await;
        countdown.finish();
        result??;
        Ok(())
    })
}

/// Runs `work` unless Ctrl-C comes first (dropping it: a login server frees its port).
async fn until_interrupted<T>(work: impl Future<Output = T>) -> Result<T, LoginFailure> {
    tokio::select! {
        done = work => Ok(done),
        () = term::interrupted() => Err(LoginFailure::Interrupted),
    }
}

fn browser_login(
    config: &CodexConfig,
    storage: &SharedAuthStorage,
    client_id: Option<&str>,
) -> Result<(), LoginFailure> {
    ensure_allowed(LoginKind::Chatgpt, config)?;
    let mut options = LoginServerOptions::from_config(config, context::http_factory()?);
    options.storage = Some(storage.clone());
    if let Some(client_id) = client_id {
        options.client_id = client_id.to_owned();
    }
    options.open_browser = std::env::var_os("NO_BROWSER").is_none();
    let runtime = context::runtime()?;
    let mut stderr = std::io::stderr();
    let result = runtime.block_on(async {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        until_interrupted(flows::run_browser_login(options, &mut stderr, Some(stdin))).await
    });
    // The paste reader is a read of stdin on tokio's blocking pool that only
    // returns at the next line; dropping the runtime would wait for it (on a
    // terminal: until Enter). Shut down without waiting for blocking tasks.
    runtime.shutdown_background();
    match result? {
        Ok(_) => Ok(()),
        // No callback port could be bound: a device code needs none.
        Err(BrowserLoginError::Bind(err)) => {
            eprintln!("{err}");
            eprintln!("Falling back to device code login.");
            device_login(config, storage, client_id)
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
            match &outcome.revocation {
                Revocation::Failed { reason, .. } => eprintln!(
                    "Warning: could not revoke the token at the server ({reason}); local credentials were removed."
                ),
                Revocation::ForeignIssuer(err) => eprintln!(
                    "Warning: the token was not revoked: {err} Local credentials were removed."
                ),
                _ => {}
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
