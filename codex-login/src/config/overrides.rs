//! `-c key=value` overrides.

use super::ConfigError;

/// Most dotted parts a `-c` key may have (nesting deeper than this could only exhaust the stack).
pub const MAX_OVERRIDE_KEY_PARTS: usize = 64;

/// Parses `key=value` (dotted keys allowed) into a one-entry table. The value
/// is read as TOML when it parses, otherwise as a plain string.
pub fn parse_override(raw: &str) -> Result<toml::Table, ConfigError> {
    let (key, value) = raw.split_once('=').ok_or_else(|| ConfigError::Override {
        raw: raw.to_owned(),
    })?;
    let key = key.trim();
    let parts = key.split('.').count();
    if parts > MAX_OVERRIDE_KEY_PARTS {
        return Err(ConfigError::OverrideTooDeep { parts });
    }
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(ConfigError::Override {
            raw: raw.to_owned(),
        });
    }
    let value = value.trim();
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let mut current = parsed;
    while let Some(last) = parts.pop() {
        let mut table = toml::Table::new();
        table.insert(last.to_owned(), current);
        if parts.is_empty() {
            return Ok(table);
        }
        current = toml::Value::Table(table);
    }
    Err(ConfigError::Override {
        raw: raw.to_owned(),
    })
}
