//! The HTML pages the loopback callback server shows: success and error, every value escaped.

/// Title of the generic error page.
pub(crate) const GENERIC_ERROR_TITLE: &str = "Sign-in could not be completed";
/// Help text of the generic error page.
pub(crate) const GENERIC_ERROR_HELP: &str =
    "Return to Codex to retry, or start the sign-in again from your terminal.";
/// Title of the page shown when the workspace has no Codex entitlement.
pub(crate) const ENTITLEMENT_ERROR_TITLE: &str = "You do not have access to Codex";
/// Help text of the entitlement page.
pub(crate) const ENTITLEMENT_ERROR_HELP: &str =
    "Contact your workspace administrator to request access to Codex, then sign in again.";

const SUCCESS_TEMPLATE: &str = include_str!("pages/success.html");
const ERROR_TEMPLATE: &str = include_str!("pages/error.html");

/// Escapes `& < > " '` for HTML text and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
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

/// What an error page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    /// Heading and `<title>`.
    pub title: String,
    /// The main message.
    pub message: String,
    /// A short machine-readable code, e.g. `token_exchange_failed`.
    pub code: Option<String>,
    /// Extra detail from the issuer, if it is safe to show.
    pub description: Option<String>,
    /// What the user can do next.
    pub help: String,
}

impl ErrorPage {
    /// A page with the generic title and help text.
    pub fn generic(message: impl Into<String>, code: &str, description: Option<String>) -> Self {
        Self {
            title: GENERIC_ERROR_TITLE.to_owned(),
            message: message.into(),
            code: Some(code.to_owned()),
            description,
            help: GENERIC_ERROR_HELP.to_owned(),
        }
    }

    /// The page for a workspace without a Codex entitlement; the raw issuer reason is not shown.
    pub fn missing_entitlement(message: impl Into<String>) -> Self {
        Self {
            title: ENTITLEMENT_ERROR_TITLE.to_owned(),
            message: message.into(),
            code: Some("access_denied".to_owned()),
            description: None,
            help: ENTITLEMENT_ERROR_HELP.to_owned(),
        }
    }

    /// The page as HTML.
    pub fn render(&self) -> String {
        let mut details = String::new();
        if let Some(code) = &self.code {
            details.push_str(&format!(
                "<p id=\"code\">Error code: <code>{}</code></p>\n",
                html_escape(code)
            ));
        }
        if let Some(description) = &self.description {
            details.push_str(&format!(
                "<p id=\"description\">{}</p>\n",
                html_escape(description)
            ));
        }
        ERROR_TEMPLATE
            .replace("{{TITLE}}", &html_escape(&self.title))
            .replace("{{MESSAGE}}", &html_escape(&self.message))
            .replace("{{HELP}}", &html_escape(&self.help))
            .replace("{{DETAILS}}", &details)
    }
}

/// The success page; with `setup_url` it also links to (and after 3 s opens) the platform setup.
pub(crate) fn render_success_page(setup_url: Option<&str>) -> String {
    let (redirect, setup) = match setup_url {
        Some(url) => {
            let url = html_escape(url);
            (
                format!("<meta http-equiv=\"refresh\" content=\"3;url={url}\">\n"),
                format!(
                    "<p>Finish setting up your API organization: <a id=\"setup-link\" href=\"{url}\">continue to the platform</a>.</p>\n"
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    SUCCESS_TEMPLATE
        .replace("{{REDIRECT}}", &redirect)
        .replace("{{SETUP}}", &setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_escapes_every_field() {
        let page = ErrorPage {
            title: "<t>".to_owned(),
            message: "a & b < c > d \" e ' f".to_owned(),
            code: Some("<code>".to_owned()),
            description: Some("<script>alert(1)</script>".to_owned()),
            help: "'h'".to_owned(),
        }
        .render();
        assert!(page.contains("a &amp; b &lt; c &gt; d &quot; e &#39; f"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("&lt;t&gt;"));
        assert!(page.contains("&#39;h&#39;"));
    }

    #[test]
    fn entitlement_page_uses_its_copy_and_hides_the_raw_reason() {
        let page = ErrorPage::missing_entitlement("Codex is not enabled").render();
        assert!(page.contains(ENTITLEMENT_ERROR_TITLE));
        assert!(page.contains("Contact your workspace administrator"));
        assert!(page.contains("access_denied"));
        assert!(!page.contains("missing_codex_entitlement"));
    }

    #[test]
    fn generic_page_has_generic_title_and_help() {
        let page = ErrorPage::generic("Sign-in failed: x", "access_denied", None).render();
        assert!(page.contains(GENERIC_ERROR_TITLE));
        assert!(page.contains("Return to Codex to retry"));
    }

    #[test]
    fn success_page_with_and_without_setup() {
        assert!(render_success_page(None).contains("Signed in to Codex"));
        assert!(!render_success_page(None).contains("http-equiv"));
        let page = render_success_page(Some("https://platform.example/org-setup?p=plus&x=\"y\""));
        assert!(page.contains(
            "content=\"3;url=https://platform.example/org-setup?p=plus&amp;x=&quot;y&quot;\""
        ));
    }
}
