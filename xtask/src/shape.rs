//! `cargo xtask check-shape`: the shape rules of issue 16 as data.
//!
//! - Root exports per library crate: every name a `pub use` brings in, every
//!   `pub mod`, every top-level `pub` item of `src/lib.rs` (a text count).
//! - No non-test `.rs` file under `src/` over [`MAX_FILE_LINES`] lines.
//! - No import cycle between the top-level modules of a crate (a module
//!   depends on `m` when its non-test text names `crate::m`).
//! - `codex-login --no-default-features` has neither axum nor webbrowser in
//!   its normal dependency tree (`cargo tree`).
//! - No private glob import of the crate's own modules (`use super::*;`,
//!   `use super::super::*;`, `use crate::m::*;`, `use self::m::*;`) in the
//!   non-test part of a `src` file (the text before its first `#[cfg(test)]`
//!   or other test-only `#[cfg(...)]`): a child module names what it takes
//!   from its parent.
//! - Each public item of a library crate at exactly one path, no deeper than
//!   `crate::facade::Item` (rustdoc's JSON, see [`crate::public_paths`]).
//!
//! The (crate, rule) pairs in [`KNOWN_OPEN`] are reported but do not fail the
//! check (none is open now). Add a pair only while a rule is being brought in.

use anyhow::bail;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Longest non-test source file, in lines.
pub const MAX_FILE_LINES: usize = 600;

/// Root export limit per library crate.
pub const EXPORT_LIMITS: [(&str, usize); 5] = [
    ("codex-agent-identity", 25),
    ("codex-login", 30),
    ("codex-backend-client", 45),
    ("codex-auth-provider", 30),
    ("codex-emulator", 30),
];

/// A shape rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Root exports within [`EXPORT_LIMITS`].
    Exports,
    /// No non-test source file over [`MAX_FILE_LINES`].
    FileLength,
    /// No module cycle (crates in [`ACYCLIC`]).
    ModuleCycle,
    /// Optional packages stay out without default features ([`WITHOUT_DEFAULT_FEATURES`]).
    Features,
    /// No non-test glob import of an own module ([`own_module_globs`]).
    GlobImport,
    /// Each public item at one path, no deeper than `crate::facade::Item`
    /// ([`crate::public_paths`]).
    PublicPaths,
}

/// Rules whose violations are reported, not failed, for a crate: issue 16 is
/// open for them.
pub const KNOWN_OPEN: [(&str, Rule); 0] = [];

/// Crates whose module graph must be acyclic.
pub const ACYCLIC: [&str; 6] = [
    "codex-login",
    "codex-cli",
    "codex-agent-identity",
    "codex-backend-client",
    "codex-auth-provider",
    "codex-emulator",
];

/// Crates that must build without these packages in their normal dependency
/// tree when their default features are off (`cargo tree --no-default-features`).
pub const WITHOUT_DEFAULT_FEATURES: [(&str, &[&str]); 1] =
    [("codex-login", &["axum", "webbrowser"])];

/// The `packages` found in `krate`'s normal dependency tree without default features.
pub fn packages_without_default_features(
    root: &Path,
    krate: &str,
    packages: &[&str],
) -> anyhow::Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["tree", "--locked", "--offline", "-p", krate])
        .args(["--no-default-features", "-e", "normal", "--prefix", "none"])
        .output()?;
    if !output.status.success() {
        bail!(
            "cargo tree -p {krate} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(tree_contains(
        &String::from_utf8_lossy(&output.stdout),
        packages,
    ))
}

/// The `packages` named in `cargo tree --prefix none` output (`name vX.Y.Z ...` lines).
fn tree_contains(tree: &str, packages: &[&str]) -> Vec<String> {
    let found: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| packages.contains(name))
        .collect();
    found.into_iter().map(str::to_owned).collect()
}

