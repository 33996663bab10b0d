//! `codex token [--json|--headers] [--min-valid DURATION]`: print a credential
//! that is valid right now, for scripts and other tools.
//!
//! The headers come from the credential's own `AuthProvider`, so they are
//! exactly what requests carry. A ChatGPT access token that is still valid
//! for `--min-valid` is printed without a runtime or an HTTP client; one that
//! is not is refreshed first through the `AuthManager` (under the
//! cross-process lock: however many `codex token` run at once, one refresh
//! request per expiry). An agent identity gets its run task registered and a
//! freshly minted `AgentAssertion`. The whole output is built before it is
//! written once, so a failure never leaves a partial token on stdout.

use crate::cli::TokenArgs;
use crate::whoami::usability;
use crate::{context, exit, logging, term};
use chrono::{DateTime, SecondsFormat, Utc};
use codex_auth_provider::headers::{AGENT_ASSERTION_SCHEME, AUTHORIZATION};
use codex_login::auth_dot_json::AuthMode;
use codex_login::config::CodexConfig;
use codex_login::resolution::{CredentialSource, Resolution, ResolveError};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, auth_manager::RefreshTokenError,
    codex_auth::CodexAuth, resolution::ResolvedAuth,
};
use http::HeaderMap;
use serde_json::json;

/// The version of the `--json` schema.
const SCHEMA_VERSION: u32 = 1;

/// A failure: the exit code and the message for stderr.
type Failure = (u8, String);

/// Runs `codex token`.
pub fn run(overrides: &[String], args: &TokenArgs) -> u8 {
    logging::init_stderr();
    match produce(overrides, args) {
        Ok(text) => {
            term::print_stdout(&text);
            exit::OK
        }
        Err((code, message)) => {
            eprintln!("{message}");
            code
        }
    }
}

/// Everything `codex token` prints, or why it prints nothing.
fn produce(overrides: &[String], args: &TokenArgs) -> Result<String, Failure> {
    let config = context::load(overrides)
        .map_err(|err| (exit::FAILURE, format!("Error loading configuration: {err}")))?;
    let min_valid = chrono::Duration::from_std(args.min_valid)
        .map_err(|_| (exit::FAILURE, "--min-valid is too long".to_owned()))?;
    let resolved = match resolve(&config)? {
        Resolution::Credentials(resolved) => resolved,
        // Issue 19: the workload identity setup that won the chain.
        Resolution::WorkloadIdentity(selected) => {
            let session = crate::workload_cmd::start(*selected).map_err(|e| (exit::FAILURE, e))?;
            let auth = crate::workload_cmd::current_auth(&config, session, min_valid)?;
            warn_if_short_lived(&auth, min_valid);
            let headers = auth.provider().auth_headers();
            return render(&auth, &headers, args);
        }
    };
    if let Some(reason) =
        usability::needs_new_login(&config.codex_home, &resolved.auth, &resolved.source)
        && !valid_for(&resolved.auth, min_valid)
    {
        return Err((
            exit::NEEDS_LOGIN,
            format!("{reason} Run `codex login` again."),
        ));
    }
    let auth = if needs_manager(&config, &resolved.auth, min_valid) {
        ready_with_manager(&config, resolved, min_valid)?
    } else {
        resolved.auth
    };
    warn_if_short_lived(&auth, min_valid);
    let headers = auth.provider().auth_headers();
    render(&auth, &headers, args)
}

/// The warning for a token that even a refresh (or a fresh exchange) left valid for less than
/// `--min-valid`.
fn warn_if_short_lived(auth: &CodexAuth, min_valid: chrono::Duration) {
    if !valid_for(auth, min_valid) {
        eprintln!(
            "Warning: the access token expires within --min-valid even after a refresh \
             (the issuer issues shorter-lived tokens)."
        );
    }
}

/// One walk of the chain: the winner, with the warning about a stored login it shadows.
fn resolve(config: &CodexConfig) -> Result<Resolution, Failure> {
    let storage = crate::context::storage(config);
    match context::resolve(config, storage.as_ref(), true, true) {
        Ok(mut report) => {
            let Some(winner) = report.winner.take() else {
                return Err((
                    exit::FAILURE,
                    "Not logged in. Run `codex login` first.".to_owned(),
                ));
            };
            if let Resolution::WorkloadIdentity(_) = winner {
                return Ok(winner);
            }
            for warning in &report.warnings {
                eprintln!("Warning: {warning}");
            }
            if let CredentialSource::Env(name) = winner.source()
                && let Some(location) = report
                    .shadowed_store()
                    .and_then(|stored| stored.location.as_ref())
            {
                eprintln!(
                    "Warning: {name} is set and is used instead of the login stored in {location}."
                );
            }
            Ok(winner)
        }
        // Issue 19: a broken workload identity setup (never a fallback to stored credentials).
        Err(ResolveError::WorkloadIdentity(err)) => Err((exit::FAILURE, err.to_string())),
        Err(err) => Err((
            exit::for_kind(err.kind()),
            exit::resolve_message(err.kind(), &err),
        )),
    }
}

