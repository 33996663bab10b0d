//! Binding the loopback callback port: cancel a stale login server, retry, then the fallback port.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use std::path::Path;

use codex_auth_provider::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use super::cancel_secret::{CANCEL_TOKEN_PARAM, read_cancel_secret};

/// The callback port registered with the issuer.
pub const DEFAULT_CALLBACK_PORT: u16 = 1455;
/// The second registered port, tried when [`DEFAULT_CALLBACK_PORT`] stays busy.
pub const FALLBACK_CALLBACK_PORT: u16 = 1457;

const BIND_ATTEMPTS: u32 = 10;
const BIND_RETRY_DELAY: Duration = Duration::from_millis(200);
const CANCEL_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Why one port could not be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortFailureKind {
    /// Another socket listens there.
    InUse,
    /// The OS refused (a reserved or excluded port range, or a privileged port).
    PermissionDenied,
    /// Any other bind error.
    Other(String),
}

/// One port we tried and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFailure {
    /// The port number on 127.0.0.1.
    pub port: u16,
    /// What went wrong.
    pub kind: PortFailureKind,
}

impl fmt::Display for PortFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PortFailureKind::InUse => {
                write!(f, "Port 127.0.0.1:{} is already in use", self.port)
            }
            PortFailureKind::PermissionDenied => write!(
                f,
                "Permission denied binding 127.0.0.1:{} (the port may be reserved or excluded by the OS, it is not necessarily in use)",
                self.port
            ),
            PortFailureKind::Other(message) => {
                write!(f, "Could not bind 127.0.0.1:{}: {message}", self.port)
            }
        }
    }
}

/// No callback port could be bound; names every port tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_failures(.failures))]
pub struct CallbackBindError {
    /// Each port tried, in order, with its failure.
    pub failures: Vec<PortFailure>,
}

impl CallbackBindError {
    /// The ports that were tried.
    pub fn ports(&self) -> Vec<u16> {
        self.failures.iter().map(|failure| failure.port).collect()
    }
}

fn describe_failures(failures: &[PortFailure]) -> String {
    match failures {
        [only] => only.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!(
                "No login callback port is available: {}. Stop the program using them, or use `codex login --device-auth`.",
                parts.join("; ")
            )
        }
    }
}

/// The listeners of a bound callback server: IPv4 always, IPv6 loopback when available.
#[derive(Debug)]
pub(crate) struct CallbackListeners {
    /// `127.0.0.1:<port>`.
    pub ipv4: TcpListener,
    /// `[::1]:<port>`, so a browser resolving `localhost` to `::1` reaches us too.
    pub ipv6: Option<TcpListener>,
    /// The bound port.
    pub port: u16,
}

/// Binds the callback port.
///
/// Port 0 picks an ephemeral port. For a fixed busy port, a `GET /cancel` is sent once to whatever
/// listens (with the cancel token a login of ours published in `codex_home` for that port, so a
/// stale login server of ours shuts down), then the bind is retried every 200 ms up to 10 times;
/// if it stays unavailable and `fallback_port` is set, that port gets 10 attempts too.
pub(crate) async fn bind_callback_port(
    port: u16,
    fallback_port: Option<u16>,
    codex_home: Option<&Path>,
) -> Result<CallbackListeners, CallbackBindError> {
    let mut failures = Vec::new();
    match bind_with_retries(port, true, codex_home).await {
        Ok(listeners) => return Ok(listeners),
        Err(failure) => failures.push(failure),
    }
    if let Some(fallback) = fallback_port.filter(|fallback| *fallback != port && port != 0) {
        info!(
            port,
            fallback, "login callback port unavailable; trying the fallback port"
        );
        match bind_with_retries(fallback, false, codex_home).await {
            Ok(listeners) => return Ok(listeners),
            Err(failure) => failures.push(failure),
        }
    }
    Err(CallbackBindError { failures })
}

