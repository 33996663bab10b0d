//! Fault injection for reliability tests: delays, status overrides, dropped connections.

use serde::{Deserialize, Serialize};

/// Faults to inject into the next requests (`POST /_emulator/faults` takes the same JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Every refresh grant waits this long before it is processed.
    pub refresh_delay_ms: u64,
    /// The next N successful refreshes rotate the token, then drop the connection unanswered.
    pub drop_connection_after_refresh: u32,
    /// Canned responses for requests whose path starts with a prefix.
    pub status_overrides: Vec<StatusOverride>,
    /// When set, `/oauth/authorize` answers `error=access_denied` with this description
    /// (e.g. `missing_codex_entitlement`).
    pub deny_authorize: Option<String>,
    /// The personal access token whoami route waits this long before answering (issue 19).
    pub whoami_delay_ms: u64,
    /// Every workload identity (jwt-bearer) exchange waits this long before it is processed.
    pub federation_delay_ms: u64,
    /// Successful workload identity exchanges answer with a body padded past 1 MiB.
    pub federation_oversize_response: bool,
}

/// Answer requests under `path_prefix` with `status` and `body` instead of the real handler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusOverride {
    /// Path prefix such as `/oauth/token` or `/backend-api/wham/usage` (admin routes never match).
    pub path_prefix: String,
    /// HTTP status to answer with.
    pub status: u16,
    /// Response body; sent as JSON when it parses as JSON, else as plain text.
    pub body: String,
    /// How many requests to override; `0` means every request until the faults are replaced.
    pub times: u32,
}

impl Faults {
    /// Takes the first override matching `path`, consuming one of its `times`.
    pub(crate) fn take_override(&mut self, path: &str) -> Option<(u16, String)> {
        let index = self
            .status_overrides
            .iter()
            .position(|o| path.starts_with(&o.path_prefix))?;
        let entry = self.status_overrides.get_mut(index)?;
        let answer = (entry.status, entry.body.clone());
        match entry.times {
            0 => {}
            1 => {
                self.status_overrides.remove(index);
            }
            _ => entry.times -= 1,
        }
        Some(answer)
    }

    /// Consumes one "drop the connection after this refresh" token, if any is left.
    pub(crate) fn take_refresh_drop(&mut self) -> bool {
        if self.drop_connection_after_refresh == 0 {
            return false;
        }
        self.drop_connection_after_refresh -= 1;
        true
    }
}
