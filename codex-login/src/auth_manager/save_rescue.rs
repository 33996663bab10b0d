//! Saving a refresh's tokens, and what happens when that fails (a full disk, a store that broke
//! after the writability check).
//!
//! When the issuer rotated the refresh token, the stored one is spent: sending it again looks
//! like token theft and a real issuer then revokes the whole token family. So a failed save is
//! never left at that:
//!
//! 1. the save is retried a few times (a full disk may be freed, a keyring may come back);
//! 2. then the spent token is recorded beside `auth.json`
//!    ([`crate::refresh_failure_record`]) so no process sends it again;
//! 3. if even that cannot be written (the disk is completely full), the spent refresh token is
//!    blanked in `auth.json` *in place* (the file only shrinks, so this needs no free space);
//!    the next run then sees a login without a refresh token and asks for a new login
//!    without sending anything.
//!
//! The caller keeps the received tokens in memory, so the running process goes on working, and
//! returns [`RefreshNotSaved`], whose message says what to do (`codex login`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codex_auth_provider::SecretString;

use crate::auth_dot_json::AuthDotJson;
use crate::refresh_failure_record::{RecordedFailure, record_failure};
use crate::resolution::CredentialSource;
use crate::storage::{SharedAuthStorage, StorageError, StoreLocation};

use super::guard_errors::{GuardError, RefreshNotSaved, SpentTokenGuard, not_saved_message};
use super::{RefreshTokenError, run_blocking};

/// How often a failed save is retried, and the pause before each retry.
const SAVE_RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// Saves `document` to `store` (retrying); on failure protects the spent `refresh_token`
/// (when `document` holds a rotated one) as the module docs describe and returns the error to
/// report.
pub(super) async fn save_refreshed(
    store: &SharedAuthStorage,
    document: &AuthDotJson,
    refresh_token: &SecretString,
    codex_home: &Path,
    source: &CredentialSource,
) -> Result<(), RefreshTokenError> {
    let mut attempt = 0;
    let cause = loop {
        let save_store = Arc::clone(store);
        let save_document = document.clone();
        let err = match run_blocking(move || save_store.save(&save_document)).await {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        match SAVE_RETRY_DELAYS.get(attempt) {
            Some(delay) => {
                tracing::warn!("could not save the refreshed login, retrying: {err}");
                tokio::time::sleep(*delay).await;
                attempt += 1;
            }
            None => break err,
        }
    };
    tracing::error!("could not save the refreshed login: {cause}");
    let rotated = document
        .tokens
        .as_ref()
        .is_some_and(|tokens| tokens.refresh_token != *refresh_token);
    let guard = if !rotated {
        SpentTokenGuard::NotRotated
    } else if matches!(source, CredentialSource::Ephemeral) {
        // Nothing outside this process holds the in-memory login.
        SpentTokenGuard::Recorded
    } else {
        protect_spent_token(store, codex_home, refresh_token).await
    };
    Err(RefreshTokenError::Guard(GuardError::NotSaved(
        RefreshNotSaved {
            cause: cause.to_string(),
            guard,
        },
    )))
}

async fn protect_spent_token(
    store: &SharedAuthStorage,
    codex_home: &Path,
    refresh_token: &SecretString,
) -> SpentTokenGuard {
    let record = RecordedFailure::OutcomeUnknown(not_saved_message(
        "an earlier save failed",
        SpentTokenGuard::Recorded,
    ));
    let home = codex_home.to_path_buf();
    let token = refresh_token.clone();
    let recorded = run_blocking(move || record_failure(&home, &token, &record)).await;
    match recorded {
        Ok(()) => return SpentTokenGuard::Recorded,
        Err(err) => tracing::error!("could not record the spent refresh token: {err}"),
    }
    let store = Arc::clone(store);
    let token = refresh_token.clone();
    match run_blocking(move || blank_refresh_token_in_place(&store, &token)).await {
        Ok(()) => SpentTokenGuard::Removed,
        Err(err) => {
            tracing::error!("could not remove the spent refresh token from the store: {err}");
            SpentTokenGuard::Unprotected
        }
    }
}

/// Rewrites the stored file in place with its refresh token blanked, if it still holds
/// `spent`. The new contents are shorter than the old, so the file only shrinks: no new space
/// is needed, which is the point on a full disk.
fn blank_refresh_token_in_place(
    store: &SharedAuthStorage,
    spent: &SecretString,
) -> Result<(), StorageError> {
    let unsupported = |reason: &str| StorageError::Io {
        action: "blank the spent refresh token in",
        path: PathBuf::from("auth.json"),
        source: std::io::Error::other(reason.to_owned()),
    };
    let Some(loaded) = store.load_with_location()? else {
        return Err(unsupported("nothing is stored"));
    };
    let StoreLocation::File(path) = loaded.location else {
        return Err(unsupported("the store is not a file"));
    };
    let mut document = loaded.document;
    match document.tokens.as_mut() {
        Some(tokens) if tokens.refresh_token == *spent => {
            tokens.refresh_token = SecretString::new(String::new());
        }
        _ => return Ok(()),
    }
    let bytes = document.to_pretty_json().into_bytes();
    let io_err = |source: std::io::Error| StorageError::Io {
        action: "rewrite in place",
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(io_err)?;
    let current = file.metadata().map_err(io_err)?.len();
    let new_len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if new_len > current {
        return Err(unsupported("the rewritten file would be larger"));
    }
    file.write_all(&bytes).map_err(io_err)?;
    file.set_len(new_len).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}
