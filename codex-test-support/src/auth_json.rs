//! Reading `auth.json` the way a test inspects it: as plain JSON.

use std::path::Path;

/// `auth.json` of `home` parsed as JSON; panics when it is missing or not JSON.
pub fn read_auth_json(home: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(home.join("auth.json")).expect("auth.json exists");
    serde_json::from_str(&text).expect("auth.json is JSON")
}
