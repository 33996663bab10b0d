//! URL shape of every endpoint in both route styles, and base-URL normalisation.

use crate::base_url::PathStyle;
use crate::routes::BackendRoutes;
use crate::{BackendClient, TaskListQuery};

fn all_routes(routes: &BackendRoutes) -> Vec<(&'static str, String)> {
    vec![
        ("usage", routes.usage()),
        ("accounts_check", routes.accounts_check()),
        ("profile_me", routes.profile_me()),
        ("tasks_list", routes.tasks_list(&TaskListQuery::default())),
        ("task_details", routes.task_details("task_e_123")),
        (
            "sibling_turns",
            routes.sibling_turns("task_e_123", "turn_9"),
        ),
        ("create_task", routes.create_task()),
    ]
}

#[test]
fn chatgpt_style_routes() {
    let routes = BackendRoutes::new("https://chatgpt.com/backend-api/");
    assert_eq!(routes.style(), PathStyle::ChatGpt);
    let expected = [
        "https://chatgpt.com/backend-api/wham/usage",
        "https://chatgpt.com/backend-api/wham/accounts/check",
        "https://chatgpt.com/backend-api/wham/profiles/me",
        "https://chatgpt.com/backend-api/wham/tasks/list",
        "https://chatgpt.com/backend-api/wham/tasks/task_e_123",
        "https://chatgpt.com/backend-api/wham/tasks/task_e_123/turns/turn_9/sibling_turns",
        "https://chatgpt.com/backend-api/wham/tasks",
    ];
    let got: Vec<String> = all_routes(&routes)
        .into_iter()
        .map(|(_, url)| url)
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn codex_api_style_routes() {
    let routes = BackendRoutes::new("https://example.test/");
    assert_eq!(routes.style(), PathStyle::CodexApi);
    let expected = [
        "https://example.test/api/codex/usage",
        "https://example.test/api/codex/accounts/check",
        "https://example.test/api/codex/profiles/me",
        "https://example.test/api/codex/tasks/list",
        "https://example.test/api/codex/tasks/task_e_123",
        "https://example.test/api/codex/tasks/task_e_123/turns/turn_9/sibling_turns",
        "https://example.test/api/codex/tasks",
    ];
    let got: Vec<String> = all_routes(&routes)
        .into_iter()
        .map(|(_, url)| url)
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn bare_chatgpt_origins_and_local_mocks() {
    assert_eq!(
        BackendRoutes::new("https://chatgpt.com").usage(),
        "https://chatgpt.com/backend-api/wham/usage"
    );
    assert_eq!(
        BackendRoutes::new("https://chat.openai.com").profile_me(),
        "https://chat.openai.com/backend-api/wham/profiles/me"
    );
    assert_eq!(
        BackendRoutes::new("http://127.0.0.1:4321").usage(),
        "http://127.0.0.1:4321/api/codex/usage"
    );
    assert_eq!(
        BackendRoutes::new("http://127.0.0.1:4321/backend-api").usage(),
        "http://127.0.0.1:4321/backend-api/wham/usage"
    );
    // A ChatGPT origin that already names /backend-api is left alone.
    assert_eq!(
        BackendRoutes::new("https://chatgpt.com/backend-api//").accounts_check(),
        "https://chatgpt.com/backend-api/wham/accounts/check"
    );
}

#[test]
fn forced_style_overrides_detection() {
    let routes = BackendRoutes::with_style("http://127.0.0.1:9", PathStyle::ChatGpt);
    assert_eq!(routes.usage(), "http://127.0.0.1:9/wham/usage");
}

#[test]
fn task_list_query_vector() {
    let routes = BackendRoutes::new("https://example.test");
    let query = TaskListQuery {
        limit: Some(10),
        task_filter: Some("mine / shared".to_owned()),
        environment_id: Some("env&one".to_owned()),
        cursor: Some("next=page".to_owned()),
    };
    assert_eq!(
        routes.tasks_list(&query),
        "https://example.test/api/codex/tasks/list?limit=10&task_filter=mine+%2F+shared&cursor=next%3Dpage&environment_id=env%26one"
    );
    assert_eq!(
        routes.tasks_list(&TaskListQuery::default()),
        "https://example.test/api/codex/tasks/list"
    );
}

#[test]
fn ids_are_single_path_segments() {
    let routes = BackendRoutes::new("https://example.test/backend-api");
    assert_eq!(
        routes.task_details("a/b?c"),
        "https://example.test/backend-api/wham/tasks/a%2Fb%3Fc"
    );
}

#[test]
fn the_client_uses_the_same_routes() {
    let client = BackendClient::builder("https://chatgpt.com/backend-api/")
        .build()
        .unwrap();
    assert_eq!(client.base_url(), "https://chatgpt.com/backend-api");
    assert_eq!(client.path_style(), PathStyle::ChatGpt);
    assert_eq!(
        client.routes(),
        &BackendRoutes::new("https://chatgpt.com/backend-api")
    );
}
