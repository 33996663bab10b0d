//! `codex profile ...`, `codex logout --profile/--all`, `codex whoami --all`, and the choice
//! of a profile for one process (`--profile NAME`, `CODEX_PROFILE`).

use crate::cli::{Cli, Command, LoginAction, LogoutArgs, ProfileAction, ProfileArgs};
use crate::{context, exit, logging};
use chrono::{SecondsFormat, Utc};
use codex_login::config::CodexConfig;
use codex_login::environment::process_env;
use codex_login::flows::{LogoutOptions, ProfileLogout, Revocation};
use codex_login::profiles::{
    self, CODEX_PROFILE_ENV_VAR, ProfileError, ProfileName, ProfileSummary, SwitchOutcome,
};
use codex_login::resolution::credential_env_vars;
use codex_login::storage::DEFAULT_LOCK_WAIT;
use serde_json::{Value, json};

/// The `schema_version` of `codex profile list --json`.
const LIST_SCHEMA_VERSION: u32 = 1;

/// Records the profile this process uses (`--profile`, else `CODEX_PROFILE`) and checks that
/// it exists where it must. `Some(exit code)` when the command must stop.
pub fn select_profile(cli: &Cli) -> Option<u8> {
    let (flag, must_exist) = match &cli.command {
        Command::Login(args) => (
            args.profile.clone(),
            matches!(args.action, Some(LoginAction::Status)),
        ),
        Command::Whoami(args) if !args.all => (args.profile.clone(), true),
        Command::Logout(args) if !args.all => (args.profile.clone(), true),
        Command::Token(args) => (args.profile.clone(), true),
        _ => return None,
    };
    let chosen = match flag {
        Some(name) => Some(name),
        None => match profiles::profile_from_env(&process_env) {
            Ok(name) => name,
            Err(err) => {
                eprintln!("Error: {CODEX_PROFILE_ENV_VAR}: {err}");
                return Some(exit::FAILURE);
            }
        },
    };
    if must_exist && let Some(name) = &chosen {
        let config = match context::load(&cli.overrides) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("Error loading configuration: {err}");
                return Some(exit::FAILURE);
            }
        };
        if !profile_exists(&config, name) {
            eprintln!("Error: {}", ProfileError::NotFound(name.clone()));
            return Some(exit::FAILURE);
        }
    }
    context::set_profile(chosen);
    None
}

fn profile_exists(config: &CodexConfig, name: &ProfileName) -> bool {
    let present = || {
        let active =
            profiles::read_marker(&config.codex_home).is_ok_and(|marker| marker.is_active(name));
        active || profiles::profile_dir(&config.codex_home, name).is_dir()
    };
    // A switch running in another process moves the login between the two places; a miss is
    // only believed when checked again under `auth.json.lock`, which every switch holds.
    present()
        || codex_login::storage::AuthFileLock::acquire_blocking(
            &config.codex_home,
            DEFAULT_LOCK_WAIT,
        )
        .is_ok_and(|_lock| present())
}

/// After a plain `codex logout`: the active profile's name no longer labels any login, so a
/// later plain `codex login` (perhaps another account) does not inherit it. Best effort.
pub fn forget_active_name(overrides: &[String]) {
    if let Ok(config) = context::load(overrides)
        && let Err(err) = profiles::forget_active_name(
            &config.codex_home,
            config.credential_store,
            DEFAULT_LOCK_WAIT,
        )
    {
        tracing::warn!("could not clear the active profile's name: {err}");
    }
}

/// Runs `codex profile ...`.
pub fn run(overrides: &[String], args: ProfileArgs) -> u8 {
    match args.action {
        ProfileAction::List { json } => list(overrides, json),
        ProfileAction::Switch { name } => switch(overrides, &name),
        ProfileAction::Rename { old, new } => rename(overrides, &old, &new),
        ProfileAction::Remove { name } => logout(
            overrides,
            &LogoutArgs {
                profile: Some(name),
                all: false,
            },
        ),
    }
}

fn load(overrides: &[String]) -> Result<CodexConfig, u8> {
    logging::init_stderr();
    context::load(overrides).map_err(|err| {
        eprintln!("Error loading configuration: {err}");
        exit::FAILURE
    })
}

