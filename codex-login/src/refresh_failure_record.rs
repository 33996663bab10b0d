//! The record, beside `auth.json`, of the refresh tokens no process may send again: their
//! refresh was refused for good, or it was sent and no answer came back (the issuer may have
//! rotated it already, and replaying it would look like theft and revoke the whole token
//! family). [`crate::auth_manager::AuthManager`] checks it under `auth.json.lock` before spending the stored
//! refresh token, so such a token is sent at most once across all processes. A token is
//! named only by its SHA-256 fingerprint. The file keeps the most recent
//! [`MAX_RECORDS`] entries (`{"records": [...]}`), so a failure in one profile never erases
//! another profile's record; an older single-record file is still read.

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
const MAX_RECORD_LEN: u64 = 64 * 1024;
/// How many tokens the file remembers (the oldest is dropped first).
pub(crate) const MAX_RECORDS: usize = 32;

/// A failure the record keeps for a token (the refresh error it stands for is
/// built by `AuthManager`; its text is the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordedFailure {
    /// The refresh was refused for good; the user must sign in again.
    #[error("{message}")]
    Permanent {
        /// Why.
        reason: RefreshFailureReason,
        /// The message to show.
        message: String,
    },
    /// The request was sent and no answer came back (or the answer was not saved).
    #[error("{0}")]
    OutcomeUnknown(String),
}

/// The path of the record for `codex_home`.
pub(crate) fn refresh_failure_path(codex_home: &Path) -> PathBuf {
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
) -> Option<RecordedFailure> {
    let wanted = fingerprint(refresh_token);
    let records = read_records(codex_home);
    let record = records.iter().rev().find(|record| {
        record.get("refresh_token_sha256").and_then(Value::as_str) == Some(wanted.as_str())
    })?;
    match record.get("outcome")?.as_str()? {
        "unknown" => Some(RecordedFailure::OutcomeUnknown(
            record
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or(REFRESH_OUTCOME_UNKNOWN_MESSAGE)
                .to_owned(),
        )),
        name => reason_from_name(name).map(|reason| RecordedFailure::Permanent {
            reason,
            message: reason.user_message().to_owned(),
        }),
    }
}

/// Records that `refresh_token` must not be sent again because of `failure`, replacing any
/// earlier record (written atomically, `0600`). Which refresh errors are recorded (permanent
/// refusals, unknown outcomes, answers a guard refused to save) is decided by
/// `RefreshTokenError::to_record`.
pub(crate) fn record_failure(
    codex_home: &Path,
    refresh_token: &SecretString,
    failure: &RecordedFailure,
) -> Result<(), StorageError> {
    let (outcome, message) = match failure {
        RecordedFailure::OutcomeUnknown(message) => ("unknown", message.clone()),
        RecordedFailure::Permanent { reason, message } => (reason_name(*reason), message.clone()),
    };
    let record = json!({
        "refresh_token_sha256": fingerprint(refresh_token),
        "outcome": outcome,
        "message": message,
        "recorded_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let wanted = fingerprint(refresh_token);
    let mut records: Vec<Value> = read_records(codex_home)
        .into_iter()
        .filter(|old| old.get("refresh_token_sha256").and_then(Value::as_str) != Some(&wanted))
        .collect();
    records.push(record);
    let excess = records.len().saturating_sub(MAX_RECORDS);
    records.drain(..excess);
    write_file_atomically(
        &refresh_failure_path(codex_home),
        json!({ "records": records }).to_string().as_bytes(),
    )
}

/// Every record in the file (a single old-style record counts as one); none when the file
/// is missing, unreadable or not ours.
fn read_records(codex_home: &Path) -> Vec<Value> {
    let path = refresh_failure_path(codex_home);
    let Ok(bytes) = crate::bounded_file::read_regular_file(&path, MAX_RECORD_LEN) else {
        return Vec::new();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut file)) => match file.remove("records") {
            Some(Value::Array(records)) => records,
            Some(_) => Vec::new(),
            None => vec![Value::Object(file)],
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent() -> RecordedFailure {
        RecordedFailure::Permanent {
            reason: RefreshFailureReason::Revoked,
            message: RefreshFailureReason::Revoked.user_message().to_owned(),
        }
    }

    #[test]
    fn a_second_token_recorded_keeps_the_first_one_s_record() {
        let home = tempfile::tempdir().expect("tempdir");
        let first = SecretString::new("rt-profile-a-0000000001");
        let second = SecretString::new("rt-profile-b-0000000002");
        record_failure(
            home.path(),
            &first,
            &RecordedFailure::OutcomeUnknown("lost".to_owned()),
        )
        .expect("record a");
        record_failure(home.path(), &second, &permanent()).expect("record b");
        assert!(matches!(
            recorded_failure(home.path(), &first),
            Some(RecordedFailure::OutcomeUnknown(_))
        ));
        assert!(matches!(
            recorded_failure(home.path(), &second),
            Some(RecordedFailure::Permanent { .. })
        ));
        let other = SecretString::new("rt-never-recorded-000003");
        assert!(recorded_failure(home.path(), &other).is_none());
    }

    #[test]
    fn the_file_keeps_only_the_newest_records_and_reads_the_old_shape() {
        let home = tempfile::tempdir().expect("tempdir");
        let old = SecretString::new("rt-old-shape-00000000000");
        std::fs::write(
            refresh_failure_path(home.path()),
            json!({"refresh_token_sha256": fingerprint(&old), "outcome": "revoked"}).to_string(),
        )
        .expect("write old shape");
        assert!(recorded_failure(home.path(), &old).is_some());
        for n in 0..MAX_RECORDS {
            let token = SecretString::new(format!("rt-filler-{n:016}"));
            record_failure(home.path(), &token, &permanent()).expect("record");
        }
        assert!(
            recorded_failure(home.path(), &old).is_none(),
            "oldest dropped"
        );
        let newest = SecretString::new(format!("rt-filler-{:016}", MAX_RECORDS - 1));
        assert!(recorded_failure(home.path(), &newest).is_some());
    }
}
