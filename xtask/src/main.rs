//! Project chores: `cargo xtask demo` and `cargo xtask bench`.

mod demo;

use anyhow::bail;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    match task.as_str() {
        "demo" => demo::run(),
        "" | "help" | "--help" | "-h" => {
            println!(
                "usage: cargo xtask <task>\n\ntasks:\n  demo   run the codex CLI end to end against the embedded emulator"
            );
            Ok(())
        }
        other => bail!("unknown xtask {other:?}; known: demo"),
    }
}
