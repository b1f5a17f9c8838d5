//! Ingests this repository (the kausal workspace) and checks invariants
//! and call edges verified by reading the code.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::*;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

#[test]
fn ingests_this_repository() {
    let db = tempfile::tempdir().unwrap();
    let (engine, report) = ingest_fresh(workspace_root(), db.path());
    eprintln!("{report}");
    assert!(report.files_seen > 50, "{report}");
    assert!(report.blocks_by_kind["function"] > 300, "{report}");
    assert!(report.blocks_by_kind["method"] > 300, "{report}");
    let calls = call_lines(&engine);
    for line in [
        // crates/storage/src/engine/mod.rs: put_block -> self.put_block_fields.
        "crate::engine::Database::put_block -calls_method-> crate::engine::Database::put_block_fields",
        // crates/storage/src/types.rs: `from_str` -> `Self::parse_hex`.
        "crate::types::<BlockId as FromStr>::from_str -calls-> crate::types::BlockId::parse_hex",
        // crates/query/src/engine.rs: find_callers -> self.call_neighbors.
        "crate::engine::QueryEngine::find_callers -calls_method-> crate::engine::QueryEngine::call_neighbors",
        // crates/sim/src/simulator.rs: run_seed -> Runner::with_dirs, Workload::new.
        "crate::simulator::run_seed -calls-> crate::simulator::Runner::with_dirs",
        "crate::simulator::run_seed -calls-> crate::workload::Workload::new",
        // Across crates of the workspace: crates/query/src/engine.rs
        // `self.storage().find_block(id)`, where `storage()` returns
        // `&'e Snapshot` imported from kausal_storage.
        "crate::engine::QueryEngine::find_block -calls_method-> crate::engine::snapshot::Snapshot::find_block",
        // `mod support;` in a test crate: crates/ingest/tests/rust_fixture.rs
        // calls `write_tree` from crates/ingest/tests/support/mod.rs.
        "crate::rust_fixture_edges_are_the_hand_checked_ones -calls-> crate::write_tree",
    ] {
        assert!(calls.contains(line), "missing {line}");
    }
    // Invariants: every edge joins stored blocks; every block but a file
    // is defined in exactly one parent.
    let dump = dump(&engine);
    let mut defined: BTreeSet<_> = BTreeSet::new();
    for edge in &dump.edges {
        if edge.edge_type == kausal_storage::EdgeType::Names {
            // An index key is a node, not a block.
            assert!(dump.blocks.contains_key(&edge.target), "dangling {edge:?}");
            continue;
        }
        assert!(dump.blocks.contains_key(&edge.source), "dangling {edge:?}");
        assert!(dump.blocks.contains_key(&edge.target), "dangling {edge:?}");
        if edge.edge_type == kausal_storage::EdgeType::DefinedIn {
            assert!(defined.insert(edge.source), "two parents: {edge:?}");
        }
    }
}
