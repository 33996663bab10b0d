//! Public paths of a library crate, from rustdoc's JSON output (issue 16).
//!
//! The front-door rule: every public item of a library crate is reachable at
//! exactly one path, and that path is `crate::Item` or `crate::facade::Item`
//! (no public module below a facade). Re-exports are followed, so an item
//! defined in a private module and re-exported by two facades is caught.
//!
//! rustdoc's JSON output is unstable, so this runs `cargo rustdoc` with
//! `RUSTC_BOOTSTRAP=1` on the stable toolchain (the only one CI has) and reads
//! the few fields it needs (`root`, `index`, `inner.module.items`,
//! `inner.use`) as plain JSON rather than pinning a `rustdoc-types` version
//! to one compiler. It is the only tool that lists re-exports with their
//! targets; `cargo modules structure` shows definitions only.

use anyhow::{Context, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Deepest public path allowed: `crate::facade::Item` has three segments.
pub const MAX_PATH_SEGMENTS: usize = 3;

/// Every public path of each public item, keyed by the item (its rustdoc id,
/// or `extern:<id>` for an item of another crate re-exported here).
pub type PublicPaths = BTreeMap<String, Vec<String>>;

/// Runs `cargo rustdoc --output-format json` for `krate`'s library and parses it.
///
/// It builds in its own target directory (`<target>/public-paths`): with
/// `RUSTC_BOOTSTRAP=1` cargo rebuilds the dependencies' metadata, which in the
/// shared directory would replace artifacts a running `cargo test` (whose
/// doc tests link against them) still uses.
pub fn rustdoc_json(root: &Path, target: &Path, krate: &str) -> anyhow::Result<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = target.join("public-paths");
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTDOCFLAGS")
        .arg("rustdoc")
        .arg("--target-dir")
        .arg(&target)
        .args(["--locked", "--lib", "-p", krate, "--"])
        .args(["-Z", "unstable-options", "--output-format", "json"])
        .output()?;
    if !output.status.success() {
        bail!(
            "cargo rustdoc --output-format json -p {krate} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let file = target
        .join("doc")
        .join(format!("{}.json", krate.replace('-', "_")));
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
}

/// Walks the public module tree from the crate root, following `pub use`.
pub fn public_paths(doc: &Value) -> anyhow::Result<PublicPaths> {
    let index = doc
        .get("index")
        .and_then(Value::as_object)
        .context("rustdoc JSON has no index")?;
    let root = id_key(doc.get("root")).context("rustdoc JSON has no root")?;
    let crate_name = index
        .get(&root)
        .and_then(|item| item.get("name"))
        .and_then(Value::as_str)
        .context("the root module has no name")?;
    let mut paths = PublicPaths::new();
    let mut visited = Vec::new();
    walk(index, &root, crate_name, &mut paths, &mut visited);
    Ok(paths)
}

fn id_key(id: Option<&Value>) -> Option<String> {
    match id? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn walk(
    index: &serde_json::Map<String, Value>,
    module: &str,
    prefix: &str,
    paths: &mut PublicPaths,
    visited: &mut Vec<(String, String)>,
) {
    let key = (module.to_owned(), prefix.to_owned());
    if visited.contains(&key) {
        return;
    }
    visited.push(key);
    let items = index
        .get(module)
        .and_then(|m| m.pointer("/inner/module/items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for child in items {
        let Some(child) = id_key(Some(&child)) else {
            continue;
        };
        let Some(item) = index.get(&child) else {
            continue;
        };
        let inner = item.get("inner");
        if let Some(reexport) = inner.and_then(|inner| inner.get("use")) {
            let name = reexport.get("name").and_then(Value::as_str).unwrap_or("?");
            let glob = reexport
                .get("is_glob")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let target = id_key(reexport.get("id")).filter(|id| index.contains_key(id));
            match target {
                Some(target) if glob => walk(index, &target, prefix, paths, visited),
                Some(target) => {
                    let path = format!("{prefix}::{name}");
                    paths.entry(target.clone()).or_default().push(path.clone());
                    if is_module(index, &target) {
                        walk(index, &target, &path, paths, visited);
                    }
                }
                None => {
                    // An item of another crate: keyed by its rustdoc id (which
                    // `paths` resolves), so two spellings of its path are one
                    // item; by the `source` text only when rustdoc gives no id.
                    let key = match id_key(reexport.get("id")) {
                        Some(id) => format!("extern:{id}"),
                        None => format!(
                            "extern:{}",
                            reexport
                                .get("source")
                                .and_then(Value::as_str)
                                .unwrap_or("?")
                        ),
                    };
                    paths
                        .entry(key)
                        .or_default()
                        .push(format!("{prefix}::{name}"));
                }
            }
        } else if let Some(name) = item.get("name").and_then(Value::as_str) {
            let path = format!("{prefix}::{name}");
            paths.entry(child.clone()).or_default().push(path.clone());
            if is_module(index, &child) {
                walk(index, &child, &path, paths, visited);
            }
        }
    }
}

fn is_module(index: &serde_json::Map<String, Value>, id: &str) -> bool {
    index
        .get(id)
        .and_then(|item| item.pointer("/inner/module"))
        .is_some()
}

/// What breaks the front-door rule: items at two or more paths, and paths
/// deeper than [`MAX_PATH_SEGMENTS`].
pub fn problems(paths: &PublicPaths) -> Vec<String> {
    let mut problems = Vec::new();
    for all in paths.values() {
        if all.len() > 1 {
            let mut sorted = all.clone();
            sorted.sort();
            problems.push(format!(
                "one item at {} paths: {}",
                all.len(),
                sorted.join(", ")
            ));
        }
        for path in all {
            if path.split("::").count() > MAX_PATH_SEGMENTS {
                problems.push(format!(
                    "{path} is below a public submodule (facades are one level deep)"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A crate `k` with `pub mod a { pub struct S; pub mod deep { pub fn f() {} } }`,
    /// `mod hidden { pub struct T; }`, and `pub use a::S; pub use hidden::T;`
    /// at the root and `pub use crate::hidden::T;` in `a`.
    fn sample() -> Value {
        json!({
            "root": 0,
            "index": {
                "0": {"name": "k", "inner": {"module": {"items": [1, 5, 6]}}},
                "1": {"name": "a", "inner": {"module": {"items": [2, 3, 8]}}},
                "2": {"name": "S", "inner": {"struct": {}}},
                "3": {"name": "deep", "inner": {"module": {"items": [4]}}},
                "4": {"name": "f", "inner": {"function": {}}},
                "5": {"name": null, "inner": {"use": {"source": "a::S", "name": "S", "id": 2, "is_glob": false}}},
                "6": {"name": null, "inner": {"use": {"source": "hidden::T", "name": "T", "id": 7, "is_glob": false}}},
                "7": {"name": "T", "inner": {"struct": {}}},
                "8": {"name": null, "inner": {"use": {"source": "crate::hidden::T", "name": "T", "id": 7, "is_glob": false}}}
            }
        })
    }

    #[test]
    fn finds_items_at_two_paths_and_deep_paths() {
        let paths = public_paths(&sample()).expect("walk");
        assert_eq!(paths["2"], ["k::a::S", "k::S"]);
        assert_eq!(paths["7"], ["k::a::T", "k::T"]);
        let problems = problems(&paths);
        assert_eq!(
            problems,
            [
                "one item at 2 paths: k::S, k::a::S",
                "k::a::deep::f is below a public submodule (facades are one level deep)",
                "one item at 2 paths: k::T, k::a::T",
            ]
        );
    }

    /// Review of issue 16 (failed before the fix): an item of another crate re-exported twice is
    /// keyed by the `source` text of each `pub use`, not by its rustdoc id, so the same item
    /// re-exported through two spellings of its path (`ext::S` and `ext::inner::S`) at two
    /// facades passes as two items at one path each.
    #[test]
    fn review_an_extern_item_re_exported_under_two_spellings_is_one_item() {
        let doc = json!({
            "root": 0,
            "index": {
                "0": {"name": "k", "inner": {"module": {"items": [1, 2]}}},
                "1": {"name": "a", "inner": {"module": {"items": [3]}}},
                "2": {"name": "b", "inner": {"module": {"items": [4]}}},
                "3": {"name": null, "inner": {"use": {"source": "ext::S", "name": "S", "id": 99, "is_glob": false}}},
                "4": {"name": null, "inner": {"use": {"source": "ext::inner::S", "name": "S", "id": 99, "is_glob": false}}}
            }
        });
        let paths = public_paths(&doc).expect("walk");
        assert_eq!(
            problems(&paths),
            ["one item at 2 paths: k::a::S, k::b::S"],
            "{paths:?}"
        );
    }

    #[test]
    fn one_path_per_item_passes() {
        let mut doc = sample();
        // Drop the root `pub use a::S`, the `deep` module and the second `T`.
        doc["index"]["0"]["inner"]["module"]["items"] = json!([1, 6]);
        doc["index"]["1"]["inner"]["module"]["items"] = json!([2]);
        let paths = public_paths(&doc).expect("walk");
        assert!(problems(&paths).is_empty(), "{:?}", problems(&paths));
    }
}
