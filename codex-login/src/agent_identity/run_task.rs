//! Readying an `agentIdentity` login for requests: verify its JWT against the
//! JWKS (when it came from one), then register its run task. There is no
//! Bearer to fall back to, so running out of retries is an error.

use super::error::AgentIdentityError;
use crate::codex_auth::CodexAuth;
use crate::endpoints::AgentIdentityEndpoints;
use codex_agent_identity::{
    AgentIdentityJwt, AgentKey, AgentRuntimeId, RegistrationClient, RegistrationRetryPolicy, TaskId,
};

/// An agent identity whose JWT (if any) verified and whose key parses.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedIdentity {
    /// The signing key.
    pub(crate) key: AgentKey,
    /// The runtime the key belongs to.
    pub(crate) runtime: AgentRuntimeId,
}

/// Verifies a JWT-backed identity against the JWKS under the configured base
/// (RS256, trusted `kid`, `iss`, `aud`, `exp`) and checks the claims describe
/// the loaded identity; a record-backed identity only has its key and id checked.
pub(crate) async fn verify_identity(
    auth: &CodexAuth,
    http: &reqwest::Client,
    endpoints: &AgentIdentityEndpoints,
) -> Result<VerifiedIdentity, AgentIdentityError> {
    let identity = auth.agent_identity().ok_or_else(|| {
        AgentIdentityError::Config("the credentials are not an agent identity".to_owned())
    })?;
    match &identity.jwt {
        Some(jwt) => {
            let claims =
                AgentIdentityJwt::verify(http, &endpoints.jwks_base_url, jwt.expose()).await?;
            if claims.agent_runtime_id.as_str() != identity.agent_runtime_id {
                return Err(AgentIdentityError::RuntimeMismatch {
                    verified: claims.agent_runtime_id.as_str().to_owned(),
                    loaded: identity.agent_runtime_id.clone(),
                });
            }
            let key = claims
                .key()
                .map_err(|err| AgentIdentityError::Jwt(err.into()))?;
            Ok(VerifiedIdentity {
                key,
                runtime: claims.agent_runtime_id,
            })
        }
        None => {
            let key = AgentKey::from_pkcs8_base64(identity.agent_private_key.expose())
                .map_err(|err| AgentIdentityError::Record(err.into()))?;
            let runtime = AgentRuntimeId::new(identity.agent_runtime_id.as_str())
                .map_err(|err| AgentIdentityError::Record(err.into()))?;
            Ok(VerifiedIdentity { key, runtime })
        }
    }
}

/// Registers a run task for a verified identity at the AuthAPI (signed
/// `<runtime>:<timestamp>`, no `Authorization` header), retrying per `retry`.
pub(crate) async fn register_run_task(
    verified: &VerifiedIdentity,
    http: &reqwest::Client,
    endpoints: &AgentIdentityEndpoints,
    retry: RegistrationRetryPolicy,
) -> Result<TaskId, AgentIdentityError> {
    let client =
        RegistrationClient::new(http, &endpoints.authapi_base_url)?.with_retry_policy(retry);
    Ok(client
        .register_task(&verified.key, &verified.runtime)
        .await?)
}
