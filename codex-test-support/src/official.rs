//! The official Codex CLI 0.169.0, for interop and differential tests. It comes from
//! `CODEX_OFFICIAL_BIN` (the CI script installs it from npm); without it the tests print a
//! loud skip notice, unless `CODEX_REQUIRE_OFFICIAL_CLI=1` demands it. Callers must only run
//! it with a private `CODEX_HOME` whose config and environment point at loopback.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The installed official binary, or `None` after a loud notice; panics when
/// `CODEX_REQUIRE_OFFICIAL_CLI=1` and `CODEX_OFFICIAL_BIN` is not an existing file.
pub fn official_bin() -> Option<PathBuf> {
    match std::env::var_os("CODEX_OFFICIAL_BIN") {
        Some(path) if !path.is_empty() && Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            assert!(
                std::env::var("CODEX_REQUIRE_OFFICIAL_CLI").as_deref() != Ok("1"),
                "CODEX_REQUIRE_OFFICIAL_CLI=1 but CODEX_OFFICIAL_BIN is not an installed official codex"
            );
            // Written to the real stderr, past libtest's capture, so a skip is never silent.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: the official Codex CLI is not installed (set CODEX_OFFICIAL_BIN; \
                 `bash .ci/run` installs @openai/codex@0.169.0 from npm) ***\n"
            );
            None
        }
    }
}
