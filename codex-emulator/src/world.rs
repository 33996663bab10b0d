//! The emulator's mutable state: token families, codes, agents, tasks and faults.
//!
//! One `Mutex<World>` guards everything, so every check-then-update (refresh rotation, one-time
//! codes) is atomic under concurrent requests.

use std::collections::HashMap;

use serde_json::Value;

use crate::agent_keys::PublicKeyBytes;
use crate::config::SeedAccount;
use crate::faults::Faults;

/// Everything the emulator remembers between requests.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) families: HashMap<String, TokenFamily>,
    pub(crate) refresh_tokens: HashMap<String, RefreshRecord>,
    pub(crate) access_tokens: HashMap<String, AccessRecord>,
    pub(crate) id_tokens: HashMap<String, IdTokenRecord>,
    pub(crate) api_keys: HashMap<String, SeedAccount>,
    pub(crate) pending_authorizations: HashMap<String, PendingAuthorization>,
    pub(crate) authorization_codes: HashMap<String, AuthorizationCode>,
    pub(crate) device_codes: HashMap<String, DeviceCode>,
    pub(crate) agents: HashMap<String, AgentRuntime>,
    pub(crate) agent_tasks: HashMap<String, AgentTask>,
    pub(crate) backend_tasks: Vec<BackendTask>,
    pub(crate) settings: Settings,
    pub(crate) faults: Faults,
    /// Workload identity federation rules by id.
    pub(crate) federation_rules: HashMap<String, crate::federation::FederationRule>,
    /// Every workload identity exchange answered, in order.
    pub(crate) federation_log: Vec<crate::federation::FederationExchange>,
    /// The bearer the GitHub-Actions-style ID token endpoint requires.
    pub(crate) actions_request_token: String,
    /// The `sub` of subject tokens that endpoint hands out.
    pub(crate) actions_subject: String,
    /// Personal access tokens (issue 19), by token.
    pub(crate) personal_access_tokens: HashMap<String, PatRecord>,
}

/// A personal access token the emulator knows (issue 19).
#[derive(Debug, Clone)]
pub(crate) struct PatRecord {
    pub(crate) account: SeedAccount,
    pub(crate) null_email: bool,
    pub(crate) revoked: bool,
}

/// Settings that may change while the emulator runs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings {
    pub(crate) access_token_ttl_secs: i64,
    pub(crate) refresh_token_ttl_secs: i64,
    pub(crate) auto_approve: bool,
    pub(crate) device_poll_interval_secs: u64,
    /// The account new logins sign in as, replacing the seed (`POST /_emulator/login-account`).
    pub(crate) login_account: Option<crate::config::SeedAccount>,
}

/// One login's chain of rotating refresh tokens.
pub(crate) struct TokenFamily {
    pub(crate) account: SeedAccount,
    pub(crate) scope: String,
    pub(crate) revoked: bool,
    pub(crate) access_tokens: Vec<String>,
    pub(crate) refresh_tokens: Vec<String>,
}

/// Where a refresh token is in its single-use life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshState {
    /// Not used yet.
    Active,
    /// Already exchanged; presenting it again is reuse.
    Used,
    /// Invalidated by the server (e.g. password change).
    Invalidated,
}

/// A refresh token the issuer handed out.
#[derive(Debug)]
pub(crate) struct RefreshRecord {
    pub(crate) family_id: String,
    pub(crate) state: RefreshState,
    pub(crate) expires_at: i64,
}

/// An access token the issuer handed out.
#[derive(Debug)]
pub(crate) struct AccessRecord {
    pub(crate) account: SeedAccount,
    pub(crate) expires_at: i64,
    pub(crate) revoked: bool,
}

/// An id token the issuer handed out (the subject of the API-key exchange).
#[derive(Debug)]
pub(crate) struct IdTokenRecord {
    pub(crate) account: SeedAccount,
    pub(crate) expires_at: i64,
}

/// The parameters of an authorize request waiting on the consent page.
#[derive(Clone)]
pub(crate) struct PendingAuthorization {
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) state: String,
    pub(crate) scope: String,
}

/// A one-time authorization code.
#[derive(Debug)]
pub(crate) struct AuthorizationCode {
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) account: SeedAccount,
    pub(crate) expires_at: i64,
    pub(crate) used: bool,
    /// The token family issued from this code, revoked if the code is replayed.
    pub(crate) issued_family: Option<String>,
}

/// Where a device code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceCodeState {
    Pending,
    Approved,
    Denied,
    Exchanged,
}

/// A device code issued by `deviceauth/usercode`.
#[derive(Debug)]
pub(crate) struct DeviceCode {
    pub(crate) user_code: String,
    pub(crate) state: DeviceCodeState,
    pub(crate) expires_at: i64,
}

/// A registered agent runtime and its Ed25519 public key.
#[derive(Debug)]
pub(crate) struct AgentRuntime {
    pub(crate) public_key: PublicKeyBytes,
    pub(crate) account: SeedAccount,
}

/// A task registered under an agent runtime.
#[derive(Debug)]
pub(crate) struct AgentTask {
    pub(crate) agent_runtime_id: String,
}

/// A cloud task created through `POST /wham/tasks`.
#[derive(Debug, Clone)]
pub(crate) struct BackendTask {
    pub(crate) id: String,
    pub(crate) account_id: String,
    pub(crate) title: String,
    pub(crate) prompt: String,
    pub(crate) created_at: f64,
    pub(crate) request: Value,
}

impl std::fmt::Debug for World {
    /// Prints only sizes: the maps are keyed by secrets (tokens, codes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("families", &self.families.len())
            .field("refresh_tokens", &self.refresh_tokens.len())
            .field("access_tokens", &self.access_tokens.len())
            .field("authorization_codes", &self.authorization_codes.len())
            .field("device_codes", &self.device_codes.len())
            .field("agents", &self.agents.len())
            .field("agent_tasks", &self.agent_tasks.len())
            .field("backend_tasks", &self.backend_tasks.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TokenFamily {
    /// Prints counts only: the token lists are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFamily")
            .field("account", &self.account)
            .field("scope", &self.scope)
            .field("revoked", &self.revoked)
            .field("access_tokens", &self.access_tokens.len())
            .field("refresh_tokens", &self.refresh_tokens.len())
            .finish()
    }
}

impl std::fmt::Debug for PendingAuthorization {
    /// Leaves out the client's `state`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("redirect_uri", &self.redirect_uri)
            .field("code_challenge", &self.code_challenge)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl World {
    /// Revokes a token family: all its refresh and access tokens stop working.
    pub(crate) fn revoke_family(&mut self, family_id: &str) {
        let Some(family) = self.families.get_mut(family_id) else {
            return;
        };
        family.revoked = true;
        for token in &family.access_tokens {
            if let Some(record) = self.access_tokens.get_mut(token) {
                record.revoked = true;
            }
        }
    }
}
