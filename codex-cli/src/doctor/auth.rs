//! `auth.credentials` (every credential source, which one the one walk of the
//! credential chain picks, and what it shadows) and `auth.keyring` (whether the OS keyring answers).

use super::{Check, Status};
use crate::api_key_mask::mask_api_key;
use crate::whoami::usability;
use codex_login::auth_dot_json::AuthMode;
use codex_login::codex_auth::CodexAuth;
use codex_login::config::CodexConfig;
use codex_login::environment::EnvLookup;
use codex_login::resolution::{
    CODEX_API_KEY_ENV_VAR, CredentialSource, Resolution, ResolveError, ResolveOptions,
    WorkloadIdentityInputs, credential_env_vars, resolve_credentials_report,
};
use codex_login::storage::{
    AuthStorage, CredentialStoreMode, KeyringAuthStorage, OsKeyring, storage_for_mode,
};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

/// How long the keyring probe may take.
const KEYRING_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

fn describe(auth: &CodexAuth) -> String {
    let mode = auth.auth_mode();
    let mut text = match mode {
        AuthMode::ApiKey => match auth.api_key() {
            Some(key) => format!("API key {}", mask_api_key(key.expose())),
            None => "API key".to_owned(),
        },
        AuthMode::Chatgpt => "ChatGPT login".to_owned(),
        AuthMode::ChatgptAuthTokens => "ChatGPT tokens from the host app".to_owned(),
        AuthMode::AgentIdentity => "agent identity".to_owned(),
        AuthMode::PersonalAccessToken => "personal access token".to_owned(),
    };
    if let Some(email) = auth.email() {
        text.push_str(&format!(" for {email}"));
    }
    if let Some(expires) = auth.access_token_expires_at() {
        text.push_str(&format!(", token expires {}", expires.to_rfc3339()));
    }
    text
}

