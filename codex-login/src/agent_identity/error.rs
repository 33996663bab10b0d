//! Why an agent identity could not be made ready for requests.

use super::workspace::AgentWorkspaceError;
use codex_agent_identity::{AgentIdentityRecordError, JwtError, RegistrationError};

/// Why verifying, registering or storing an agent identity failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentIdentityError {
    /// The agent identity JWT failed verification (or the JWKS could not be fetched).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The identity belongs to a workspace the configuration does not allow.
    #[error(transparent)]
    Workspace(#[from] AgentWorkspaceError),
    /// Registering the agent or its run task failed.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// The identity's key or ids cannot be used.
    #[error(transparent)]
    Record(#[from] AgentIdentityRecordError),
    /// The verified JWT describes another runtime than the loaded identity.
    #[error(
        "the verified agent identity JWT is for runtime {verified}, but the loaded identity is {loaded}"
    )]
    RuntimeMismatch {
        /// The runtime the verified claims name.
        verified: String,
        /// The runtime of the loaded identity.
        loaded: String,
    },
    /// Reading or writing the stored credentials failed.
    #[error("could not update the stored agent identity: {0}")]
    Storage(String),
    /// The HTTP client or an endpoint is misconfigured.
    #[error("agent identity is misconfigured: {0}")]
    Config(String),
}

impl AgentIdentityError {
    /// What kind of failure this is.
    pub fn kind(&self) -> codex_auth_provider::AuthErrorKind {
        use codex_auth_provider::AuthErrorKind;
        match self {
            _ if self.requires_new_login() => AuthErrorKind::NeedsLogin,
            Self::Storage(_) => AuthErrorKind::Storage,
            Self::Config(_) => AuthErrorKind::Config,
            _ => AuthErrorKind::Transient,
        }
    }

    /// Whether the identity itself was refused (bad or expired JWT, foreign
    /// workspace, refused registration, unusable key), so a new login is needed.
    pub fn requires_new_login(&self) -> bool {
        match self {
            Self::Jwt(err) => !matches!(err, JwtError::JwksUnavailable(_) | JwtError::Endpoint(_)),
            Self::Workspace(_) | Self::Record(_) | Self::RuntimeMismatch { .. } => true,
            Self::Registration(err) => matches!(
                err,
                RegistrationError::Rejected { .. } | RegistrationError::InvalidAccessToken
            ),
            Self::Storage(_) | Self::Config(_) => false,
        }
    }

    /// Whether registration retries ran out (a ChatGPT login may then fall back to Bearer).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Registration(err) if err.is_unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_agent_identity::RegistrationOperation;

    #[test]
    fn classification() {
        assert!(AgentIdentityError::Jwt(JwtError::Expired).requires_new_login());
        assert!(
            !AgentIdentityError::Jwt(JwtError::JwksUnavailable("x".into())).requires_new_login()
        );
        let unavailable = AgentIdentityError::Registration(RegistrationError::Unavailable {
            operation: RegistrationOperation::RegisterTask,
            attempts: 3,
            message: "HTTP 503".into(),
        });
        assert!(unavailable.is_unavailable() && !unavailable.requires_new_login());
        let refused = AgentIdentityError::Registration(RegistrationError::Rejected {
            operation: RegistrationOperation::RegisterAgent,
            status: 403,
            body: "no".into(),
        });
        assert!(refused.requires_new_login() && !refused.is_unavailable());
    }
}
