//! The forced-workspace rule for agent identities, checked before any task
//! registration and before anything is written.

/// An agent identity belongs to a workspace the configuration does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentWorkspaceError {
    /// The identity names no account.
    #[error(
        "Login is restricted to workspace id(s) {}, but the agent identity has no account_id.",
        .allowed.join(", ")
    )]
    MissingAccount {
        /// The configured workspace ids.
        allowed: Vec<String>,
    },
    /// The identity's account is not one of the allowed workspaces.
    #[error(
        "Login is restricted to workspace id(s) {}, but the agent identity belongs to {actual}.",
        .allowed.join(", ")
    )]
    NotAllowed {
        /// The configured workspace ids.
        allowed: Vec<String>,
        /// The identity's account id.
        actual: String,
    },
}

/// Passes when no workspace is forced, or `account_id` is one of `allowed`.
pub fn check_agent_workspace(
    allowed: &[String],
    account_id: Option<&str>,
) -> Result<(), AgentWorkspaceError> {
    if allowed.is_empty() {
        return Ok(());
    }
    match account_id.map(str::trim).filter(|id| !id.is_empty()) {
        None => Err(AgentWorkspaceError::MissingAccount {
            allowed: allowed.to_vec(),
        }),
        Some(actual) if allowed.iter().any(|id| id == actual) => Ok(()),
        Some(actual) => Err(AgentWorkspaceError::NotAllowed {
            allowed: allowed.to_vec(),
            actual: actual.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_missing_and_foreign_workspaces() {
        let allowed = vec!["ws-a".to_owned(), "ws-b".to_owned()];
        assert_eq!(check_agent_workspace(&[], None), Ok(()));
        assert_eq!(check_agent_workspace(&allowed, Some("ws-b")), Ok(()));
        assert_eq!(
            check_agent_workspace(&allowed, Some(" ")),
            Err(AgentWorkspaceError::MissingAccount {
                allowed: allowed.clone()
            })
        );
        let err = check_agent_workspace(&allowed, Some("ws-z")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Login is restricted to workspace id(s) ws-a, ws-b, but the agent identity belongs to ws-z."
        );
    }
}
