//! Profiles in the library: a manager that chose a profile by name follows it wherever a
//! switch moves it (one lock, one store location); a manager on the active login reports
//! the account change instead of adopting the other account; an interrupted switch is
//! finished by the next profile operation without leaving a refresh token in two places.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::core_support;

use codex_emulator::{EmulatorHandle, IssueTokens, IssuedTokens, SeedAccount};
use codex_login::profiles::{ActiveMarker, profile_dir, read_marker, write_marker};
use codex_login::profiles::{
    ProfileAuthStorage, ProfileName, SwitchOutcome, rename_profile, switch_profile,
};
use codex_login::refresh::REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE;
use codex_login::storage::{AuthStorage, CredentialStoreMode, FileAuthStorage};
use codex_login::{auth_manager::AuthManager, auth_manager::RefreshOutcome};
use core_support::{chatgpt_document, emulator, manager_config};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn name(raw: &str) -> ProfileName {
    ProfileName::parse(raw).unwrap()
}

fn issue_for(emulator: &EmulatorHandle, email: &str, account_id: &str, ttl: i64) -> IssuedTokens {
    emulator.issue_chatgpt_tokens(IssueTokens {
        access_token_ttl_secs: ttl,
        account: Some(SeedAccount {
            email: email.to_owned(),
            plan_type: "plus".to_owned(),
            account_id: account_id.to_owned(),
            user_id: format!("user-{account_id}"),
            fedramp: false,
        }),
    })
}

