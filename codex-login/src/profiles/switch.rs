//! Changing the layout: switching the active profile, renaming, naming the active login, and
//! finishing a switch a killed process left half done. Everything here runs while holding
//! `$CODEX_HOME/auth.json.lock`, the lock every refresh holds, so no refresh can run between
//! the steps and a refresh token is never readable in two places by a process holding it.

use super::ProfileError;
use super::layout::{
    ActiveMarker, active_store, existing_inactive_store, inactive_names, inactive_store,
    profile_dir, read_marker, remove_profile_dir, write_marker,
};
use super::name::{ProfileName, default_profile_name, unique_name};
use crate::auth_lock::AuthFileLock;
use crate::storage::CredentialStoreMode;
use std::path::Path;
use std::time::Duration;

/// What [`switch_profile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// The profile was already active; nothing changed.
    AlreadyActive,
    /// `to` is active now; `from` is the profile that was active (if any login was).
    Switched {
        /// The previously active profile (now inactive), if there was a login.
        from: Option<ProfileName>,
        /// The now active profile.
        to: ProfileName,
    },
}

/// Makes `target` the active profile: under `auth.json.lock`, the active login moves to
/// `profiles/<its name>` (named after its e-mail and workspace if it had no name), `target`'s
/// login moves into `$CODEX_HOME`, and its copy in `profiles/` is deleted.
pub fn switch_profile(
    codex_home: &Path,
    mode: CredentialStoreMode,
    target: &ProfileName,
    lock_wait: Duration,
) -> Result<SwitchOutcome, ProfileError> {
    refuse_ephemeral(mode)?;
    let _lock = AuthFileLock::acquire_blocking(codex_home, lock_wait)?;
    let mut marker = finish_interrupted_switch(codex_home, mode)?;
    if marker.is_active(target) {
        return Ok(SwitchOutcome::AlreadyActive);
    }
    let target_store = existing_inactive_store(codex_home, target, mode)
        .ok_or_else(|| ProfileError::NotFound(target.clone()))?;
    let target_document = target_store
        .load()?
        .ok_or_else(|| ProfileError::NotFound(target.clone()))?;
    let home_store = active_store(codex_home, mode);
    let current = home_store.load()?;
    let from = match (marker.active_name(), &current) {
        (Some(name), _) => Some(name),
        (None, Some(document)) => Some(fresh_name(codex_home, document)),
        (None, None) => None,
    };

    // 1. Announce the switch (unlocked readers wait; a crash after this is finished later).
    marker.active = from.as_ref().map(|name| name.as_str().to_owned());
    marker.switching_to = Some(target.as_str().to_owned());
    marker.generation += 1;
    write_marker(codex_home, &marker)?;
    // 2. The active login moves out.
    if let (Some(from), Some(document)) = (&from, &current) {
        inactive_store(codex_home, from, mode)?.save(document)?;
    }
    // 3. The target moves in, 4. and its old copy goes.
    home_store.save(&target_document)?;
    target_store.delete()?;
    remove_profile_dir(codex_home, target)?;
    // 5. Done.
    marker.active = Some(target.as_str().to_owned());
    marker.switching_to = None;
    marker.generation += 1;
    write_marker(codex_home, &marker)?;
    Ok(SwitchOutcome::Switched {
        from,
        to: target.clone(),
    })
}

/// Renames profile `old` to `new` (active or not).
pub fn rename_profile(
    codex_home: &Path,
    mode: CredentialStoreMode,
    old: &ProfileName,
    new: &ProfileName,
    lock_wait: Duration,
) -> Result<(), ProfileError> {
    refuse_ephemeral(mode)?;
    let _lock = AuthFileLock::acquire_blocking(codex_home, lock_wait)?;
    let mut marker = finish_interrupted_switch(codex_home, mode)?;
    if marker.is_active(new) || profile_dir(codex_home, new).exists() {
        return Err(ProfileError::Exists(new.clone()));
    }
    // The active login may still go by its derived name (as `profile list` shows it).
    let unnamed_active = marker.active.is_none()
        && active_store(codex_home, mode)
            .load()?
            .is_some_and(|document| default_profile_name(&document) == *old);
    if marker.is_active(old) || unnamed_active {
        marker.active = Some(new.as_str().to_owned());
        marker.generation += 1;
        write_marker(codex_home, &marker)?;
        return Ok(());
    }
    let source = existing_inactive_store(codex_home, old, mode)
        .ok_or_else(|| ProfileError::NotFound(old.clone()))?;
    let document = source
        .load()?
        .ok_or_else(|| ProfileError::NotFound(old.clone()))?;
    if mode == CredentialStoreMode::File {
        // One rename of the directory: the login is never in two places.
        let (from, to) = (profile_dir(codex_home, old), profile_dir(codex_home, new));
        std::fs::rename(&from, &to).map_err(|source| {
            ProfileError::Storage(crate::storage::StorageError::Io {
                action: "rename",
                path: from,
                source,
            })
        })?;
    } else {
        // The keyring entry is keyed by the directory: copy, then delete the old one.
        inactive_store(codex_home, new, mode)?.save(&document)?;
        source.delete()?;
        remove_profile_dir(codex_home, old)?;
    }
    marker.generation += 1;
    write_marker(codex_home, &marker)?;
    Ok(())
}

