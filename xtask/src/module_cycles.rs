//! `cargo xtask module-cycles [CRATE...]`: cycles between the modules of a
//! crate (siblings at any depth), from the semantic graph of `cargo-modules`.
//!
//! `cargo modules dependencies --acyclic` (cargo-modules 0.27) also counts a
//! type and its own methods as a cycle, so it fails on every crate. This task
//! runs `cargo modules dependencies --lib -p CRATE`, gives each item the module
//! that owns it, keeps each `uses` edge as one between the two sibling modules
//! (children of the closest common ancestor) that lead to its ends (a module
//! and its own ancestor or descendant are not a cycle), and reports the
//! strongly connected components. Unlike the text scan of `check-shape`, it
//! sees method calls and glob imports.

use anyhow::{Context, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates checked when none are named: the five libraries, the test
/// support library, the `codex` binary and this `xtask` binary.
pub const CHECKED_CRATES: [&str; 8] = [
    "codex-login",
    "codex-auth-provider",
    "codex-agent-identity",
    "codex-backend-client",
    "codex-emulator",
    "codex-test-support",
    "codex-cli",
    "xtask",
];

/// The cargo target of `krate` that is checked: its library, or for the two
/// crates without one (`codex-cli`, `xtask`) their binary.
fn target_args(krate: &str) -> &'static [&'static str] {
    match krate {
        "codex-cli" => &["--bin", "codex"],
        "xtask" => &["--bin", "xtask"],
        _ => &["--lib"],
    }
}

