//! The `GET {P}/accounts/check` response: the workspaces a login can act in.
//!
//! The server sends `accounts` either as a list or as a map keyed by account
//! id; both decode to the same [`AccountsCheck`].

use crate::null_default::null_as_default;
use serde::Deserialize;
use serde_json::Value;

/// The decoded accounts/check response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountsCheck {
    /// The accounts, in the server's order (`account_ordering` for the map form).
    pub accounts: Vec<AccountSummary>,
    /// Account ids in the order the server wants them shown.
    pub account_ordering: Vec<String>,
    /// The account used when none is chosen.
    pub default_account_id: Option<String>,
}

/// One account (personal or workspace).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AccountSummary {
    /// The account id (sent as `ChatGPT-Account-ID`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    /// The account structure, for example `personal` or `workspace`.
    #[serde(default)]
    pub structure: Option<String>,
}

/// Why an accounts/check body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid accounts response.")]
pub struct InvalidAccountsResponse {
    /// What was wrong, without echoing the body.
    pub detail: String,
}

#[derive(Deserialize)]
struct RawAccountsCheck {
    #[serde(default, deserialize_with = "null_as_default")]
    accounts: Value,
    #[serde(default, deserialize_with = "null_as_default")]
    account_ordering: Vec<String>,
    #[serde(default)]
    default_account_id: Option<String>,
}

#[derive(Deserialize)]
struct MapEntry {
    #[serde(default)]
    account: Option<MapAccount>,
}

#[derive(Deserialize)]
struct MapAccount {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
    #[serde(default)]
    structure: Option<String>,
}

impl AccountsCheck {
    /// Decodes either response shape from a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidAccountsResponse> {
        let raw: RawAccountsCheck = serde_json::from_slice(body).map_err(|err| invalid(&err))?;
        let accounts = match raw.accounts {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .into_iter()
                .map(serde_json::from_value::<AccountSummary>)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| invalid(&err))?,
            Value::Object(map) => {
                let mut entries: Vec<(String, AccountSummary)> = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let entry: MapEntry =
                        serde_json::from_value(value).map_err(|err| invalid(&err))?;
                    let Some(account) = entry.account else {
                        continue;
                    };
                    let Some(account_id) = account.account_id else {
                        continue;
                    };
                    entries.push((
                        key,
                        AccountSummary {
                            id: account_id,
                            name: account.name,
                            profile_picture_url: account.profile_picture_url,
                            structure: account.structure,
                        },
                    ));
                }
                order_by(entries, &raw.account_ordering)
            }
            other => {
                return Err(InvalidAccountsResponse {
                    detail: format!("`accounts` is a {}", json_kind(&other)),
                });
            }
        };
        Ok(Self {
            accounts,
            account_ordering: raw.account_ordering,
            default_account_id: raw.default_account_id,
        })
    }

    /// The account with this id, if listed.
    pub fn account(&self, id: &str) -> Option<&AccountSummary> {
        self.accounts.iter().find(|account| account.id == id)
    }
}

/// Puts map entries in `ordering` order (matching the map key or the account
/// id); entries the ordering does not mention follow in the server's order.
fn order_by(
    mut entries: Vec<(String, AccountSummary)>,
    ordering: &[String],
) -> Vec<AccountSummary> {
    let mut ordered = Vec::with_capacity(entries.len());
    for id in ordering {
        if let Some(index) = entries
            .iter()
            .position(|(key, account)| key == id || &account.id == id)
        {
            ordered.push(entries.remove(index).1);
        }
    }
    ordered.extend(entries.into_iter().map(|(_, account)| account));
    ordered
}

fn invalid(err: &serde_json::Error) -> InvalidAccountsResponse {
    // serde_json's messages name the field and position, never the value.
    InvalidAccountsResponse {
        detail: err.to_string(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_form_decodes() {
        let check = AccountsCheck::from_json(
            br#"{"accounts":[
                  {"id":"acct-1","name":null,"structure":"personal","extra":true},
                  {"id":"acct-2","name":"Team","profile_picture_url":"https://x.test/p.png","structure":"workspace"}],
                 "account_ordering":["acct-2","acct-1"],"default_account_id":"acct-1"}"#,
        )
        .unwrap();
        assert_eq!(check.accounts.len(), 2);
        assert_eq!(check.accounts[0].id, "acct-1");
        assert_eq!(check.accounts[0].structure.as_deref(), Some("personal"));
        assert_eq!(check.accounts[1].name.as_deref(), Some("Team"));
        assert_eq!(check.account_ordering, vec!["acct-2", "acct-1"]);
        assert_eq!(check.default_account_id.as_deref(), Some("acct-1"));
    }

    #[test]
    fn map_form_follows_ordering_and_drops_entries_without_id() {
        let check = AccountsCheck::from_json(
            br#"{"accounts":{
                  "acct-1":{"account":{"account_id":"acct-1","name":"Me","structure":"personal"}},
                  "acct-x":{"account":{"name":"No id"}},
                  "acct-2":{"account":{"account_id":"acct-2","name":"Team","structure":"workspace"}},
                  "acct-3":{"account":{"account_id":"acct-3","structure":"workspace"}}},
                 "account_ordering":["acct-2","acct-x","acct-1"]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = check.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["acct-2", "acct-1", "acct-3"]);
        assert_eq!(
            check.account("acct-2").unwrap().name.as_deref(),
            Some("Team")
        );
        assert_eq!(check.default_account_id, None);
    }

    #[test]
    fn bad_shapes_are_typed_errors_without_the_body() {
        for body in [
            &br#"{"accounts":"secret-looking-text"}"#[..],
            br#"{"accounts":[{"name":"no id"}]}"#,
            b"not json",
        ] {
            let err = AccountsCheck::from_json(body).unwrap_err();
            assert_eq!(err.to_string(), "Invalid accounts response.");
            assert!(!err.detail.contains("secret-looking-text"));
        }
    }
}
