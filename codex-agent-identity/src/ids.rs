//! Agent runtime and task identifiers, checked so the signed strings stay unambiguous.
//!
//! Both the task-registration signature (`<runtime>:<timestamp>`) and the
//! assertion signature (`<runtime>:<task>:<timestamp>`) join fields with `:`,
//! so an id holding `:` could make two different requests sign the same bytes.
//! Such ids are refused when they enter the program.

use std::fmt;

/// Longest identifier accepted, in bytes.
pub(crate) const MAX_ID_LEN: usize = 512;

/// Which identifier an [`IdError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdKind {
    /// An `agent_runtime_id`.
    AgentRuntime,
    /// A `task_id`.
    Task,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AgentRuntime => "agent runtime id",
            Self::Task => "task id",
        })
    }
}

/// An identifier the server sent (or a caller passed) that cannot be used safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier is empty or only whitespace.
    #[error("the {0} is empty")]
    Empty(IdKind),
    /// The identifier is longer than [`MAX_ID_LEN`] bytes.
    #[error("the {kind} is {len} bytes long; at most {MAX_ID_LEN} are accepted")]
    TooLong {
        /// Which identifier.
        kind: IdKind,
        /// Its length in bytes.
        len: usize,
    },
    /// The identifier contains `:`, which would make the signed string ambiguous.
    #[error("the {0} contains ':', which would make the signed string ambiguous")]
    Colon(IdKind),
    /// The identifier contains a character it may not hold (whitespace, control, or a URL delimiter).
    #[error("the {kind} contains a character it may not hold (at byte {position})")]
    ForbiddenCharacter {
        /// Which identifier.
        kind: IdKind,
        /// Byte offset of the first bad character.
        position: usize,
    },
}

fn check(kind: IdKind, value: &str) -> Result<(), IdError> {
    if value.trim().is_empty() {
        return Err(IdError::Empty(kind));
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            len: value.len(),
        });
    }
    if value.contains(':') {
        return Err(IdError::Colon(kind));
    }
    // The runtime id is a URL path segment; both ids travel in headers and logs.
    let forbidden = |c: char| {
        c.is_control()
            || c.is_whitespace()
            || (kind == IdKind::AgentRuntime && matches!(c, '/' | '?' | '#' | '%' | '\\'))
    };
    if let Some((position, _)) = value.char_indices().find(|(_, c)| forbidden(*c)) {
        return Err(IdError::ForbiddenCharacter { kind, position });
    }
    Ok(())
}

/// The id of a registered agent runtime (`agent_runtime_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentRuntimeId(String);

impl AgentRuntimeId {
    /// Checks and wraps a runtime id: non-empty, no `:`, no whitespace, control or URL delimiters.
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        check(IdKind::AgentRuntime, &value)?;
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentRuntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a task registered under an agent runtime (`task_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskId(String);

impl TaskId {
    /// Checks and wraps a task id: non-empty, no `:`, no whitespace or control characters.
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        check(IdKind::Task, &value)?;
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        assert_eq!(
            AgentRuntimeId::new("ar_01HZX-abc.def").unwrap().as_str(),
            "ar_01HZX-abc.def"
        );
        assert_eq!(
            TaskId::new("task/with/slash").unwrap().as_str(),
            "task/with/slash"
        );
    }

    #[test]
    fn rejects_colons_empty_and_delimiters() {
        assert_eq!(
            AgentRuntimeId::new("a:b"),
            Err(IdError::Colon(IdKind::AgentRuntime))
        );
        assert_eq!(TaskId::new("t:1"), Err(IdError::Colon(IdKind::Task)));
        assert_eq!(TaskId::new("  "), Err(IdError::Empty(IdKind::Task)));
        assert_eq!(
            AgentRuntimeId::new("a/b"),
            Err(IdError::ForbiddenCharacter {
                kind: IdKind::AgentRuntime,
                position: 1
            })
        );
        assert!(matches!(
            TaskId::new("a\nb"),
            Err(IdError::ForbiddenCharacter { .. })
        ));
        assert!(matches!(
            TaskId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
    }
}
