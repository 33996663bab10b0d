//! Cloud tasks: the list query, list items, sibling turns and task creation.

use crate::null_default::null_as_default;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Filters and paging for `GET {P}/tasks/list`; unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskListQuery {
    /// Page size.
    pub limit: Option<u32>,
    /// Which tasks to list (server-defined filter text).
    pub task_filter: Option<String>,
    /// Only tasks in this environment.
    pub environment_id: Option<String>,
    /// The page cursor returned by the previous page.
    pub cursor: Option<String>,
}

impl TaskListQuery {
    /// The query string, including the leading `?`, or empty when nothing is set.
    ///
    /// Parameters go in the order `limit`, `task_filter`, `cursor`,
    /// `environment_id`, form-encoded (a space becomes `+`).
    pub fn to_query_string(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        if let Some(limit) = self.limit {
            query.append_pair("limit", &limit.to_string());
            any = true;
        }
        for (name, value) in [
            ("task_filter", &self.task_filter),
            ("cursor", &self.cursor),
            ("environment_id", &self.environment_id),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
                any = true;
            }
        }
        if any {
            format!("?{}", query.finish())
        } else {
            String::new()
        }
    }
}

/// One page of tasks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TaskListPage {
    /// The tasks on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<TaskListItem>,
    /// The cursor for the next page, when there is one.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A task as shown in the list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TaskListItem {
    /// The task id.
    pub id: String,
    /// The task title.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Whether the title was generated rather than typed.
    #[serde(default)]
    pub has_generated_title: Option<bool>,
    /// Last update, as fractional Unix epoch seconds.
    #[serde(default)]
    pub updated_at: Option<f64>,
    /// Creation time, as fractional Unix epoch seconds.
    #[serde(default)]
    pub created_at: Option<f64>,
    /// The server's free-form status display map.
    #[serde(default)]
    pub task_status_display: Option<Map<String, Value>>,
    /// Whether the task is archived.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// Whether a turn has not been seen yet.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_unread_turn: bool,
    /// Pull requests opened from the task.
    #[serde(default)]
    pub pull_requests: Option<Vec<Value>>,
}

/// The sibling turns (other attempts) of a turn.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SiblingTurns {
    /// The sibling turns, as opaque JSON objects.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sibling_turns: Vec<Map<String, Value>>,
}

/// The id of a newly created task: `task.id`, else top-level `id`.
pub(crate) fn created_task_id(body: &Value) -> Option<String> {
    body.get("task")
        .and_then(|task| task.get("id"))
        .and_then(Value::as_str)
        .or_else(|| body.get("id").and_then(Value::as_str))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_query_has_no_question_mark() {
        assert_eq!(TaskListQuery::default().to_query_string(), "");
    }

    #[test]
    fn query_encoding_vector() {
        let query = TaskListQuery {
            limit: Some(10),
            task_filter: Some("mine / shared".into()),
            environment_id: Some("env&one".into()),
            cursor: Some("next=page".into()),
        };
        assert_eq!(
            query.to_query_string(),
            "?limit=10&task_filter=mine+%2F+shared&cursor=next%3Dpage&environment_id=env%26one"
        );
    }

    #[test]
    fn partial_query_keeps_order() {
        let query = TaskListQuery {
            environment_id: Some("e".into()),
            cursor: Some("c".into()),
            ..TaskListQuery::default()
        };
        assert_eq!(query.to_query_string(), "?cursor=c&environment_id=e");
    }

    #[test]
    fn list_items_decode_leniently() {
        let page: TaskListPage = serde_json::from_value(json!({
            "items": [
                {"id": "task_1", "title": "Fix it", "has_generated_title": false,
                 "updated_at": 1700000000.5, "created_at": null,
                 "task_status_display": {"latest_turn_status_display": {"turn_status": "completed"}},
                 "archived": false, "has_unread_turn": true, "pull_requests": [], "new": 1},
                {"id": "task_2", "title": null, "archived": null}
            ],
            "cursor": "abc"
        }))
        .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].updated_at, Some(1_700_000_000.5));
        assert!(page.items[0].has_unread_turn);
        assert!(page.items[0].task_status_display.is_some());
        assert_eq!(page.items[1].title, "");
        assert!(!page.items[1].archived);
        assert_eq!(page.cursor.as_deref(), Some("abc"));
        let empty: TaskListPage = serde_json::from_value(json!({"items": null})).unwrap();
        assert!(empty.items.is_empty());
    }

    #[test]
    fn created_task_id_prefers_nested_task() {
        assert_eq!(
            created_task_id(&json!({"task": {"id": "nested"}, "id": "top"})).as_deref(),
            Some("nested")
        );
        assert_eq!(
            created_task_id(&json!({"id": "top"})).as_deref(),
            Some("top")
        );
        assert_eq!(created_task_id(&json!({"task": {}})), None);
        assert_eq!(created_task_id(&json!({"id": 5})), None);
    }

    #[test]
    fn sibling_turns_default_to_empty() {
        let none: SiblingTurns = serde_json::from_value(json!({})).unwrap();
        assert!(none.sibling_turns.is_empty());
        let some: SiblingTurns =
            serde_json::from_value(json!({"sibling_turns": [{"id": "t2"}]})).unwrap();
        assert_eq!(some.sibling_turns[0]["id"], "t2");
    }
}
