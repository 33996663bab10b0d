//! `codex whoami [--json] [--check]`: who you are, from the credential in use.
//!
//! Offline by default: reads the store (or the environment) and the claims
//! inside the tokens, with no runtime and no HTTP client. `--check` makes one
//! live `GET {backend}/usage` through `codex-backend-client`, with the
//! `AuthManager` as its auth source so an expired token is refreshed first.

use crate::api_key_check::{self, ApiKeyCheckError};
use crate::api_key_mask::mask_api_key;
use crate::cli::WhoamiArgs;
use crate::{context, exit, logging, term};
use chrono::{DateTime, SecondsFormat, Utc};
use codex_auth_provider::AuthErrorKind;
use codex_backend_client::{BackendError, UsagePayload};
use codex_login::auth_dot_json::AuthMode;
use codex_login::config::CodexConfig;
use codex_login::resolution::{CredentialSource, Resolution, ResolveError};
use codex_login::{
    auth_manager::AuthManager, auth_manager::AuthManagerConfig, codex_auth::CodexAuth,
    resolution::ResolvedAuth,
};
use serde_json::{Value, json};

pub(crate) mod usability;

/// The version of the `--json` schema.
const SCHEMA_VERSION: u32 = 1;

/// How `whoami` ended, before printing.
enum Outcome {
    LoggedIn {
        auth: Box<CodexAuth>,
        source: CredentialSource,
        usage: Option<Value>,
        notes: Vec<String>,
    },
    /// Stored credentials that cannot work without a new login (found offline).
    NeedsLogin {
        auth: Box<CodexAuth>,
        source: CredentialSource,
        reason: String,
    },
    NotLoggedIn,
    Failed {
        code: u8,
        message: String,
    },
}

/// Runs `codex whoami`.
pub fn run(overrides: &[String], args: &WhoamiArgs) -> u8 {
    logging::init_stderr();
    let config = match context::load(overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("Error loading configuration: {err}");
            return exit::FAILURE;
        }
    };
    let outcome = resolve(&config, args.check);
    print(outcome, args.json)
}

fn resolve(config: &CodexConfig, check: bool) -> Outcome {
    let storage = context::storage(config);
    // One walk of the chain: the winner and the stored login it shadows, if any.
    let mut report = match context::resolve(config, storage.as_ref(), true, true) {
        Ok(report) => report,
        // Issue 19: a broken workload identity setup (never a fallback to stored credentials).
        Err(ResolveError::WorkloadIdentity(err)) => {
            return Outcome::Failed {
                code: exit::FAILURE,
                message: err.to_string(),
            };
        }
        Err(err) => {
            return Outcome::Failed {
                code: exit::for_kind(err.kind()),
                message: exit::resolve_message(err.kind(), &err),
            };
        }
    };
    let resolved = match report.winner.take() {
        Some(Resolution::Credentials(resolved)) => resolved,
        Some(Resolution::WorkloadIdentity(selected)) => {
            return match crate::workload_cmd::start(*selected) {
                Ok(session) => workload_outcome(config, session, check),
                Err(message) => Outcome::Failed {
                    code: exit::FAILURE,
                    message,
                },
            };
        }
        None => return Outcome::NotLoggedIn,
    };
    for warning in &report.warnings {
        eprintln!("Warning: {warning}");
    }
    if let CredentialSource::Env(name) = &resolved.source
        && let Some(location) = report
            .shadowed_store()
            .and_then(|stored| stored.location.as_ref())
    {
        eprintln!("Warning: {name} is set and is used instead of the login stored in {location}.");
    }
    if let Some(reason) =
        usability::needs_new_login(&config.codex_home, &resolved.auth, &resolved.source)
    {
        return Outcome::NeedsLogin {
            auth: Box::new(resolved.auth),
            source: resolved.source,
            reason,
        };
    }
    if !check {
        // issue 19: a personal access token is described by the whoami call.
        let auth = match crate::pat::hydrate(resolved.auth, config) {
            Ok(auth) => auth,
            Err(failure) => {
                return Outcome::Failed {
                    code: failure.code,
                    message: failure.message,
                };
            }
        };
        return Outcome::LoggedIn {
            auth: Box::new(auth),
            source: resolved.source,
            usage: None,
            notes: Vec::new(),
        };
    }
    let source = resolved.source.clone();
    match check_live(config, storage, resolved) {
        Ok((auth, usage, notes)) => Outcome::LoggedIn {
            auth: Box::new(auth),
            source,
            usage,
            notes,
        },
        Err(failed) => *failed,
    }
}

