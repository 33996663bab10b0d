//! A local stand-in for the OpenAI issuer (`https://auth.openai.com`) and the ChatGPT backend
//! (`https://chatgpt.com/backend-api`), strict enough to catch client bugs.
//!
//! Start it in-process with [`Emulator::start`], or run the `codex-emulator` binary. It serves
//! the browser (PKCE) and device-code logins, rotating refresh tokens with reuse detection,
//! revocation, the API-key token exchange, agent identity registration with Ed25519 signatures,
//! an RS256 JWKS, and authenticated `/wham/...` backend routes. It implements the wire formats
//! on its own and depends on none of the client crates of this workspace.

#![warn(missing_docs, unreachable_pub)]

mod agent_keys;
mod api_error;
mod backend_auth;
mod config;
mod emulator;
mod error;
mod faults;
mod federation;
mod html;
mod ids;
mod jwt_signer;
mod listener;
mod personal_access_tokens;
mod protocol;
mod routes;
mod shared;
mod stats;
mod world;

pub use config::{EmulatorConfig, SeedAccount};
pub use emulator::{Emulator, EmulatorHandle};
pub use error::EmulatorError;
pub use faults::{Faults, StatusOverride};
pub use federation::{FederationExchange, FederationRule, SubjectTokenSpec};
pub use personal_access_tokens::PersonalAccessTokenSpec;
pub use protocol::{AGENT_IDENTITY_AUDIENCE, AGENT_IDENTITY_ISSUER, CLIENT_ID};
pub use shared::{EmulatorUrls, IssueTokens, IssuedTokens, MintedAgentIdentity};
pub use stats::EmulatorStats;
