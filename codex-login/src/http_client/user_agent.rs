//! The `originator` and `User-Agent` values every request carries.

use super::{DEFAULT_ORIGINATOR, DEFAULT_ORIGINATOR_OVERRIDE, ORIGINATOR_OVERRIDE_ENV_VAR};
use crate::environment::EnvLookup;
use http::HeaderValue;
use std::sync::OnceLock;

/// Why [`set_default_originator`] refused a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginatorError {
    /// The default originator was already set in this process.
    #[error("the default originator is already set")]
    AlreadySet,
    /// The value cannot be sent as a header value.
    #[error("the originator {0:?} is not a valid header value")]
    InvalidValue(String),
}

/// Sets, once per process, the originator used when
/// `CODEX_INTERNAL_ORIGINATOR_OVERRIDE` is not set.
pub fn set_default_originator(value: &str) -> Result<(), OriginatorError> {
    if HeaderValue::from_str(value).is_err() || value.is_empty() {
        return Err(OriginatorError::InvalidValue(value.to_owned()));
    }
    DEFAULT_ORIGINATOR_OVERRIDE
        .set(value.to_owned())
        .map_err(|_| OriginatorError::AlreadySet)
}

/// The originator for this process: the env override when it is a valid
/// header value, else the value set by [`set_default_originator`], else
/// `codex_cli_rs`.
pub fn originator(env: EnvLookup<'_>) -> String {
    if let Some(value) = env(ORIGINATOR_OVERRIDE_ENV_VAR) {
        if !value.is_empty() && HeaderValue::from_str(&value).is_ok() {
            return value;
        }
        tracing::warn!(
            "ignoring {ORIGINATOR_OVERRIDE_ENV_VAR}: it is not a valid header value; using the default"
        );
    }
    DEFAULT_ORIGINATOR_OVERRIDE
        .get()
        .cloned()
        .unwrap_or_else(|| DEFAULT_ORIGINATOR.to_owned())
}

/// Whether `originator` is one of the first-party Codex clients.
pub fn is_first_party_originator(originator: &str) -> bool {
    matches!(originator, "codex_cli_rs" | "codex-tui" | "codex_vscode")
        || originator.starts_with("Codex ")
}

/// Whether `originator` is one of the first-party ChatGPT apps.
pub fn is_first_party_chat_originator(originator: &str) -> bool {
    matches!(originator, "codex_atlas" | "codex_chatgpt_desktop")
}

/// The `User-Agent` value:
/// `<originator>/<version> (<os> <os version>; <arch>) <terminal>[ (<suffix>)]`.
///
/// Characters that cannot appear in a header value become `_`.
pub fn user_agent(env: EnvLookup<'_>, originator: &str, suffix: Option<&str>) -> String {
    let (os_type, os_version) = os_description();
    let prefix = format!(
        "{originator}/{} ({os_type} {os_version}; {}) {}",
        env!("CARGO_PKG_VERSION"),
        architecture(),
        terminal_token(env)
    );
    let full = match suffix.map(str::trim).filter(|s| !s.is_empty()) {
        Some(suffix) => format!("{prefix} ({suffix})"),
        None => prefix.clone(),
    };
    let sanitized = sanitize_header_text(&full);
    if HeaderValue::from_str(&sanitized).is_ok() {
        return sanitized;
    }
    let prefix = sanitize_header_text(&prefix);
    if HeaderValue::from_str(&prefix).is_ok() {
        return prefix;
    }
    originator.to_owned()
}

pub(super) fn sanitize_header_text(text: &str) -> String {
    text.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '_' })
        .collect()
}

pub(super) fn os_description() -> (String, String) {
    static OS: OnceLock<(String, String)> = OnceLock::new();
    OS.get_or_init(|| {
        os_release_description().unwrap_or_else(|| {
            let info = os_info::get();
            (info.os_type().to_string(), info.version().to_string())
        })
    })
    .clone()
}

/// The OS part from `/etc/os-release` on Debian and Ubuntu, where it is what
/// `lsb_release` reports. `os_info::get` runs `lsb_release -a` first, a shell
/// script that starts a dozen processes (several milliseconds, more than a
/// loopback request); reading the file gives the same text, formatted by
/// `os_info`'s own types. Anything else (or a missing `VERSION_ID`) is left
/// to `os_info`.
#[cfg(target_os = "linux")]
fn os_release_description() -> Option<(String, String)> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    os_release_fields(&text, std::path::Path::new("/etc/rpi-issue").exists())
}

#[cfg(not(target_os = "linux"))]
fn os_release_description() -> Option<(String, String)> {
    None
}

/// The `(type, version)` for an os-release text, when the distribution is one
/// whose `lsb_release` reports the same (not Raspberry Pi OS, which os_info
/// tells apart by `/etc/rpi-issue`).
pub(super) fn os_release_fields(text: &str, rpi_issue: bool) -> Option<(String, String)> {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            line.trim()
                .strip_prefix(key)?
                .strip_prefix('=')
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').trim())
        })
    };
    let os_type = match value("ID")? {
        "debian" if !rpi_issue => os_info::Type::Debian,
        "ubuntu" => os_info::Type::Ubuntu,
        _ => return None,
    };
    let version = value("VERSION_ID").filter(|v| !v.is_empty())?;
    Some((
        os_type.to_string(),
        os_info::Version::from_string(version).to_string(),
    ))
}

pub(super) fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" if cfg!(target_os = "macos") => "arm64",
        "" => "unknown",
        arch => arch,
    }
}

/// A single token (no spaces) naming the terminal, from the usual variables.
pub(super) fn terminal_token(env: EnvLookup<'_>) -> String {
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let with_version = |name: &str, version: Option<String>| match version {
        Some(version) => format!("{name}/{version}"),
        None => name.to_owned(),
    };
    let raw = if let Some(program) = non_empty("TERM_PROGRAM") {
        with_version(&program, non_empty("TERM_PROGRAM_VERSION"))
    } else if let Some(version) = non_empty("WEZTERM_VERSION") {
        with_version("WezTerm", Some(version))
    } else if non_empty("KITTY_WINDOW_ID").is_some() {
        "kitty".to_owned()
    } else if non_empty("ALACRITTY_SOCKET").is_some() || non_empty("ALACRITTY_LOG").is_some() {
        "Alacritty".to_owned()
    } else if let Some(version) = non_empty("KONSOLE_VERSION") {
        with_version("Konsole", Some(version))
    } else if let Some(version) = non_empty("VTE_VERSION") {
        with_version("VTE", Some(version))
    } else if non_empty("WT_SESSION").is_some() {
        "WindowsTerminal".to_owned()
    } else if let Some(term) = non_empty("TERM") {
        term
    } else {
        "unknown".to_owned()
    };
    raw.trim()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '(' && c != ')' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
