//! The human-facing HTML pages: consent, device approval, results.

/// Escapes text for HTML element and attribute contexts.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Wraps already-escaped body HTML in a complete page.
pub(crate) fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} - codex-emulator</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;}}\
         button{{font-size:1rem;padding:.5rem 1.5rem;margin-right:.5rem}}\
         input{{font-size:1.2rem;letter-spacing:.1rem}}</style></head>\
         <body><h1>{title}</h1>{body_html}\
         <p><small>codex-emulator: a local stand-in for auth.openai.com. Not a real sign-in.</small></p>\
         </body></html>\n",
        title = escape(title),
    )
}

/// The consent page of a browser login: a form whose Continue button approves it.
pub(crate) fn consent_page(
    authorization_id: &str,
    email: &str,
    account_id: &str,
    redirect_uri: &str,
) -> String {
    page(
        "Sign in to Codex",
        &format!(
            "<p>Signed in as <strong>{email}</strong> (workspace <code>{account}</code>).</p>\
             <p>Codex CLI wants to access your ChatGPT account. You will be sent back to \
             <code>{redirect}</code>.</p>\
             <form method=\"post\" action=\"/oauth/authorize/decision\">\
             <input type=\"hidden\" name=\"authorization_id\" value=\"{id}\">\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Continue</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>\
             </form>",
            email = escape(email),
            account = escape(account_id),
            redirect = escape(redirect_uri),
            id = escape(authorization_id),
        ),
    )
}

/// The device-code page: a form to enter (and approve or deny) a one-time code.
pub(crate) fn device_page(prefill: &str, message: Option<&str>) -> String {
    let notice = message
        .map(|m| format!("<p><strong>{}</strong></p>", escape(m)))
        .unwrap_or_default();
    page(
        "Device sign-in",
        &format!(
            "{notice}<p>Enter the one-time code shown in your terminal.</p>\
             <form method=\"post\" action=\"/codex/device\">\
             <p><input name=\"user_code\" value=\"{code}\" autocomplete=\"off\" \
             placeholder=\"XXXX-XXXX\" required></p>\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Continue</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             </form>",
            code = escape(prefill),
        ),
    )
}

/// A page with a title and one plain-text message.
pub(crate) fn message_page(title: &str, message: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(message)))
}
