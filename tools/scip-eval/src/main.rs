//! scip-eval: precision and recall of kausal-ingest's call edges
//! (`calls` + `calls_method`, caller function -> callee function defined in
//! the same tree) against a SCIP index: `rust-analyzer scip`,
//! `scip-python` or `scip-typescript`. Run by `cargo xtask eval-calls`,
//! which fetches the pinned corpus and makes the indexes; this tool scores
//! one project.
//!
//! Usage: scip-eval <project dir> <index.scip> [--json FILE] [--edges FILE]
//! [--show N] [--peer-edges TSV | --precise] (`SCIP_EVAL_DUMP=path/in/index.rs`
//! prints that document's occurrences instead.) With `--peer-edges`, a peer
//! tool's edges (`peer.rs`) are scored in place of kausal's, mapped onto
//! kausal's function blocks; kausal still ingests the tree for those
//! blocks. With `--precise`, kausal ingests the tree merging the index
//! itself (precise mode), so the score checks the merge, and the callers
//! of a fixed sample of functions are compared with the index's
//! (`callers.rs`: `callers_checked` and `callers_exact` in the JSON).
//!
//! Reference edges (`reference.rs`): every non-definition occurrence of a
//! function or method symbol defined in the index, followed in the source
//! by a call, attributed to the innermost function or method around it;
//! both ends are mapped to kausal blocks by file and line (the callee by
//! name and definition line). Each missed edge is listed with one call
//! site, so a miss can be read at its source: the first N of each list on
//! stdout, all of them in the `--edges` file. kausal's edges from or to a
//! function the index holds no definition or reference edge for (code the
//! indexer left out: a `cfg` that is off) are counted apart.

mod callers;
mod labels;
mod peer;
mod reference;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::precise::PreciseIndex;
use kausal_ingest::precise::scip_index::ScipIndex;
use kausal_ingest::{BlockMeta, IngestOptions, Ingester};
use kausal_storage::{BlockId, Config, Database, EdgeType};
use kausal_vfs::OsVfs;
use protobuf::Message;
use scip::types::Index;

/// A kausal function or method block.
#[derive(Debug, Clone)]
pub struct Func {
    pub id: BlockId,
    pub path: String,
    pub name: String,
    pub qualified: String,
    pub start: u32,
    pub end: u32,
}

/// The innermost function of `path` around `line` (named `name`, if given).
pub fn innermost<'a>(
    funcs: &'a [Func],
    path: &str,
    line: u32,
    name: Option<&str>,
) -> Option<&'a Func> {
    funcs
        .iter()
        .filter(|f| f.path == path && f.start <= line && line <= f.end)
        .filter(|f| name.is_none_or(|n| f.name == n))
        .min_by_key(|f| f.end - f.start)
}

struct Args {
    root: String,
    /// The SCIP index, or with `labels` none.
    index: String,
    /// Hand-labelled call sites to score against instead of an index.
    labels: Option<String>,
    json: Option<String>,
    edges: Option<String>,
    show: usize,
    peer_edges: Option<String>,
    /// Score kausal's edges after merging the index itself (precise mode):
    /// a check of the merge.
    precise: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let (mut json, mut edges, mut show) = (None, None, 4000);
    let (mut labels, mut peer_edges, mut precise) = (None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = args.next(),
            "--edges" => edges = args.next(),
            "--labels" => labels = args.next(),
            "--peer-edges" => peer_edges = args.next(),
            "--precise" => precise = true,
            "--show" => show = args.next().and_then(|n| n.parse().ok()).unwrap_or(show),
            _ => positional.push(arg),
        }
    }
    if labels.is_some() && positional.len() == 1 {
        positional.push(String::new());
    }
    match <[String; 2]>::try_from(positional) {
        Ok([root, index]) => Ok(Args {
            root,
            index,
            labels,
            json,
            edges,
            show,
            peer_edges,
            precise,
        }),
        Err(_) => Err(
            "usage: scip-eval <project dir> (<index.scip> [--peer-edges TSV | --precise] | --labels FILE.tsv) [--json FILE] [--edges FILE] [--show N]"
                .into(),
        ),
    }
}

