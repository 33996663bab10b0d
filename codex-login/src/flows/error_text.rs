//! Rendering an error and its `source()` chain as one line.

use std::error::Error;

/// `outer: inner: innermost`, skipping a cause whose text repeats the previous one. When a
/// request in the chain failed through a proxy from the environment, the proxy and its
/// variable are named at the end.
pub(crate) fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut proxy_note = request_proxy_note(err);
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !last.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        if proxy_note.is_empty() {
            proxy_note = request_proxy_note(cause);
        }
        last = cause_text;
        source = cause.source();
    }
    text.push_str(&proxy_note);
    text
}

fn request_proxy_note(err: &(dyn Error + 'static)) -> String {
    err.downcast_ref::<reqwest::Error>()
        .map(codex_auth_provider::proxy_env::proxy_note_for_error)
        .unwrap_or_default()
}
