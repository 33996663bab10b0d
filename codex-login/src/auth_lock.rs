//! The cross-process lock on `$CODEX_HOME/auth.json.lock`.
//!
//! A refresh (and a logout) happens only while this lock is held, after the
//! store has been re-read under it. The lock is an OS file lock
//! (`std::fs::File::lock`, i.e. `flock` on Unix, `LockFileEx` on Windows): it
//! dies with the process that holds it, so a holder killed with SIGKILL never
//! wedges the others. Waiting is bounded.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name in `CODEX_HOME`.
pub const LOCK_FILE_NAME: &str = "auth.json.lock";
/// How long to wait for another process to release the lock by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(30);

const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthLockError {
    /// The lock file could not be created or opened.
    #[error("cannot open the lock file {path}: {source}")]
    Open {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Locking failed for a reason other than another holder.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another process held the lock for the whole wait.
    #[error(
        "another Codex process has held {path} for more than {} s; \
         try again, or end the process that is refreshing credentials",
        waited.as_secs()
    )]
    TimedOut {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}

impl AuthLockError {
    /// What kind of failure this is: waiting for another holder is transient,
    /// a lock file that cannot be opened or locked is a storage failure.
    pub fn kind(&self) -> codex_auth_provider::AuthErrorKind {
        match self {
            Self::Open { .. } | Self::Lock { .. } => codex_auth_provider::AuthErrorKind::Storage,
            _ => codex_auth_provider::AuthErrorKind::Transient,
        }
    }
}

/// A held lock on `auth.json.lock`; released when dropped (or when the
/// process dies).
#[derive(Debug)]
pub struct AuthFileLock {
    file: File,
    path: PathBuf,
}

impl AuthFileLock {
    /// The lock file path for `codex_home`.
    pub fn path_for(codex_home: &Path) -> PathBuf {
        codex_home.join(LOCK_FILE_NAME)
    }

    /// Takes the lock if it is free right now; `None` if another holder has it.
    pub fn try_acquire(codex_home: &Path) -> Result<Option<Self>, AuthLockError> {
        let path = Self::path_for(codex_home);
        let file = open_lock_file(codex_home, &path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file, path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(AuthLockError::Lock { path, source }),
        }
    }

    /// Waits (asynchronously, polling with backoff) up to `max_wait` for the lock.
    pub async fn acquire(codex_home: &Path, max_wait: Duration) -> Result<Self, AuthLockError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            if let Some(lock) = Self::try_acquire(codex_home)? {
                return Ok(lock);
            }
            let waited = started.elapsed();
            if waited >= max_wait {
                return Err(AuthLockError::TimedOut {
                    path: Self::path_for(codex_home),
                    waited,
                });
            }
            tokio::time::sleep(backoff.min(max_wait - waited)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Like [`AuthFileLock::acquire`], blocking the current thread.
    pub fn acquire_blocking(codex_home: &Path, max_wait: Duration) -> Result<Self, AuthLockError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            if let Some(lock) = Self::try_acquire(codex_home)? {
                return Ok(lock);
            }
            let waited = started.elapsed();
            if waited >= max_wait {
                return Err(AuthLockError::TimedOut {
                    path: Self::path_for(codex_home),
                    waited,
                });
            }
            std::thread::sleep(backoff.min(max_wait - waited));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AuthFileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the
        // release immediate even if the descriptor were shared.
        let _ = self.file.unlock();
    }
}

fn open_lock_file(codex_home: &Path, path: &Path) -> Result<File, AuthLockError> {
    if !codex_home.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(codex_home)
            .map_err(|source| AuthLockError::Open {
                path: path.to_path_buf(),
                source,
            })?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| AuthLockError::Open {
        path: path.to_path_buf(),
        source,
    })
}
