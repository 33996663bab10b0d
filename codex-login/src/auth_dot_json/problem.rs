//! `AuthJsonProblem` and the typed field readers that report it (never quoting
//! a value).

use serde_json::{Map, Value};

/// What is wrong with an `auth.json` document. Never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthJsonProblem {
    /// Zero bytes, or only whitespace.
    #[error("it is empty")]
    Empty,
    /// Not UTF-8 text (binary junk).
    #[error("it is not UTF-8 text (binary data?)")]
    NotText,
    /// The JSON ends early, as a truncated write would leave it.
    #[error("the JSON ends unexpectedly at line {line}, column {column} (truncated?)")]
    Truncated {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Not valid JSON.
    #[error("it is not valid JSON: {message}")]
    Syntax {
        /// The parser's description, with line and column (no content).
        message: String,
    },
    /// The document or a field has the wrong JSON type.
    #[error("`{field}` must be {expected}, but it is {found}")]
    WrongType {
        /// Dotted path of the field (`.` for the document itself).
        field: String,
        /// What was expected.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A required field is missing.
    #[error("`{field}` is missing")]
    Missing {
        /// Dotted path of the field.
        field: String,
    },
    /// A field has the right type but an unusable value.
    #[error("`{field}` {problem}")]
    InvalidValue {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with the value.
        problem: String,
    },
}

pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn wrong_type(field: &str, expected: &'static str, value: &Value) -> AuthJsonProblem {
    AuthJsonProblem::WrongType {
        field: field.to_owned(),
        expected,
        found: json_type(value),
    }
}

/// Takes an optional string field; `null` counts as absent.
pub(super) fn opt_string(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, AuthJsonProblem> {
    match map.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(wrong_type(path, "a string", &other)),
    }
}

pub(super) fn opt_bool(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, AuthJsonProblem> {
    match map.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(flag)),
        Some(other) => Err(wrong_type(path, "true or false", &other)),
    }
}

pub(super) fn required_string(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, AuthJsonProblem> {
    opt_string(map, key, path)?.ok_or_else(|| AuthJsonProblem::Missing {
        field: path.to_owned(),
    })
}

pub(super) fn describe_short_text(text: &str) -> String {
    if text.is_empty() {
        "an empty string".to_owned()
    } else if text.len() <= 32 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{text:?}")
    } else {
        "an unrecognised string".to_owned()
    }
}
