//! Core's top-level modules import one way (docs/adr/0004-layering.md): this reads every
//! `crate::<module>` path in `src/` (comments aside) and fails on an import cycle between
//! top-level modules that is not one of the few still being taken apart, listed below. The
//! list may only shrink: a cycle that has been removed must leave it too.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Circles still to be taken apart (each a set of modules that reach each other). Adding one
/// here is not the way to make this test pass.
const STILL_TO_UNTANGLE: &[&[&str]] = &[];

fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib").then(|| name.to_string())
}

fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in all {
        let Some(module) = module_of(&src, &file) else { continue };
        let text = std::fs::read_to_string(&file).expect("read file");
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(imports(&text).into_iter().filter(|d| *d != module));
    }
    graph
}

/// The groups of modules that reach each other (strongly connected, more than one module).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<BTreeSet<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for d in graph.get(&m).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reach(m))).collect();
    let mut groups = BTreeSet::new();
    for m in graph.keys() {
        let group: BTreeSet<String> =
            graph.keys().filter(|o| *o == m || (reaches[m].contains(*o) && reaches[*o].contains(m))).cloned().collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups
}

#[test]
fn core_modules_import_one_way() {
    let graph = graph();
    assert!(graph.contains_key("jobs") && graph.contains_key("engine"), "the source tree was read: {graph:?}");
    let found = cycles(&graph);
    let known: BTreeSet<BTreeSet<String>> =
        STILL_TO_UNTANGLE.iter().map(|g| g.iter().map(|s| s.to_string()).collect()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(new.is_empty(), "import cycles between core's top-level modules: {new:?}\nimports: {graph:#?}");
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "these cycles are gone: remove them from STILL_TO_UNTANGLE: {gone:?}");
}

#[test]
fn the_cycle_finder_finds_circles_and_only_circles() {
    let g = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            graph.entry(a.to_string()).or_default().insert(b.to_string());
            graph.entry(b.to_string()).or_default();
        }
        graph
    };
    assert!(cycles(&g(&[("a", "b"), ("b", "c")])).is_empty());
    let found = cycles(&g(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
    assert_eq!(found.len(), 1);
    assert_eq!(found.iter().next().unwrap(), &["a", "b", "c"].iter().map(|s| s.to_string()).collect());
    assert_eq!(
        imports("use crate::jobs::X; // crate::leads\nlet x = crate::db::Db;"),
        ["db", "jobs"].iter().map(|s| s.to_string()).collect()
    );
}
