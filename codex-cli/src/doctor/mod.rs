//! `codex doctor [--json] [--offline]`: what the auth stack would do here and
//! what stands in its way.
//!
//! The JSON envelope follows the official binary's `codex doctor --json`
//! (`schemaVersion`, `generatedAt`, `overallStatus`, `codexVersion`, `checks`
//! keyed by id, each with `id`, `category`, `status`, `summary`, `details`,
//! `remediation`, `durationMs`) and reuses its ids where the check is the same
//! (`config.load`, `auth.credentials`, `network.env`); the other checks go
//! deeper on credentials, proxies, CA, keyring, callback ports and clock.
//! Exit 0 only when every check is `ok`.

mod auth;
mod config;
mod network;
mod reach;

use crate::cli::DoctorArgs;
use crate::{exit, logging, term};
use codex_login::environment::process_env;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The version of the JSON envelope (the official binary's is 1 too).
const SCHEMA_VERSION: u32 = 1;

/// How a check came out, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warning,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Fail => "fail",
        }
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: &'static str,
    pub category: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: BTreeMap<String, String>,
    /// The one-line next step; `None` when there is nothing to do.
    pub remediation: Option<String>,
    pub duration_ms: u128,
}

impl Check {
    /// A check with no details yet.
    pub fn new(id: &'static str, category: &'static str, status: Status, summary: &str) -> Self {
        Self {
            id,
            category,
            status,
            summary: summary.to_owned(),
            details: BTreeMap::new(),
            remediation: None,
            duration_ms: 0,
        }
    }

    /// Adds a detail line.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Sets the next step.
    pub fn next(mut self, step: impl Into<String>) -> Self {
        self.remediation = Some(step.into());
        self
    }

    /// Raises the status to `status` if that is worse, with its next step
    /// (the first problem's next step is kept).
    pub fn worsen(&mut self, status: Status, summary: String, step: String) {
        if status > self.status {
            self.status = status;
            self.summary = summary;
            self.remediation = Some(step);
        }
    }
}

/// Times `check`.
fn timed(check: impl FnOnce() -> Check) -> Check {
    let started = Instant::now();
    let mut done = check();
    done.duration_ms = started.elapsed().as_millis();
    done
}

/// Runs `codex doctor`.
pub fn run(overrides: &[String], args: &DoctorArgs) -> u8 {
    logging::init_stderr();
    let env = &process_env;
    let mut checks = Vec::new();
    let config = config::load(overrides, env);
    checks.push(config.check.clone());
    if let Some(loaded) = &config.config {
        checks.push(timed(|| auth::credentials(loaded, env)));
        checks.push(timed(|| auth::keyring(loaded)));
    }
    let proxies = network::Proxies::from_env(env);
    if let Some(loaded) = &config.config {
        checks.push(timed(|| network::proxy_check(&proxies, loaded)));
    }
    let (ca_check, factory) = network::ca(env);
    checks.push(ca_check);
    checks.push(timed(|| network::callback_ports(env)));
    if !args.offline
        && let Some(loaded) = &config.config
    {
        checks.extend(reach::reachability(loaded, factory, &proxies));
    }
    let overall = checks
        .iter()
        .map(|check| check.status)
        .max()
        .unwrap_or(Status::Ok);
    if args.json {
        term::print_stdout(&format!("{}\n", envelope(&checks, overall)));
    } else {
        term::print_stdout(&render_text(&checks, overall));
    }
    if overall == Status::Ok {
        exit::OK
    } else {
        exit::FAILURE
    }
}

fn envelope(checks: &[Check], overall: Status) -> Value {
    let generated = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let mut by_id = Map::new();
    for check in checks {
        by_id.insert(
            check.id.to_owned(),
            json!({
                "id": check.id,
                "category": check.category,
                "status": check.status.as_str(),
                "summary": check.summary,
                "details": check.details,
                "remediation": check.remediation,
                "durationMs": check.duration_ms,
            }),
        );
    }
    json!({
        "schemaVersion": SCHEMA_VERSION,
        // The official binary's format for this field.
        "generatedAt": format!("{generated}s since unix epoch"),
        "overallStatus": overall.as_str(),
        "codexVersion": env!("CARGO_PKG_VERSION"),
        "checks": by_id,
    })
}

fn render_text(checks: &[Check], overall: Status) -> String {
    let mut text = String::new();
    for check in checks {
        text.push_str(&format!(
            "[{}] {}: {}\n",
            check.status.as_str(),
            check.id,
            check.summary
        ));
        for (key, value) in &check.details {
            text.push_str(&format!("      {key}: {value}\n"));
        }
        if let Some(step) = &check.remediation {
            text.push_str(&format!("      next: {step}\n"));
        }
    }
    text.push_str(&format!("overall: {}\n", overall.as_str()));
    text
}
