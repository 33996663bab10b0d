//! Starting an emulator and driving it from Rust: URLs, stats, seeded tokens, faults.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::agent_keys::{PublicKeyBytes, generate_agent_key, public_key_from_pkcs8_base64};
use crate::config::{EmulatorConfig, SeedAccount};
use crate::error::EmulatorError;
use crate::faults::Faults;
use crate::ids::short_id;
use crate::jwt_signer::JwtSigner;
use crate::listener::{ConnectionHandle, ConnectionListener};
use crate::protocol::DEFAULT_SCOPE;
use crate::stats::{Counters, EmulatorStats};
use crate::world::{AgentRuntime, DeviceCodeState, RefreshState, Settings, World};

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
}

impl EmulatorUrls {
    fn for_addr(addr: SocketAddr) -> Self {
        let issuer = format!("http://{addr}");
        Self {
            chatgpt_base_url: format!("{issuer}/backend-api"),
            authapi_base_url: format!("{issuer}/api/accounts"),
            jwks_base_url: format!("{issuer}/backend-api/wham"),
            openai_base_url: format!("{issuer}/v1"),
            issuer,
        }
    }
}

/// What [`EmulatorHandle::issue_chatgpt_tokens`] should mint.
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

/// Entry point: starts emulator instances.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds `config.listen`, generates the signing key and starts serving on the tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(EmulatorError::LocalAddr)?;
        let signer = tokio::task::spawn_blocking(JwtSigner::generate)
            .await
            .map_err(|_| EmulatorError::KeyGeneration)??;
        let urls = EmulatorUrls::for_addr(local_addr);
        let world = World {
            settings: Settings {
                access_token_ttl_secs: duration_secs(config.access_token_ttl),
                refresh_token_ttl_secs: duration_secs(config.refresh_token_ttl),
                auto_approve: config.auto_approve,
                device_poll_interval_secs: config.device_poll_interval_secs,
                login_account: None,
            },
            ..World::default()
        };
        let shared = Arc::new(Shared {
            config,
            urls: urls.clone(),
            signer,
            counters: Counters::default(),
            world: Mutex::new(world),
        });
        let app = crate::routes::router(shared.clone())
            .into_make_service_with_connect_info::<ConnectionHandle>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server = axum::serve(ConnectionListener::new(listener), app).with_graceful_shutdown(
            async move {
                let _ = shutdown_rx.await;
            },
        );
        let task = tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "emulator server stopped with an error");
            }
        });
        tracing::info!(issuer = %urls.issuer, "codex-emulator listening");
        Ok(EmulatorHandle {
            shared,
            local_addr,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }
}

/// Whole seconds of a duration, saturating at `i64::MAX`.
fn duration_secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// A running emulator; dropping it stops the server.
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The base URLs to point clients at.
    pub fn urls(&self) -> &EmulatorUrls {
        &self.shared.urls
    }

    /// The socket address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> EmulatorStats {
        self.shared.counters.snapshot()
    }

    /// Mints a token triple in a fresh refresh-token family, for seeding `auth.json` in tests.
    pub fn issue_chatgpt_tokens(&self, spec: IssueTokens) -> IssuedTokens {
        self.shared.issue_chatgpt_tokens(spec)
    }

    /// Mints an API key for the seed account, as the token exchange does, that
    /// `GET /v1/models` accepts.
    pub fn mint_api_key(&self) -> String {
        let api_key = crate::ids::opaque_token("sk-emu-");
        self.shared
            .world()
            .api_keys
            .insert(api_key.clone(), self.shared.config.seed.clone());
        api_key
    }

    /// Mints an agent identity JWT for the seed account with a fresh, registered Ed25519 key.
    pub fn mint_agent_identity_jwt(&self) -> MintedAgentIdentity {
        let key = generate_agent_key();
        self.shared
            .mint_agent_identity(key.private_key_pkcs8_base64, key.public_key)
    }

    /// Like [`Self::mint_agent_identity_jwt`], with a caller-supplied PKCS#8 (v1 or v2) key in
    /// standard base64.
    pub fn mint_agent_identity_jwt_with_key(
        &self,
        private_key_pkcs8_base64: &str,
    ) -> Result<MintedAgentIdentity, EmulatorError> {
        let public_key = public_key_from_pkcs8_base64(private_key_pkcs8_base64)?;
        Ok(self
            .shared
            .mint_agent_identity(private_key_pkcs8_base64.trim().to_owned(), public_key))
    }

    /// Signs arbitrary claims with the emulator's JWKS key, for negative tests.
    ///
    /// `kid` `None` uses the key id published in the JWKS; `Some("")` omits the `kid` header.
    pub fn agent_identity_jwt_with_claims(&self, claims: Value, kid: Option<&str>) -> String {
        let kid = match kid {
            None => Some(self.shared.signer.kid()),
            Some("") => None,
            Some(other) => Some(other),
        };
        self.shared.signer.sign_with_kid(&claims, kid)
    }

    /// The JWK set the emulator publishes (`/backend-api/wham/agent-identities/jwks`).
    pub fn jwks(&self) -> Value {
        self.shared.signer.jwks()
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.world().faults = faults;
    }

    /// Sets the lifetime (seconds, may be negative) of access tokens issued from now on.
    pub fn set_access_token_ttl(&self, secs: i64) {
        self.shared.world().settings.access_token_ttl_secs = secs;
    }

    /// Turns auto-approval of device codes and browser consent on or off.
    pub fn set_auto_approve(&self, auto_approve: bool) {
        self.shared.world().settings.auto_approve = auto_approve;
    }

    /// Sets the device-code poll `interval` (seconds) announced from now on.
    pub fn set_device_poll_interval(&self, secs: u64) {
        self.shared.world().settings.device_poll_interval_secs = secs;
    }

    /// Later logins sign in as `account` (`None`: the seed account again); tokens already
    /// issued keep their account.
    pub fn set_login_account(&self, account: Option<SeedAccount>) {
        self.shared.world().settings.login_account = account;
    }

    /// Approves a pending device code as a human would at `/codex/device`; `false` if unknown.
    pub fn approve_device_code(&self, user_code: &str) -> bool {
        self.shared.decide_device_code(user_code, true)
    }

    /// Makes every access token issued so far expired at the backend (their
    /// `exp` claims are unchanged, so clients only learn it from a `401
    /// token_expired`); returns how many were live.
    pub fn expire_access_tokens(&self) -> usize {
        self.shared.expire_access_tokens()
    }

    /// Drops every registered agent task, so assertions for them get `401
    /// invalid_agent_assertion`; returns how many were dropped.
    pub fn forget_agent_tasks(&self) -> usize {
        self.shared.forget_agent_tasks()
    }

    /// Makes an issued refresh token expired; `false` if unknown.
    pub fn expire_refresh_token(&self, refresh_token: &str) -> bool {
        self.shared.set_refresh_state(refresh_token, true)
    }

    /// Invalidates an issued refresh token (as after a password change); `false` if unknown.
    pub fn invalidate_refresh_token(&self, refresh_token: &str) -> bool {
        self.shared.set_refresh_state(refresh_token, false)
    }

    /// Stops accepting connections and waits (up to two seconds) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
