//! The QueryEngine's lookup and scan API on a small engine.

use std::sync::Arc;

use kausal_query::{Filter, QueryEngine, QueryError};
use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, SyncMode};
use kausal_vfs::OsVfs;

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn engine(dir: &std::path::Path) -> Database {
    let config = Config::builder()
        .sync_mode(SyncMode::Manual)
        .memtable_budget_bytes(64 * 1024)
        .build();
    let engine = Database::open_with(Arc::new(OsVfs::new()), dir, config).unwrap();
    for n in 1..=30u128 {
        let kind = if n % 3 == 0 { "type" } else { "function" };
        let block = ContextBlock::new(
            id(n),
            format!("src/{}/f{n}.rs", if n <= 10 { "parse" } else { "eval" }),
            format!(r#"{{"name":"f{n}","kind":"{kind}","loc":{{"line":{n}}}}}"#),
            format!("fn f{n}() {{ helper_{} }}", n % 4),
        );
        engine.put_block(&block).unwrap();
        if n == 15 {
            engine.flush().unwrap();
        }
    }
    engine
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .unwrap();
    engine
        .put_edge(GraphEdge::new(id(3), id(2), EdgeType::CallsMethod))
        .unwrap();
    engine
        .put_edge(GraphEdge::new(id(4), id(2), EdgeType::Imports))
        .unwrap();
    engine
        .put_edge(GraphEdge::new(id(2), id(5), EdgeType::CallsFunction))
        .unwrap();
    engine
        .put_edge(GraphEdge::new(id(2), id(99), EdgeType::Calls))
        .unwrap(); // 99 never existed
    engine.delete_block(id(3)).unwrap();
    engine
}

#[test]
fn find_blocks_keeps_the_callers_order_and_reports_missing_ids() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let found = queries
        .find_blocks(&[id(20), id(3), id(1), id(99), id(20)])
        .unwrap();
    let ids: Vec<Option<u128>> = found
        .blocks
        .iter()
        .map(|b| b.map(|b| b.id.as_u128()))
        .collect();
    assert_eq!(ids, vec![Some(20), None, Some(1), None, Some(20)]);
    assert_eq!(found.missing, vec![id(3), id(99)]);
    assert!(queries.block_exists(id(1)).unwrap());
    assert!(!queries.block_exists(id(3)).unwrap(), "deleted");
}

#[test]
fn scans_filter_combine_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let parse = queries
        .scan(&Filter::SourceUriPrefix("src/parse/".into()), 100)
        .unwrap();
    assert_eq!(parse.blocks.len(), 9, "ten parse blocks, one deleted");
    assert!(!parse.truncated);
    let limited = queries
        .scan(&Filter::SourceUriPrefix("src/".into()), 5)
        .unwrap();
    assert_eq!(limited.blocks.len(), 5);
    assert!(limited.truncated);
    let types_in_eval = queries
        .scan(
            &Filter::And(vec![
                Filter::metadata("kind", "type"),
                Filter::SourceUriPrefix("src/eval/".into()),
            ]),
            100,
        )
        .unwrap();
    let ids: Vec<u128> = types_in_eval
        .blocks
        .iter()
        .map(|b| b.id.as_u128())
        .collect();
    assert_eq!(ids, vec![12, 15, 18, 21, 24, 27, 30]);
    let either = queries
        .scan(
            &Filter::Or(vec![
                Filter::metadata("loc.line", 7),
                Filter::ContentContains("helper_3".into()),
            ]),
            100,
        )
        .unwrap();
    let ids: Vec<u128> = either.blocks.iter().map(|b| b.id.as_u128()).collect();
    assert_eq!(ids, vec![7, 11, 15, 19, 23, 27]);
    assert_eq!(queries.find_by_name("f17").unwrap().blocks[0].id, id(17));
    assert_eq!(
        queries
            .find_by_file_path("src/eval/f11.rs")
            .unwrap()
            .blocks
            .len(),
        1
    );
    assert!(matches!(
        queries.scan(&Filter::ContentContains("x".into()), 0),
        Err(QueryError::InvalidQuery { .. })
    ));
    assert!(matches!(
        queries.scan(&Filter::ContentContains("x".into()), 10_001),
        Err(QueryError::InvalidQuery { .. })
    ));
}

#[test]
fn callers_and_callees_use_call_edges_of_live_blocks_only() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let callers: Vec<u128> = queries
        .find_callers(id(2))
        .unwrap()
        .iter()
        .map(|b| b.id.as_u128())
        .collect();
    assert_eq!(
        callers,
        vec![1],
        "3 was deleted (with its edges); 4 only imports"
    );
    let callees: Vec<u128> = queries
        .find_callees(id(2))
        .unwrap()
        .iter()
        .map(|b| b.id.as_u128())
        .collect();
    assert_eq!(callees, vec![5], "99 never existed");
    assert!(matches!(
        queries.find_callers(id(3)),
        Err(QueryError::BlockNotFound { .. })
    ));
}

/// Searches that explore more blocks than they return check existence from
/// the index and read only the blocks they return: a damaged record off
/// the path does not fail a shortest-path query (it did when existence was
/// a full, verified read of every explored block).
#[test]
fn shortest_path_reads_only_the_blocks_on_the_path() {
    use kausal_query::{Algorithm, Traversal};

    let dir = tempfile::tempdir().unwrap();
    let config = Config::builder()
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build();
    let db = Database::open_with(Arc::new(OsVfs::new()), dir.path(), config.clone()).unwrap();
    let marker = "DAMAGED-OFF-PATH-BLOCK";
    for (n, content) in [(1, "fn a()"), (2, "fn b()"), (3, marker), (4, "fn d()")] {
        db.put_block(&ContextBlock::new(id(n), "src/x.rs", "{}", content))
            .unwrap();
    }
    // a -> b -> d is the path; a -> c explores c, whose record is damaged.
    for (from, to) in [(1, 2), (2, 4), (1, 3)] {
        db.put_edge(GraphEdge::new(id(from), id(to), EdgeType::Calls))
            .unwrap();
    }
    db.shutdown().unwrap();
    let table = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "sst"))
        .unwrap();
    let mut bytes = std::fs::read(&table).unwrap();
    let at = bytes
        .windows(marker.len())
        .position(|window| window == marker.as_bytes())
        .unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(&table, &bytes).unwrap();

    let db = Database::open_with(Arc::new(OsVfs::new()), dir.path(), config).unwrap();
    let snapshot = db.snapshot();
    assert!(snapshot.find_block(id(3)).is_err(), "the damage is real");
    assert!(snapshot.block_exists(id(3)).unwrap());
    let queries = QueryEngine::new(&snapshot);
    let path = queries
        .traverse(&Traversal::new(vec![id(1)]).algorithm(Algorithm::ShortestPath { target: id(4) }))
        .unwrap();
    let ids: Vec<BlockId> = path.nodes.iter().map(|node| node.block.id).collect();
    assert_eq!(ids, vec![id(1), id(2), id(4)]);
}
