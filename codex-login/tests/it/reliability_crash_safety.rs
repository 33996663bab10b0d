//! Crash safety of `auth.json` across real processes (the probe binary):
//! - a writer saving two documents alternately through `FileAuthStorage::save` is SIGKILLed
//!   at random points until 500 saves have completed; after every kill `auth.json` parses and
//!   is byte for byte the document saved last or the one being saved;
//! - 2 writer processes and 4 reader processes run together for 10 s; no reader ever sees
//!   invalid (torn, empty, truncated) JSON.
//!
//! A writer killed between creating its temporary file and renaming it leaves the file (a
//! full copy of the credentials, `0600`) behind; the next save or logout removes it once it
//! is older than `STALE_TEMP_FILE_AGE`.
//!
//! Figures: `CODEX_RELIABILITY_SAVES` (default 500) and `CODEX_RELIABILITY_STRESS_MS`
//! (default 10000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::probe;
use crate::reliability_support;

use codex_auth_provider::SecretString;
use codex_login::auth_dot_json::{AuthDotJson, StoredTokens};
use codex_login::storage::{AuthStorage, FileAuthStorage, STALE_TEMP_FILE_AGE};
use rand::Rng;
use reliability_support::*;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fake_jwt;

/// A ChatGPT document whose tokens all carry `tag`; padded so a save is more than one page.
fn document(tag: &str) -> AuthDotJson {
    let id_token = fake_jwt(&serde_json::json!({
        "email": format!("{tag}@example.com"),
        "https://api.openai.com/auth": {"chatgpt_account_id": "acct-crash", "chatgpt_user_id": "user-crash"},
        "padding": tag.repeat(2048),
    }));
    let access = fake_jwt(&serde_json::json!({"exp": 4_000_000_000_i64, "tag": tag}));
    AuthDotJson::chatgpt(
        StoredTokens::new(
            SecretString::new(id_token),
            SecretString::new(access),
            SecretString::new(format!("rt-{tag}-{}", tag.repeat(40))),
            Some("acct-crash".to_owned()),
        ),
        None,
        chrono::Utc::now(),
    )
}

/// Writes the two documents as files the probe reads, returning their exact saved bytes.
fn prepare_documents(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut bytes = Vec::new();
    for name in ["a", "b"] {
        let sub = dir.join(name);
        FileAuthStorage::new(&sub).save(&document(name)).unwrap();
        bytes.push(std::fs::read(sub.join("auth.json")).unwrap());
    }
    let b = bytes.pop().unwrap();
    let a = bytes.pop().unwrap();
    (a, b)
}

fn save_loop(home: &Path, docs: &Path, count: u64) -> Command {
    let mut command = probe::command();
    command
        .arg("save-loop")
        .arg(home)
        .arg(docs.join("a").join("auth.json"))
        .arg(docs.join("b").join("auth.json"))
        .arg(count.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn leftover_temp_files(home: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".auth.json."))
        })
        .collect()
}

/// The exact bytes the probe writes for save number `n` (document `a` for even `n`).
fn saved_bytes(docs: &Path, n: u64) -> Vec<u8> {
    let name = if n.is_multiple_of(2) { "a" } else { "b" };
    let bytes = std::fs::read(docs.join(name).join("auth.json")).unwrap();
    let mut doc = AuthDotJson::from_json_bytes(&bytes).unwrap();
    doc.extra
        .insert("save_seq".to_owned(), serde_json::Value::from(n));
    doc.to_pretty_json().into_bytes()
}