type LiveCheck = (CodexAuth, Option<Value>, Vec<String>);

fn check_live(
    config: &CodexConfig,
    storage: codex_login::storage::SharedAuthStorage,
    resolved: ResolvedAuth,
) -> Result<LiveCheck, Box<Outcome>> {
    let network = |message: String| {
        Box::new(Outcome::Failed {
            code: exit::NETWORK_ERROR,
            message,
        })
    };
    let http = context::http_factory().map_err(network)?;
    let runtime = context::runtime().map_err(network)?;
    let mut manager_config = AuthManagerConfig::from_codex_config(config);
    manager_config.storage = Some(storage);
    manager_config.enable_codex_api_key_env = true;
    manager_config.http = Some(http);
    // The credentials resolved above, not a second read of the store.
    let manager = std::sync::Arc::new(AuthManager::with_resolved(manager_config, resolved));
    let auth = first_auth(&runtime, &manager)?;
    // The manager enforced the administrator's restrictions above, API keys included.
    if auth.auth_mode() == AuthMode::ApiKey {
        drop(runtime);
        return check_api_key(auth);
    }
    live_usage(&runtime, manager)
}

/// The manager's credentials, with the exit code of a failure.
fn first_auth(
    runtime: &tokio::runtime::Runtime,
    manager: &std::sync::Arc<AuthManager>,
) -> Result<CodexAuth, Box<Outcome>> {
    runtime.block_on(async {
        match manager.try_auth().await {
            Ok(Some(auth)) => Ok(auth),
            Ok(None) => Err(Box::new(Outcome::NotLoggedIn)),
            Err(err) if manager.workload_identity().is_some() => Err(Box::new(Outcome::Failed {
                code: crate::workload_cmd::failure_code(&err),
                message: err.to_string(),
            })),
            Err(err) => Err(Box::new(Outcome::Failed {
                code: exit::for_kind(err.kind()),
                message: err.to_string(),
            })),
        }
    })
}

/// One live `GET {backend}/usage` with the manager as auth source.
fn live_usage(
    runtime: &tokio::runtime::Runtime,
    manager: std::sync::Arc<AuthManager>,
) -> Result<LiveCheck, Box<Outcome>> {
    let network = |message: String| {
        Box::new(Outcome::Failed {
            code: exit::NETWORK_ERROR,
            message,
        })
    };
    runtime.block_on(async move {
        // The factory's client for this backend only (no CA store for plain-http loopback).
        let backend = manager
            .backend_client()
            .map_err(|err| network(err.to_string()))?;
        let usage = backend.get_usage().await.map_err(|err| match &err {
            BackendError::Auth { source, .. } => match source.kind() {
                AuthErrorKind::NotLoggedIn => Box::new(Outcome::NotLoggedIn),
                kind => Box::new(Outcome::Failed {
                    code: exit::for_kind(kind),
                    message: if kind.requires_new_login() {
                        source.to_string()
                    } else {
                        err.to_string()
                    },
                }),
            },
            _ if err.is_unauthorized() => Box::new(Outcome::Failed {
                code: exit::for_kind(AuthErrorKind::NeedsLogin),
                message: format!("The backend refused the credentials: {err}"),
            }),
            _ => network(err.to_string()),
        })?;
        let auth = manager
            .auth_cached()
            .ok_or_else(|| network("the credentials disappeared during the check".to_owned()))?;
        Ok((auth, Some(usage_json(&usage)), Vec::new()))
    })
}

