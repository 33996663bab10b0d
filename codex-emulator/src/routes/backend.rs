//! The authenticated ChatGPT backend routes under `/backend-api/wham/`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_body;
use crate::api_error::ApiError;
use crate::backend_auth::BackendCaller;
use crate::ids::short_id;
use crate::protocol::now_secs;
use crate::shared::Shared;
use crate::world::BackendTask;

/// `GET /wham/usage`: the rate-limit payload for the caller's plan.
pub(crate) async fn usage(BackendCaller(caller): BackendCaller) -> Json<Value> {
    let now = now_secs();
    Json(json!({
        "plan_type": caller.account.plan_type,
        "rate_limit": {
            "allowed": true,
            "limit_reached": false,
            "primary_window": {
                "used_percent": 12,
                "limit_window_seconds": 18000,
                "reset_after_seconds": 9000,
                "reset_at": now + 9000,
            },
            "secondary_window": {
                "used_percent": 3,
                "limit_window_seconds": 604800,
                "reset_after_seconds": 302400,
                "reset_at": now + 302400,
            },
        },
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
        "spend_control": null,
        "additional_rate_limits": [],
        "rate_limit_reached_type": null,
        "rate_limit_reset_credits": {"available_count": 0},
    }))
}

/// Workspace plans get the `workspace` structure; the rest are personal accounts.
fn account_structure(plan_type: &str) -> &'static str {
    match plan_type {
        "team"
        | "business"
        | "enterprise"
        | "edu"
        | "education"
        | "hc"
        | "self_serve_business_usage_based"
        | "enterprise_cbp_usage_based" => "workspace",
        _ => "personal",
    }
}

/// `GET /wham/accounts/check`: the caller's account in the map form.
pub(crate) async fn accounts_check(BackendCaller(caller): BackendCaller) -> Json<Value> {
    let account = &caller.account;
    let mut accounts = serde_json::Map::new();
    accounts.insert(
        account.account_id.clone(),
        json!({
            "account": {
                "account_id": account.account_id,
                "name": format!("{}'s workspace", account.email),
                "profile_picture_url": null,
                "structure": account_structure(&account.plan_type),
                "plan_type": account.plan_type,
                "is_fedramp": account.fedramp,
            },
        }),
    );
    Json(json!({
        "accounts": accounts,
        "account_ordering": [account.account_id],
        "default_account_id": account.account_id,
    }))
}

/// `GET /wham/profiles/me`: usage statistics of the caller.
pub(crate) async fn profile(
    State(shared): State<Arc<Shared>>,
    BackendCaller(caller): BackendCaller,
) -> Json<Value> {
    let tasks = shared
        .world()
        .backend_tasks
        .iter()
        .filter(|t| t.account_id == caller.account.account_id)
        .count();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    Json(json!({
        "stats": {
            "lifetime_tokens": 1000 * tasks,
            "peak_daily_tokens": 1000 * tasks,
            "longest_running_turn_sec": null,
            "current_streak_days": 1,
            "longest_streak_days": 1,
            "daily_usage_buckets": [{"start_date": today, "tokens": 1000 * tasks}],
        },
    }))
}

/// Query of `GET /wham/tasks/list`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
    /// Accepted (the CLI sends it) but every task matches: the emulator has one owner per task.
    #[allow(dead_code)]
    task_filter: Option<String>,
    cursor: Option<String>,
    environment_id: Option<String>,
}

/// A task list item.
fn list_item(task: &BackendTask) -> Value {
    json!({
        "id": task.id,
        "title": task.title,
        "has_generated_title": false,
        "created_at": task.created_at,
        "updated_at": task.created_at,
        "task_status_display": {"state": "completed"},
        "archived": false,
        "has_unread_turn": false,
        "pull_requests": [],
    })
}

