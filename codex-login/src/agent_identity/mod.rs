//! Agent identity auth in `codex-login`: which endpoints verify and register
//! identities, the workspace rule for identities, the errors of the agent
//! identity paths, and the `use_agent_identity` opt-in for a managed ChatGPT
//! login.
//!
//! Where things happen:
//! - `login --with-access-token` verifies the JWT against the JWKS, checks the
//!   workspace, and stores only the JWT
//!   ([`crate::flows::login_with_access_token`]);
//! - loading an agent identity (stored JWT, stored record, or
//!   `CODEX_ACCESS_TOKEN`) registers its run task in
//!   [`crate::auth_manager::AuthManager::try_auth`], never in a constructor;
//! - with `use_agent_identity`, a managed ChatGPT login gets an identity bound
//!   to its account and user, stored beside the tokens.

mod chatgpt_opt_in;
mod error;
mod options;
mod run_task;
mod workspace;

pub use crate::endpoints::{
    AUTHAPI_BASE_URL_ENV_VAR, AgentIdentityEndpoints, JWKS_BASE_URL_ENV_VAR,
    authapi_base_url_for_issuer, jwks_base_url_for_chatgpt,
};
pub(crate) use chatgpt_opt_in::{
    BootstrapContext, BootstrapOutcome, bootstrap_chatgpt_identity, replace_chatgpt_run_task,
};
pub use error::AgentIdentityError;
pub use options::{AGENT_VERSION, AgentIdentityOptions, DEFAULT_SESSION_SOURCE};
pub(crate) use run_task::{VerifiedIdentity, register_run_task, verify_identity};
pub use workspace::{AgentWorkspaceError, check_agent_workspace};