/// `whoami` with workload identity: one exchange (the identity comes from the issuer), then,
/// with `--check`, one live backend call.
fn workload_outcome(
    config: &CodexConfig,
    session: std::sync::Arc<codex_login::workload_identity::WorkloadIdentity>,
    check: bool,
) -> Outcome {
    let failed = |message: String| Outcome::Failed {
        code: exit::NETWORK_ERROR,
        message,
    };
    let runtime = match context::runtime() {
        Ok(runtime) => runtime,
        Err(err) => return failed(err),
    };
    let manager = match crate::workload_cmd::manager(config, session.clone()) {
        Ok(manager) => manager,
        Err(err) => return failed(err),
    };
    let source = CredentialSource::WorkloadIdentity(session.source_label());
    let result = first_auth(&runtime, &manager).and_then(|auth| {
        if check {
            live_usage(&runtime, manager.clone())
        } else {
            Ok((auth, None, Vec::new()))
        }
    });
    match result {
        Ok((auth, usage, mut notes)) => {
            if let Some(note) = runtime.block_on(crate::workload_cmd::identity_note(&session)) {
                notes.insert(0, note);
            }
            Outcome::LoggedIn {
                auth: Box::new(auth),
                source,
                usage,
                notes,
            }
        }
        Err(outcome) => *outcome,
    }
}

/// An API key has no usage windows: one authenticated request shows it is accepted.
fn check_api_key(auth: CodexAuth) -> Result<LiveCheck, Box<Outcome>> {
    let Some(key) = auth.api_key() else {
        return Err(Box::new(Outcome::NotLoggedIn));
    };
    match api_key_check::check_api_key(key) {
        Ok(()) => Ok((
            auth,
            None,
            vec!["the API key was accepted; usage is only reported for ChatGPT logins".to_owned()],
        )),
        Err(err @ ApiKeyCheckError::Refused { .. }) => Err(Box::new(Outcome::Failed {
            code: exit::NEEDS_LOGIN,
            message: err.to_string(),
        })),
        Err(err @ ApiKeyCheckError::Unavailable { .. }) => Err(Box::new(Outcome::Failed {
            code: exit::NETWORK_ERROR,
            message: err.to_string(),
        })),
    }
}

fn usage_json(usage: &UsagePayload) -> Value {
    let window = |w: &Option<codex_backend_client::RateLimitWindowDetails>| match w {
        Some(w) => json!({
            "used_percent": w.used_percent,
            "window_seconds": w.limit_window_seconds,
            "resets_at": w.reset_at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)).map(rfc3339),
        }),
        None => Value::Null,
    };
    let (primary, secondary, limit_reached) = match &usage.rate_limit {
        Some(limits) => (
            window(&limits.primary_window),
            window(&limits.secondary_window),
            limits.limit_reached,
        ),
        None => (Value::Null, Value::Null, false),
    };
    json!({
        "plan_type": usage.plan_type.as_ref().map(ToString::to_string),
        "limit_reached": limit_reached,
        "primary_window": primary,
        "secondary_window": secondary,
    })
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn auth_mode_name(mode: AuthMode) -> &'static str {
    mode.as_str()
}

fn report_json(auth: &CodexAuth, source: &CredentialSource, usage: Option<&Value>) -> Value {
    let agent = auth.agent_identity().map(|identity| {
        json!({
            "agent_runtime_id": identity.agent_runtime_id,
            "task_id": identity.task_id,
        })
    });
    let mut report = json!({
        "schema_version": SCHEMA_VERSION,
        "logged_in": true,
        "auth_mode": auth_mode_name(auth.auth_mode()),
        "source": source.to_string(),
        "email": auth.email(),
        "plan_type": auth.plan_type().map(|plan| plan.as_wire_str().to_owned()),
        "account_id": auth.account_id(),
        "user_id": auth.chatgpt_user_id(),
        "fedramp": auth.is_fedramp_account(),
        "access_token_expires_at": auth.access_token_expires_at().map(rfc3339),
        "last_refresh": auth.last_refresh().map(rfc3339),
        "api_key": auth.api_key().map(|key| mask_api_key(key.expose())),
        "agent_identity": agent,
        "access_token_expired": usability::access_token_expired(auth),
        "needs_login": false,
    });
    if let (Some(usage), Value::Object(map)) = (usage, &mut report) {
        map.insert("usage".to_owned(), usage.clone());
    }
    report
}

