//! The platform keyring through the `keyring` crate, at the exact place the
//! official CLI uses, and keyring errors turned into advice.
//!
//! - Linux: the Secret Service (D-Bus `org.freedesktop.secrets`: GNOME
//!   Keyring, KeePassXC, KWallet's bridge). The crate's persistent Linux
//!   store is compiled in as upstream does, and its default entries live in
//!   the Secret Service alone: one item per entry in the default collection,
//!   label `<account>@Codex Auth:default (keyring v3.6.3)`, attributes
//!   `application = rust-keyring`, `service`, `username`, `target = default`.
//!   Nothing is cached in kernel keyutils, so a logout or refresh by another
//!   program can never leave us a stale copy, and a reboot loses nothing.
//! - macOS: the login Keychain (generic password, service and account).
//! - Windows: Credential Manager (generic credential `<account>.Codex Auth`).

use super::keyring_store::{KeyringBackend, KeyringBackendError};

/// What the platform keyring is called in messages.
#[cfg(target_os = "linux")]
pub const OS_KEYRING_NAME: &str = "the Secret Service";
/// What the platform keyring is called in messages.
#[cfg(target_os = "macos")]
pub const OS_KEYRING_NAME: &str = "the macOS Keychain";
/// What the platform keyring is called in messages.
#[cfg(target_os = "windows")]
pub const OS_KEYRING_NAME: &str = "Windows Credential Manager";
/// What the platform keyring is called in messages.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const OS_KEYRING_NAME: &str = "the OS keyring";

/// Whether values too long for one entry are split into chunks when
/// written. Only Windows Credential Manager needs it (a credential blob holds
/// at most 2560 bytes); the official CLI writes one Secret Service item of
/// any size on Linux and does not read chunked items there, so neither do we
/// write them. Chunked values are read back on every platform.
pub const CHUNK_ON_WRITE: bool = cfg!(target_os = "windows");

/// The platform keyring (see the module docs for where entries live).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeyring;

impl OsKeyring {
    fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeyringBackendError> {
        keyring::Entry::new(service, account).map_err(describe)
    }
}

impl KeyringBackend for OsKeyring {
    fn get(&self, service: &str, account: &str) -> Result<Option<String>, KeyringBackendError> {
        match Self::entry(service, account)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(describe(err)),
        }
    }

    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringBackendError> {
        Self::entry(service, account)?
            .set_password(value)
            .map_err(describe)
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool, KeyringBackendError> {
        let removed = match Self::entry(service, account)?.delete_credential() {
            Ok(()) => true,
            Err(keyring::Error::NoEntry) => false,
            Err(err) => return Err(describe(err)),
        };
        remove_legacy_keyutils_entry(service, account);
        Ok(removed)
    }
}

