//! codex-agent-identity: work in progress.