/// Gives the login in `$CODEX_HOME` a name if it has none (its default name, made unique);
/// returns the active profile's name, if there is one. Call while holding the lock.
pub(crate) fn name_active_login(
    codex_home: &Path,
    mode: CredentialStoreMode,
) -> Result<Option<ProfileName>, ProfileError> {
    let mut marker = finish_interrupted_switch(codex_home, mode)?;
    if let Some(name) = marker.active_name() {
        return Ok(Some(name));
    }
    let Some(document) = active_store(codex_home, mode).load()? else {
        return Ok(None);
    };
    let name = fresh_name(codex_home, &document);
    marker.active = Some(name.as_str().to_owned());
    marker.generation += 1;
    write_marker(codex_home, &marker)?;
    Ok(Some(name))
}

/// Clears the active profile's name when `$CODEX_HOME` holds no login any more (after a
/// plain logout), so the next plain login is not filed under it.
pub fn forget_active_name(
    codex_home: &Path,
    mode: CredentialStoreMode,
    lock_wait: Duration,
) -> Result<(), ProfileError> {
    if !super::layout::marker_path(codex_home).exists() {
        return Ok(());
    }
    let _lock = AuthFileLock::acquire_blocking(codex_home, lock_wait)?;
    let mut marker = read_marker(codex_home)?;
    if marker.active.is_none() || marker.switching_to.is_some() {
        return Ok(());
    }
    if active_store(codex_home, mode).load()?.is_none() {
        marker.active = None;
        marker.generation += 1;
        write_marker(codex_home, &marker)?;
    }
    Ok(())
}

/// Completes (or rolls back) a switch a killed process left half done, and returns the
/// marker. Call while holding the lock.
pub(crate) fn finish_interrupted_switch(
    codex_home: &Path,
    mode: CredentialStoreMode,
) -> Result<ActiveMarker, ProfileError> {
    let mut marker = read_marker(codex_home)?;
    let Some(target) = marker.switching_to.as_deref().map(ProfileName::parse) else {
        return Ok(marker);
    };
    let Ok(target) = target else {
        marker.switching_to = None;
        marker.generation += 1;
        write_marker(codex_home, &marker)?;
        return Ok(marker);
    };
    let home_store = active_store(codex_home, mode);
    let home_document = home_store.load()?;
    let target_store = existing_inactive_store(codex_home, &target, mode);
    let target_document = match &target_store {
        Some(store) => store.load()?,
        None => None,
    };
    let arrived = match (&target_document, &home_document) {
        (None, _) => true,
        (Some(target), Some(home)) => same_login(target, home),
        (Some(_), None) => false,
    };
    if arrived {
        // Step 3 happened: drop the target's old copy and finish.
        if let Some(store) = target_store {
            store.delete()?;
        }
        remove_profile_dir(codex_home, &target)?;
        marker.active = Some(target.as_str().to_owned());
    } else if let Some(from) = marker.active_name()
        && let Some(store) = existing_inactive_store(codex_home, &from, mode)
        && let Some(home) = &home_document
        && store.load()?.is_some_and(|copy| same_login(&copy, home))
    {
        // Step 2 happened but not 3: the active login is still in place; drop its copy.
        store.delete()?;
        remove_profile_dir(codex_home, &from)?;
    }
    marker.switching_to = None;
    marker.generation += 1;
    write_marker(codex_home, &marker)?;
    Ok(marker)
}

/// Whether two stored documents are the same login: the same refresh token when they have
/// one (a copy may differ in `last_refresh`), else equal documents.
fn same_login(
    a: &crate::auth_dot_json::AuthDotJson,
    b: &crate::auth_dot_json::AuthDotJson,
) -> bool {
    match (&a.tokens, &b.tokens) {
        (Some(x), Some(y)) if !x.refresh_token.is_empty() => x.refresh_token == y.refresh_token,
        _ => a == b,
    }
}

fn fresh_name(codex_home: &Path, document: &crate::auth_dot_json::AuthDotJson) -> ProfileName {
    let taken = inactive_names(codex_home);
    unique_name(&default_profile_name(document), |candidate| {
        taken.contains(candidate)
    })
}

pub(crate) fn refuse_ephemeral(mode: CredentialStoreMode) -> Result<(), ProfileError> {
    if mode == CredentialStoreMode::Ephemeral {
        return Err(ProfileError::Ephemeral);
    }
    Ok(())
}
