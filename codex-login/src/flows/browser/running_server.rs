//! The running callback server tasks behind a `LoginServer`.

use super::SERVER_DRAIN_TIMEOUT;
use crate::flows::callback_port::CallbackListeners;
use crate::flows::callback_server::{LoginAttempt, callback_router};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

/// The running callback server tasks; dropping this stops them and frees the port.
#[derive(Debug)]
pub(super) struct RunningServer {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    pub(super) fn spawn(listeners: CallbackListeners, attempt: Arc<LoginAttempt>) -> Self {
        let (shutdown, _) = watch::channel(false);
        let router = callback_router(attempt);
        let mut tasks = Vec::new();
        for listener in std::iter::once(listeners.ipv4).chain(listeners.ipv6) {
            let mut stop = shutdown.subscribe();
            let router = router.clone();
            tasks.push(tokio::spawn(async move {
                let signal = async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                };
                if let Err(error) = axum::serve(listener, router)
                    .with_graceful_shutdown(signal)
                    .await
                {
                    warn!(%error, "login callback server stopped with an error");
                }
            }));
        }
        Self { shutdown, tasks }
    }

    /// Stops accepting (the listeners close at once), lets in-flight responses finish briefly,
    /// then aborts whatever is left.
    pub(super) async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + SERVER_DRAIN_TIMEOUT;
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
