//! The `codex` command.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("codex: not yet available")
}
