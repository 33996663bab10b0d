//! Who may cancel a login through `GET /cancel` on its callback server.
//!
//! The official CLI cancels on any `GET /cancel`, so any web page (a cross-site
//! image or navigation to `http://localhost:1455/cancel`) or any local user can
//! end a login in progress. Ours requires a per-login random secret as the
//! `cancel_token` query parameter. The secret is published in a `0600` file in
//! `CODEX_HOME` (`login-cancel-<port>`), so a newer `codex login` of the same
//! user and `CODEX_HOME` can still take the port over; anyone else cannot, and
//! a newer login that cannot cancel moves to the fallback port (or the device
//! code) as for any busy port.

use std::path::{Path, PathBuf};

use codex_auth_provider::SecretString;
use tracing::{debug, warn};

use super::pkce::generate_state;
use crate::bounded_file::read_regular_text_file;
use crate::storage::write_file_atomically;

/// The query parameter carrying the secret: `GET /cancel?cancel_token=<secret>`.
pub(crate) const CANCEL_TOKEN_PARAM: &str = "cancel_token";
/// Longest secret file read.
const MAX_SECRET_FILE_BYTES: u64 = 1024;

/// The file a login server on `port` publishes its cancel secret in.
pub fn cancel_secret_path(codex_home: &Path, port: u16) -> PathBuf {
    codex_home.join(format!("login-cancel-{port}"))
}

/// The cancel secret published for `port`, if a readable one exists.
pub fn read_cancel_secret(codex_home: &Path, port: u16) -> Option<SecretString> {
    let path = cancel_secret_path(codex_home, port);
    let text = read_regular_text_file(&path, MAX_SECRET_FILE_BYTES).ok()?;
    let secret = text.trim();
    (!secret.is_empty()).then(|| SecretString::new(secret))
}

/// The secret of one running login server; dropping it removes its file (when it is still ours).
#[cfg_attr(not(feature = "browser-login"), allow(dead_code))] // used by the browser login server
pub(crate) struct PublishedCancelSecret {
    secret: SecretString,
    file: Option<PathBuf>,
}

impl std::fmt::Debug for PublishedCancelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedCancelSecret")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(not(feature = "browser-login"), allow(dead_code))] // used by the browser login server
impl PublishedCancelSecret {
    /// A fresh secret, written to [`cancel_secret_path`]. When the file cannot be written the
    /// secret stays in memory only: the login works, only a newer login cannot cancel it.
    pub(crate) fn publish(codex_home: &Path, port: u16) -> Self {
        let secret = generate_state();
        let path = cancel_secret_path(codex_home, port);
        let file = match write_file_atomically(&path, secret.expose().as_bytes()) {
            Ok(()) => Some(path),
            Err(err) => {
                warn!(error = %err, "could not publish the login cancel secret; a newer login cannot take this port over");
                None
            }
        };
        Self { secret, file }
    }

    /// The secret, to check a presented `cancel_token` against.
    pub(crate) fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl Drop for PublishedCancelSecret {
    fn drop(&mut self) {
        let Some(path) = self.file.take() else {
            return;
        };
        // A newer login may already have published its own secret for this port.
        let still_ours = read_regular_text_file(&path, MAX_SECRET_FILE_BYTES)
            .is_ok_and(|text| self.secret.constant_time_eq(text.trim()));
        if still_ours && let Err(err) = std::fs::remove_file(&path) {
            debug!(error = %err, "could not remove the login cancel secret file");
        }
    }
}

/// Why a `/cancel` request was refused.
#[cfg_attr(not(feature = "browser-login"), allow(dead_code))] // used by the browser login server
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelRefusal {
    /// A browser marked it as coming from another site (`Origin`, `Sec-Fetch-Site`).
    CrossSite,
    /// The `cancel_token` is missing or wrong.
    BadToken,
}

/// Checks a `/cancel` request: no browser cross-site markers, and the right secret.
#[cfg_attr(not(feature = "browser-login"), allow(dead_code))] // used by the browser login server
pub(crate) fn check_cancel_request(
    secret: &SecretString,
    headers: &http::HeaderMap,
    query: Option<&str>,
) -> Result<(), CancelRefusal> {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    let cross_site = headers.contains_key(http::header::ORIGIN)
        || fetch_site.is_some_and(|site| site != "none" && site != "same-origin");
    if cross_site {
        return Err(CancelRefusal::CrossSite);
    }
    let presented = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == CANCEL_TOKEN_PARAM)
        .map(|(_, value)| value.into_owned());
    match presented {
        Some(token) if secret.constant_time_eq(&token) => Ok(()),
        _ => Err(CancelRefusal::BadToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_secret_is_private_and_removed_on_drop() {
        let home = tempfile::tempdir().unwrap();
        let published = PublishedCancelSecret::publish(home.path(), 4242);
        let read = read_cancel_secret(home.path(), 4242).unwrap();
        assert!(published.secret().constant_time_eq(read.expose()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cancel_secret_path(home.path(), 4242))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(published);
        assert!(read_cancel_secret(home.path(), 4242).is_none());
    }

    #[test]
    fn cancel_needs_the_token_and_no_cross_site_marker() {
        let secret = SecretString::new("s3cret-value");
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            check_cancel_request(&secret, &headers, Some("cancel_token=s3cret-value")),
            Ok(())
        );
        assert_eq!(
            check_cancel_request(&secret, &headers, None),
            Err(CancelRefusal::BadToken)
        );
        assert_eq!(
            check_cancel_request(&secret, &headers, Some("cancel_token=guess")),
            Err(CancelRefusal::BadToken)
        );
        headers.insert(
            "sec-fetch-site",
            http::HeaderValue::from_static("cross-site"),
        );
        assert_eq!(
            check_cancel_request(&secret, &headers, Some("cancel_token=s3cret-value")),
            Err(CancelRefusal::CrossSite)
        );
    }
}