/// Earlier builds of this project kept entries in kernel keyutils only
/// (`keyring-rs:<account>@<service>`). Nothing reads them any more; a logout
/// removes any such copy so no secret outlives it in kernel memory.
#[cfg(target_os = "linux")]
fn remove_legacy_keyutils_entry(service: &str, account: &str) {
    use keyring::credential::CredentialApi;
    if let Ok(legacy) =
        keyring::keyutils::KeyutilsCredential::new_with_target(None, service, account)
    {
        match legacy.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(err) => tracing::debug!("could not remove a kernel keyutils copy: {err}"),
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn remove_legacy_keyutils_entry(_service: &str, _account: &str) {}

/// What to do when the keyring cannot be reached at all.
#[cfg(target_os = "linux")]
const UNAVAILABLE_ADVICE: &str = "no Secret Service answers on the D-Bus session bus \
     (DBUS_SESSION_BUS_ADDRESS unset, or no org.freedesktop.secrets provider such as \
     gnome-keyring running); start one in this session, e.g. \
     `gnome-keyring-daemon --start --components=secrets`, or set \
     cli_auth_credentials_store = \"file\" in config.toml";
#[cfg(not(target_os = "linux"))]
const UNAVAILABLE_ADVICE: &str = "the keyring cannot be reached; \
     set cli_auth_credentials_store = \"file\" in config.toml to keep credentials in auth.json instead";

/// What to do when the keyring is there but refuses access.
#[cfg(target_os = "linux")]
const LOCKED_ADVICE: &str = "the Secret Service keyring is locked (or its unlock prompt was \
     dismissed or could not be shown); unlock your login keyring, e.g. by logging in to the \
     desktop session or with `gnome-keyring-daemon --unlock`, then retry";
#[cfg(target_os = "macos")]
const LOCKED_ADVICE: &str = "the macOS Keychain refused access (locked keychain, or access was \
     denied in the prompt); unlock the login keychain in Keychain Access, then retry";
#[cfg(target_os = "windows")]
const LOCKED_ADVICE: &str = "Windows Credential Manager refused access (no logon session, as for \
     some services); run from an interactive logon session, then retry";
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
const LOCKED_ADVICE: &str = "the OS keyring refused access; unlock it, then retry";

/// A `keyring` error as a message that names the store and what to do.
/// Never includes a stored value.
pub(crate) fn describe(err: keyring::Error) -> KeyringBackendError {
    let text = match &err {
        keyring::Error::NoStorageAccess(inner) => format!("{LOCKED_ADVICE} ({inner})"),
        keyring::Error::PlatformFailure(inner) if unreachable(inner.as_ref()) => {
            format!("{UNAVAILABLE_ADVICE} ({inner})")
        }
        keyring::Error::PlatformFailure(inner) => format!("{OS_KEYRING_NAME} failed: {inner}"),
        keyring::Error::Ambiguous(items) => format!(
            "{} items in {OS_KEYRING_NAME} match this entry, so none can be chosen; remove them \
             (on Linux: `secret-tool clear service \"Codex Auth\"`) and log in again",
            items.len()
        ),
        keyring::Error::BadEncoding(_) => {
            format!("the entry in {OS_KEYRING_NAME} is not UTF-8 text, so it is not a Codex login")
        }
        keyring::Error::TooLong(attribute, limit) => format!(
            "{OS_KEYRING_NAME} cannot store this entry: its {attribute} exceeds the limit of {limit}"
        ),
        keyring::Error::Invalid(attribute, reason) => {
            format!("{OS_KEYRING_NAME} rejected the entry's {attribute}: {reason}")
        }
        keyring::Error::NoEntry => format!("{OS_KEYRING_NAME} has no such entry"),
        other => format!("{OS_KEYRING_NAME} failed: {other}"),
    };
    KeyringBackendError(text)
}

/// Whether a platform failure means there is no keyring service to talk to.
#[cfg(target_os = "linux")]
fn unreachable(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    if let Some(secret_service::Error::Unavailable) = inner.downcast_ref::<secret_service::Error>()
    {
        return true;
    }
    // The bus is up but nothing provides (or can be started for) the name.
    let text = inner.to_string();
    [
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.Spawn",
        "org.freedesktop.DBus.Error.NoServer",
    ]
    .iter()
    .any(|name| text.contains(name))
}

#[cfg(not(target_os = "linux"))]
fn unreachable(_inner: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_service_says_how_to_start_one() {
        let err = describe(keyring::Error::PlatformFailure(Box::new(
            secret_service::Error::Unavailable,
        )));
        assert!(err.0.starts_with("no Secret Service answers"), "{}", err.0);
        assert!(err.0.contains("gnome-keyring-daemon --start"), "{}", err.0);
        assert!(err.0.contains("cli_auth_credentials_store"), "{}", err.0);
    }

    #[test]
    fn a_locked_keyring_says_how_to_unlock_it() {
        for inner in [secret_service::Error::Locked, secret_service::Error::Prompt] {
            let err = describe(keyring::Error::NoStorageAccess(Box::new(inner)));
            assert!(err.0.contains("keyring is locked"), "{}", err.0);
            assert!(err.0.contains("gnome-keyring-daemon --unlock"), "{}", err.0);
        }
    }

    #[test]
    fn other_failures_name_the_store() {
        let err = describe(keyring::Error::PlatformFailure(Box::new(
            secret_service::Error::Crypto("bad padding"),
        )));
        assert_eq!(
            err.0,
            "the Secret Service failed: Crypto error: bad padding"
        );
        let err = describe(keyring::Error::BadEncoding(b"\xffsk-hidden".to_vec()));
        assert!(!err.0.contains("sk-hidden"), "{}", err.0);
    }
}