#[test]
fn sigkilled_writer_never_leaves_a_torn_auth_json() {
    use std::os::unix::fs::PermissionsExt;
    let target_saves = count_from_env("CODEX_RELIABILITY_SAVES", 500, 500);
    let docs = tempfile::tempdir().unwrap();
    let _ = prepare_documents(docs.path());
    let home = tempfile::tempdir().unwrap();
    let mut baseline = document("b");
    baseline
        .extra
        .insert("save_seq".to_owned(), serde_json::Value::from("baseline"));
    let baseline = baseline.to_pretty_json().into_bytes();
    let mut rng = rand::rng();
    let started = Instant::now();
    let (mut saves, mut kills, mut landed_in_flight) = (0u64, 0u64, 0u64);
    while saves < target_saves {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "bounded: {saves} saves"
        );
        std::fs::write(home.path().join("auth.json"), &baseline).unwrap();
        let mut child = save_loop(home.path(), docs.path(), 1_000_000)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.random_range(1_000..40_000)));
        child.kill().unwrap(); // SIGKILL at a random point of the save loop.
        child.wait().unwrap();
        kills += 1;
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let completed =
            u64::try_from(probe::stdout_lines(stdout.as_bytes()).lines().count()).unwrap();
        saves += completed;

        let bytes = std::fs::read(home.path().join("auth.json")).unwrap();
        AuthDotJson::from_json_bytes(&bytes).unwrap_or_else(|problem| {
            panic!("after kill {kills} ({saves} saves) auth.json does not parse: {problem}")
        });
        // Old: the last save reported done (or the baseline). New: the save in flight.
        let old = match completed {
            0 => baseline.clone(),
            n => saved_bytes(docs.path(), n - 1),
        };
        let new = saved_bytes(docs.path(), completed);
        if bytes == new {
            landed_in_flight += 1;
        } else {
            assert!(
                bytes == old,
                "after kill {kills} ({completed} saves done) auth.json holds neither the old \
                 nor the new document"
            );
        }
    }
    let leftovers = leftover_temp_files(home.path());
    for path in &leftovers {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a leftover temporary file is private");
    }
    assert!(
        kills >= 10,
        "the writer was killed at many points ({kills})"
    );

    // Each leftover is a full copy of the credentials. Young ones may belong to a live
    // writer and stay; once stale, the next save (or a logout) removes them.
    let aged = std::time::SystemTime::now() - STALE_TEMP_FILE_AGE - Duration::from_secs(1);
    for path in &leftovers {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(aged)
            .unwrap();
    }
    let young = home.path().join(".auth.json.young-writer.tmp");
    std::fs::write(&young, b"{}").unwrap();
    let storage = FileAuthStorage::new(home.path());
    storage.save(&document("a")).unwrap();
    assert_eq!(
        leftover_temp_files(home.path()),
        vec![young.clone()],
        "a save removes stale temporary files and keeps a live writer's"
    );
    std::fs::File::options()
        .write(true)
        .open(&young)
        .unwrap()
        .set_modified(aged)
        .unwrap();
    storage.delete().unwrap();
    assert!(
        leftover_temp_files(home.path()).is_empty(),
        "logout leaves no copy of the credentials behind"
    );
    eprintln!(
        "RELIABILITY-FIGURES crash-safety saves={saves} kills={kills} \
         new_document_landed_before_kill={landed_in_flight} leftover_temp_files={} \
         elapsed_ms={}",
        leftovers.len(),
        started.elapsed().as_millis()
    );
}

#[test]
fn two_writers_and_four_readers_never_see_invalid_json() {
    let run_ms = count_from_env("CODEX_RELIABILITY_STRESS_MS", 10_000, 10_000);
    let docs = tempfile::tempdir().unwrap();
    let (a, _) = prepare_documents(docs.path());
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("auth.json"), a).unwrap();
    let mut writers: Vec<_> = (0..2)
        .map(|_| {
            save_loop(home.path(), docs.path(), u64::MAX / 2)
                .spawn()
                .unwrap()
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            probe::command()
                .arg("read-loop")
                .arg(home.path())
                .arg(run_ms.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut reads = Vec::new();
    for reader in readers {
        let output = reader.wait_with_output().unwrap();
        assert!(output.status.success());
        reads.push(probe_line(&output));
    }
    let mut saves = 0u64;
    for writer in &mut writers {
        assert!(
            writer.try_wait().unwrap().is_none(),
            "a writer stopped early"
        );
        writer.kill().unwrap();
        writer.wait().unwrap();
        let mut stdout = String::new();
        writer
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        saves += u64::try_from(probe::stdout_lines(stdout.as_bytes()).lines().count()).unwrap();
    }
    let mut parsed = 0u64;
    for (index, line) in reads.iter().enumerate() {
        assert_eq!(
            line["invalid"], 0,
            "reader {index} saw invalid JSON: {line}"
        );
        assert_eq!(line["missing"], 0, "reader {index} found no file: {line}");
        assert!(
            line["parsed"].as_u64().unwrap() > 100,
            "reader {index}: {line}"
        );
        parsed += line["parsed"].as_u64().unwrap();
    }
    assert!(saves > 100, "the writers kept writing ({saves} saves)");
    AuthDotJson::from_json_bytes(&std::fs::read(home.path().join("auth.json")).unwrap()).unwrap();
    eprintln!(
        "RELIABILITY-FIGURES torn-read-stress writers=2 readers=4 run_ms={run_ms} saves={saves} \
         reads={parsed} invalid=0"
    );
}
