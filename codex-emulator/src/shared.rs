//! State every request handler shares (config, URLs, signer, counters, the world)
//! and the values the admin API and `EmulatorHandle` exchange. Routes import this
//! module; `emulator.rs` only assembles the router around it.

mod personal_access_tokens;
pub(crate) mod token_issuance;

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::agent_keys::PublicKeyBytes;
use crate::config::{EmulatorConfig, SeedAccount};
use crate::ids::short_id;
use crate::jwt_signer::JwtSigner;
use crate::protocol::DEFAULT_SCOPE;
use crate::stats::Counters;
use crate::world::{AgentRuntime, DeviceCodeState, RefreshState, World};

/// The base URLs a client needs, as printed in the ready line (no trailing slashes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorUrls {
    /// The issuer, e.g. `http://127.0.0.1:PORT` (stands in for `https://auth.openai.com`).
    pub issuer: String,
    /// `<issuer>/backend-api` (stands in for `https://chatgpt.com/backend-api`).
    pub chatgpt_base_url: String,
    /// `<issuer>/api/accounts`, the agent identity AuthAPI base.
    pub authapi_base_url: String,
    /// `<issuer>/backend-api/wham`, the base under which `/agent-identities/jwks` lives.
    pub jwks_base_url: String,
    /// `<issuer>/v1` (stands in for `https://api.openai.com/v1`); serves `GET /models`.
    pub openai_base_url: String,
    /// `<issuer>/oidc`, the OIDC issuer that signs workload subject tokens (JWKS at `/jwks`).
    pub oidc_issuer: String,
    /// The GitHub-Actions-style `ACTIONS_ID_TOKEN_REQUEST_URL` (`<issuer>/oidc/actions/token?api-version=2.0`).
    pub actions_id_token_request_url: String,
}

impl EmulatorUrls {
    pub(crate) fn for_addr(addr: SocketAddr) -> Self {
        let issuer = format!("http://{addr}");
        Self {
            chatgpt_base_url: format!("{issuer}/backend-api"),
            authapi_base_url: format!("{issuer}/api/accounts"),
            jwks_base_url: format!("{issuer}/backend-api/wham"),
            openai_base_url: format!("{issuer}/v1"),
            oidc_issuer: format!("{issuer}/oidc"),
            actions_id_token_request_url: format!("{issuer}/oidc/actions/token?api-version=2.0"),
            issuer,
        }
    }
}

/// What [`EmulatorHandle::issue_chatgpt_tokens`](crate::EmulatorHandle::issue_chatgpt_tokens) should mint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueTokens {
    /// Access/id token lifetime in seconds; negative means already expired (default 3600,
    /// whatever the emulator's configured TTL).
    pub access_token_ttl_secs: i64,
    /// The account; `None` uses the seed account.
    pub account: Option<SeedAccount>,
}

impl Default for IssueTokens {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            account: None,
        }
    }
}

/// A token triple from a fresh refresh-token family the issuer accepts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokens {
    /// RS256 id token.
    pub id_token: String,
    /// RS256 access token.
    pub access_token: String,
    /// Single-use refresh token.
    pub refresh_token: String,
    /// The `chatgpt_account_id` of the tokens.
    pub account_id: String,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("id_token", &"[REDACTED]")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// A signed agent identity JWT whose runtime and key are registered in the emulator.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintedAgentIdentity {
    /// The RS256 agent identity JWT (it carries the private key: a secret).
    pub jwt: String,
    /// The registered `agent_runtime_id`.
    pub agent_runtime_id: String,
    /// The Ed25519 private key, PKCS#8 DER in standard base64.
    pub private_key_pkcs8_base64: String,
}

impl std::fmt::Debug for MintedAgentIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedAgentIdentity")
            .field("jwt", &"[REDACTED]")
            .field("agent_runtime_id", &self.agent_runtime_id)
            .field("private_key_pkcs8_base64", &"[REDACTED]")
            .finish()
    }
}

