//! The record, beside `auth.json`, of the one refresh token no process may send again: its
//! refresh was refused for good, or it was sent and no answer came back (the issuer may have
//! rotated it already, and replaying it would look like theft and revoke the whole token
//! family). [`crate::AuthManager`] checks it under `auth.json.lock` before spending the stored
//! refresh token, so such a token is sent at most once across all processes. The token is
//! named only by its SHA-256 fingerprint.

use crate::auth_manager::RefreshTokenError;
use crate::refresh::{REFRESH_OUTCOME_UNKNOWN_MESSAGE, RefreshFailureReason};
use crate::storage::{StorageError, write_file_atomically};
use chrono::{SecondsFormat, Utc};
use codex_auth_provider::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The record's file name in `CODEX_HOME`.
pub const REFRESH_FAILURE_FILE_NAME: &str = "auth.json.refresh-failure";

/// Records larger than this are not ours and are ignored.
const MAX_RECORD_LEN: u64 = 16 * 1024;

/// The path of the record for `codex_home`.
pub fn refresh_failure_path(codex_home: &Path) -> PathBuf {
    codex_home.join(REFRESH_FAILURE_FILE_NAME)
}

fn fingerprint(refresh_token: &SecretString) -> String {
    hex::encode(Sha256::digest(refresh_token.expose().as_bytes()))
}

fn reason_name(reason: RefreshFailureReason) -> &'static str {
    match reason {
        RefreshFailureReason::Expired => "expired",
        RefreshFailureReason::Exhausted => "reused",
        RefreshFailureReason::Revoked => "revoked",
        RefreshFailureReason::Other => "refused",
    }
}

fn reason_from_name(name: &str) -> Option<RefreshFailureReason> {
    match name {
        "expired" => Some(RefreshFailureReason::Expired),
        "reused" => Some(RefreshFailureReason::Exhausted),
        "revoked" => Some(RefreshFailureReason::Revoked),
        "refused" => Some(RefreshFailureReason::Other),
        _ => None,
    }
}

/// The failure recorded for `refresh_token`, if the record names exactly that token. A
/// missing, unreadable or foreign record counts as none.
pub fn recorded_failure(
    codex_home: &Path,
    refresh_token: &SecretString,
) -> Option<RefreshTokenError> {
    let path = refresh_failure_path(codex_home);
    let bytes = crate::bounded_file::read_regular_file(&path, MAX_RECORD_LEN).ok()?;
    let record: Value = serde_json::from_slice(&bytes).ok()?;
    if record.get("refresh_token_sha256")?.as_str()? != fingerprint(refresh_token) {
        return None;
    }
    match record.get("outcome")?.as_str()? {
        "unknown" => Some(RefreshTokenError::OutcomeUnknown(
            record
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or(REFRESH_OUTCOME_UNKNOWN_MESSAGE)
                .to_owned(),
        )),
        name => reason_from_name(name).map(|reason| RefreshTokenError::Permanent {
            reason,
            message: reason.user_message().to_owned(),
        }),
    }
}

/// Records that `refresh_token` must not be sent again because of `error`, replacing any
/// earlier record (written atomically, `0600`). Only permanent refusals, unknown outcomes and
/// answers a guard refused to save (recorded as unknown outcomes) are recorded; other errors
/// leave the record alone.
pub fn record_failure(
    codex_home: &Path,
    refresh_token: &SecretString,
    error: &RefreshTokenError,
) -> Result<(), StorageError> {
    let (outcome, message) = match error {
        RefreshTokenError::OutcomeUnknown(message) => ("unknown", message.clone()),
        RefreshTokenError::Permanent { reason, message } => (reason_name(*reason), message.clone()),
        // The issuer answered with tokens that were not saved: the token may be spent.
        RefreshTokenError::Guard(guard) => ("unknown", guard.to_string()),
        _ => return Ok(()),
    };
    let record = json!({
        "refresh_token_sha256": fingerprint(refresh_token),
        "outcome": outcome,
        "message": message,
        "recorded_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    write_file_atomically(
        &refresh_failure_path(codex_home),
        record.to_string().as_bytes(),
    )
}
