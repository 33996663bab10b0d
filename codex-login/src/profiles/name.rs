//! Profile names: validated once, then carried as [`ProfileName`].

use crate::auth_dot_json::{AuthDotJson, AuthMode};
use crate::codex_auth::CodexAuth;
use std::fmt;

/// The longest profile name, in characters.
pub const MAX_PROFILE_NAME_CHARS: usize = 64;

/// A profile name that is one safe path component: 1 to 64 characters, no path separator,
/// no control character, and no leading `.` (so never `.` or `..`, and never the marker).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileName(String);

/// Why a string is not a profile name. The message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileNameError {
    /// The name is empty.
    #[error("a profile name cannot be empty")]
    Empty,
    /// The name is longer than [`MAX_PROFILE_NAME_CHARS`].
    #[error("the profile name is {chars} characters long; the limit is {MAX_PROFILE_NAME_CHARS}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The name contains `/` or `\`.
    #[error("the profile name {0:?} contains a path separator; use one word like `work`")]
    Separator(String),
    /// The name contains a control character (shown escaped).
    #[error("the profile name \"{0}\" contains a control character")]
    Control(String),
    /// The name starts with `.` (covers `.` and `..`).
    #[error("the profile name {0:?} starts with `.`; names like `.` and `..` are not allowed")]
    Dot(String),
    /// The name has leading or trailing white space.
    #[error("the profile name {0:?} starts or ends with white space")]
    Whitespace(String),
}

impl ProfileName {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, ProfileNameError> {
        if raw.is_empty() {
            return Err(ProfileNameError::Empty);
        }
        let chars = raw.chars().count();
        if chars > MAX_PROFILE_NAME_CHARS {
            return Err(ProfileNameError::TooLong { chars });
        }
        if raw.chars().any(char::is_control) {
            return Err(ProfileNameError::Control(raw.escape_default().to_string()));
        }
        if raw.contains(['/', '\\']) {
            return Err(ProfileNameError::Separator(raw.to_owned()));
        }
        if raw.starts_with('.') {
            return Err(ProfileNameError::Dot(raw.to_owned()));
        }
        if raw.trim() != raw {
            return Err(ProfileNameError::Whitespace(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A name known to be valid (a constant of this crate).
    pub(super) fn builtin(raw: &'static str) -> Self {
        Self(raw.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ProfileName {
    type Err = ProfileNameError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

/// A name a person recognises for a stored login: the e-mail, plus the first characters of
/// the workspace (account) id for workspace accounts; `api-key` or `agent-identity` for those
/// logins. Characters a name cannot hold are replaced by `-`.
pub fn default_profile_name(document: &AuthDotJson) -> ProfileName {
    let fallback = match document.resolved_mode() {
        AuthMode::ApiKey => "api-key",
        AuthMode::AgentIdentity => "agent-identity",
        AuthMode::PersonalAccessToken => "personal-access-token",
        AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => "chatgpt",
    };
    let mut raw = fallback.to_owned();
    if let Ok(auth) = CodexAuth::from_auth_dot_json(document.clone())
        && let Some(email) = auth.email()
    {
        raw = email.to_owned();
        if auth.is_workspace_account()
            && let Some(account) = auth.account_id()
        {
            let short: String = account.chars().take(8).collect();
            raw = format!("{raw}-{short}");
        }
    }
    sanitize(&raw).unwrap_or_else(|| ProfileName::builtin(fallback))
}

/// `base`, or `base-2`, `base-3`, ... : the first that `taken` does not hold.
pub(crate) fn unique_name(base: &ProfileName, taken: impl Fn(&ProfileName) -> bool) -> ProfileName {
    if !taken(base) {
        return base.clone();
    }
    let stem: String = base.0.chars().take(MAX_PROFILE_NAME_CHARS - 4).collect();
    (2..10_000)
        .filter_map(|n| ProfileName::parse(&format!("{stem}-{n}")).ok())
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| base.clone())
}

fn sanitize(raw: &str) -> Option<ProfileName> {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '-'
            } else {
                c
            }
        })
        .take(MAX_PROFILE_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    ProfileName::parse(cleaned).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_refused_with_the_rule_they_break() {
        assert_eq!(ProfileName::parse(""), Err(ProfileNameError::Empty));
        assert!(matches!(
            ProfileName::parse("a/b"),
            Err(ProfileNameError::Separator(_))
        ));
        assert!(matches!(
            ProfileName::parse("a\\b"),
            Err(ProfileNameError::Separator(_))
        ));
        assert!(matches!(
            ProfileName::parse(".."),
            Err(ProfileNameError::Dot(_))
        ));
        assert!(matches!(
            ProfileName::parse("."),
            Err(ProfileNameError::Dot(_))
        ));
        assert!(matches!(
            ProfileName::parse("a\nb"),
            Err(ProfileNameError::Control(_))
        ));
        assert!(matches!(
            ProfileName::parse(&"x".repeat(65)),
            Err(ProfileNameError::TooLong { chars: 65 })
        ));
        assert!(matches!(
            ProfileName::parse(" work"),
            Err(ProfileNameError::Whitespace(_))
        ));
        assert_eq!(
            ProfileName::parse("alice@example.com").map(|n| n.0),
            Ok("alice@example.com".to_owned())
        );
    }

    #[test]
    fn unique_name_appends_a_counter() {
        let base = ProfileName::parse("work").expect("valid");
        let taken = |n: &ProfileName| n.as_str() == "work" || n.as_str() == "work-2";
        assert_eq!(unique_name(&base, taken).as_str(), "work-3");
    }
}
