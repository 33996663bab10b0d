//! `codex completion <shell>` (shell completions) and `codex __man <DIR>` (the
//! roff man pages `cargo xtask man` writes), both generated from the clap
//! definitions in `cli.rs` so they cannot drift from the parser.
//!
//! `__man` is read before clap parses the command line, so it appears in
//! neither `--help` nor the completions.

use crate::cli::Cli;
use crate::{exit, term};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

/// The argument that asks for the man pages.
const MAN_ARG: &str = "__man";

/// Prints the completion script for `shell` on stdout.
pub fn completion(shell: Shell) -> u8 {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "codex", &mut script);
    term::print_stdout(&String::from_utf8_lossy(&script));
    exit::OK
}

/// Handles `codex __man <DIR>`; `None` for any other command line.
pub fn man_pages_from_args() -> Option<u8> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != MAN_ARG {
        return None;
    }
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: codex {MAN_ARG} <DIR>");
        return Some(2); // a usage error, as clap exits
    };
    Some(write_man_pages(Path::new(&dir)))
}

/// Writes `codex.1` and one page per subcommand (`codex-login.1`, ...) into `dir`.
fn write_man_pages(dir: &Path) -> u8 {
    let written =
        std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir));
    match written {
        Ok(()) => {
            println!("{}", dir.join("codex.1").display());
            exit::OK
        }
        Err(err) => {
            eprintln!("cannot write the man pages to {}: {err}", dir.display());
            exit::FAILURE
        }
    }
}
