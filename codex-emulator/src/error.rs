//! Errors of the emulator's Rust API.

use std::net::SocketAddr;

/// Why starting the emulator or one of its helpers failed.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("could not bind the emulator to {addr}: {source}")]
    Bind {
        /// The address that was requested.
        addr: SocketAddr,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The bound address could not be read back.
    #[error("could not read the emulator's bound address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The RS256 signing key could not be generated.
    #[error("could not generate the emulator's RS256 signing key")]
    KeyGeneration,
    /// A caller-supplied agent private key is not an Ed25519 PKCS#8 key in standard base64.
    #[error("invalid agent private key: {0}")]
    InvalidAgentKey(&'static str),
}