/// Runs every check under `root`; errors when a crate breaks a rule not in [`KNOWN_OPEN`] for it.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    let mut report = |krate: &str, rule: Rule, problem: String| {
        if KNOWN_OPEN.contains(&(krate, rule)) {
            println!("known (issue 16 open): {krate}: {problem}");
        } else {
            println!("FAIL: {krate}: {problem}");
            failures.push(format!("{krate}: {problem}"));
        }
    };
    for (krate, limit) in EXPORT_LIMITS {
        let lib = std::fs::read_to_string(root.join(krate).join("src/lib.rs"))?;
        let count = count_root_exports(&lib);
        println!("{krate}: {count} root exports (limit {limit})");
        if count > limit {
            report(
                krate,
                Rule::Exports,
                format!("{count} root exports, limit {limit}"),
            );
        }
    }
    let crates = EXPORT_LIMITS
        .iter()
        .map(|(name, _)| *name)
        .chain(["codex-cli", "xtask"]);
    for krate in crates.clone() {
        for (file, lines) in long_files(&root.join(krate).join("src"))? {
            report(
                krate,
                Rule::FileLength,
                format!("{file} has {lines} lines (max {MAX_FILE_LINES})"),
            );
        }
    }
    for krate in crates.chain(["codex-test-support"]) {
        for (file, line, statement) in glob_import_files(&root.join(krate).join("src"))? {
            report(
                krate,
                Rule::GlobImport,
                format!("{file}:{line}: `{statement}` outside #[cfg(test)]: import the names"),
            );
        }
    }
    let target = crate::target_dir(root);
    for (krate, _) in EXPORT_LIMITS {
        let doc = crate::public_paths::rustdoc_json(root, &target, krate)?;
        let paths = crate::public_paths::public_paths(&doc)?;
        let problems = crate::public_paths::problems(&paths);
        println!(
            "{krate}: {} public items, {} at more than one path or too deep",
            paths.len(),
            problems.len()
        );
        for problem in problems {
            report(krate, Rule::PublicPaths, problem);
        }
    }
    for krate in ACYCLIC {
        if let Some(cycle) = module_cycle(&root.join(krate).join("src"))? {
            report(
                krate,
                Rule::ModuleCycle,
                format!("module cycle: {}", cycle.join(" -> ")),
            );
        }
    }
    for (krate, banned) in WITHOUT_DEFAULT_FEATURES {
        let found = packages_without_default_features(root, krate, banned)?;
        println!(
            "{krate} --no-default-features: none of {banned:?} in the tree: {}",
            found.is_empty()
        );
        if !found.is_empty() {
            report(
                krate,
                Rule::Features,
                format!(
                    "--no-default-features still depends on {}",
                    found.join(", ")
                ),
            );
        }
    }
    if failures.is_empty() {
        println!("check-shape: ok");
        Ok(())
    } else {
        bail!("check-shape failed:\n{}", failures.join("\n"))
    }
}

/// Counts the names `lib.rs` exports at the crate root.
pub fn count_root_exports(lib: &str) -> usize {
    let mut count = 0;
    let mut in_use = false;
    let mut statement = String::new();
    for line in lib.lines() {
        let trimmed = line.trim_start();
        if line.starts_with("pub use ") {
            in_use = true;
            statement.clear();
        } else if !in_use {
            let item = [
                "pub mod ",
                "pub fn ",
                "pub struct ",
                "pub enum ",
                "pub const ",
                "pub trait ",
                "pub type ",
                "pub static ",
                "pub async fn ",
            ];
            // Doctest-only items are not part of the API.
            if item.iter().any(|p| line.starts_with(p)) && !trimmed.contains("ReadmeDoctests") {
                count += 1;
            }
            continue;
        }
        statement.push_str(trimmed);
        if trimmed.ends_with(';') {
            in_use = false;
            let list = statement
                .rsplit_once('{')
                .map_or(statement.as_str(), |(_, rest)| rest);
            count += list
                .split(',')
                .filter(|name| !name.trim().trim_end_matches(['}', ';']).trim().is_empty())
                .count();
        }
    }
    count
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Non-test files over the limit (test modules at the end of a file do not count).
fn long_files(src: &Path) -> anyhow::Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let mut long = Vec::new();
    for file in files {
        let name = file.to_string_lossy().into_owned();
        if name.ends_with("_tests.rs") || name.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let lines = code.lines().count();
        if lines > MAX_FILE_LINES {
            long.push((name, lines));
        }
    }
    Ok(long)
}

/// Non-test glob imports of own modules in the files under `src`: (file,
/// line, statement).
fn glob_import_files(src: &Path) -> anyhow::Result<Vec<(String, usize, String)>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let name = file.to_string_lossy().into_owned();
        if name.ends_with("_tests.rs") || name.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        for (line, statement) in own_module_globs(&text) {
            found.push((name.clone(), line, statement));
        }
    }
    Ok(found)
}