/// State shared by every request handler.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) urls: EmulatorUrls,
    pub(crate) signer: JwtSigner,
    pub(crate) counters: Counters,
    world: Mutex<World>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("urls", &self.urls)
            .field("signer", &self.signer)
            .field("world", &*self.world())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The state of a new emulator.
    pub(crate) fn new(
        config: EmulatorConfig,
        urls: EmulatorUrls,
        signer: JwtSigner,
        world: World,
    ) -> Self {
        Self {
            config,
            urls,
            signer,
            counters: Counters::default(),
            world: Mutex::new(world),
        }
    }

    /// Locks the world; a poisoned lock is recovered (every update is self-contained).
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an agent runtime for `account` and returns its id.
    pub(crate) fn register_agent_runtime(
        &self,
        world: &mut World,
        public_key: PublicKeyBytes,
        account: SeedAccount,
    ) -> String {
        let id = short_id("agrt_");
        world.agents.insert(
            id.clone(),
            AgentRuntime {
                public_key,
                account,
            },
        );
        Counters::bump(&self.counters.agent_registrations);
        id
    }

    /// Mints an agent identity JWT for the seed account with the given key (registered here).
    pub(crate) fn mint_agent_identity(
        &self,
        private_key_pkcs8_base64: String,
        public_key: PublicKeyBytes,
    ) -> MintedAgentIdentity {
        let account = self.config.seed.clone();
        let agent_runtime_id = {
            let mut world = self.world();
            self.register_agent_runtime(&mut world, public_key, account.clone())
        };
        let claims =
            self.agent_identity_claims(&account, &agent_runtime_id, &private_key_pkcs8_base64);
        MintedAgentIdentity {
            jwt: self.signer.sign(&claims),
            agent_runtime_id,
            private_key_pkcs8_base64,
        }
    }

    /// Mints a token triple in a new family.
    pub(crate) fn issue_chatgpt_tokens(&self, spec: IssueTokens) -> IssuedTokens {
        let account = spec.account.unwrap_or_else(|| self.config.seed.clone());
        let mut world = self.world();
        let set = self.issue_token_set(
            &mut world,
            &account,
            None,
            DEFAULT_SCOPE,
            spec.access_token_ttl_secs,
        );
        IssuedTokens {
            id_token: set.id_token,
            access_token: set.access_token,
            refresh_token: set.refresh_token,
            account_id: account.account_id,
        }
    }

    /// Sets the state of an issued refresh token; `false` if the token is unknown.
    pub(crate) fn set_refresh_state(&self, refresh_token: &str, expire: bool) -> bool {
        let mut world = self.world();
        match world.refresh_tokens.get_mut(refresh_token) {
            Some(record) => {
                if expire {
                    record.expires_at = crate::protocol::now_secs() - 1;
                } else {
                    record.state = RefreshState::Invalidated;
                }
                true
            }
            None => false,
        }
    }

    /// Makes every access token issued so far expired (as if the clock had
    /// passed their `exp`); returns how many were live.
    pub(crate) fn expire_access_tokens(&self) -> usize {
        let now = crate::protocol::now_secs();
        let mut world = self.world();
        let mut expired = 0;
        for record in world.access_tokens.values_mut() {
            if record.expires_at > now {
                record.expires_at = now - 1;
                expired += 1;
            }
        }
        expired
    }

    /// Drops every registered agent task; returns how many there were.
    pub(crate) fn forget_agent_tasks(&self) -> usize {
        let mut world = self.world();
        let forgotten = world.agent_tasks.len();
        world.agent_tasks.clear();
        forgotten
    }

    /// Approves (or denies) a pending, unexpired device code by its user code, as a human
    /// would at `/codex/device`; `false` if none matched.
    pub(crate) fn decide_device_code(&self, user_code: &str, approve: bool) -> bool {
        let wanted = normalize_user_code(user_code);
        let now = crate::protocol::now_secs();
        let mut world = self.world();
        let found = world.device_codes.values_mut().find(|code| {
            normalize_user_code(&code.user_code) == wanted
                && code.state == DeviceCodeState::Pending
                && code.expires_at > now
        });
        let Some(code) = found else {
            return false;
        };
        if approve {
            code.state = DeviceCodeState::Approved;
            Counters::bump(&self.counters.device_codes_approved);
        } else {
            code.state = DeviceCodeState::Denied;
        }
        true
    }
}

/// Upper-cases a user code and drops everything but letters and digits.
fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
