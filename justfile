# Recipes for people who have `just`; each is a plain cargo command.

default: lint test

fmt:
    cargo fmt --all

fix:
    cargo clippy --workspace --all-targets --fix --allow-dirty --allow-staged
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

test:
    cargo test --workspace --locked

demo:
    cargo xtask demo

bench:
    cargo xtask bench

ci:
    bash .ci/run