/// The private or restricted-visibility `use` statements of `code` (`use`,
/// `pub(crate) use`, `pub(super) use`, ...) that glob-import one of the
/// crate's own modules (a path from `super`, `self` or `crate` with a `*`),
/// with their 1-based line, outside test-only items. A textual scan: comments
/// are dropped line by line, a statement runs to its `;`, and the item after a
/// test-only attribute (`#[cfg(test)]`, `#[cfg(all(test, ...))]`; not a
/// feature whose name contains "test", not `not(test)`) is skipped: a
/// `mod tests;` declaration up to its `;`, a `mod tests { ... }` block up to
/// its closing brace. `pub use` re-exports are not this rule's business.
pub fn own_module_globs(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut statement: Option<(usize, String)> = None;
    // After a test-only attribute: skipping the next item, with its brace depth
    // so far and whether it has opened a brace yet.
    let mut skipping: Option<(i64, bool)> = None;
    for (index, raw) in code.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or_default().trim();
        if let Some((depth, braced)) = skipping.as_mut() {
            if !*braced && line.starts_with("#[") {
                continue;
            }
            let opened = line.matches('{').count() as i64;
            let closed = line.matches('}').count() as i64;
            *depth += opened - closed;
            *braced |= opened > 0;
            if (*braced && *depth <= 0) || (!*braced && line.ends_with(';')) {
                skipping = None;
            }
            continue;
        }
        if statement.is_none() && is_test_only_attribute(line) {
            skipping = Some((0, false));
            continue;
        }
        if statement.is_none() && private_use_statement(line) {
            statement = Some((index + 1, String::new()));
        }
        let Some((start, text)) = statement.as_mut() else {
            continue;
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(line);
        if text.ends_with(';') {
            let path = text
                .split_once("use ")
                .map_or("", |(_, path)| path)
                .trim_start();
            let own = ["super::", "self::", "crate::"]
                .iter()
                .any(|root| path.starts_with(root));
            if own && path.contains('*') {
                found.push((*start, text.clone()));
            }
            statement = None;
        }
    }
    found
}

/// `use ...` or `pub(<restriction>) use ...`, not a plain `pub use` re-export.
fn private_use_statement(line: &str) -> bool {
    if line.starts_with("use ") {
        return true;
    }
    line.strip_prefix("pub(")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(_, rest)| rest.trim_start().starts_with("use "))
}

/// `#[cfg(...)]` whose predicate names `test` (outside string literals, so a
/// feature named `test-support` does not count) and is not `not(test)`.
fn is_test_only_attribute(line: &str) -> bool {
    let Some(predicate) = line.strip_prefix("#[cfg(") else {
        return false;
    };
    let mut outside_strings = String::new();
    for (index, part) in predicate.split('"').enumerate() {
        if index % 2 == 0 {
            outside_strings.push_str(part);
            outside_strings.push(' ');
        }
    }
    let words: Vec<&str> = outside_strings
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect();
    words.contains(&"test") && !outside_strings.replace(' ', "").contains("not(test")
}

/// The first cycle between top-level modules of the crate in `src`, if any.
fn module_cycle(src: &Path) -> anyhow::Result<Option<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Ok(rel) = file.strip_prefix(src) else {
            continue;
        };
        let Some(first) = rel.components().next() else {
            continue;
        };
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let deps = graph.entry(module.clone()).or_default();
        for name in crate_paths(code) {
            if name != module {
                deps.insert(name);
            }
        }
    }
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        if let Some(cycle) = find_back_to(&graph, start, &mut path, &mut BTreeSet::new()) {
            return Ok(Some(cycle));
        }
    }
    Ok(None)
}

/// The top-level modules named by `crate::` paths in `code`, comments left
/// out: `crate::a::X` names `a`, `crate::{a::X, b}` names `a` and `b`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let mut names = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        for (index, _) in line.match_indices("crate::") {
            let rest = &line[index + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level names of the group: each follows `{` or a `,` at depth 0.
                let mut depth = 0usize;
                let mut expect_name = true;
                for (offset, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => expect_name = true,
                        c if expect_name && is_ident(c) => {
                            let name: String = group[offset..]
                                .chars()
                                .take_while(|c| is_ident(*c))
                                .collect();
                            names.insert(name);
                            expect_name = false;
                        }
                        c if c.is_whitespace() => {}
                        _ => expect_name = false,
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
    }
    names
}

