//! codex-emulator: work in progress.
