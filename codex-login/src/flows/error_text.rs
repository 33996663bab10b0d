//! Rendering an error and its `source()` chain as one line.

use std::error::Error;

/// `outer: inner: innermost`, skipping a cause whose text repeats the previous one.
pub(crate) fn error_chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !last.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        last = cause_text;
        source = cause.source();
    }
    text
}