fn find_back_to(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let current = path.last()?.clone();
    for next in graph.get(&current).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start.to_owned());
            return Some(cycle);
        }
        if graph.contains_key(next) && seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(cycle) = find_back_to(graph, start, path, seen) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_lists_modules_and_items() {
        let lib = "mod private;\npub use a::{One, Two,\n    three};\npub use b::Four;\npub mod five;\npub fn six() {}\n";
        assert_eq!(count_root_exports(lib), 6);
    }

    #[test]
    fn finds_packages_in_a_tree() {
        let tree =
            "codex-login v0.1.0 (/w/codex-login)\naxum v0.8.9\naxum-core v0.5.0\nurl v2.5.0\n";
        assert_eq!(tree_contains(tree, &["axum", "webbrowser"]), ["axum"]);
        assert!(tree_contains("url v2.5.0\naxum-core v0.5.0\n", &["axum"]).is_empty());
    }

    #[test]
    fn codex_login_without_default_features_has_no_browser_server() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(
            packages_without_default_features(root, "codex-login", &["axum", "webbrowser"])
                .unwrap(),
            Vec::<String>::new()
        );
        // And the check can fail: with default features both are there.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let output = std::process::Command::new(cargo)
            .current_dir(root)
            .args(["tree", "--locked", "--offline", "-p", "codex-login"])
            .args(["-e", "normal", "--prefix", "none"])
            .output()
            .unwrap();
        let tree = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            tree_contains(&tree, &["axum", "webbrowser"]),
            ["axum", "webbrowser"]
        );
    }

    #[test]
    fn finds_own_module_globs_outside_tests_only() {
        let code = "//! Docs.\nuse super::{A, B};\nuse std::io::prelude::*;\npub use inner::*;\n\
                    use super::*;\n// use super::*;\nuse crate::a::{\n    b::*,\n};\n\
                    fn f() {\n    use super::super::*;\n}\n\
                    #[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        let found: Vec<usize> = own_module_globs(code)
            .into_iter()
            .map(|(line, _)| line)
            .collect();
        assert_eq!(found, [5, 7, 11]);
        assert!(own_module_globs("use super::{A, B};\n#[cfg(test)]\nuse super::*;\n").is_empty());
        let linux_tests = "#[cfg(not(test))]\nuse super::*;\n#[cfg(all(test, unix))]\nmod tests {\n    use super::*;\n}\n";
        assert_eq!(own_module_globs(linux_tests).len(), 1);
    }

    /// Review of issue 16 (failed before the fix): the scan stops at the first test-only
    /// `#[cfg(...)]` line of a file, so an out-of-line `#[cfg(test)] mod tests;` declared
    /// with the other modules at the top hides every non-test glob import below it.
    #[test]
    fn review_globs_after_an_early_test_module_declaration_are_found() {
        let early = "mod a;\n#[cfg(test)]\nmod tests;\n\nuse super::*;\n\nfn f() {}\n";
        let lines: Vec<usize> = own_module_globs(early)
            .into_iter()
            .map(|(line, _)| line)
            .collect();
        assert_eq!(lines, [5], "`use super::*;` on line 5 is not test code");
    }

    /// Review of issue 16 (failed before the fix): any `#[cfg(...)]` line containing "test"
    /// (here a feature named `test-support`) ends the scan of the file.
    #[test]
    fn review_a_test_named_feature_does_not_end_the_glob_scan() {
        let feature = "#[cfg(feature = \"test-support\")]\npub fn helper() {}\nuse super::*;\n";
        assert_eq!(
            own_module_globs(feature).len(),
            1,
            "line 3 is not test code"
        );
    }

    /// Review of issue 16 (failed before the fix): only statements starting with `use ` are read,
    /// so `pub(crate) use super::*;` / `pub(super) use super::*;` (a glob of the parent that
    /// also makes everything visible) pass the rule.
    #[test]
    fn review_a_restricted_visibility_glob_of_the_parent_is_found() {
        assert_eq!(own_module_globs("pub(crate) use super::*;\n").len(), 1);
        assert_eq!(own_module_globs("pub(super) use super::*;\n").len(), 1);
    }

    #[test]
    fn a_test_only_method_ends_where_its_braces_close() {
        let code = "impl A {\n    #[cfg(test)]\n    fn f(&self) -> u8 {\n        1\n    }\n}\nuse super::*;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        let lines: Vec<usize> = own_module_globs(code)
            .into_iter()
            .map(|(line, _)| line)
            .collect();
        assert_eq!(lines, [7]);
    }

    #[test]
    fn reads_grouped_paths_and_skips_comments() {
        let code = "use crate::{exit, term::{self, Style}};\n// see crate::docs\nuse crate::a::B; // crate::c\n";
        let names: Vec<String> = crate_paths(code).into_iter().collect();
        assert_eq!(names, ["a", "exit", "term"]);
    }

    #[test]
    fn finds_a_module_cycle_and_a_long_file() {
        let dir = std::env::temp_dir().join(format!("check-shape-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("c")).unwrap();
        std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
        std::fs::write(src.join("a.rs"), "use crate::b::B;\n").unwrap();
        std::fs::write(src.join("c/mod.rs"), "use crate::a::A;\n").unwrap();
        std::fs::write(src.join("b.rs"), "pub struct B;\n").unwrap();
        assert_eq!(module_cycle(&src).unwrap(), None);
        std::fs::write(src.join("b.rs"), "use crate::c::C;\n").unwrap();
        let cycle = module_cycle(&src).unwrap().unwrap();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4, "{cycle:?}");
        assert!(long_files(&src).unwrap().is_empty());
        std::fs::write(src.join("a.rs"), "//\n".repeat(MAX_FILE_LINES + 1)).unwrap();
        assert_eq!(long_files(&src).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_workspace_has_its_shape() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        run(root).unwrap();
    }
}
