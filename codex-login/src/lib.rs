//! codex-login: work in progress.
