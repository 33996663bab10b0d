//! Starting an emulator and driving it from Rust: URLs, stats, seeded tokens, faults.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::agent_keys::{generate_agent_key, public_key_from_pkcs8_base64};
use crate::config::{EmulatorConfig, SeedAccount};
use crate::error::EmulatorError;
use crate::faults::Faults;
use crate::federation::{FederationExchange, FederationRule, SubjectTokenSpec};
use crate::jwt_signer::JwtSigner;
use crate::listener::{ConnectionHandle, ConnectionListener};
use crate::stats::EmulatorStats;
use crate::world::{Settings, World};

use crate::shared::{EmulatorUrls, IssueTokens, IssuedTokens, MintedAgentIdentity, Shared};

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
            actions_request_token: crate::ids::opaque_token("actions_req_"),
            actions_subject: "repo:octo/app:ref:refs/heads/main".to_owned(),
            ..World::default()
        };
        let shared = Arc::new(Shared::new(config, urls.clone(), signer, world));
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

    /// Mints a personal access token (`at-…`) whoami and the backend accept (issue 19).
    pub fn mint_personal_access_token(&self, spec: crate::PersonalAccessTokenSpec) -> String {
        self.shared.mint_personal_access_token(spec)
    }

    /// Revokes a personal access token: whoami and the backend answer `401`.
    pub fn revoke_personal_access_token(&self, token: &str) -> bool {
        self.shared.revoke_personal_access_token(token)
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

    /// Adds (or replaces, by id) a workload identity federation rule.
    pub fn set_federation_rule(&self, rule: FederationRule) {
        self.shared
            .world()
            .federation_rules
            .insert(rule.id.clone(), rule);
    }

    /// Removes a federation rule; `false` if there was none.
    pub fn remove_federation_rule(&self, id: &str) -> bool {
        self.shared.world().federation_rules.remove(id).is_some()
    }

    /// Signs a subject token as the emulator's OIDC issuer (`urls().oidc_issuer`).
    pub fn mint_subject_token(&self, spec: &SubjectTokenSpec) -> String {
        self.shared.mint_subject_token(spec)
    }

    /// The `ACTIONS_ID_TOKEN_REQUEST_TOKEN` the Actions-style endpoint requires.
    pub fn actions_request_token(&self) -> String {
        self.shared.world().actions_request_token.clone()
    }

    /// Sets the `sub` of subject tokens the Actions-style endpoint hands out.
    pub fn set_actions_subject(&self, subject: &str) {
        self.shared.world().actions_subject = subject.to_owned();
    }

    /// Every workload identity exchange answered so far, in order.
    pub fn federation_log(&self) -> Vec<FederationExchange> {
        self.shared.world().federation_log.clone()
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
