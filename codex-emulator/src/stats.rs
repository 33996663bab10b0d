//! Counters of everything the emulator saw, for assertions in tests.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// A snapshot of the emulator's counters (`GET /_emulator/stats`).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct EmulatorStats {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        /// The live atomic counters behind [`EmulatorStats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub(crate) fn snapshot(&self) -> EmulatorStats {
                EmulatorStats {
                    $($name: self.$name.load(Ordering::SeqCst),)*
                }
            }
        }
    };
}

counters! {
    /// Every `POST /oauth/token`, whatever the grant and outcome.
    token_requests,
    /// Refresh grants that rotated the refresh token.
    refresh_ok,
    /// Refresh grants rejected because the refresh token was already used.
    refresh_reused,
    /// Refresh grants rejected for any other reason (expired, revoked, unknown, bad client).
    refresh_rejected,
    /// Successful refreshes whose connection was dropped by fault injection.
    refresh_dropped,
    /// Authorization codes exchanged for tokens.
    code_exchanges_ok,
    /// Authorization-code exchanges rejected (wrong verifier, redirect URI, reused code, ...).
    code_exchanges_rejected,
    /// API keys minted by the token exchange.
    api_key_exchanges,
    /// Authorization codes issued by the authorize endpoint or device approval.
    authorization_codes_issued,
    /// Authorize requests rejected or denied.
    authorize_rejected,
    /// Tokens revoked through `POST /oauth/revoke`.
    revoked,
    /// Device codes issued.
    device_codes_issued,
    /// Device codes approved (by a human or auto-approval).
    device_codes_approved,
    /// Device-token polls answered "pending".
    device_polls_pending,
    /// Agent runtimes registered.
    agent_registrations,
    /// Agent tasks registered.
    task_registrations,
    /// Agent task registrations rejected.
    task_registrations_rejected,
    /// Backend requests accepted with an AgentAssertion.
    assertions_ok,
    /// AgentAssertions rejected.
    assertions_rejected,
    /// Every request to a `/wham/...` backend route.
    backend_requests,
    /// Requests accepted with a Bearer access token.
    bearer_ok,
    /// Bearer tokens rejected (missing, unknown, expired, revoked).
    bearer_rejected,
    /// Requests whose `ChatGPT-Account-ID` did not match the credential.
    account_mismatches,
    /// JWKS documents served.
    jwks_requests,
    /// `GET /v1/models` requests with an API key this emulator minted.
    api_key_checks_ok,
    /// `GET /v1/models` requests with a missing or unknown API key.
    api_key_checks_rejected,
    /// Responses replaced by a status-override fault.
    faults_injected,
    /// Every personal access token whoami request (issue 19).
    pat_whoami_requests,
    /// Whoami requests with a missing, unknown or revoked personal access token.
    pat_whoami_rejected,
    /// Workload identity (jwt-bearer) exchanges that issued an access token.
    federation_exchanges_ok,
    /// Workload identity exchanges refused (unknown rule, signature, issuer, audience, expiry, context).
    federation_exchanges_rejected,
    /// Subject tokens signed by the emulator's OIDC issuer (minted or from the Actions endpoint).
    oidc_tokens_issued,
}

impl Counters {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}
