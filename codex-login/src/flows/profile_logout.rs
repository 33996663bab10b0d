//! `codex logout --profile NAME` and `codex logout --all`: remove a profile's login (under
//! `auth.json.lock`), then revoke its token, reporting each profile separately.

use super::logout::{LogoutOptions, Revocation, revocation_target, send_revocation};
use crate::auth_lock::AuthFileLock;
use crate::profiles::ProfileError;
use crate::profiles::layout::{
    active_store, existing_inactive_store, read_marker, remove_profile_dir, write_marker,
};
use crate::profiles::name::ProfileName;
use crate::profiles::switch::{finish_interrupted_switch, name_active_login, refuse_ephemeral};
use crate::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage};

/// What logging out of one profile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLogout {
    /// The profile.
    pub name: ProfileName,
    /// Whether it was the active profile.
    pub was_active: bool,
    /// What happened at the issuer.
    pub revocation: Revocation,
}

/// Removes profile `name` (its stored login, and its directory when inactive), then revokes
/// its token. The store mode and lock wait come from `options`; `options.storage` is ignored.
pub async fn logout_profile(
    options: &LogoutOptions,
    name: &ProfileName,
) -> Result<ProfileLogout, ProfileError> {
    refuse_ephemeral(options.store_mode)?;
    let lock = AuthFileLock::acquire(&options.codex_home, options.lock_wait).await?;
    let home = options.codex_home.clone();
    let mode = options.store_mode;
    let task_name = name.clone();
    let removed = tokio::task::spawn_blocking(move || remove_locked(&home, mode, &task_name))
        .await
        .map_err(|err| ProfileError::Task(err.to_string()))?;
    drop(lock);
    let (was_active, target) = removed?;
    let revocation = match target {
        Ok(target) => {
            send_revocation(
                &options.http,
                &options.revoke_url,
                &options.client_id,
                options.revoke_timeout,
                &target,
            )
            .await
        }
        Err(reason) => Revocation::NotAttempted(reason),
    };
    Ok(ProfileLogout {
        name: name.clone(),
        was_active,
        revocation,
    })
}

/// Logs out of every profile (the active one first, named after its e-mail if it had no
/// name). One failure does not stop the others: each profile's result is returned.
pub async fn logout_all(
    options: &LogoutOptions,
) -> Result<Vec<Result<ProfileLogout, (ProfileName, ProfileError)>>, ProfileError> {
    refuse_ephemeral(options.store_mode)?;
    let lock = AuthFileLock::acquire(&options.codex_home, options.lock_wait).await?;
    let active = name_active_login(&options.codex_home, options.store_mode)?;
    drop(lock);
    let mut names: Vec<ProfileName> = active.into_iter().collect();
    for name in crate::profiles::layout::inactive_names(&options.codex_home) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        match logout_profile(options, &name).await {
            Ok(done) => results.push(Ok(done)),
            Err(err) => results.push(Err((name, err))),
        }
    }
    Ok(results)
}

type RemovedLogin = (bool, Result<crate::flows::logout::RevocationTarget, String>);

fn remove_locked(
    home: &std::path::Path,
    mode: CredentialStoreMode,
    name: &ProfileName,
) -> Result<RemovedLogin, ProfileError> {
    let mut marker = finish_interrupted_switch(home, mode)?;
    if marker.is_active(name) {
        let store = active_store(home, mode);
        let document = store.load()?;
        store.delete()?;
        if mode != CredentialStoreMode::File {
            FileAuthStorage::new(home).delete()?;
        }
        marker.active = None;
        marker.generation += 1;
        write_marker(home, &marker)?;
        let target = match document {
            Some(document) => revocation_target(&document),
            None => Err("no login was stored".to_owned()),
        };
        return Ok((true, target));
    }
    let store = existing_inactive_store(home, name, mode)
        .ok_or_else(|| ProfileError::NotFound(name.clone()))?;
    let document = store.load()?;
    store.delete()?;
    remove_profile_dir(home, name)?;
    let target = match document {
        Some(document) => revocation_target(&document),
        None => Err("no login was stored".to_owned()),
    };
    let _ = read_marker(home);
    Ok((false, target))
}