/// Runs the check for `crates` (all library crates when empty); fails when any
/// has a cycle.
pub fn run(root: &Path, crates: Vec<String>) -> anyhow::Result<()> {
    let crates = if crates.is_empty() {
        CHECKED_CRATES.iter().map(|c| (*c).to_owned()).collect()
    } else {
        crates
    };
    let mut failed = Vec::new();
    for krate in &crates {
        let output = std::process::Command::new("cargo")
            .current_dir(root)
            .args(["modules", "dependencies", "-p", krate])
            .args(target_args(krate))
            .output()
            .context("running `cargo modules` (cargo install cargo-modules --version 0.27.0)")?;
        if !output.status.success() {
            bail!(
                "cargo modules dependencies -p {krate} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let cycles = sibling_cycles(&String::from_utf8_lossy(&output.stdout));
        if cycles.is_empty() {
            println!("{krate}: no cycle between modules");
        } else {
            for cycle in &cycles {
                println!("{krate}: cycle between {}", cycle.join(", "));
            }
            failed.push(krate.clone());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("module cycles in {}", failed.join(", "))
    }
}

/// The groups of sibling modules (children of one parent, at any depth) that
/// depend on each other, from a `cargo modules dependencies` DOT graph.
///
/// A use of an item in module `A` by an item in module `B` is an edge between
/// the two children of their closest common ancestor that lead to `A` and
/// `B`; a module and its own ancestor or descendant are not a cycle (a parent
/// re-exports its children, a child uses its parent's types).
pub fn sibling_cycles<'a>(dot: &'a str) -> Vec<Vec<String>> {
    let mut kind: BTreeMap<&'a str, &'a str> = BTreeMap::new();
    let mut owner: BTreeMap<&'a str, &'a str> = BTreeMap::new();
    let mut uses: Vec<(&'a str, &'a str)> = Vec::new();
    for line in dot.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix('"') else {
            continue;
        };
        let Some((from, rest)) = rest.split_once('"') else {
            continue;
        };
        if let Some(edge) = rest.strip_prefix(" -> \"") {
            let Some((to, rest)) = edge.split_once('"') else {
                continue;
            };
            if rest.contains("label=\"owns\"") {
                owner.insert(to, from);
            } else if rest.contains("label=\"uses\"") {
                uses.push((from, to));
            }
        } else if let Some(label) = rest.strip_prefix(" [label=\"") {
            let node_kind = label.split('|').next().unwrap_or_default();
            kind.insert(from, node_kind);
        }
    }
    let is_module = |node: &str| {
        kind.get(node)
            .is_some_and(|k| k.ends_with("mod") || k.ends_with("crate"))
    };
    let module_of = |start: &'a str| -> Option<Vec<&'a str>> {
        let mut node = start;
        while !is_module(node) {
            node = owner.get(node).copied()?;
        }
        let external = kind.get(node).is_some_and(|k| k.starts_with("external"));
        (!external).then(|| node.split("::").collect())
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in uses {
        let (Some(a), Some(b)) = (module_of(from), module_of(to)) else {
            continue;
        };
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        // Equal, or one is an ancestor of the other: not a cycle.
        if common == a.len() || common == b.len() {
            continue;
        }
        let sibling_a = a[..=common].join("::");
        let sibling_b = b[..=common].join("::");
        graph.entry(sibling_a).or_default().insert(sibling_b);
    }
    // Modules that reach each other, grouped (each group reported once).
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_owned()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|node| (node, reach(node))).collect();
    let mut grouped = BTreeSet::new();
    let mut cycles = Vec::new();
    for (node, reached) in &reachable {
        if grouped.contains(*node) || !reached.contains(*node) {
            continue;
        }
        let group: Vec<String> = reached
            .iter()
            .filter(|other| {
                reachable
                    .get(other)
                    .is_some_and(|back| back.contains(*node))
            })
            .cloned()
            .collect();
        grouped.extend(group.iter().cloned());
        cycles.push(group);
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOT: &str = r##"digraph {
    "k" [label="crate|k", fillcolor="#5397c8"]; // "crate" node
    "k::a" [label="pub(crate) mod|k::a", fillcolor="#fff"]; // "mod" node
    "k::a::A" [label="pub struct|k::a::A", fillcolor="#fff"]; // "struct" node
    "k::a::A::new" [label="pub fn|k::a::A::new", fillcolor="#fff"]; // "fn" node
    "k::b" [label="pub(crate) mod|k::b", fillcolor="#fff"]; // "mod" node
    "k::b::inner" [label="pub(crate) mod|k::b::inner", fillcolor="#fff"]; // "mod" node
    "k::b::inner::f" [label="pub fn|k::b::inner::f", fillcolor="#fff"]; // "fn" node
    "k" -> "k::a" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k" -> "k::b" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k::a" -> "k::a::A" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k::a::A" -> "k::a::A::new" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k::b" -> "k::b::inner" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k::b::inner" -> "k::b::inner::f" [label="owns", color="#000000", style="solid"] [constraint=true]; // "owns" edge
    "k::a::A::new" -> "k::a::A" [label="uses", color="#7f7f7f", style="dashed"] [constraint=false]; // "uses" edge
    "k::b::inner::f" -> "k::a::A" [label="uses", color="#7f7f7f", style="dashed"] [constraint=false]; // "uses" edge
    "k" -> "k::b::inner::f" [label="uses", color="#7f7f7f", style="dashed"] [constraint=false]; // "uses" edge
}"##;

    #[test]
    fn a_type_and_its_method_or_a_root_re_export_are_no_cycle() {
        assert!(sibling_cycles(DOT).is_empty());
    }

    #[test]
    fn a_method_calling_back_is_a_cycle() {
        let dot = DOT.replace(
            "}",
            "    \"k::a::A::new\" -> \"k::b::inner::f\" [label=\"uses\", color=\"#7f7f7f\"]; // \"uses\" edge\n}",
        );
        assert_eq!(sibling_cycles(&dot), [["k::a", "k::b"]]);
    }

    #[test]
    fn nested_siblings_calling_each_other_are_a_cycle() {
        let dot = DOT.replace(
            "}",
            concat!(
                "    \"k::b::other\" [label=\"mod|k::b::other\"]; // \"mod\" node\n",
                "    \"k::b::other::g\" [label=\"fn|k::b::other::g\"]; // \"fn\" node\n",
                "    \"k::b\" -> \"k::b::other\" [label=\"owns\"]; // \"owns\" edge\n",
                "    \"k::b::other\" -> \"k::b::other::g\" [label=\"owns\"]; // \"owns\" edge\n",
                "    \"k::b::other::g\" -> \"k::b::inner::f\" [label=\"uses\"]; // \"uses\" edge\n",
                "}"
            ),
        );
        assert!(sibling_cycles(&dot).is_empty(), "one way only");
        let dot = dot.replacen(
            "}",
            "    \"k::b::inner::f\" -> \"k::b::other::g\" [label=\"uses\"]; // \"uses\" edge\n}",
            1,
        );
        assert_eq!(sibling_cycles(&dot), [["k::b::inner", "k::b::other"]]);
    }
}
