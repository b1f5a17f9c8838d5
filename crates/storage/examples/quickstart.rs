//! Open a database from a path, write blocks and edges, read them back
//! through a snapshot, and shut down.
//!
//! `cargo run -p kausal-storage --example quickstart`

use kausal_storage::{BlockId, ContextBlock, Database, EdgeType, GraphEdge};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;

    let main_fn = BlockId::from_u128(1);
    let helper = BlockId::from_u128(2);
    db.put_block(&ContextBlock::new(
        main_fn,
        "src/main.rs",
        r#"{"name":"main","kind":"function"}"#,
        "fn main() { helper() }",
    ))?;
    db.put_block(&ContextBlock::new(
        helper,
        "src/main.rs",
        r#"{"name":"helper","kind":"function"}"#,
        "fn helper() {}",
    ))?;
    db.put_edge(GraphEdge::new(main_fn, helper, EdgeType::Calls))?;

    let snapshot = db.snapshot();
    println!("snapshot at sequence {}", snapshot.sequence());
    for block in snapshot.iterate_blocks()? {
        let block = block?;
        println!("{} {}: {}", block.id, block.source_uri, block.content);
    }
    for edge in snapshot.find_incoming_edges(helper)? {
        println!("{} -{}-> {}", edge.source, edge.edge_type, edge.target);
    }
    let metrics = db.metrics();
    println!(
        "{} blocks, {} edges written; {} WAL fsyncs",
        metrics.blocks_written, metrics.edges_written, metrics.wal_syncs
    );
    drop(snapshot);
    db.shutdown()?;
    Ok(())
}
