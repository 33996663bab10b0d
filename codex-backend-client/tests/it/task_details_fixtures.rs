//! Task-details decoding and extraction, from fixtures of our own making that
//! cover each lenient decoding rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use codex_backend_client::{ContentFragment, TaskDetails, TurnError};

fn fixture(name: &str) -> TaskDetails {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    TaskDetails::from_json(&body).unwrap_or_else(|err| panic!("decoding {path}: {err}"))
}

#[test]
fn diff_fixture() {
    let details = fixture("task_details_with_diff.json");
    assert_eq!(
        details.user_prompt().as_deref(),
        Some("First line\n\nSecond line")
    );
    assert_eq!(details.assistant_messages(), vec!["Assistant response"]);
    let diff = details.unified_diff().unwrap();
    assert!(diff.starts_with("diff --git a/src/main.rs"), "{diff}");
    assert_eq!(details.assistant_error_summary(), None);
    let assistant = details.current_assistant_turn.as_ref().unwrap();
    assert_eq!(assistant.sibling_turn_ids, vec!["turn_assistant_2"]);
    assert_eq!(assistant.attempt_placement, Some(0));
}

#[test]
fn error_fixture() {
    let details = fixture("task_details_with_error.json");
    let diff = details.unified_diff().unwrap();
    assert!(diff.contains("lib.rs"), "{diff}");
    assert_eq!(
        details.assistant_error_summary().as_deref(),
        Some("APPLY_FAILED: Patch could not be applied")
    );
    assert_eq!(
        details.user_prompt().as_deref(),
        Some("Refactor the library"),
        "a message with no role counts as the user's"
    );
    assert!(details.assistant_messages().is_empty());
    let assistant = details.current_assistant_turn.as_ref().unwrap();
    assert!(assistant.sibling_turn_ids.is_empty(), "null list → empty");
    assert!(assistant.input_items.is_empty(), "null list → empty");
    assert!(details.current_diff_task_turn.is_none());
}

#[test]
fn lenient_fixture() {
    let details = fixture("task_details_lenient.json");
    assert_eq!(
        details.user_prompt().as_deref(),
        Some("Bare string prompt\n\nUpper-case content type"),
        "system role, blank strings, non-text and empty text are skipped"
    );
    assert_eq!(
        details.assistant_messages(),
        vec![
            "From the shared turn",
            "Assistant bare",
            "Second fragment",
            "Worklog note",
            "Worklog object",
        ],
        "diff turn first, then assistant turn, then worklog messages by the assistant"
    );
    assert_eq!(
        details.unified_diff().as_deref(),
        Some("diff --git a/from_assistant b/from_assistant\n"),
        "empty diffs are skipped; a pr item's output_diff is used"
    );
    assert_eq!(
        details.assistant_error_summary().as_deref(),
        Some("Only a message")
    );
    let assistant = details.current_assistant_turn.as_ref().unwrap();
    assert!(matches!(
        assistant.output_items[0].content[0],
        ContentFragment::Other(_)
    ));
}

#[test]
fn error_summary_rules() {
    let error = |code: Option<&str>, message: Option<&str>| TurnError {
        code: code.map(str::to_owned),
        message: message.map(str::to_owned),
    };
    assert_eq!(
        error(Some("E"), Some("m")).summary().as_deref(),
        Some("E: m")
    );
    assert_eq!(error(Some("E"), None).summary().as_deref(), Some("E"));
    assert_eq!(error(None, Some("m")).summary().as_deref(), Some("m"));
    assert_eq!(error(None, None).summary(), None);
    assert_eq!(error(Some(""), Some("")).summary(), None);
}

#[test]
fn empty_and_null_turns() {
    let details = TaskDetails::from_json(br#"{"current_user_turn":null}"#).unwrap();
    assert_eq!(details, TaskDetails::default());
    assert_eq!(details.user_prompt(), None);
    assert_eq!(details.unified_diff(), None);
    assert!(details.assistant_messages().is_empty());
    assert!(TaskDetails::from_json(b"\"text\"").is_err());
    assert!(TaskDetails::from_json(b"{\"current_user_turn\": 5}").is_err());
}

#[test]
fn a_turn_named_as_both_diff_and_assistant_is_read_once() {
    let mut details = fixture("task_details_with_diff.json");
    details.current_diff_task_turn = details.current_assistant_turn.clone();
    assert_eq!(details.assistant_messages(), vec!["Assistant response"]);
}