/// Call edges, caller -> callee.
type Edges = BTreeSet<(BlockId, BlockId)>;

/// kausal's view of the tree: its functions and the call edges between them.
struct Graph {
    funcs: Vec<Func>,
    edges: Edges,
    /// In precise mode, each function's callers as the database answers
    /// them (sources of its incoming call edges); else empty.
    callers: HashMap<BlockId, BTreeSet<BlockId>>,
    files: u64,
    ingest_seconds: f64,
}

/// The call edge types `kausal callers` follows.
fn is_call(edge_type: EdgeType) -> bool {
    matches!(
        edge_type,
        EdgeType::Calls | EdgeType::CallsMethod | EdgeType::CallsFunction
    )
}

/// The function and method blocks of the database.
fn function_blocks(snapshot: &kausal_storage::Snapshot) -> Result<Vec<Func>, String> {
    let mut funcs = Vec::new();
    for view in snapshot
        .iterate_blocks()
        .map_err(|e| format!("scan: {e}"))?
    {
        let view = view.map_err(|e| format!("scan: {e}"))?;
        let Ok(meta) = serde_json::from_str::<BlockMeta>(view.metadata_json) else {
            continue;
        };
        if meta.kind == "function" || meta.kind == "method" {
            funcs.push(Func {
                id: view.id,
                path: meta.path.to_string(),
                name: meta.name.to_string(),
                qualified: meta.qualified_name.to_string(),
                start: meta.start_line,
                end: meta.end_line,
            });
        }
    }
    Ok(funcs)
}

/// Ingests `root` (merging `precise`, if given) into a temporary database
/// and reads the graph back (with each function's callers, when `precise`).
fn ingest(root: &Path, precise: Option<&PreciseIndex>) -> Result<Graph, String> {
    let db = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let vfs = Arc::new(OsVfs::new());
    let engine = Database::open_with(vfs.clone(), db.path(), Config::default())
        .map_err(|e| format!("open database in {}: {e}", db.path().display()))?;
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    let indexes = precise.map(std::slice::from_ref).unwrap_or_default();
    let started = std::time::Instant::now();
    let report = Ingester::new(vfs, root, options)
        .and_then(|mut ingester| ingester.ingest_precise(&engine, indexes))
        .map_err(|e| format!("ingest {}: {e}", root.display()))?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    eprintln!("{report}");

    let snapshot = engine.snapshot();
    let funcs = function_blocks(&snapshot)?;
    let ids: BTreeSet<BlockId> = funcs.iter().map(|f| f.id).collect();
    let mut edges = BTreeSet::new();
    let mut callers = HashMap::new();
    for f in &funcs {
        let outgoing = snapshot
            .find_outgoing_edges(f.id)
            .map_err(|e| format!("edges of {}: {e}", f.qualified))?;
        for edge in outgoing {
            if matches!(edge.edge_type, EdgeType::Calls | EdgeType::CallsMethod)
                && ids.contains(&edge.target)
            {
                edges.insert((edge.source, edge.target));
            }
        }
        if precise.is_some() {
            let incoming = snapshot
                .find_incoming_edges(f.id)
                .map_err(|e| format!("callers of {}: {e}", f.qualified))?;
            let sources = incoming.iter().filter(|edge| is_call(edge.edge_type));
            callers.insert(f.id, sources.map(|edge| edge.source).collect());
        }
    }
    drop(snapshot);
    engine.shutdown().map_err(|e| format!("shutdown: {e}"))?;
    Ok(Graph {
        funcs,
        edges,
        callers,
        files: report.files_seen,
        ingest_seconds,
    })
}

