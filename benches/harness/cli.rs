//! `kausal` command rows on a graph of a million blocks shaped like an
//! ingest's output (metadata schema, `names` index edges, call edges):
//! name resolution in process (`find`'s index lookup), and `kausal callers
//! NAME`, `kausal context NAME` and `kausal impact NAME` as whole processes
//! (open read-only + resolve + query + print).
//! `--quick` uses 20,000 blocks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use kausal_ingest::name_index::key_id;
use kausal_storage::{
    BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, SyncMode, WriteBatch,
};
use kausal_vfs::OsVfs;

use crate::report::{Row, Target, measure};

/// Functions per generated module (file).
const FUNCTIONS_PER_MODULE: u64 = 100;
/// Calls each function makes.
const CALLS_PER_FUNCTION: u64 = 2;
/// Whole-process runs of each `kausal` command measured.
const PROCESS_RUNS: usize = 30;

fn function_id(n: u64) -> BlockId {
    BlockId::from_u128(u128::from(n) + 1)
}

/// Writes `blocks` functions (in modules of 100) with their index keys and
/// call edges, then compacts to one table, as a finished ingest leaves it.
fn build(dir: &Path, blocks: u64) {
    let config = Config::builder()
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .memtable_budget_bytes(256 * 1024 * 1024)
        .build();
    let engine = Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open cli graph");
    let mut batch = WriteBatch::new();
    for n in 0..blocks {
        let module = n / FUNCTIONS_PER_MODULE;
        let name = format!("f{n}");
        let qualified = format!("crate::m{module}::{name}");
        let line = (n % FUNCTIONS_PER_MODULE) * 3 + 1;
        let metadata = format!(
            r#"{{"kind":"function","name":"{name}","qualified_name":"{qualified}","language":"rust","path":"src/m{module}.rs","start_line":{line},"end_line":{},"signature":"fn {name}()","doc":""}}"#,
            line + 2
        );
        let id = function_id(n);
        batch
            .put_block(ContextBlock::new(
                id,
                format!("src/m{module}.rs"),
                metadata,
                format!("fn {name}() {{ f{}(); }}", (n * 7 + 1) % blocks),
            ))
            .expect("block");
        for key in [name.clone(), format!("m{module}::{name}"), qualified] {
            batch
                .put_edge(GraphEdge::new(key_id(&key), id, EdgeType::Names))
                .expect("index edge");
        }
        for call in 1..=CALLS_PER_FUNCTION {
            let target = (n * 7 + call * 13) % blocks;
            batch
                .put_edge(GraphEdge::new(id, function_id(target), EdgeType::Calls))
                .expect("call edge");
        }
        if batch.len() >= 4096 {
            engine.write_batch(&batch).expect("write");
            batch = WriteBatch::new();
        }
    }
    engine.write_batch(&batch).expect("write");
    engine.flush().expect("flush");
    engine.compact_all().expect("compact");
    engine.shutdown().expect("shutdown");
}

/// The release `kausal` binary beside this harness, if it was built.
pub(crate) fn kausal_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let binary = exe.parent()?.join("kausal");
    binary.is_file().then_some(binary)
}

/// The rows; `quick` uses 20,000 blocks instead of 1,000,000 (the run's
/// 10 s budget).
pub fn rows(quick: bool, work: &Path, progress: &dyn Fn(&str)) -> Vec<Row> {
    let blocks: u64 = if quick { 20_000 } else { 1_000_000 };
    let dir = work.join("cli-graph");
    let started = Instant::now();
    build(&dir, blocks);
    progress(&format!(
        "cli: {blocks} blocks with index and call edges built in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    let label = if quick { "20k" } else { "1M" };
    let mut rows = Vec::new();
    let engine = Database::open_read_only_with(Arc::new(OsVfs::new()), &dir, Config::default())
        .expect("open read-only");
    let reader = kausal_service::Reader::new(&engine);
    let mut rng = fastrand::Rng::with_seed(11);
    let queries: Vec<String> = (0..2000)
        .map(|_| format!("f{}", rng.u64(0..blocks)))
        .collect();
    rows.push(
        measure(
            &format!("cli find NAME: name index, {label} blocks, one table (in process)"),
            queries.len(),
            1,
            |i| {
                let matches = kausal_service::names::matches(&reader, &queries[i]).expect("find");
                assert_eq!(matches.blocks.len(), 1);
            },
        )
        .target(Target::P50AtMostNs(1_000_000.0))
        .note("exact name through the names edges, then find_block and metadata parse per candidate; data compacted into one table, page cache warm"),
    );
    drop(engine);
    match kausal_binary() {
        Some(binary) => {
            // (command, target p50 in ms, what the process does)
            let commands: [(&str, f64, &str); 3] = [
                ("callers", 30.0, "resolve + callers + print"),
                (
                    "context",
                    50.0,
                    "resolve + source, callers, callees, types, outline packed into 4000 tokens + print",
                ),
                (
                    "impact",
                    50.0,
                    "resolve + everything reaching it over calls and imports to depth 3, tests apart + print",
                ),
            ];
            for (command, target_ms, does) in commands {
                let names: Vec<String> = (0..PROCESS_RUNS)
                    .map(|_| format!("f{}", rng.u64(0..blocks)))
                    .collect();
                rows.push(
                    measure(
                        &format!("cli `kausal {command} NAME` whole process, {label} blocks"),
                        names.len(),
                        1,
                        |i| {
                            let output = Command::new(&binary)
                                .arg("--db")
                                .arg(&dir)
                                .args([command, &names[i]])
                                .output()
                                .expect("run kausal");
                            // Exit 1 (nothing found) is a valid answer for a random name.
                            assert!(
                                output.status.code().is_some_and(|code| code <= 1),
                                "kausal {command}: {}",
                                String::from_utf8_lossy(&output.stderr)
                            );
                        },
                    )
                    .target(Target::P50AtMostNs(target_ms * 1e6))
                    .note(format!(
                        "spawn + read-only open (table checksums verified at open) + {does}"
                    )),
                );
            }
        }
        None => progress(
            "cli: no release `kausal` binary beside the harness; build it with `cargo build --release -p kausal-cli` (xtask benchmark does)",
        ),
    }
    rows
}
