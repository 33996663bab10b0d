//! What `codex profile list` shows: every profile, its identity, expiry and health.

use super::ProfileError;
use super::layout::{
    active_store, existing_inactive_store, inactive_names, profile_dir, read_marker,
};
use super::name::{ProfileName, default_profile_name};
use crate::auth_dot_json::{AuthDotJson, AuthMode};
use crate::auth_lock::AuthFileLock;
use crate::codex_auth::CodexAuth;
use crate::refresh_failure_record::recorded_failure;
use crate::storage::{CredentialStoreMode, StoreLocation};
use chrono::{DateTime, Utc};
use std::path::Path;

/// How usable a profile's stored login is, judged offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileHealth {
    /// Usable (a ChatGPT access token that expired refreshes on next use).
    Ok,
    /// The access token expired; the next use refreshes it.
    ExpiredWillRefresh,
    /// The access token expired and there is no refresh token: log in again.
    ExpiredCannotRefresh,
    /// A refresh of the stored refresh token was refused or lost (recorded in
    /// `auth.json.refresh-failure`); log in again.
    RefreshFailed(String),
    /// The active profile holds no login (after `codex logout`).
    Empty,
    /// The stored login cannot be read.
    Unreadable(String),
}

impl ProfileHealth {
    /// The short machine name (`ok`, `expired`, `needs_login`, `refresh_failed`, `empty`,
    /// `unreadable`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ExpiredWillRefresh => "expired",
            Self::ExpiredCannotRefresh => "needs_login",
            Self::RefreshFailed(_) => "refresh_failed",
            Self::Empty => "empty",
            Self::Unreadable(_) => "unreadable",
        }
    }

    /// A sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "ok".to_owned(),
            Self::ExpiredWillRefresh => "access token expired; refreshes on next use".to_owned(),
            Self::ExpiredCannotRefresh => {
                "access token expired and cannot be refreshed; log in again".to_owned()
            }
            Self::RefreshFailed(message) => format!("refresh failed: {message}"),
            Self::Empty => "no login stored".to_owned(),
            Self::Unreadable(message) => format!("cannot be read: {message}"),
        }
    }
}

/// One row of `codex profile list`.
#[derive(Debug, Clone)]
pub struct ProfileSummary {
    /// The name (for an active login that has none yet: the name it will get).
    pub name: ProfileName,
    /// Whether this is the active profile (the one in `auth.json`).
    pub active: bool,
    /// Whether the name is recorded (false: derived, recorded at the first switch).
    pub named: bool,
    /// The login kind.
    pub auth_mode: Option<AuthMode>,
    /// The e-mail of a ChatGPT login.
    pub email: Option<String>,
    /// The ChatGPT account (workspace) id.
    pub account_id: Option<String>,
    /// The plan, e.g. `Team` for a workspace.
    pub plan: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// How usable it is.
    pub health: ProfileHealth,
    /// Where it is stored.
    pub location: Option<StoreLocation>,
}

/// Every profile: the active one first, then the inactive ones by name. Reads only, except
/// that it finishes a switch a killed process left half done.
pub fn list_profiles(
    codex_home: &Path,
    mode: CredentialStoreMode,
    now: DateTime<Utc>,
) -> Result<Vec<ProfileSummary>, ProfileError> {
    super::switch::refuse_ephemeral(mode)?;
    let mut marker = read_marker(codex_home)?;
    if marker.switching_to.is_some()
        && let Some(_lock) = AuthFileLock::try_acquire(codex_home)?
    {
        // A switch was killed half way (a live one would hold the lock): finish it.
        marker = super::switch::finish_interrupted_switch(codex_home, mode)?;
    }
    let mut rows = Vec::new();
    let active = active_store(codex_home, mode).load_with_location();
    let active_name = marker.active_name();
    match (active, active_name) {
        (Ok(Some(loaded)), name) => {
            let named = name.is_some();
            let name = name.unwrap_or_else(|| default_profile_name(&loaded.document));
            let mut row = summarize(codex_home, &name, &loaded.document, now);
            row.active = true;
            row.named = named;
            row.location = Some(loaded.location);
            rows.push(row);
        }
        (Ok(None), Some(name)) => rows.push(empty_row(name, ProfileHealth::Empty)),
        (Ok(None), None) => {}
        (Err(err), name) => rows.push(empty_row(
            name.unwrap_or_else(|| ProfileName::builtin("active")),
            ProfileHealth::Unreadable(err.to_string()),
        )),
    }
    if let Some(row) = rows.first_mut() {
        row.active = true;
    }
    for name in inactive_names(codex_home) {
        let Some(store) = existing_inactive_store(codex_home, &name, mode) else {
            continue;
        };
        match store.load_with_location() {
            Ok(Some(loaded)) => {
                let mut row = summarize(codex_home, &name, &loaded.document, now);
                row.location = Some(loaded.location);
                rows.push(row);
            }
            Ok(None) => {}
            Err(err) => rows.push(ProfileSummary {
                active: false,
                ..empty_row(name, ProfileHealth::Unreadable(err.to_string()))
            }),
        }
    }
    Ok(rows)
}

fn empty_row(name: ProfileName, health: ProfileHealth) -> ProfileSummary {
    ProfileSummary {
        name,
        active: true,
        named: true,
        auth_mode: None,
        email: None,
        account_id: None,
        plan: None,
        expires_at: None,
        health,
        location: None,
    }
}

fn summarize(
    codex_home: &Path,
    name: &ProfileName,
    document: &AuthDotJson,
    now: DateTime<Utc>,
) -> ProfileSummary {
    let mut row = empty_row(name.clone(), ProfileHealth::Ok);
    row.active = false;
    row.auth_mode = Some(document.resolved_mode());
    let auth = match CodexAuth::from_auth_dot_json(document.clone()) {
        Ok(auth) => auth,
        Err(err) => {
            row.health = ProfileHealth::Unreadable(err.to_string());
            return row;
        }
    };
    row.email = auth.email().map(str::to_owned);
    row.account_id = auth.account_id().map(str::to_owned);
    row.plan = auth.plan_type().map(|plan| plan.display_name().to_owned());
    row.expires_at = auth.access_token_expires_at();
    let refresh_token = auth.refresh_token().filter(|token| !token.is_empty());
    let recorded = refresh_token.and_then(|token| {
        recorded_failure(codex_home, token)
            .or_else(|| recorded_failure(&profile_dir(codex_home, name), token))
    });
    let expired = row.expires_at.is_some_and(|at| at <= now);
    row.health = match (recorded, expired, refresh_token.is_some()) {
        (Some(failure), _, _) => ProfileHealth::RefreshFailed(failure.to_string()),
        (None, true, true) => ProfileHealth::ExpiredWillRefresh,
        (None, true, false) => ProfileHealth::ExpiredCannotRefresh,
        (None, false, _) => ProfileHealth::Ok,
    };
    row
}
