//! Reading small files safely: only regular files, never more than a cap.
//!
//! `auth.json`, `config.toml`, the CA bundle and the refresh-failure record
//! are read through [`read_regular_file`]. A FIFO, a device (`/dev/zero`), a
//! directory or a file larger than the cap is refused with an error saying
//! which, instead of blocking forever or filling memory.

use std::io::{self, Read};
use std::path::Path;

pub(crate) use codex_auth_provider::bounded_body::ByteSize;

/// Cap for `auth.json` (a login holds a few KiB; an agent identity JWT at most 64 KiB).
pub(crate) const MAX_AUTH_FILE_BYTES: u64 = 1024 * 1024;
/// Cap for `config.toml`.
pub(crate) const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;
/// Cap for a PEM bundle of extra CA certificates (system bundles are a few hundred KiB).
pub(crate) const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads `path` whole if it is a regular file of at most `limit` bytes.
///
/// The file is opened without blocking (so a FIFO with no writer cannot hang
/// the open), then checked with `fstat` on the open descriptor (so it cannot
/// be swapped between the check and the read), and read with a hard cap (so
/// a file that grows while being read is still bounded). `NotFound` and
/// permission errors keep their kind; the other refusals are `InvalidData`
/// with a message saying what the file is.
pub(crate) fn read_regular_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is not a regular file ({})", describe_kind(&meta)),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let capacity = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_regular_file`], as UTF-8 text.
pub(crate) fn read_regular_text_file(path: &Path, limit: u64) -> io::Result<String> {
    let bytes = read_regular_file(path, limit)?;
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not UTF-8 text".to_owned(),
        )
    })
}

fn too_large(limit: u64) -> io::Error {
    let shown = usize::try_from(limit).map_or_else(
        |_| format!("{limit} bytes"),
        |limit| ByteSize(limit).to_string(),
    );
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("it is larger than {shown}, more than such a file can hold"),
    )
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    // Back to blocking reads: a regular file never blocks, and anything else is refused.
    let mut flags = nix::fcntl::OFlag::from_bits_truncate(nix::fcntl::fcntl(
        &file,
        nix::fcntl::FcntlArg::F_GETFL,
    )?);
    flags.remove(nix::fcntl::OFlag::O_NONBLOCK);
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(flags))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

fn describe_kind(meta: &std::fs::Metadata) -> &'static str {
    if meta.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a plain file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_and_large_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_regular_file(&path, 5).unwrap(), b"hello");
        let err = read_regular_file(&path, 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than 4 bytes"), "{err}");
        let err = read_regular_file(dir.path(), 4).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let missing = read_regular_file(&dir.path().join("none"), 4).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
