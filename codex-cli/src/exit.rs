//! Exit codes shared by the commands.
//!
//! 2 is left to clap: a usage error (unknown flag, conflicting flags) exits 2,
//! as the official binary and most Unix tools do.
//!
//! A credential failure becomes an exit code here and nowhere else:
//! [`for_kind`] maps the kind every credential error of the libraries carries
//! (`codex_auth_provider::AuthErrorKind`).

use codex_auth_provider::AuthErrorKind;

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

/// The exit code of a credential failure of `kind`: not logged in 1, a new
/// login needed (or a restriction) 5, the store 3, anything temporary or a
/// misconfigured endpoint (the request could not be made) 4.
pub fn for_kind(kind: AuthErrorKind) -> u8 {
    match kind {
        AuthErrorKind::NotLoggedIn => FAILURE,
        AuthErrorKind::NeedsLogin | AuthErrorKind::Restricted => NEEDS_LOGIN,
        AuthErrorKind::Storage => STORAGE_ERROR,
        AuthErrorKind::Transient | AuthErrorKind::Config => NETWORK_ERROR,
        _ => FAILURE,
    }
}

/// The message of a credential failure of `kind` found while resolving:
/// a store that cannot be read, or credentials that need a new login.
pub fn resolve_message(kind: AuthErrorKind, err: &dyn std::fmt::Display) -> String {
    match kind {
        AuthErrorKind::Storage => format!("Error reading stored credentials: {err}"),
        _ => format!("{err}. Run `codex login` again."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_codes() {
        assert_eq!(for_kind(AuthErrorKind::NotLoggedIn), 1);
        assert_eq!(for_kind(AuthErrorKind::NeedsLogin), 5);
        assert_eq!(for_kind(AuthErrorKind::Restricted), 5);
        assert_eq!(for_kind(AuthErrorKind::Storage), 3);
        assert_eq!(for_kind(AuthErrorKind::Transient), 4);
        assert_eq!(for_kind(AuthErrorKind::Config), 4);
    }
}
