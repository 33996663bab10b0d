//! Start-up configuration of an emulator instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an emulator instance listens and behaves; `Default` is a loopback ephemeral port.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind; the default `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// Lifetime of newly issued access and id tokens (default one hour).
    pub access_token_ttl: Duration,
    /// Device codes and the authorize page approve themselves without a human.
    pub auto_approve: bool,
    /// The one ChatGPT account every login signs in as.
    pub seed: SeedAccount,
    /// On refresh-token reuse, revoke the whole token family (as real issuers do).
    pub revoke_family_on_reuse: bool,
    /// Task registration answers `encrypted_task_id` (sealed to the agent key) instead of `task_id`.
    pub encrypt_task_ids: bool,
    /// Lifetime of refresh tokens (default 30 days).
    pub refresh_token_ttl: Duration,
    /// The `interval` (seconds) the device-code endpoint tells clients to poll at (default 5).
    pub device_poll_interval_secs: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            access_token_ttl: Duration::from_secs(3600),
            auto_approve: false,
            seed: SeedAccount::default(),
            revoke_family_on_reuse: true,
            encrypt_task_ids: false,
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            device_poll_interval_secs: 5,
        }
    }
}

/// The ChatGPT account that logins and minted tokens belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedAccount {
    /// E-mail address placed in the id token and agent identity claims.
    pub email: String,
    /// ChatGPT plan (`plus`, `pro`, `team`, ...).
    pub plan_type: String,
    /// ChatGPT workspace/account id (`chatgpt_account_id`).
    pub account_id: String,
    /// ChatGPT user id (`chatgpt_user_id`).
    pub user_id: String,
    /// Whether the account is a FedRAMP account (requires `X-OpenAI-Fedramp: true`).
    pub fedramp: bool,
}

impl Default for SeedAccount {
    fn default() -> Self {
        Self {
            email: "user@example.com".to_owned(),
            plan_type: "plus".to_owned(),
            account_id: "acct-emulator-0001".to_owned(),
            user_id: "user-emulator-0001".to_owned(),
            fedramp: false,
        }
    }
}
