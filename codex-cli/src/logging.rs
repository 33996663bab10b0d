//! Logging: `RUST_LOG` to stderr, and for logins a private log file in
//! `CODEX_HOME`, as the official CLI keeps. Secrets never reach a log: the
//! libraries keep them in redacting types.

use std::path::Path;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Logs to stderr when `RUST_LOG` is set; otherwise nothing is set up (fast start).
pub fn init_stderr() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(quiet_dependencies(EnvFilter::from_default_env()))
        .with_ansi(stderr_has_colour())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether stderr takes colour: a terminal without `NO_COLOR`/`CLICOLOR=0`, or
/// `CLICOLOR_FORCE` (decided by `anstream`), so escapes never reach a log file.
fn stderr_has_colour() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// Logs login activity to `<codex_home>/log/codex-login.log` (created 0600),
/// and to stderr too when `RUST_LOG` is set.
pub fn init_login(codex_home: &Path) {
    let filter = || {
        quiet_dependencies(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("codex_cli=info,codex_login=info")),
        )
    };
    let Some(file) = open_private_log(codex_home) else {
        init_stderr();
        return;
    };
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file).and(std::io::stderr))
            .try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    }
}

/// Caps dependencies that log secrets at debug level, whatever `RUST_LOG` asks: `webbrowser`
/// logs the command line it runs, which holds the whole authorize URL (with `state`). The login
/// flow logs a redacted form of that URL itself.
fn quiet_dependencies(filter: EnvFilter) -> EnvFilter {
    match "webbrowser=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

fn open_private_log(codex_home: &Path) -> Option<std::fs::File> {
    let dir = codex_home.join("log");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&dir).ok()?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(dir.join("codex-login.log")).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Some(file)
}