async fn bind_with_retries(
    port: u16,
    cancel_stale: bool,
    codex_home: Option<&Path>,
) -> Result<CallbackListeners, PortFailure> {
    let mut cancel_sent = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(ipv4) => return finish_bind(ipv4).await,
            Err(error) => error,
        };
        let kind = classify_bind_error(&error);
        if port == 0 || kind != PortFailureKind::InUse || attempt >= BIND_ATTEMPTS {
            return Err(PortFailure { port, kind });
        }
        if cancel_stale && !cancel_sent {
            cancel_sent = true;
            let token = codex_home.and_then(|home| read_cancel_secret(home, port));
            send_cancel_request(port, token.as_ref()).await;
        }
        tokio::time::sleep(BIND_RETRY_DELAY).await;
    }
}

async fn finish_bind(ipv4: TcpListener) -> Result<CallbackListeners, PortFailure> {
    let port = ipv4
        .local_addr()
        .map_err(|error| PortFailure {
            port: 0,
            kind: PortFailureKind::Other(error.to_string()),
        })?
        .port();
    let ipv6 = match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
        Ok(listener) => Some(listener),
        Err(error) => {
            debug!(port, %error, "not listening on [::1]; IPv4 loopback only");
            None
        }
    };
    Ok(CallbackListeners { ipv4, ipv6, port })
}

fn classify_bind_error(error: &io::Error) -> PortFailureKind {
    match error.kind() {
        io::ErrorKind::AddrInUse => PortFailureKind::InUse,
        io::ErrorKind::PermissionDenied => PortFailureKind::PermissionDenied,
        _ => PortFailureKind::Other(error.to_string()),
    }
}

/// Asks a server on `127.0.0.1:<port>` to `GET /cancel` (with `?cancel_token=` when a token is
/// given: our servers need it, the official CLI's ignore it); every failure is only logged.
pub(crate) async fn send_cancel_request(port: u16, token: Option<&SecretString>) {
    let target = match token {
        Some(token) => format!(
            "/cancel?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(CANCEL_TOKEN_PARAM, token.expose())
                .finish()
        ),
        None => "/cancel".to_owned(),
    };
    let result = tokio::time::timeout(CANCEL_IO_TIMEOUT * 2, async {
        let mut stream = tokio::time::timeout(
            CANCEL_IO_TIMEOUT,
            TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        tokio::time::timeout(CANCEL_IO_TIMEOUT, stream.write_all(request.as_bytes()))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))??;
        let mut buffer = [0u8; 512];
        let _ = tokio::time::timeout(CANCEL_IO_TIMEOUT, stream.read(&mut buffer)).await;
        Ok::<(), io::Error>(())
    })
    .await;
    match result {
        Ok(Ok(())) => debug!(port, "asked the previous login server to cancel"),
        Ok(Err(error)) => warn!(port, %error, "could not ask the previous login server to cancel"),
        Err(_) => warn!(
            port,
            "cancel request to the previous login server timed out"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ephemeral_port_binds() {
        let listeners = bind_callback_port(0, None, None).await.unwrap();
        assert_ne!(listeners.port, 0);
        assert_eq!(listeners.ipv4.local_addr().unwrap().port(), listeners.port);
    }

    #[tokio::test]
    async fn busy_port_without_fallback_names_the_port() {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let err = bind_callback_port(port, None, None).await.unwrap_err();
        assert_eq!(err.ports(), vec![port]);
        assert_eq!(
            err.to_string(),
            format!("Port 127.0.0.1:{port} is already in use")
        );
    }

    #[test]
    fn permission_denied_is_not_called_in_use() {
        let failure = PortFailure {
            port: 1455,
            kind: classify_bind_error(&io::Error::from(io::ErrorKind::PermissionDenied)),
        };
        let text = failure.to_string();
        assert!(text.contains("Permission denied") && !text.contains("already in use"));
    }
}
