//! Exit codes shared by the commands.
//!
//! 2 is left to clap: a usage error (unknown flag, conflicting flags) exits 2,
//! as the official binary and most Unix tools do.

/// Success, or logged in.
pub const OK: u8 = 0;
/// Not logged in, or the command failed.
pub const FAILURE: u8 = 1;
/// The credential store could not be read (`whoami`).
pub const STORAGE_ERROR: u8 = 3;
/// A network or server error (`whoami --check`).
pub const NETWORK_ERROR: u8 = 4;
/// Stored credentials exist but need a new login (`whoami`).
pub const NEEDS_LOGIN: u8 = 5;
/// Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;
