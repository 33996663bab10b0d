//! The fuzz targets' seed corpora on stable Rust: every file of `fuzz/corpus/<target>/` goes
//! through the same entry function the `cargo fuzz` target calls (`fuzz/src/entry_points.rs`,
//! compiled in here), so CI checks each target's properties on every seed without nightly.
//! Also runs each target on a few thousand deterministic mutations of the seeds, a cheap
//! smoke test of the same properties. See docs/RELIABILITY.md for the real fuzzing runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/src/entry_points.rs"]
mod entry_points;

use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("auth_json", entry_points::auth_json),
    ("id_token_claims", entry_points::id_token_claims),
    ("agent_assertion", entry_points::agent_assertion),
    ("jwt_shape", entry_points::jwt_shape),
    ("callback_query", entry_points::callback_query),
];

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("seed corpus {}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// A tiny deterministic PRNG (xorshift), so the mutations are the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

/// Bytes that matter to the parsers under test.
const ALPHABET: &[u8] = b".{}\":=&%+/ \\AZaz09";

/// Flips, inserts, deletes or duplicates a few bytes.
fn mutate(seed: &[u8], rng: &mut Xorshift) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => {
                let end = (at + rng.below(16)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

#[test]
fn every_seed_passes_its_fuzz_target() {
    let mut total = 0;
    for (target, entry) in TARGETS {
        let files = corpus(target);
        assert!(files.len() >= 5, "{target}: only {} seeds", files.len());
        for (path, bytes) in &files {
            let result = std::panic::catch_unwind(|| entry(bytes));
            assert!(result.is_ok(), "{target}: seed {} fails", path.display());
        }
        eprintln!(
            "RELIABILITY-FIGURES fuzz-seeds target={target} seeds={}",
            files.len()
        );
        total += files.len();
    }
    assert!(total >= 50, "{total} seeds in all");
}

#[test]
fn mutated_seeds_pass_their_fuzz_targets() {
    const MUTATIONS_PER_TARGET: usize = 3000;
    for (index, (target, entry)) in TARGETS.iter().enumerate() {
        let seeds = corpus(target);
        let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15 ^ u64::try_from(index).unwrap());
        for _ in 0..MUTATIONS_PER_TARGET {
            let (path, seed) = &seeds[rng.below(seeds.len())];
            let input = mutate(seed, &mut rng);
            let result = std::panic::catch_unwind(|| entry(&input));
            assert!(
                result.is_ok(),
                "{target}: a mutation of {} fails: {:?}",
                path.display(),
                String::from_utf8_lossy(&input)
            );
        }
        eprintln!(
            "RELIABILITY-FIGURES fuzz-mutations target={target} inputs={MUTATIONS_PER_TARGET}"
        );
    }
}

#[test]
fn good_seeds_reach_the_success_paths() {
    // The seed corpora must exercise the "it parses" branches, not only the rejections.
    let seed = |target: &str, name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/corpus")
                .join(target)
                .join(name),
        )
        .unwrap()
    };
    let text = |target: &str, name: &str| String::from_utf8(seed(target, name)).unwrap();
    for name in [
        "official-apikey.json",
        "managed-chatgpt.json",
        "agent-record.json",
    ] {
        let document =
            codex_login::auth_dot_json::AuthDotJson::from_json_bytes(&seed("auth_json", name))
                .unwrap();
        codex_login::codex_auth::CodexAuth::from_auth_dot_json(document).unwrap();
    }
    codex_login::token_claims::IdTokenClaims::parse(&text("id_token_claims", "full-claims.txt"))
        .unwrap();
    codex_agent_identity::AgentAssertion::decode(&text("agent_assertion", "valid-with-scheme.txt"))
        .unwrap();
    codex_agent_identity::AgentIdentityJwt::decode_unverified(&text(
        "jwt_shape",
        "agent-identity.txt",
    ))
    .unwrap();
    let params =
        codex_login::flows::CallbackParams::from_query(&text("callback_query", "good.txt"));
    assert!(params.code.is_some() && params.state.is_some());
}
