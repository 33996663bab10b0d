//! A client for the ChatGPT backend's Codex endpoints that takes its
//! credentials from an [`AuthProvider`](codex_auth_provider::AuthProvider) or
//! a refresh-aware [`AuthSource`](codex_auth_provider::AuthSource).
//!
//! ```no_run
//! # async fn demo() -> Result<(), codex_backend_client::BackendError> {
//! use codex_auth_provider::{BearerAuth, SecretString};
//! use codex_backend_client::BackendClient;
//! use std::sync::Arc;
//!
//! let token = SecretString::new("access-token");
//! let client = BackendClient::builder("https://chatgpt.com/backend-api/")
//!     .auth_provider(Arc::new(BearerAuth::new(&token).with_account_id(Some("acct-1"))))
//!     .build()?;
//! let limits = client.get_rate_limits().await?;
//! println!("{:?}", limits.primary);
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

mod accounts;
mod base_url;
mod client;
mod error;
mod error_response;
mod null_default;
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
    AdditionalRateLimit, CreditDetails, PlanType, RateLimitDetails, RateLimitReachedType,
    RateLimitWindowDetails, ResetCreditsSummary, SpendControlDetails, SpendLimitDetails,
    UsagePayload,
};

/// Compiles the README example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