fn switch(overrides: &[String], name: &ProfileName) -> u8 {
    let config = match load(overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match profiles::switch_profile(
        &config.codex_home,
        config.credential_store,
        name,
        DEFAULT_LOCK_WAIT,
    ) {
        Ok(SwitchOutcome::AlreadyActive) => {
            eprintln!("Profile '{name}' is already active");
            exit::OK
        }
        Ok(SwitchOutcome::Switched { from, to }) => {
            match from {
                Some(from) => eprintln!("Switched to profile '{to}' (was '{from}')"),
                None => eprintln!("Switched to profile '{to}'"),
            }
            exit::OK
        }
        Err(err) => {
            eprintln!("Error switching profile: {err}");
            exit::FAILURE
        }
    }
}

fn rename(overrides: &[String], old: &ProfileName, new: &ProfileName) -> u8 {
    let config = match load(overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match profiles::rename_profile(
        &config.codex_home,
        config.credential_store,
        old,
        new,
        DEFAULT_LOCK_WAIT,
    ) {
        Ok(()) => {
            eprintln!("Renamed profile '{old}' to '{new}'");
            exit::OK
        }
        Err(err) => {
            eprintln!("Error renaming profile: {err}");
            exit::FAILURE
        }
    }
}

/// `codex logout --profile NAME` (or `CODEX_PROFILE`), `codex logout --all`,
/// `codex profile remove NAME`.
pub fn logout(overrides: &[String], args: &LogoutArgs) -> u8 {
    let config = match load(overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let prepared = context::http_factory().and_then(|http| Ok((http, context::runtime()?)));
    let (http, runtime) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            eprintln!("Error logging out: {err}");
            return exit::FAILURE;
        }
    };
    let options = LogoutOptions::from_config(&config, http);
    let chosen = args.profile.as_ref().or(context::profile());
    let results = match chosen {
        Some(name) if !args.all => vec![
            runtime
                .block_on(codex_login::flows::logout_profile(&options, name))
                .map_err(|err| (name.clone(), err)),
        ],
        _ => match runtime.block_on(codex_login::flows::logout_all(&options)) {
            Ok(results) if results.is_empty() => {
                eprintln!("Not logged in");
                return exit::OK;
            }
            Ok(results) => results,
            Err(err) => {
                eprintln!("Error logging out: {err}");
                return exit::FAILURE;
            }
        },
    };
    let mut code = exit::OK;
    for result in results {
        match result {
            Ok(done) => report_logout(&done),
            Err((name, err)) => {
                eprintln!("Error logging out of profile '{name}': {err}");
                code = exit::FAILURE;
            }
        }
    }
    code
}

fn report_logout(done: &ProfileLogout) {
    let active = if done.was_active { " (active)" } else { "" };
    match &done.revocation {
        Revocation::Revoked(kind) => eprintln!(
            "Logged out of profile '{}'{active}: removed, {} revoked",
            done.name,
            kind.hint()
        ),
        Revocation::Failed { reason, .. } => eprintln!(
            "Logged out of profile '{}'{active}: removed; warning: could not revoke the token at the server ({reason})",
            done.name
        ),
        Revocation::NotAttempted(reason) => eprintln!(
            "Logged out of profile '{}'{active}: removed ({reason})",
            done.name
        ),
        Revocation::ForeignIssuer(err) => eprintln!(
            "Logged out of profile '{}'{active}: removed; not revoked ({err})",
            done.name
        ),
    }
}

/// `codex profile list` and `codex whoami --all`.
pub fn list(overrides: &[String], as_json: bool) -> u8 {
    let config = match load(overrides) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let rows =
        match profiles::list_profiles(&config.codex_home, config.credential_store, Utc::now()) {
            Ok(rows) => rows,
            Err(err) => {
                eprintln!("Error listing profiles: {err}");
                return exit::STORAGE_ERROR;
            }
        };
    let shadows = env_shadows();
    if as_json {
        let document = json!({
            "schema_version": LIST_SCHEMA_VERSION,
            "profiles": rows.iter().map(row_json).collect::<Vec<_>>(),
            "env_overrides": shadows,
            "selected_by_env": std::env::var(CODEX_PROFILE_ENV_VAR).ok().filter(|v| !v.is_empty()),
        });
        println!("{document}");
        return exit::OK;
    }
    if rows.is_empty() {
        println!("No profiles: not logged in");
    }
    for row in &rows {
        println!("{}", row_line(row));
    }
    for name in shadows {
        println!("Note: {name} is set; it is used instead of any profile in that environment");
    }
    exit::OK
}

/// The credential variables set in this environment that take precedence over profiles.
fn env_shadows() -> Vec<&'static str> {
    credential_env_vars()
        .filter(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
        .collect()
}

fn row_json(row: &ProfileSummary) -> Value {
    json!({
        "name": row.name.as_str(),
        "active": row.active,
        "named": row.named,
        "auth_mode": row.auth_mode.map(|mode| mode.as_str()),
        "email": row.email,
        "account_id": row.account_id,
        "plan": row.plan,
        "expires_at": row.expires_at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        "health": { "status": row.health.code(), "detail": row.health.describe() },
        "store": row.location.as_ref().map(ToString::to_string),
    })
}

fn row_line(row: &ProfileSummary) -> String {
    let marker = if row.active { "*" } else { " " };
    let mode = row.auth_mode.map_or("-", |mode| mode.as_str());
    let who = row.email.as_deref().unwrap_or("-");
    let account = match (&row.account_id, &row.plan) {
        (Some(account), Some(plan)) => format!("account {account} ({plan})"),
        (Some(account), None) => format!("account {account}"),
        _ => String::new(),
    };
    let expiry = row.expires_at.map_or(String::new(), |at| {
        format!("expires {}", at.to_rfc3339_opts(SecondsFormat::Secs, true))
    });
    let unnamed = if row.named {
        ""
    } else {
        " (name not yet recorded)"
    };
    format!(
        "{marker} {}{unnamed}  {mode}  {who}  {account}  {expiry}  [{}]",
        row.name,
        row.health.describe()
    )
}
