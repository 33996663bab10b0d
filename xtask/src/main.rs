//! Project chores: `cargo xtask demo` and `cargo xtask bench`.

mod bench;
mod demo;
mod man;
mod module_cycles;
mod public_paths;
mod shape;

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  demo    run the codex CLI end to end against the embedded emulator
  bench   time `codex token` / `whoami` / `login status` next to the official
          CLI's `login status`, and `codex whoami --check` next to curl making
          the same request to the emulator (release builds); writes
          docs/PERFORMANCE.md (BENCH_CODEX_BIN=<binary>: time that one, no write)
  man     write the codex man pages (roff) to target/man, or to the given directory
  check-shape  root export counts, file lengths, module cycles, codex-login without default features, no own-module glob imports outside tests (issue 16)
  module-cycles [CRATE...]  cycles between modules (siblings at any depth) of every crate, from cargo-modules' graph (needs cargo-modules 0.27)";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    match task.as_str() {
        "demo" => demo::run(),
        "bench" => {
            let root = workspace_root()?;
            let target = target_dir(&root);
            bench::run(&root, &target)
        }
        "man" => {
            let root = workspace_root()?;
            let target = target_dir(&root);
            man::run(&root, &target, args.next())
        }
        "check-shape" => shape::run(&workspace_root()?),
        "module-cycles" => module_cycles::run(&workspace_root()?, args.collect()),
        "measure-rss" => bench::measure_rss(args),
        "" | "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown xtask {other:?}\n\n{USAGE}"),
    }
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Cargo's target directory.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// A binary's file name on this platform.
pub fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}