/// `A` active in `home`, `B` inactive in `profiles/B`.
fn seed(home: &Path, a: &IssuedTokens, b: &IssuedTokens) {
    FileAuthStorage::new(home)
        .save(&chatgpt_document(a))
        .unwrap();
    std::fs::create_dir_all(profile_dir(home, &name("B"))).unwrap();
    FileAuthStorage::new(&profile_dir(home, &name("B")))
        .save(&chatgpt_document(b))
        .unwrap();
    write_marker(
        home,
        &ActiveMarker {
            active: Some("A".to_owned()),
            ..ActiveMarker::default()
        },
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_on_a_named_profile_follows_it_across_a_switch() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let a = issue_for(&emulator, "a@example.com", "acct-a", -60);
    let b = issue_for(&emulator, "b@example.com", "acct-b", 3600);
    seed(home.path(), &a, &b);

    let mut config = manager_config(home.path(), &emulator);
    config.profile = Some(name("A"));
    let by_name = AuthManager::shared(config);
    let on_active = AuthManager::shared(manager_config(home.path(), &emulator));
    assert_eq!(
        by_name.auth_cached().unwrap().email(),
        Some("a@example.com")
    );

    // A leaves auth.json: the by-name manager refreshes A where it now lives.
    let switched =
        switch_profile(home.path(), CredentialStoreMode::File, &name("B"), WAIT).unwrap();
    assert_eq!(
        switched,
        SwitchOutcome::Switched {
            from: Some(name("A")),
            to: name("B")
        }
    );
    assert_eq!(
        by_name.refresh_token().await.unwrap(),
        RefreshOutcome::Refreshed
    );
    assert_eq!(emulator.stats().refresh_ok, 1);
    let moved = FileAuthStorage::new(&profile_dir(home.path(), &name("A")))
        .load()
        .unwrap()
        .unwrap();
    let refreshed = by_name.auth_cached().unwrap();
    assert_eq!(refreshed.email(), Some("a@example.com"));
    assert_eq!(
        moved.tokens.unwrap().refresh_token.expose(),
        refreshed.refresh_token().unwrap().expose()
    );
    // auth.json (B) untouched.
    let active = FileAuthStorage::new(home.path()).load().unwrap().unwrap();
    assert_eq!(
        active.tokens.unwrap().refresh_token.expose(),
        b.refresh_token
    );

    // The manager that used the active login does not adopt B's account.
    let err = on_active.refresh_token().await.unwrap_err();
    assert_eq!(err.to_string(), REFRESH_TOKEN_ACCOUNT_MISMATCH_MESSAGE);
    assert_eq!(
        on_active.auth_cached().unwrap().email(),
        Some("a@example.com")
    );
    assert_eq!(emulator.stats().refresh_reused, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_switch_is_finished_without_a_token_in_two_places() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let a = issue_for(&emulator, "a@example.com", "acct-a", 3600);
    let b = issue_for(&emulator, "b@example.com", "acct-b", 3600);
    seed(home.path(), &a, &b);
    // A switch to B was killed after copying A out (step 2) but before moving B in.
    std::fs::create_dir_all(profile_dir(home.path(), &name("A"))).unwrap();
    FileAuthStorage::new(&profile_dir(home.path(), &name("A")))
        .save(&chatgpt_document(&a))
        .unwrap();
    let mut marker = read_marker(home.path()).unwrap();
    marker.switching_to = Some("B".to_owned());
    marker.generation += 1;
    write_marker(home.path(), &marker).unwrap();

    // A reader that takes no lock refuses to guess while the switch is unfinished.
    let reader = ProfileAuthStorage::new(home.path(), name("A"), CredentialStoreMode::File);
    let started = std::time::Instant::now();
    assert!(reader.load().is_err());
    assert!(started.elapsed() < Duration::from_secs(10));

    // The next profile operation rolls the half switch back, then does its own work.
    rename_profile(
        home.path(),
        CredentialStoreMode::File,
        &name("B"),
        &name("bee"),
        WAIT,
    )
    .unwrap();
    let marker = read_marker(home.path()).unwrap();
    assert_eq!(marker.switching_to, None);
    assert_eq!(marker.active.as_deref(), Some("A"));
    assert!(
        !profile_dir(home.path(), &name("A")).exists(),
        "A's copy left behind"
    );
    let loaded = reader.load().unwrap().unwrap();
    assert_eq!(
        loaded.tokens.unwrap().refresh_token.expose(),
        a.refresh_token
    );
    let bee = ProfileAuthStorage::new(home.path(), name("bee"), CredentialStoreMode::File)
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(bee.tokens.unwrap().refresh_token.expose(), b.refresh_token);
    assert!(!profile_dir(home.path(), &name("B")).exists());
}

#[test]
fn a_new_profile_saved_while_nothing_is_logged_in_becomes_active() {
    let home = tempfile::tempdir().unwrap();
    let store = ProfileAuthStorage::new(home.path(), name("first"), CredentialStoreMode::File);
    let document = codex_login::auth_dot_json::AuthDotJson::api_key(
        codex_auth_provider::SecretString::new("sk-proj-1234567890ABCDE"),
    );
    store.save(&document).unwrap();
    assert!(home.path().join("auth.json").exists());
    assert_eq!(
        read_marker(home.path()).unwrap().active.as_deref(),
        Some("first")
    );
    let second = ProfileAuthStorage::new(home.path(), name("second"), CredentialStoreMode::File);
    second.save(&document).unwrap();
    assert!(
        profile_dir(home.path(), &name("second"))
            .join("auth.json")
            .exists()
    );
    assert_eq!(
        read_marker(home.path()).unwrap().active.as_deref(),
        Some("first")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_killed_after_moving_the_target_in_is_finished_by_the_listing() {
    let emulator = emulator().await;
    let home = tempfile::tempdir().unwrap();
    let a = issue_for(&emulator, "a@example.com", "acct-a", 3600);
    let b = issue_for(&emulator, "b@example.com", "acct-b", 3600);
    seed(home.path(), &a, &b);
    // Killed after steps 2 and 3: A copied out, B written into auth.json, B's copy still there.
    std::fs::create_dir_all(profile_dir(home.path(), &name("A"))).unwrap();
    FileAuthStorage::new(&profile_dir(home.path(), &name("A")))
        .save(&chatgpt_document(&a))
        .unwrap();
    FileAuthStorage::new(home.path())
        .save(&chatgpt_document(&b))
        .unwrap();
    let mut marker = read_marker(home.path()).unwrap();
    marker.switching_to = Some("B".to_owned());
    write_marker(home.path(), &marker).unwrap();

    let rows = codex_login::profiles::list_profiles(
        home.path(),
        CredentialStoreMode::File,
        chrono::Utc::now(),
    )
    .unwrap();
    let names: Vec<(&str, bool)> = rows.iter().map(|r| (r.name.as_str(), r.active)).collect();
    assert_eq!(names, [("B", true), ("A", false)]);
    let marker = read_marker(home.path()).unwrap();
    assert_eq!(marker.active.as_deref(), Some("B"));
    assert_eq!(marker.switching_to, None);
    assert!(
        !profile_dir(home.path(), &name("B")).exists(),
        "B in two places"
    );
}