fn not_logged_in_json() -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "logged_in": false,
        "auth_mode": null,
        "source": null,
        "email": null,
        "plan_type": null,
        "account_id": null,
        "user_id": null,
        "fedramp": false,
        "access_token_expires_at": null,
        "last_refresh": null,
        "api_key": null,
        "agent_identity": null,
        "access_token_expired": null,
        "needs_login": false,
    })
}

fn print(outcome: Outcome, as_json: bool) -> u8 {
    match outcome {
        Outcome::LoggedIn {
            auth,
            source,
            usage,
            notes,
        } => {
            for note in &notes {
                eprintln!("Note: {note}");
            }
            if as_json {
                term::print_stdout(&format!(
                    "{}\n",
                    report_json(&auth, &source, usage.as_ref())
                ));
            } else {
                term::print_stdout(&render_human(&auth, &source, usage.as_ref()));
            }
            exit::OK
        }
        Outcome::NeedsLogin {
            auth,
            source,
            reason,
        } => {
            if as_json {
                let mut report = report_json(&auth, &source, None);
                report["needs_login"] = Value::Bool(true);
                term::print_stdout(&format!("{report}\n"));
            } else {
                term::print_stdout(&render_human(&auth, &source, None));
            }
            eprintln!("{reason} Run `codex login` again.");
            exit::NEEDS_LOGIN
        }
        Outcome::NotLoggedIn => {
            if as_json {
                term::print_stdout(&format!("{}\n", not_logged_in_json()));
            }
            eprintln!("Not logged in");
            exit::FAILURE
        }
        Outcome::Failed { code, message } => {
            eprintln!("{message}");
            code
        }
    }
}

fn render_human(auth: &CodexAuth, source: &CredentialSource, usage: Option<&Value>) -> String {
    let mut text = String::new();
    let mut line = |label: &str, value: &str| text.push_str(&format!("{label:<16}{value}\n"));
    if let Some(email) = auth.email() {
        line("Email:", email);
    }
    if let Some(account) = auth.account_id() {
        line("Account:", account);
    }
    if let Some(user) = auth.chatgpt_user_id() {
        line("User:", user);
    }
    if let Some(plan) = auth.plan_type() {
        line("Plan:", plan.display_name());
    }
    let mode = match auth.auth_mode() {
        // Issue 19.
        _ if matches!(source, CredentialSource::WorkloadIdentity(_)) => {
            "ChatGPT (workload identity)"
        }
        AuthMode::ApiKey => "API key",
        AuthMode::Chatgpt => "ChatGPT",
        AuthMode::ChatgptAuthTokens => "ChatGPT (tokens supplied by the host app)",
        AuthMode::AgentIdentity => "agent identity",
        AuthMode::PersonalAccessToken => "personal access token",
    };
    line("Auth mode:", mode);
    if let Some(key) = auth.api_key() {
        line("API key:", &mask_api_key(key.expose()));
    }
    line("Source:", &source.to_string());
    if auth.is_fedramp_account() {
        line("FedRAMP:", "yes");
    }
    if let Some(expires) = auth.access_token_expires_at() {
        let expired = usability::access_token_expired(auth) == Some(true);
        let suffix = if expired { " (expired)" } else { "" };
        line("Token expires:", &format!("{}{suffix}", rfc3339(expires)));
    }
    if let Some(refreshed) = auth.last_refresh() {
        line("Last refresh:", &rfc3339(refreshed));
    }
    if let Some(identity) = auth.agent_identity() {
        line("Agent runtime:", &identity.agent_runtime_id);
        if let Some(task) = &identity.task_id {
            line("Agent task:", task);
        }
    }
    if let Some(usage) = usage {
        if let Some(plan) = usage["plan_type"].as_str() {
            line("Live plan:", plan);
        }
        for (label, key) in [
            ("Usage (1st):", "primary_window"),
            ("Usage (2nd):", "secondary_window"),
        ] {
            let window = &usage[key];
            if let Some(used) = window["used_percent"].as_f64() {
                let resets = window["resets_at"].as_str().unwrap_or("unknown");
                line(label, &format!("{used:.0}% used, resets {resets}"));
            }
        }
    }
    text
}