/// `GET /wham/tasks/list`: the caller's tasks, newest first, paged by `limit` and `cursor`.
pub(crate) async fn list_tasks(
    State(shared): State<Arc<Shared>>,
    BackendCaller(caller): BackendCaller,
    Query(query): Query<ListQuery>,
) -> Response {
    let start = match query.cursor.as_deref() {
        None | Some("") => 0,
        Some(cursor) => match cursor
            .strip_prefix("cursor-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return ApiError::coded(
                    StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "Unknown cursor.",
                )
                .into_response();
            }
        },
    };
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let world = shared.world();
    let mine: Vec<&BackendTask> = world
        .backend_tasks
        .iter()
        .rev()
        .filter(|t| t.account_id == caller.account.account_id)
        .filter(
            |t| match (&query.environment_id, t.request.get("new_task")) {
                (Some(env), Some(new_task)) => {
                    new_task.get("environment_id").and_then(Value::as_str) == Some(env.as_str())
                }
                (Some(_), None) => false,
                (None, _) => true,
            },
        )
        .collect();
    let items: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(limit)
        .map(|t| list_item(t))
        .collect();
    let next = (start + limit < mine.len()).then(|| format!("cursor-{}", start + limit));
    Json(json!({"items": items, "cursor": next})).into_response()
}

/// Text of a message content list (objects with `content_type: text`, or bare strings).
fn content_text(content: &Value) -> Vec<String> {
    content
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|part| match part {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The user prompt of a create-task request (its `input_items` user messages).
fn prompt_of(request: &Value) -> String {
    request
        .get("input_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|i| i.get("type").and_then(Value::as_str) == Some("message"))
                .flat_map(|i| content_text(i.get("content").unwrap_or(&Value::Null)))
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .unwrap_or_default()
}

/// `POST /wham/tasks`: stores the task and answers `{"task": {"id", ...}}`.
pub(crate) async fn create_task(
    State(shared): State<Arc<Shared>>,
    BackendCaller(caller): BackendCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    if !request.is_object() {
        return ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be a JSON object.",
        )
        .into_response();
    }
    let prompt = prompt_of(&request);
    let title = prompt
        .lines()
        .next()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take(80).collect())
        .unwrap_or_else(|| "Untitled task".to_owned());
    let task = BackendTask {
        id: short_id("task_e_"),
        account_id: caller.account.account_id.clone(),
        title,
        prompt,
        created_at: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
        request,
    };
    let body = json!({"task": {"id": task.id, "title": task.title, "archived": false}});
    shared.world().backend_tasks.push(task);
    (StatusCode::OK, Json(body)).into_response()
}

/// `GET /wham/tasks/{id}`: details of one of the caller's tasks.
pub(crate) async fn get_task(
    State(shared): State<Arc<Shared>>,
    BackendCaller(caller): BackendCaller,
    Path(task_id): Path<String>,
) -> Response {
    let world = shared.world();
    let Some(task) = world
        .backend_tasks
        .iter()
        .find(|t| t.id == task_id && t.account_id == caller.account.account_id)
    else {
        return ApiError::coded(StatusCode::NOT_FOUND, "task_not_found", "No such task.")
            .into_response();
    };
    Json(json!({
        "task": {"id": task.id, "title": task.title, "archived": false, "external_pull_requests": []},
        "current_user_turn": {
            "id": format!("{}-user", task.id),
            "turn_status": "completed",
            "sibling_turn_ids": [],
            "input_items": [{
                "type": "message",
                "role": "user",
                "content": [{"content_type": "text", "text": task.prompt}],
            }],
            "output_items": [],
        },
        "current_assistant_turn": {
            "id": format!("{}-assistant", task.id),
            "turn_status": "completed",
            "sibling_turn_ids": [],
            "input_items": [],
            "output_items": [{
                "type": "message",
                "role": "assistant",
                "content": [{"content_type": "text", "text": "Done (codex-emulator)."}],
            }],
        },
        "current_diff_task_turn": null,
    }))
    .into_response()
}
