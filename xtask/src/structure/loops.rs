//! Import loops: the graph of sibling modules that name each other, its
//! strongly connected components, and the allowlist verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::AllowedLoop;
use super::source::{CrateTree, module_name};

/// One import between sibling modules: where it is written.
#[derive(Clone, Debug)]
pub(super) struct Evidence {
    pub(super) file: PathBuf,
    pub(super) line: usize,
    pub(super) names: String,
}

/// An import loop: sibling modules that reach each other through imports.
#[derive(Debug)]
pub(super) struct ImportLoop {
    pub(super) root: PathBuf,
    /// Module paths, sorted.
    pub(super) modules: Vec<String>,
    /// One `file:line: a -> b (names)` per edge inside the loop.
    pub(super) edges: Vec<String>,
    /// The files whose imports make the loop.
    pub(super) files: Vec<String>,
}

/// Imports from one module to a sibling, by where they are written.
pub(super) type Graph = BTreeMap<Vec<String>, BTreeMap<Vec<String>, Vec<Evidence>>>;

/// The module graph of one crate: an edge from `a` to `b` for each module
/// of `a`'s subtree that names one of `b`'s subtree, where `a` and `b` are
/// siblings (children of the common ancestor of the two modules). A parent
/// naming its child, or a child naming its parent, is no edge.
fn module_graph(tree: &CrateTree) -> Graph {
    let mut known: BTreeSet<Vec<String>> = BTreeSet::new();
    for file in &tree.files {
        known.insert(file.module.clone());
        for inline in &file.facts.inline_mods {
            let mut module = file.module.clone();
            module.extend(inline.iter().cloned());
            known.insert(module);
        }
    }
    let mut graph = Graph::new();
    for file in &tree.files {
        for path in &file.facts.paths {
            let mut from = file.module.clone();
            from.extend(path.inline.iter().cloned());
            let mut target = match path.supers {
                None => Vec::new(),
                Some(supers) => from[..from.len().saturating_sub(supers)].to_vec(),
            };
            target.extend(path.segments.iter().cloned());
            // The module the path names: its longest known prefix.
            while !known.contains(&target) {
                target.pop();
            }
            let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == target.len() {
                continue;
            }
            graph
                .entry(from[..=common].to_vec())
                .or_default()
                .entry(target[..=common].to_vec())
                .or_default()
                .push(Evidence {
                    file: file.path.clone(),
                    line: path.line,
                    names: module_name(&target),
                });
        }
    }
    graph
}

/// Strongly connected components of more than one node, each sorted
/// (Tarjan's algorithm; recursive, as module trees are small).
fn loops_in(graph: &Graph) -> Vec<Vec<Vec<String>>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        components: Vec<Vec<Vec<String>>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, node: &'a Vec<String>) {
            let number = self.index.len();
            self.index.insert(node, number);
            self.low.insert(node, number);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flat_map(BTreeMap::keys) {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.clone());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.components.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node) {
            tarjan.visit(node);
        }
    }
    tarjan.components.sort();
    tarjan.components
}

/// Every import loop of one crate, with the imports that make it.
pub(super) fn import_loops(tree: &CrateTree) -> Vec<ImportLoop> {
    let graph = module_graph(tree);
    loops_in(&graph)
        .into_iter()
        .map(|component| {
            let members: BTreeSet<&Vec<String>> = component.iter().collect();
            let mut edges = Vec::new();
            let mut files = BTreeSet::new();
            for from in &component {
                for (to, evidence) in graph.get(from).into_iter().flatten() {
                    if !members.contains(to) {
                        continue;
                    }
                    let first = &evidence[0];
                    edges.push(format!(
                        "{}:{}: {} -> {} (names {}{})",
                        first.file.display(),
                        first.line,
                        module_name(from),
                        module_name(to),
                        first.names,
                        match evidence.len() {
                            1 => String::new(),
                            n => format!("; {} more imports", n - 1),
                        }
                    ));
                    files.extend(evidence.iter().map(|e| e.file.display().to_string()));
                }
            }
            ImportLoop {
                root: tree.root.clone(),
                modules: component.iter().map(|m| module_name(m)).collect(),
                edges,
                files: files.into_iter().collect(),
            }
        })
        .collect()
}

/// Fails on a loop that is not inside an allowlisted one; notes the
/// allowlisted loops found no more (their entries can go).
pub(super) fn judge_loops(
    found: &[ImportLoop],
    allowed: &[AllowedLoop],
) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut used = vec![false; allowed.len()];
    for import_loop in found {
        let root = import_loop.root.to_string_lossy();
        let allowance = allowed.iter().position(|entry| {
            entry.root == root
                && import_loop
                    .modules
                    .iter()
                    .all(|module| entry.modules.contains(&module.as_str()))
        });
        match allowance {
            Some(index) => used[index] = true,
            None => errors.push(format!(
                "import loop in {root} between {}:\n        {}\n      files: {}",
                import_loop.modules.join(", "),
                import_loop.edges.join("\n        "),
                import_loop.files.join(", ")
            )),
        }
    }
    let notices = allowed
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(entry, _)| {
            format!(
                "allowlisted loop in {} between {} is gone: remove it from ALLOWED_LOOPS",
                entry.root,
                entry.modules.join(", ")
            )
        })
        .collect();
    (errors, notices)
}
