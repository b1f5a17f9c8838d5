//! scip-eval: precision and recall of kausal-ingest's Rust call edges
//! (`calls` + `calls_method`, caller function -> callee function defined in
//! the same crate) against `rust-analyzer scip`.
//!
//! Usage: scip-eval <crate dir> <index.scip>
//! (make the index with `rust-analyzer scip <crate dir>`).
//!
//! Reference edges: every non-definition occurrence of a function or
//! method symbol defined in the index, followed in the source by `(` or a
//! turbofish (a call, not a mention), attributed to the innermost function
//! or method around it; both ends are mapped to kausal blocks by file and
//! line (the callee by name and definition line).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{BlockId, EdgeType, StorageEngine};
use kausal_vfs::OsVfs;
use protobuf::Message;
use scip::types::{Index, symbol_information::Kind};

#[derive(Debug, Clone)]
struct Func {
    id: BlockId,
    path: String,
    name: String,
    qualified: String,
    start: u32,
    end: u32,
}

fn innermost<'a>(funcs: &'a [Func], path: &str, line: u32, name: Option<&str>) -> Option<&'a Func> {
    funcs
        .iter()
        .filter(|f| f.path == path && f.start <= line && line <= f.end)
        .filter(|f| name.is_none_or(|n| f.name == n))
        .min_by_key(|f| f.end - f.start)
}

fn simple_name(symbol: &str) -> Option<&str> {
    // `rust-analyzer cargo regex-syntax 0.8.12 hir/Hir#kind().` -> `kind`
    let trimmed = symbol.strip_suffix("().")?;
    let last = trimmed.rsplit(['/', '#', '.', ']', ' ']).next()?;
    Some(last.trim_matches('`'))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: scip-eval <crate dir> <index.scip>");
        std::process::exit(2);
    }
    let root = Path::new(&args[1]);
    let bytes = std::fs::read(&args[2]).expect("read index");
    let index = Index::parse_from_bytes(&bytes).expect("parse index");

    let db = tempfile::tempdir().expect("tempdir");
    let vfs = Arc::new(OsVfs::new());
    let mut engine = StorageEngine::open_default(vfs.clone(), db.path()).expect("open");
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    let report = Ingester::new(vfs, root, options)
        .expect("ingester")
        .ingest(&mut engine)
        .expect("ingest");
    eprintln!("{report}");

    let mut funcs = Vec::new();
    for view in engine.iterate_blocks().expect("scan") {
        let view = view.expect("block");
        let meta: serde_json::Value = serde_json::from_str(view.metadata_json).expect("json");
        let kind = meta["kind"].as_str().unwrap_or("");
        if kind == "function" || kind == "method" {
            funcs.push(Func {
                id: view.id,
                path: meta["path"].as_str().unwrap_or("").to_string(),
                name: meta["name"].as_str().unwrap_or("").to_string(),
                qualified: meta["qualified_name"].as_str().unwrap_or("").to_string(),
                start: meta["start_line"].as_u64().unwrap_or(0) as u32,
                end: meta["end_line"].as_u64().unwrap_or(0) as u32,
            });
        }
    }
    let by_id: HashMap<BlockId, &Func> = funcs.iter().map(|f| (f.id, f)).collect();
    let mut ours: BTreeSet<(BlockId, BlockId)> = BTreeSet::new();
    for f in &funcs {
        for edge in engine.find_outgoing_edges(f.id).expect("edges") {
            if matches!(edge.edge_type, EdgeType::Calls | EdgeType::CallsMethod)
                && by_id.contains_key(&edge.target)
            {
                ours.insert((edge.source, edge.target));
            }
        }
    }

    // Function-like symbols and their definitions.
    let mut function_symbols: BTreeSet<String> = BTreeSet::new();
    let mut definitions: HashMap<String, (String, u32)> = HashMap::new();
    for document in &index.documents {
        for info in &document.symbols {
            let kind = info.kind.enum_value_or_default();
            if matches!(
                kind,
                Kind::Function
                    | Kind::Method
                    | Kind::StaticMethod
                    | Kind::TraitMethod
                    | Kind::AbstractMethod
            ) || info.symbol.ends_with("().")
            {
                function_symbols.insert(info.symbol.clone());
            }
        }
        for occurrence in &document.occurrences {
            if occurrence.symbol_roles & 1 == 1 && occurrence.symbol.ends_with("().") {
                function_symbols.insert(occurrence.symbol.clone());
            }
            if occurrence.symbol_roles & 1 == 1 {
                let line = occurrence.range.first().copied().unwrap_or(0) as u32 + 1;
                definitions
                    .entry(occurrence.symbol.clone())
                    .or_insert((document.relative_path.clone(), line));
            }
        }
    }

    let mut reference: BTreeSet<(BlockId, BlockId)> = BTreeSet::new();
    let mut unmapped = 0u64;
    let mut not_calls = 0u64;
    for document in &index.documents {
        let Ok(text) = std::fs::read_to_string(root.join(&document.relative_path)) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for occurrence in &document.occurrences {
            if occurrence.symbol_roles & 1 == 1 || !function_symbols.contains(&occurrence.symbol) {
                continue;
            }
            let Some((def_path, def_line)) = definitions.get(&occurrence.symbol) else {
                continue; // defined outside the crate
            };
            let range = &occurrence.range;
            let line = range[0] as usize;
            let end_char = if range.len() == 3 { range[2] } else { range[3] } as usize;
            let end_line = if range.len() == 3 { line } else { range[2] as usize };
            let after: String = lines
                .get(end_line)
                .map(|l| l.get(end_char..).unwrap_or(""))
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(3)
                .collect();
            if !(after.starts_with('(') || after.starts_with("::<")) {
                not_calls += 1;
                continue;
            }
            let Some(name) = simple_name(&occurrence.symbol) else {
                unmapped += 1;
                continue;
            };
            let caller = innermost(&funcs, &document.relative_path, line as u32 + 1, None);
            let callee = innermost(&funcs, def_path, *def_line, Some(name));
            match (caller, callee) {
                (Some(caller), Some(callee)) => {
                    reference.insert((caller.id, callee.id));
                }
                _ => {
                    if unmapped < 8 {
                        eprintln!(
                            "unmapped: {} at {}:{} (caller found: {}, callee def {}:{})",
                            occurrence.symbol,
                            document.relative_path,
                            line + 1,
                            caller.is_some(),
                            def_path,
                            def_line
                        );
                    }
                    unmapped += 1
                }
            }
        }
    }

    let hit = ours.intersection(&reference).count();
    let precision = hit as f64 / ours.len().max(1) as f64;
    let recall = hit as f64 / reference.len().max(1) as f64;
    println!(
        "ours {} edges, reference {} edges, both {hit}: precision {precision:.3}, recall {recall:.3} ({unmapped} reference calls unmapped, {not_calls} mentions not followed by a call)",
        ours.len(),
        reference.len()
    );
    let show = |pairs: Vec<&(BlockId, BlockId)>, label: &str| {
        let mut lines: BTreeMap<String, ()> = BTreeMap::new();
        for (a, b) in pairs {
            lines.insert(
                format!(
                    "{} ({}:{}) -> {} ({}:{})",
                    by_id[a].qualified, by_id[a].path, by_id[a].start, by_id[b].qualified, by_id[b].path, by_id[b].start
                ),
                (),
            );
        }
        println!("{label}: {}", lines.len());
        for line in lines.keys().take(4000) {
            println!("  {line}");
        }
    };
    show(ours.difference(&reference).collect(), "only ours (false positives?)");
    show(reference.difference(&ours).collect(), "only reference (missed)");
}
