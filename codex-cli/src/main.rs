//! The `codex` command: `login`, `login status`, `logout`, `whoami`.
//!
//! Thin by design: every decision lives in the library crates; this binary
//! parses arguments, reads configuration, calls them and prints results.
//! Offline commands (`login status`, `whoami` without `--check`) start no
//! async runtime and build no HTTP client.

mod api_key_check;
mod api_key_mask;
mod cli;
mod completion;
mod context;
mod doctor;
mod exit;
mod logging;
mod login_cmd;
mod pat;
mod profile_cmd;
mod term;
mod token_cmd;
mod whoami;
mod workload_cmd;

use clap::Parser;
use cli::{Cli, Command, LoginAction};
use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(code) = completion::man_pages_from_args() {
        return ExitCode::from(code);
    }
    let cli = Cli::parse();
    if let Some(code) = profile_cmd::select_profile(&cli) {
        return ExitCode::from(code);
    }
    let code = match cli.command {
        Command::Login(args) => match args.action {
            Some(LoginAction::Status) => login_cmd::status(&cli.overrides),
            None => login_cmd::login(&cli.overrides, args),
        },
        Command::Logout(args) if args.is_plain() && context::profile().is_none() => {
            let code = login_cmd::logout(&cli.overrides);
            profile_cmd::forget_active_name(&cli.overrides);
            code
        }
        Command::Logout(args) => profile_cmd::logout(&cli.overrides, &args),
        Command::Whoami(args) if args.all => profile_cmd::list(&cli.overrides, args.json),
        Command::Whoami(args) => whoami::run(&cli.overrides, &args),
        Command::Profile(args) => profile_cmd::run(&cli.overrides, args),
        Command::Token(args) => token_cmd::run(&cli.overrides, &args),
        Command::Completion(args) => completion::completion(args.shell),
        Command::Doctor(args) => doctor::run(&cli.overrides, &args),
    };
    ExitCode::from(code)
}
