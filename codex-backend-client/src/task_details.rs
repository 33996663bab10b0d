//! `GET {P}/tasks/{id}`: the current turns of a task, decoded leniently, and
//! the prompt, messages, diff and error extracted from them.

use crate::null_default::null_as_default;
use serde::Deserialize;
use serde_json::Value;

/// The current turns of a task. Other top-level fields (such as `task`) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TaskDetails {
    /// The user's turn.
    #[serde(default)]
    pub current_user_turn: Option<Turn>,
    /// The assistant's turn.
    #[serde(default)]
    pub current_assistant_turn: Option<Turn>,
    /// The turn carrying the diff, when separate.
    #[serde(default)]
    pub current_diff_task_turn: Option<Turn>,
}

/// One turn; list fields accept `null` as empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Turn {
    /// The turn id.
    #[serde(default)]
    pub id: Option<String>,
    /// Which attempt this turn is among its siblings.
    #[serde(default)]
    pub attempt_placement: Option<i64>,
    /// The turn's status, for example `completed`.
    #[serde(default)]
    pub turn_status: Option<String>,
    /// Ids of the other attempts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sibling_turn_ids: Vec<String>,
    /// Items the turn received.
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_items: Vec<TurnItem>,
    /// Items the turn produced.
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_items: Vec<TurnItem>,
    /// The turn's work log.
    #[serde(default)]
    pub worklog: Option<Worklog>,
    /// The turn's error, when it failed.
    #[serde(default)]
    pub error: Option<TurnError>,
}

/// One input or output item of a turn.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TurnItem {
    /// The item type, for example `message`, `output_diff` or `pr`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// The author role of a message item.
    #[serde(default)]
    pub role: Option<String>,
    /// Content fragments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: Vec<ContentFragment>,
    /// The unified diff of an `output_diff` item.
    #[serde(default)]
    pub diff: Option<String>,
    /// The diff of a `pr` item.
    #[serde(default)]
    pub output_diff: Option<OutputDiff>,
}

/// The diff attached to a `pr` item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OutputDiff {
    /// The unified diff.
    #[serde(default)]
    pub diff: Option<String>,
}

/// A piece of content: a typed object, a bare string, or anything else (kept, never text).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ContentFragment {
    /// A bare string.
    Text(String),
    /// An object with a content type.
    Structured(StructuredContent),
    /// Any other JSON value.
    Other(Value),
}

/// An object content fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StructuredContent {
    /// The content type; only `text` (any case) counts as text.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The text.
    #[serde(default)]
    pub text: Option<String>,
}

impl ContentFragment {
    /// The fragment's text: a non-blank bare string, or the non-empty text of a
    /// `text` object fragment.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => (!text.trim().is_empty()).then_some(text.as_str()),
            Self::Structured(content) => {
                let is_text = content
                    .content_type
                    .as_deref()
                    .is_some_and(|kind| kind.eq_ignore_ascii_case("text"));
                content
                    .text
                    .as_deref()
                    .filter(|text| is_text && !text.is_empty())
            }
            Self::Other(_) => None,
        }
    }
}

/// A turn's work log.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Worklog {
    /// Log messages.
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<WorklogMessage>,
}

/// One work-log message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct WorklogMessage {
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<WorklogAuthor>,
    /// What it says.
    #[serde(default)]
    pub content: Option<WorklogContent>,
}

/// The author of a work-log message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WorklogAuthor {
    /// The role, for example `assistant`.
    #[serde(default)]
    pub role: Option<String>,
}

/// The content of a work-log message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct WorklogContent {
    /// Content fragments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parts: Vec<ContentFragment>,
}

/// A turn's error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TurnError {
    /// The error code, for example `APPLY_FAILED`.
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

impl TurnError {
    /// `code: message`, or whichever one is present, or `None`.
    pub fn summary(&self) -> Option<String> {
        let code = self.code.as_deref().filter(|c| !c.is_empty());
        let message = self.message.as_deref().filter(|m| !m.is_empty());
        match (code, message) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
            (None, None) => None,
        }
    }
}

impl TurnItem {
    /// The item's diff: `diff` of an `output_diff` item or `output_diff.diff`
    /// of a `pr` item, when non-empty.
    pub fn unified_diff(&self) -> Option<&str> {
        let diff = match self.kind.as_str() {
            "output_diff" => self.diff.as_deref(),
            "pr" => self
                .output_diff
                .as_ref()
                .and_then(|output| output.diff.as_deref()),
            _ => None,
        };
        diff.filter(|diff| !diff.is_empty())
    }

    /// The texts of this item's content fragments.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.content.iter().filter_map(ContentFragment::text)
    }
}

impl TaskDetails {
    /// Decodes a task-details body.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The diff turn, then the assistant turn (a turn listed twice is used once).
    fn diff_then_assistant(&self) -> Vec<&Turn> {
        let mut turns: Vec<&Turn> = Vec::with_capacity(2);
        for turn in [&self.current_diff_task_turn, &self.current_assistant_turn]
            .into_iter()
            .flatten()
        {
            let duplicate = turns
                .iter()
                .any(|seen| seen.id.is_some() && seen.id == turn.id);
            if !duplicate {
                turns.push(turn);
            }
        }
        turns
    }

    /// The first diff found in the diff turn, then the assistant turn.
    pub fn unified_diff(&self) -> Option<String> {
        self.diff_then_assistant()
            .into_iter()
            .flat_map(|turn| turn.output_items.iter())
            .find_map(TurnItem::unified_diff)
            .map(str::to_owned)
    }

    /// Assistant text: `message` output items of the diff turn then the
    /// assistant turn, followed by their work-log messages written by `assistant`.
    pub fn assistant_messages(&self) -> Vec<String> {
        let turns = self.diff_then_assistant();
        let mut messages: Vec<String> = turns
            .iter()
            .flat_map(|turn| turn.output_items.iter())
            .filter(|item| item.kind == "message")
            .flat_map(TurnItem::texts)
            .map(str::to_owned)
            .collect();
        for turn in &turns {
            let Some(worklog) = &turn.worklog else {
                continue;
            };
            for message in &worklog.messages {
                let by_assistant = message
                    .author
                    .as_ref()
                    .and_then(|author| author.role.as_deref())
                    == Some("assistant");
                if let (true, Some(content)) = (by_assistant, &message.content) {
                    messages.extend(
                        content
                            .parts
                            .iter()
                            .filter_map(ContentFragment::text)
                            .map(str::to_owned),
                    );
                }
            }
        }
        messages
    }

    /// The user's prompt: text of `message` input items whose role is `user`
    /// (or missing), joined by a blank line.
    pub fn user_prompt(&self) -> Option<String> {
        let turn = self.current_user_turn.as_ref()?;
        let parts: Vec<&str> = turn
            .input_items
            .iter()
            .filter(|item| item.kind == "message")
            .filter(|item| item.role.as_deref().is_none_or(|role| role == "user"))
            .flat_map(TurnItem::texts)
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The assistant turn's error as `code: message`.
    pub fn assistant_error_summary(&self) -> Option<String> {
        self.current_assistant_turn
            .as_ref()?
            .error
            .as_ref()?
            .summary()
    }
}
