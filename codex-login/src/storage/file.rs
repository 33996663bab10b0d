//! `auth.json` in `CODEX_HOME`, written atomically with private permissions.

use super::{
    AuthStorage, CredentialStoreMode, LoadedAuth, StorageError, StoreLocation, parse_document,
};
use crate::auth_dot_json::AuthDotJson;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name of the credential file.
pub const AUTH_FILE_NAME: &str = "auth.json";

/// `$CODEX_HOME/auth.json`.
///
/// Writes go to a temporary file in the same directory (created `0600`),
/// which is flushed to disk and renamed over `auth.json`, after which the
/// directory is flushed too: readers see the old or the new file, never a
/// torn one, and a pre-existing `0644` file ends up `0600`. A missing
/// directory is created `0700`.
#[derive(Debug, Clone)]
pub struct FileAuthStorage {
    codex_home: PathBuf,
    path: PathBuf,
}

impl FileAuthStorage {
    /// The store for `codex_home`.
    pub fn new(codex_home: &Path) -> Self {
        Self {
            codex_home: codex_home.to_path_buf(),
            path: codex_home.join(AUTH_FILE_NAME),
        }
    }

    /// The path of `auth.json`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuthStorage for FileAuthStorage {
    fn mode(&self) -> CredentialStoreMode {
        CredentialStoreMode::File
    }

    fn load_with_location(&self) -> Result<Option<LoadedAuth>, StorageError> {
        match crate::bounded_file::read_regular_file(
            &self.path,
            crate::bounded_file::MAX_AUTH_FILE_BYTES,
        ) {
            Ok(bytes) => parse_document(&bytes, StoreLocation::File(self.path.clone())).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn save(&self, document: &AuthDotJson) -> Result<(), StorageError> {
        // Pretty JSON without a trailing newline, byte for byte what the
        // official CLI writes.
        write_file_atomically(&self.path, document.to_pretty_json().as_bytes())?;
        remove_stale_temp_files(&self.codex_home);
        Ok(())
    }

    fn delete(&self) -> Result<bool, StorageError> {
        remove_stale_temp_files(&self.codex_home);
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StorageError::Io {
                action: "delete",
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        let not_writable = |reason: String| StorageError::NotWritable {
            location: StoreLocation::File(self.path.clone()),
            reason,
        };
        if !self.codex_home.is_dir() {
            return Err(not_writable(format!(
                "the directory {} does not exist",
                self.codex_home.display()
            )));
        }
        match std::fs::OpenOptions::new().append(true).open(&self.path) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(not_writable(format!(
                    "the file cannot be opened for writing: {err}"
                )));
            }
        }
        tempfile::Builder::new()
            .prefix(".auth.json.check.")
            .tempfile_in(&self.codex_home)
            .map(drop)
            .map_err(|err| {
                not_writable(format!(
                    "no temporary file can be created in {}: {err}",
                    self.codex_home.display()
                ))
            })
    }
}

/// Temporary files older than this were left by a writer that died before renaming them.
pub const STALE_TEMP_FILE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the `.auth.json.*.tmp` files a killed writer left in `dir`: each is a full copy
/// of the credentials. Files younger than [`STALE_TEMP_FILE_AGE`] may belong to a writer
/// that is still running and are kept. Best effort: failures are ignored.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(".auth.json.") && name.ends_with(".tmp")) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMP_FILE_AGE);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `contents` atomically: a `0600` temporary file in the
/// same directory, fsync, rename, fsync of the directory. Creates the
/// directory (`0700`) when missing.
pub fn write_file_atomically(path: &Path, contents: &[u8]) -> Result<(), StorageError> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    create_private_dir(dir)?;
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| StorageError::Io {
            action,
            path,
            source,
        }
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".auth.json.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err("create a temporary file in", dir))?;
    restrict_file(temp.as_file()).map_err(io_err("set permissions on", temp.path()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_err("write", temp.path()))?;
    temp.persist(path)
        .map_err(|err| io_err("replace", path)(err.error))?;
    sync_dir(dir).map_err(io_err("flush directory", dir))?;
    Ok(())
}

/// Creates `dir` (and parents) `0700` if missing, and tightens an existing one.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StorageError::Io {
        action: "create directory",
        path: dir.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |source| StorageError::Io {
                action: "set permissions on",
                path: dir.to_path_buf(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(unix)]
fn restrict_file(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_file(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}
