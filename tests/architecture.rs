//! The folder layout is the architecture (scenario → sampling → backend → aggregate →
//! report/export/plot): no top-level module may use a module that uses it back, so each
//! stage can be read, tested and changed without the ones after it.
//!
//! The check reads `crate::NAME` paths in the non-test code of every file under src/ (a
//! module's submodules count as the module). It fails when a dependency cycle appears.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel.iter().next().unwrap().to_str().unwrap();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may reach anywhere; only the code a build links counts.
            let code = text.split("#[cfg(test)]").next().unwrap();
            let uses = out.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let graph = imports();
    assert!(graph.len() > 10, "read the modules: {graph:?}");
    // Stronger than two-way: the graph has no cycle at all. Peel off modules that use nothing
    // left (Kahn's algorithm); what remains lies on a cycle.
    let mut left: BTreeMap<&str, BTreeSet<&str>> = graph
        .iter()
        .map(|(a, u)| {
            let u = u
                .iter()
                .map(String::as_str)
                .filter(|b| graph.contains_key(*b))
                .collect();
            (a.as_str(), u)
        })
        .collect();
    on_cycles(&mut left);
    assert!(left.is_empty(), "modules on a dependency cycle: {left:?}");
}

/// Leaves `graph` holding only the modules that lie on a cycle (or lead into one).
fn on_cycles(left: &mut BTreeMap<&str, BTreeSet<&str>>) {
    loop {
        let leaves: Vec<&str> = left
            .iter()
            .filter(|(_, u)| u.is_empty())
            .map(|(a, _)| *a)
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            left.remove(leaf);
            for u in left.values_mut() {
                u.remove(leaf);
            }
        }
    }
}

/// Inside `scenario` the section modules build on the file's shape (`raw`), never the other way:
/// no submodule names a sibling (`super::raw`, `use super::{raw, …}`) that names it back, at any
/// distance. The types `mod.rs` defines are the parent's, not a sibling's, and do not count.
#[test]
fn the_scenario_submodules_have_no_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenario");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .filter(|n| n != "mod")
        .collect();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in &names {
        let text = std::fs::read_to_string(dir.join(format!("{a}.rs"))).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let uses = graph.entry(a.as_str()).or_default();
        for (i, _) in code.match_indices("super::") {
            let rest = &code[i + 7..];
            // `super::raw::X` and the names of `super::{raw::X, dists}`.
            let list = if let Some(inner) = rest.strip_prefix('{') {
                inner.split('}').next().unwrap_or("")
            } else {
                rest
            };
            for item in list.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(b) = names.iter().find(|n| **n == name && *n != a) {
                    uses.insert(b.as_str());
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
    }
    assert!(
        graph.get("dists").is_some_and(|u| u.contains("raw")),
        "read the modules: {graph:?}"
    );
    on_cycles(&mut graph);
    assert!(
        graph.is_empty(),
        "scenario submodules on a cycle: {graph:?}"
    );
}

/// The check can fail: the stages' order is visible in the graph itself.
#[test]
fn the_stages_depend_one_way() {
    let graph = imports();
    let uses = |a: &str, b: &str| graph.get(a).is_some_and(|u| u.contains(b));
    assert!(uses("sampling", "scenario") && !uses("scenario", "sampling"));
    assert!(uses("aggregate", "backend") && !uses("backend", "aggregate"));
    assert!(uses("export", "aggregate") && !uses("aggregate", "export"));
}
