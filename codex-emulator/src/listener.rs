//! A TCP listener whose connections a handler can drop without answering (fault injection).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections and hands each handler a [`ConnectionHandle`] to it.
#[derive(Debug)]
pub(crate) struct ConnectionListener {
    inner: TcpListener,
}

impl ConnectionListener {
    /// Wraps a bound tokio listener.
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }

    /// Splits an accepted stream into the served stream and a duplicate used only to shut it.
    fn split(stream: TcpStream) -> io::Result<(TcpStream, Option<Arc<std::net::TcpStream>>)> {
        let std_stream = stream.into_std()?;
        let duplicate = std_stream.try_clone()?;
        let stream = TcpStream::from_std(std_stream)?;
        Ok((stream, Some(Arc::new(duplicate))))
    }
}

/// The peer of one connection, able to drop it without a response.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionHandle {
    remote: SocketAddr,
    socket: Option<Arc<std::net::TcpStream>>,
}

impl ConnectionHandle {
    /// Shuts the connection down in both directions; the client sees it close unanswered.
    pub(crate) fn drop_connection(&self) {
        match &self.socket {
            Some(socket) => {
                if let Err(error) = socket.shutdown(Shutdown::Both) {
                    tracing::warn!(%error, remote = %self.remote, "could not drop connection");
                }
            }
            None => tracing::warn!(remote = %self.remote, "connection cannot be dropped"),
        }
    }
}

impl Listener for ConnectionListener {
    type Io = TcpStream;
    type Addr = ConnectionHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    match Self::split(stream) {
                        Ok((stream, socket)) => {
                            return (stream, ConnectionHandle { remote, socket });
                        }
                        Err(error) => {
                            tracing::warn!(%error, "could not prepare accepted connection")
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnectionHandle {
            remote: self.inner.local_addr()?,
            socket: None,
        })
    }
}

impl Connected<IncomingStream<'_, ConnectionListener>> for ConnectionHandle {
    fn connect_info(stream: IncomingStream<'_, ConnectionListener>) -> Self {
        stream.remote_addr().clone()
    }
}
