//! Exit codes shared by the commands.

/// Success, or logged in.
pub const OK: u8 = 0;
/// Not logged in, or the command failed.
pub const FAILURE: u8 = 1;
/// Stored credentials exist but need a new login (`whoami`).
pub const NEEDS_LOGIN: u8 = 2;
/// The credential store could not be read (`whoami`).
pub const STORAGE_ERROR: u8 = 3;
/// A network or server error (`whoami --check`).
pub const NETWORK_ERROR: u8 = 4;
