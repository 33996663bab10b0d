//! codex-backend-client: work in progress.
