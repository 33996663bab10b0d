//! Read-only store: an expired access token in a `CODEX_HOME` the process cannot write. The
//! refresh token must not be spent (its rotated successor could not be saved, which would burn
//! the token family), so no refresh request is sent, and the error says why.
//!
//! File modes do not stop root. When these tests run as root, the probe process is started as
//! `nobody` (uid/gid 65534) on a home owned by `nobody`, so the modes are really enforced; the
//! test prints which user it used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reliability_support;

use codex_emulator::EmulatorHandle;
use reliability_support::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

const NOBODY: u32 = 65534;

/// A home inside a traversable temporary directory, seeded with an expired login, owned by the
/// user the probe will run as.
struct ReadOnlyHome {
    _base: tempfile::TempDir,
    home: PathBuf,
    as_root: bool,
}

impl ReadOnlyHome {
    fn new(emu: &EmulatorHandle, with_lock_file: bool) -> Self {
        let base = tempfile::tempdir().unwrap();
        let as_root = running_as_root();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let home = base.path().join("codex-home");
        seed_home(&home, &issue(emu, -60));
        if with_lock_file {
            std::fs::write(home.join("auth.json.lock"), b"").unwrap();
            std::fs::set_permissions(
                home.join("auth.json.lock"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        if as_root {
            for entry in std::fs::read_dir(&home).unwrap() {
                std::os::unix::fs::chown(entry.unwrap().path(), Some(NOBODY), Some(NOBODY))
                    .unwrap();
            }
            std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        Self {
            _base: base,
            home,
            as_root,
        }
    }

    fn chmod(&self, relative: &str, mode: u32) {
        let path = if relative.is_empty() {
            self.home.clone()
        } else {
            self.home.join(relative)
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn user(&self) -> &'static str {
        if self.as_root { "nobody" } else { "self" }
    }

    /// Runs a refresh probe (as `nobody` when we are root) and returns its JSON line.
    fn refresh(&self, emu: &EmulatorHandle) -> serde_json::Value {
        let mut command = probe_command(emu);
        command.arg("refresh").arg(&self.home);
        if self.as_root {
            command.uid(NOBODY).gid(NOBODY);
        }
        probe_line(&command.output().unwrap())
    }
}

impl Drop for ReadOnlyHome {
    fn drop(&mut self) {
        // Make the home removable again.
        let _ = std::fs::set_permissions(&self.home, std::fs::Permissions::from_mode(0o700));
    }
}

fn assert_not_refreshed(emu: &EmulatorHandle, home: &Path, before: &[u8]) {
    assert_eq!(
        emu.stats().token_requests,
        0,
        "no refresh request may be sent"
    );
    assert_eq!(
        std::fs::read(home.join("auth.json")).unwrap(),
        before,
        "auth.json is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_codex_home_sends_no_refresh_and_says_why() {
    let emu = strict_emulator().await;
    let setup = ReadOnlyHome::new(&emu, true);
    let before = std::fs::read(setup.home.join("auth.json")).unwrap();
    setup.chmod("", 0o500);
    let line = setup.refresh(&emu);
    assert_eq!(line["ok"], false, "{line}");
    assert_eq!(line["kind"], "storage", "{line}");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("cannot be written")
            && error.contains("not refreshing")
            && error.contains("auth.json"),
        "the error names the file and says why nothing was refreshed: {error}"
    );
    assert_not_refreshed(&emu, &setup.home, &before);
    eprintln!(
        "RELIABILITY-FIGURES read-only-store case=dir-0500 user={} token_requests=0 error={error:?}",
        setup.user()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_auth_json_sends_no_refresh_and_says_why() {
    let emu = strict_emulator().await;
    let setup = ReadOnlyHome::new(&emu, true);
    let before = std::fs::read(setup.home.join("auth.json")).unwrap();
    setup.chmod("auth.json", 0o400);
    let line = setup.refresh(&emu);
    assert_eq!(line["kind"], "storage", "{line}");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("cannot be opened for writing") && error.contains("not refreshing"),
        "{error}"
    );
    assert_not_refreshed(&emu, &setup.home, &before);
    eprintln!(
        "RELIABILITY-FIGURES read-only-store case=auth-json-0400 user={} token_requests=0 error={error:?}",
        setup.user()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_home_without_a_lock_file_sends_no_refresh() {
    // A home that was never written by a Codex process that refreshes (for example a mounted
    // copy): not even the lock file can be created.
    let emu = strict_emulator().await;
    let setup = ReadOnlyHome::new(&emu, false);
    let before = std::fs::read(setup.home.join("auth.json")).unwrap();
    setup.chmod("", 0o500);
    let line = setup.refresh(&emu);
    assert_eq!(line["ok"], false, "{line}");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("auth.json.lock") && error.contains("ermission denied"),
        "the error names the lock file and the cause: {error}"
    );
    assert_not_refreshed(&emu, &setup.home, &before);
    eprintln!(
        "RELIABILITY-FIGURES read-only-store case=dir-0500-no-lock-file user={} kind={} error={error:?}",
        setup.user(),
        line["kind"]
    );
    emu.shutdown().await;
}
