//! The URL of every backend endpoint, in both route styles.

use crate::base_url::{PathStyle, normalize_base_url};
use crate::tasks::TaskListQuery;

/// Builds endpoint URLs from a normalised base URL and a route style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackendRoutes {
    base_url: String,
    style: PathStyle,
}

impl BackendRoutes {
    /// Routes for `base_url` (normalised here), with the style derived from it.
    pub(crate) fn new(base_url: &str) -> Self {
        let base_url = normalize_base_url(base_url);
        let style = PathStyle::detect(&base_url);
        Self { base_url, style }
    }

    /// Routes for `base_url` (normalised here) with an explicitly chosen style.
    pub(crate) fn with_style(base_url: &str, style: PathStyle) -> Self {
        Self {
            base_url: normalize_base_url(base_url),
            style,
        }
    }

    /// The normalised base URL.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The route style in use.
    pub(crate) fn style(&self) -> PathStyle {
        self.style
    }

    /// `GET {P}/usage`: plan, rate limits and credits.
    pub(crate) fn usage(&self) -> String {
        self.route("/usage")
    }

    /// `GET {P}/accounts/check`: the workspaces this login can act in.
    pub(crate) fn accounts_check(&self) -> String {
        self.route("/accounts/check")
    }

    /// `GET {P}/profiles/me`: the user's usage statistics.
    pub(crate) fn profile_me(&self) -> String {
        self.route("/profiles/me")
    }

    /// `GET {P}/tasks/list` with the query parameters that are set.
    pub(crate) fn tasks_list(&self, query: &TaskListQuery) -> String {
        let mut url = self.route("/tasks/list");
        url.push_str(&query.to_query_string());
        url
    }

    /// `GET {P}/tasks/{task_id}`; the id is percent-encoded as one path segment.
    pub(crate) fn task_details(&self, task_id: &str) -> String {
        self.route(&format!("/tasks/{}", encode_path_segment(task_id)))
    }

    /// `GET {P}/tasks/{task_id}/turns/{turn_id}/sibling_turns`.
    pub(crate) fn sibling_turns(&self, task_id: &str, turn_id: &str) -> String {
        self.route(&format!(
            "/tasks/{}/turns/{}/sibling_turns",
            encode_path_segment(task_id),
            encode_path_segment(turn_id)
        ))
    }

    /// `POST {P}/tasks`: create a task.
    pub(crate) fn create_task(&self) -> String {
        self.route("/tasks")
    }

    fn route(&self, path: &str) -> String {
        format!("{}{}{}", self.base_url, self.style.prefix(), path)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id
/// can never add path segments, a query or a fragment. (`.` and `..` as whole
/// ids are refused by the client before a URL is built.)
fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("task_e-1.2~x"), "task_e-1.2~x");
        assert_eq!(encode_path_segment("../a/b?c#d"), "..%2Fa%2Fb%3Fc%23d");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
    }
}