/// `--labels`: scores against hand-labelled call sites.
fn run_labels(args: &Args, file: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("read {file}: {e}"))?;
    let graph = ingest(Path::new(&args.root), None)?;
    let score = labels::score(&graph, &text, file)?;
    println!(
        "labels {} sites ({} in the project, {} left out): correct {}, wrong {}: precision {:.3}, recall {:.3}",
        score.sites,
        score.in_project,
        score.excluded,
        score.correct,
        score.wrong,
        score.precision,
        score.recall,
    );
    print!("{}", score.listing);
    if let Some(path) = &args.edges {
        std::fs::write(path, &score.listing).map_err(|e| format!("write {path}: {e}"))?;
    }
    if let Some(path) = &args.json {
        let summary = serde_json::json!({
            "sites": score.sites,
            "in_project": score.in_project,
            "excluded": score.excluded,
            "correct": score.correct,
            "wrong": score.wrong,
            "precision": score.precision,
            "recall": score.recall,
            "files": graph.files,
            "ingest_seconds": graph.ingest_seconds,
        });
        std::fs::write(path, summary.to_string()).map_err(|e| format!("write {path}: {e}"))?;
    }
    Ok(())
}

/// What became of a peer's edge list: edges listed, edges with an end on
/// no kausal function block, ends mapped to a block not starting on their
/// line.
type PeerCounts = (usize, usize, usize);

