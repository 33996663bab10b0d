//! `codex-emulator`: serves the local issuer and ChatGPT backend until killed.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use codex_emulator::{Emulator, EmulatorConfig, SeedAccount};
use tracing_subscriber::EnvFilter;

/// A local stand-in for auth.openai.com and chatgpt.com/backend-api, for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "codex-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Lifetime of issued access and id tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    access_token_ttl: u64,
    /// Approve device codes and browser consent automatically.
    #[arg(long)]
    auto_approve: bool,
    /// E-mail address of the seed account.
    #[arg(long)]
    seed_email: Option<String>,
    /// ChatGPT plan of the seed account (plus, pro, team, ...).
    #[arg(long)]
    seed_plan: Option<String>,
    /// Account (workspace) id of the seed account.
    #[arg(long)]
    seed_account_id: Option<String>,
    /// User id of the seed account.
    #[arg(long)]
    seed_user_id: Option<String>,
    /// Make the seed account a FedRAMP account.
    #[arg(long)]
    fedramp: bool,
    /// Answer task registration with `encrypted_task_id` sealed to the agent key.
    #[arg(long)]
    encrypt_task_ids: bool,
    /// Do not revoke the token family when a refresh token is reused.
    #[arg(long)]
    keep_family_on_reuse: bool,
    /// Device-code poll interval announced to clients, in seconds.
    #[arg(long, default_value_t = 5)]
    device_poll_interval: u64,
}

impl Args {
    fn into_config(self) -> EmulatorConfig {
        let defaults = SeedAccount::default();
        EmulatorConfig {
            listen: self.listen,
            access_token_ttl: Duration::from_secs(self.access_token_ttl),
            auto_approve: self.auto_approve,
            seed: SeedAccount {
                email: self.seed_email.unwrap_or(defaults.email),
                plan_type: self.seed_plan.unwrap_or(defaults.plan_type),
                account_id: self.seed_account_id.unwrap_or(defaults.account_id),
                user_id: self.seed_user_id.unwrap_or(defaults.user_id),
                fedramp: self.fedramp,
            },
            revoke_family_on_reuse: !self.keep_family_on_reuse,
            encrypt_task_ids: self.encrypt_task_ids,
            device_poll_interval_secs: self.device_poll_interval,
            ..EmulatorConfig::default()
        }
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = Args::parse().into_config();
    let handle = Emulator::start(config)
        .await
        .context("starting codex-emulator")?;
    let ready = serde_json::to_string(handle.urls()).context("encoding the ready line")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}").context("writing the ready line")?;
    stdout.flush().context("flushing the ready line")?;
    drop(stdout);
    terminated().await;
    handle.shutdown().await;
    Ok(())
}
