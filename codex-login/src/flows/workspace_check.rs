//! The login-time check that new tokens belong to an allowed ChatGPT workspace.

use super::login_claims::LoginClaims;

/// New tokens do not belong to a workspace the configuration allows; nothing is persisted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceRestrictionError {
    /// The id token carries no `chatgpt_account_id`.
    #[error(
        "Login is restricted to a specific workspace, but the token did not include an chatgpt_account_id claim."
    )]
    MissingAccountClaim,
    /// The id token's workspace is not in the allowed list.
    #[error("Login is restricted to workspace id(s) {}.", .allowed.join(", "))]
    NotAllowed {
        /// The configured workspace ids.
        allowed: Vec<String>,
        /// The workspace the tokens belong to.
        actual: String,
    },
}

/// Passes when no workspace is forced or the token's workspace is one of `allowed`.
pub(crate) fn check_login_workspace(
    allowed: &[String],
    claims: &LoginClaims,
) -> Result<(), WorkspaceRestrictionError> {
    if allowed.is_empty() {
        return Ok(());
    }
    match &claims.chatgpt_account_id {
        None => Err(WorkspaceRestrictionError::MissingAccountClaim),
        Some(actual) if allowed.iter().any(|id| id == actual) => Ok(()),
        Some(actual) => Err(WorkspaceRestrictionError::NotAllowed {
            allowed: allowed.to_vec(),
            actual: actual.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(account: Option<&str>) -> LoginClaims {
        LoginClaims {
            chatgpt_account_id: account.map(str::to_owned),
            ..LoginClaims::default()
        }
    }

    #[test]
    fn no_restriction_passes_anything() {
        assert_eq!(check_login_workspace(&[], &claims(None)), Ok(()));
    }

    #[test]
    fn mismatch_and_missing_use_upstream_messages() {
        let allowed = vec!["ws-a".to_owned(), "ws-b".to_owned()];
        assert_eq!(
            check_login_workspace(&allowed, &claims(Some("ws-b"))),
            Ok(())
        );
        assert_eq!(
            check_login_workspace(&allowed, &claims(Some("ws-z")))
                .unwrap_err()
                .to_string(),
            "Login is restricted to workspace id(s) ws-a, ws-b."
        );
        assert_eq!(
            check_login_workspace(&allowed, &claims(None)).unwrap_err(),
            WorkspaceRestrictionError::MissingAccountClaim
        );
    }
}
