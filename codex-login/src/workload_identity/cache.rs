//! The current federated token: in memory for this process and, beyond the official CLI, in
//! `$CODEX_HOME/workload-identity.json` (0600, written only under `auth.json.lock`) so that
//! processes on one machine share one exchange per expiry.

use std::io::Write as _;
use std::path::Path;

use codex_auth_provider::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::exchange::{ExchangeAnswer, FederatedIdentity};

/// The version of the cache file's schema.
const SCHEMA_VERSION: u32 = 2;
/// Refresh this long before expiry at most (and at most half the lifetime).
pub(super) const MAX_REFRESH_LEAD_MS: i64 = 120_000;
/// After a transient failure with a still-valid token, try again this much later.
pub(super) const TRANSIENT_RETRY_MS: i64 = 30_000;

/// Milliseconds since the Unix epoch, now.
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A token and when to replace it.
#[derive(Debug, Clone)]
pub(super) struct CachedToken {
    /// The validated answer.
    pub answer: ExchangeAnswer,
    /// When the token expires (ms since the epoch).
    pub expires_at_ms: i64,
    /// When to exchange again: `t0 + L - min(120 s, L/2)`.
    pub refresh_at_ms: i64,
    /// This process's generation number of the token (for 401 recovery).
    pub generation: u64,
}

impl CachedToken {
    /// Timing for an answer to a request sent at `sent_at_ms`.
    pub(super) fn new(answer: ExchangeAnswer, sent_at_ms: i64) -> Self {
        let lifetime_ms = i64::try_from(answer.expires_in)
            .unwrap_or(3600)
            .saturating_mul(1000);
        let lead = MAX_REFRESH_LEAD_MS.min(lifetime_ms / 2);
        Self {
            answer,
            expires_at_ms: sent_at_ms + lifetime_ms,
            refresh_at_ms: sent_at_ms + lifetime_ms - lead,
            generation: 0,
        }
    }
}

/// The hex SHA-256 of a token (what is compared; never the token itself).
pub(super) fn token_hash(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose().as_bytes()))
}

/// The cache file (no `Debug`: it holds a token).
#[derive(Serialize, Deserialize)]
struct CacheFile {
    schema_version: u32,
    /// Which setup the token is for (rule, token URL, source, context), hashed.
    fingerprint: String,
    /// The hash of the assertion the token was exchanged for: another process adopts the
    /// token only when its own current assertion is the same one.
    subject_hash: String,
    access_token: String,
    expires_in: u64,
    expires_at_ms: i64,
    refresh_at_ms: i64,
    identity: FederatedIdentity,
    plan_type: Option<String>,
}

/// The cached token for `fingerprint` exchanged for the assertion hashed as `subject_hash`, if
/// the file holds one (anything unreadable is ignored: the caller exchanges and rewrites it).
pub(super) fn load(path: &Path, fingerprint: &str, subject_hash: &str) -> Option<CachedToken> {
    let text = crate::bounded_file::read_regular_text_file(path, 64 * 1024).ok()?;
    let file: CacheFile = serde_json::from_str(&text).ok()?;
    if file.schema_version != SCHEMA_VERSION
        || file.fingerprint != fingerprint
        || file.subject_hash != subject_hash
    {
        return None;
    }
    Some(CachedToken {
        answer: ExchangeAnswer {
            access_token: SecretString::new(file.access_token),
            expires_in: file.expires_in,
            identity: file.identity,
            plan_type: file.plan_type,
        },
        expires_at_ms: file.expires_at_ms,
        refresh_at_ms: file.refresh_at_ms,
        generation: 0,
    })
}

/// Writes `token` (exchanged for the assertion hashed as `subject_hash`) atomically: a 0600
/// temporary file in the same directory, fsynced, renamed.
pub(super) fn store(
    path: &Path,
    fingerprint: &str,
    subject_hash: &str,
    token: &CachedToken,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the cache path has no directory"))?;
    let file = CacheFile {
        schema_version: SCHEMA_VERSION,
        fingerprint: fingerprint.to_owned(),
        subject_hash: subject_hash.to_owned(),
        access_token: token.answer.access_token.expose().to_owned(),
        expires_in: token.answer.expires_in,
        expires_at_ms: token.expires_at_ms,
        refresh_at_ms: token.refresh_at_ms,
        identity: token.answer.identity.clone(),
        plan_type: token.answer.plan_type.clone(),
    };
    let text = SecretString::new(serde_json::to_string(&file).map_err(std::io::Error::other)?);
    let mut temp = tempfile::Builder::new()
        .prefix(".workload-identity.")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temp.write_all(text.expose().as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    Ok(())
}