/// Whether the credential's expiry (if it has one) is more than `min_valid` away.
fn valid_for(auth: &CodexAuth, min_valid: chrono::Duration) -> bool {
    match auth.auth_mode() {
        AuthMode::ApiKey => true,
        _ => auth
            .access_token_expires_at()
            .is_none_or(|expires_at| expires_at - min_valid > Utc::now()),
    }
}

/// Whether printing needs the `AuthManager` (and so a runtime and an HTTP
/// client): a ChatGPT token to refresh, or an agent identity to ready.
fn needs_manager(config: &CodexConfig, auth: &CodexAuth, min_valid: chrono::Duration) -> bool {
    match auth.auth_mode() {
        AuthMode::ApiKey => false,
        // issue 19: the manager hydrates a personal access token (whoami).
        AuthMode::AgentIdentity | AuthMode::PersonalAccessToken => true,
        AuthMode::Chatgpt => config.use_agent_identity || !valid_for(auth, min_valid),
        AuthMode::ChatgptAuthTokens => !valid_for(auth, min_valid),
    }
}

/// Refreshes (when the token expires within `min_valid`) and readies the
/// credentials through an `AuthManager` seeded with `resolved`.
fn ready_with_manager(
    config: &CodexConfig,
    resolved: ResolvedAuth,
    min_valid: chrono::Duration,
) -> Result<CodexAuth, Failure> {
    let network = |message: String| (exit::NETWORK_ERROR, message);
    let http = context::http_factory().map_err(network)?;
    let runtime = context::runtime().map_err(network)?;
    let mut manager_config = AuthManagerConfig::from_codex_config(config);
    manager_config.enable_codex_api_key_env = true;
    manager_config.http = Some(http);
    manager_config.storage = Some(crate::context::storage(config));
    let refresh = !valid_for(&resolved.auth, min_valid);
    runtime.block_on(async move {
        let manager = AuthManager::with_resolved(manager_config, resolved);
        if refresh {
            manager.refresh_token().await.map_err(refresh_failure)?;
        }
        match manager.try_auth().await {
            Ok(Some(auth)) => Ok(auth),
            Ok(None) => Err((exit::FAILURE, "Not logged in".to_owned())),
            Err(err) => Err(refresh_failure(err)),
        }
    })
}

fn refresh_failure(err: RefreshTokenError) -> Failure {
    let kind = err.kind();
    let message = if kind.requires_new_login() {
        format!("{err} Run `codex login` again.")
    } else {
        err.to_string()
    };
    (exit::for_kind(kind), message)
}

/// Builds the whole output for the chosen format.
fn render(auth: &CodexAuth, headers: &HeaderMap, args: &TokenArgs) -> Result<String, Failure> {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            (
                exit::NEEDS_LOGIN,
                "The stored credential cannot be sent as a header. Run `codex login` again."
                    .to_owned(),
            )
        })?;
    let (token_type, token) = authorization
        .split_once(' ')
        .unwrap_or(("Bearer", authorization));
    if args.headers {
        let mut text = String::new();
        for (name, value) in headers {
            let value = value.to_str().map_err(|_| {
                (
                    exit::FAILURE,
                    format!("the {name} header is not valid text"),
                )
            })?;
            text.push_str(&format!("{}: {value}\n", canonical_name(name.as_str())));
        }
        return Ok(text);
    }
    if args.json {
        let expires_at = match token_type {
            AGENT_ASSERTION_SCHEME => None,
            _ => auth.access_token_expires_at().map(rfc3339),
        };
        let report = json!({
            "schema_version": SCHEMA_VERSION,
            "token": token,
            "token_type": token_type,
            "expires_at": expires_at,
            "account_id": auth.account_id(),
            "auth_mode": auth.auth_mode().as_str(),
        });
        return Ok(format!("{report}\n"));
    }
    Ok(format!("{token}\n"))
}

/// The header name as the official client spells it (`http` lower-cases names).
fn canonical_name(name: &str) -> &str {
    match name {
        "authorization" => "Authorization",
        "chatgpt-account-id" => "ChatGPT-Account-ID",
        "x-openai-fedramp" => "X-OpenAI-Fedramp",
        other => other,
    }
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}
