//! A client for the ChatGPT backend's Codex endpoints that takes its
//! credentials from an [`AuthProvider`](codex_auth_provider::AuthProvider) or
//! a refresh-aware [`AuthSource`](codex_auth_provider::AuthSource).
//!
//! Programs using `codex-login` get a client wired to the stored login, with
//! the HTTP client factory's CA bundle, proxies and `originator`, from
//! `codex_login::auth_manager::AuthManager::backend_client()`. Built directly, a client
//! takes any provider and, through
//! [`BackendClientBuilder::http_client`], any `reqwest::Client` (otherwise a
//! plain one that follows no redirects). This example runs as a doc test
//! against `codex-emulator`:
//!
//! ```
//! # use codex_emulator::{Emulator, EmulatorConfig, IssueTokens};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # runtime.block_on(async {
//! # let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! # let issued = emulator.issue_chatgpt_tokens(IssueTokens::default());
//! # let base_url = emulator.urls().chatgpt_base_url.clone();
//! # let (access_token, account_id) = (issued.access_token.clone(), issued.account_id.clone());
//! use codex_auth_provider::{BearerAuth, SecretString};
//! use codex_backend_client::BackendClient;
//! use std::sync::Arc;
//!
//! // `base_url` is e.g. "https://chatgpt.com/backend-api" (here the emulator's).
//! let token = SecretString::new(access_token);
//! let client = BackendClient::builder(base_url)
//!     .auth_provider(Arc::new(BearerAuth::new(&token).with_account_id(Some(&account_id))))
//!     .build()?;
//! let limits = client.get_rate_limits().await?;
//! println!("{:?}", limits.primary);
//! # assert_eq!(emulator.stats().bearer_rejected, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

mod accounts;
mod base_url;
mod client;
mod error;
mod error_response;
mod null_default;
mod plan;
mod profile;
mod retry;
mod routes;
mod task_details;
mod tasks;
mod usage;

/// Route URL shapes (moved from `tests/url_shapes.rs`: `BackendRoutes` is internal).
#[cfg(test)]
mod url_shapes_tests;

pub use accounts::{AccountSummary, AccountsCheck, InvalidAccountsResponse};
pub use base_url::PathStyle;
pub use client::{BackendClient, BackendClientBuilder, TaskDetailsWithBody};
pub use error::{AuthRecovery, BackendError, HttpFailure};
pub use error_response::ERROR_BODY_LIMIT;
pub use plan::PlanType;
pub use profile::{DailyUsageBucket, Profile, ProfileStats};
pub use retry::RetryPolicy;
pub use task_details::{
    ContentFragment, OutputDiff, StructuredContent, TaskDetails, Turn, TurnError, TurnItem,
    Worklog, WorklogAuthor, WorklogContent, WorklogMessage,
};
pub use tasks::{SiblingTurns, TaskListItem, TaskListPage, TaskListQuery};
pub use usage::rate_limits::{
    CreditsSnapshot, RateLimitReachedKind, RateLimitSnapshot, RateLimitWindow, SpendControlSnapshot,
};
pub use usage::{
    AdditionalRateLimit, CreditDetails, RateLimitDetails, RateLimitReachedType,
    RateLimitWindowDetails, ResetCreditsSummary, SpendControlDetails, SpendLimitDetails,
    UsagePayload,
};

/// Compiles the README example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