/// The edges scored: kausal's, or with `--peer-edges` the peer's mapped
/// onto kausal's blocks (then also the peer's counts).
fn edges_to_score(args: &Args, graph: &Graph) -> Result<(Edges, Option<PeerCounts>), String> {
    let Some(path) = &args.peer_edges else {
        return Ok((graph.edges.clone(), None));
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
    let mapped = peer::map(
        &peer::parse(&text).map_err(|e| format!("{path}: {e}"))?,
        &graph.funcs,
    );
    eprintln!(
        "peer: {} edges listed, {} with an end on no kausal function block, {} ends mapped to a block not starting on their line (the block around a caller, an overload's implementation), {} distinct block pairs",
        mapped.listed,
        mapped.unmapped,
        mapped.not_at_start,
        mapped.edges.len()
    );
    for end in &mapped.unmapped_ends {
        eprintln!("  no kausal function block at {end}");
    }
    let counts = (mapped.listed, mapped.unmapped, mapped.not_at_start);
    Ok((mapped.edges, Some(counts)))
}

/// The scored edges against the reference.
struct Comparison {
    /// The scored edges between functions the indexer analysed.
    ours: Edges,
    /// Scored edges from or to code the indexer left out.
    outside_index: usize,
    /// Edges in both.
    hit: usize,
    precision: f64,
    recall: f64,
}

/// Compares `edges` with the reference. Edges from or to code the indexer
/// left out have no reference edges to meet: counted apart, not as false
/// positives, so both sides are compared on the same code.
fn compare(edges: &Edges, reference: &reference::Reference) -> Comparison {
    let ours: Edges = edges
        .iter()
        .filter(|(a, b)| reference.indexed.contains(a) && reference.indexed.contains(b))
        .copied()
        .collect();
    let outside_index = edges.len() - ours.len();
    let hit = ours
        .iter()
        .filter(|edge| reference.edges.contains_key(edge))
        .count();
    Comparison {
        precision: hit as f64 / ours.len().max(1) as f64,
        recall: hit as f64 / reference.edges.len().max(1) as f64,
        ours,
        outside_index,
        hit,
    }
}

/// Lists the false positives and the misses: the first `--show` of each on
/// stdout, all of them in the `--edges` file.
fn list_differences(
    args: &Args,
    graph: &Graph,
    reference: &reference::Reference,
    ours: &Edges,
) -> Result<(), String> {
    let by_id: HashMap<BlockId, &Func> = graph.funcs.iter().map(|f| (f.id, f)).collect();
    let describe = |edge: &(BlockId, BlockId)| match (by_id.get(&edge.0), by_id.get(&edge.1)) {
        (Some(a), Some(b)) => format!(
            "{} ({}:{}) -> {} ({}:{})",
            a.qualified, a.path, a.start, b.qualified, b.path, b.start
        ),
        _ => format!("{edge:?}"),
    };
    let false_positives: Vec<String> = ours
        .iter()
        .filter(|edge| !reference.edges.contains_key(edge))
        .map(describe)
        .collect();
    let missed: Vec<String> = reference
        .edges
        .iter()
        .filter(|(edge, _)| !ours.contains(edge))
        .map(|(edge, site)| format!("{}\n      at {site}", describe(edge)))
        .collect();
    let listing = |limit: usize| {
        let mut listing = String::new();
        for (title, lines) in [
            ("only ours (false positives?)", &false_positives),
            ("only reference (missed)", &missed),
        ] {
            let _ = writeln!(listing, "{title}: {}", lines.len());
            for line in lines.iter().take(limit) {
                let _ = writeln!(listing, "  {line}");
            }
        }
        listing
    };
    print!("{}", listing(args.show));
    if let Some(path) = &args.edges {
        std::fs::write(path, listing(usize::MAX)).map_err(|e| format!("write {path}: {e}"))?;
    }
    Ok(())
}

/// `--precise`: the callers check, printed; its differences listed.
fn check_callers(graph: &Graph, reference: &reference::Reference) -> callers::CallersCheck {
    let check = callers::check(reference, &graph.callers, &graph.funcs);
    println!(
        "callers of {} functions ({} with callers in the index, {} without): {} exact",
        check.checked,
        check.with_callers,
        check.checked - check.with_callers,
        check.exact
    );
    for difference in &check.differences {
        println!("  {difference}");
    }
    check
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(file) = &args.labels {
        return run_labels(args, file);
    }
    let root = Path::new(&args.root);
    let bytes = std::fs::read(&args.index).map_err(|e| format!("read {}: {e}", args.index))?;
    let index =
        Index::parse_from_bytes(&bytes).map_err(|e| format!("parse {}: {e}", args.index))?;
    if let Ok(dump) = std::env::var("SCIP_EVAL_DUMP") {
        for document in index.documents.iter().filter(|d| d.relative_path == dump) {
            for occurrence in &document.occurrences {
                let (range, roles) = (&occurrence.range, occurrence.symbol_roles);
                println!("{range:?} {roles} {}", occurrence.symbol);
            }
        }
        return Ok(());
    }
    let scip = ScipIndex::decode(&bytes, &args.index).map_err(|e| e.to_string())?;
    let precise = if args.precise {
        Some(PreciseIndex::decode(&bytes, &args.index, None).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let graph = ingest(root, precise.as_ref())?;
    let reference = reference::reference_edges(&scip, root, &graph.funcs);
    let (edges, peer_listed) = edges_to_score(args, &graph)?;
    let scored = compare(&edges, &reference);
    println!(
        "ours {} edges, reference {} edges, both {}: precision {:.3}, recall {:.3} ({} reference calls outside any function, {} to no function block; {} mentions not followed by a call; {} of our edges touch code the indexer left out)",
        scored.ours.len(),
        reference.edges.len(),
        scored.hit,
        scored.precision,
        scored.recall,
        reference.top_level,
        reference.unmapped,
        reference.not_calls,
        scored.outside_index,
    );
    list_differences(args, &graph, &reference, &scored.ours)?;
    let callers = args.precise.then(|| check_callers(&graph, &reference));
    let Some(path) = &args.json else {
        return Ok(());
    };
    let mut summary = serde_json::json!({
        "ours": scored.ours.len(),
        "reference": reference.edges.len(),
        "both": scored.hit,
        "precision": scored.precision,
        "recall": scored.recall,
        "unmapped": reference.top_level + reference.unmapped,
        "top_level": reference.top_level,
        "to_no_function": reference.unmapped,
        "not_calls": reference.not_calls,
        "ours_outside_index": scored.outside_index,
        "files": graph.files,
        "ingest_seconds": graph.ingest_seconds,
    });
    if let Some((listed, unmapped, not_at_start)) = peer_listed {
        summary["peer_listed"] = listed.into();
        summary["peer_unmapped"] = unmapped.into();
        summary["peer_not_at_start"] = not_at_start.into();
    }
    if let Some(check) = &callers {
        summary["callers_checked"] = check.checked.into();
        summary["callers_exact"] = check.exact.into();
        summary["callers_with_reference_callers"] = check.with_callers.into();
    }
    std::fs::write(path, summary.to_string()).map_err(|e| format!("write {path}: {e}"))
}

fn main() -> std::process::ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scip-eval: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