pub fn credentials(config: &CodexConfig, env: EnvLookup<'_>) -> Check {
    let storage = storage_for_mode(&config.codex_home, config.credential_store);
    let mut check = Check::new("auth.credentials", "auth", Status::Ok, "credentials found").detail(
        "auth storage mode",
        format!("{:?}", config.credential_store).to_lowercase(),
    );
    // Every variable of the credential chain, in its order, whether or not it wins.
    let mut present: Vec<String> = Vec::new();
    for name in credential_env_vars() {
        let value = env(name).filter(|value| !value.trim().is_empty());
        let shown = match (&value, name) {
            (None, _) => "not set".to_owned(),
            (Some(key), CODEX_API_KEY_ENV_VAR) => format!("API key {}", mask_api_key(key)),
            (Some(jwt), _) => format!("agent identity JWT ({} characters)", jwt.len()),
        };
        if value.is_some() {
            present.push(format!("env:{name}"));
        }
        check = check.detail(format!("env {name}"), shown);
    }
    let stored = match storage.load_with_location() {
        Ok(Some(loaded)) => {
            let location = loaded.location.to_string();
            let shown = match CodexAuth::from_auth_dot_json(loaded.document) {
                Ok(auth) => describe(&auth),
                Err(err) => format!("unusable: {err}"),
            };
            check = check.detail("stored", format!("{shown} ({location})"));
            Some(location)
        }
        Ok(None) => {
            check = check.detail("stored", "nothing stored".to_owned());
            None
        }
        Err(err) => {
            check.worsen(
                Status::Fail,
                format!("the credential store could not be read: {err}"),
                "Fix the permissions or contents of the store named above, or `codex logout` and log in again."
                    .to_owned(),
            );
            return check;
        }
    };
    // One walk of the chain. Workload identity heads it: it overrides every other source,
    // and a selected but partial setup is an error (never a fallback), as in `codex login
    // status`. The inventory above is what doctor shows of each source, winner or not.
    let raw = |name: &str| env(name).map(OsString::from);
    let options = ResolveOptions {
        codex_home: &config.codex_home,
        store_mode: config.credential_store,
        enable_codex_api_key_env: true,
        env,
        workload_identity: Some(WorkloadIdentityInputs { config, env: &raw }),
    };
    let resolved = match resolve_credentials_report(storage.as_ref(), &options, false) {
        Ok(report) => match report.winner {
            Some(Resolution::Credentials(resolved)) => resolved,
            Some(Resolution::WorkloadIdentity(selected)) => {
                check = check.detail(
                    "in use",
                    format!(
                        "workload identity (rule {}, {})",
                        selected.setup.rule_id, selected.setup.configured_by
                    ),
                );
                check.summary = "using workload identity".to_owned();
                let shadowed: Vec<String> = present
                    .iter()
                    .cloned()
                    .chain(
                        stored
                            .iter()
                            .map(|location| format!("stored login ({location})")),
                    )
                    .collect();
                if !shadowed.is_empty() {
                    check = check.detail("shadowed", shadowed.join(", "));
                }
                return check;
            }
            None => {
                check.worsen(
                    Status::Fail,
                    "no Codex credentials were found".to_owned(),
                    "Run `codex login`, or set CODEX_API_KEY.".to_owned(),
                );
                return check;
            }
        },
        Err(ResolveError::WorkloadIdentity(err)) => {
            check.worsen(
                Status::Fail,
                format!("workload identity is selected but cannot be used: {err}"),
                "Set both OPENAI_FEDERATION_RULE_ID and OPENAI_IDENTITY_TOKEN_FILE (an absolute path), unset both, or fix [workload_identity] in config.toml."
                    .to_owned(),
            );
            return check;
        }
        Err(err) => {
            check.worsen(
                Status::Fail,
                format!("the credentials cannot be used: {err}"),
                "Run `codex login` again, or unset the variable named above.".to_owned(),
            );
            return check;
        }
    };
    check = check.detail(
        "in use",
        format!("{} ({})", describe(&resolved.auth), resolved.source),
    );
    check.summary = format!("using {}", resolved.source);
    let shadowed: Vec<String> = present
        .iter()
        .filter(|source| **source != resolved.source.to_string())
        .cloned()
        .chain(
            stored
                .iter()
                .filter(|_| matches!(resolved.source, CredentialSource::Env(_)))
                .map(|location| format!("stored login ({location})")),
        )
        .collect();
    if !shadowed.is_empty() {
        check = check.detail("shadowed", shadowed.join(", "));
        let winner = resolved.source.to_string();
        let variable = winner.trim_start_matches("env:").to_owned();
        check.worsen(
            Status::Warning,
            format!("{winner} is used; it shadows {}", shadowed.join(", ")),
            if matches!(resolved.source, CredentialSource::Env(_)) {
                format!("Unset {variable} to use the stored login, or `codex logout` to remove the stored one.")
            } else {
                "Unset the environment variables named above if they are left over.".to_owned()
            },
        );
    }
    if let Some(reason) =
        usability::needs_new_login(&config.codex_home, &resolved.auth, &resolved.source)
    {
        check.worsen(Status::Fail, reason, "Run `codex login` again.".to_owned());
    }
    check
}

pub fn keyring(config: &CodexConfig) -> Check {
    let probe = KeyringAuthStorage::new(&config.codex_home, Arc::new(OsKeyring))
        .with_timeout(KEYRING_PROBE_TIMEOUT);
    let needed = config.credential_store != CredentialStoreMode::File
        && config.credential_store != CredentialStoreMode::Ephemeral;
    let store = format!("{:?}", config.credential_store).to_lowercase();
    match probe.load_with_location() {
        Ok(found) => Check::new("auth.keyring", "auth", Status::Ok, "the OS keyring answers")
            .detail("entry", if found.is_some() { "present" } else { "none" })
            .detail("auth storage mode", store),
        Err(err) => {
            let check = Check::new(
                "auth.keyring",
                "auth",
                if needed { Status::Fail } else { Status::Ok },
                "the OS keyring is not available",
            )
            .detail("error", err.to_string())
            .detail("auth storage mode", store);
            if needed {
                check.next("Start a Secret Service (e.g. gnome-keyring) in this session, or set cli_auth_credentials_store = \"file\".")
            } else {
                check.detail("impact", "none: credentials are not kept in the keyring")
            }
        }
    }
}
