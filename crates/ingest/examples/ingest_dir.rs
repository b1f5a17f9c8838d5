//! Ingests a small tree of Rust and Python files into a fresh database,
//! prints what was found, then edits one file and ingests again.
//!
//! Run: `cargo run -p kausal-ingest --example ingest_dir`
//!
//! Every call into the storage engine is in `mod db` at the bottom, so a
//! change of the storage API touches only that module.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, Ingester};
use kausal_vfs::{OsVfs, Vfs};

/// The tree to ingest: (path relative to the root, content).
const FILES: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        "mod lexer;\n\nuse crate::lexer::lex;\n\n/// Counts the tokens of `text`.\npub fn count(text: &str) -> usize {\n    lex(text).len()\n}\n",
    ),
    (
        "src/lexer.rs",
        "/// Splits `text` at whitespace.\npub fn lex(text: &str) -> Vec<&str> {\n    text.split_whitespace().collect()\n}\n",
    ),
    (
        "tools/stats.py",
        "def mean(values):\n    \"\"\"The arithmetic mean of `values`.\"\"\"\n    return sum(values) / len(values)\n",
    ),
    (
        "tools/report.py",
        "from stats import mean\n\n\ndef summarize(values):\n    print(mean(values))\n\n\ndef main():\n    summarize([1, 2, 3])\n",
    ),
];

fn main() -> Result<(), Box<dyn Error>> {
    let root = tempfile::tempdir()?;
    let db_dir = tempfile::tempdir()?;
    for (path, content) in FILES {
        write(&root.path().join(path), content)?;
    }

    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let db = db::open(vfs.clone(), db_dir.path())?;
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    // Keep the ingester: a second ingest then only looks at what changed.
    let mut ingester = Ingester::new(vfs, root.path(), options)?;

    let report = db.ingest(&mut ingester)?;
    println!("== first ingest\n{report}");
    println!("blocks:");
    for block in db.blocks()? {
        println!(
            "  {:<9} {:<28} {}:{}",
            block.kind, block.qualified_name, block.path, block.line
        );
    }
    println!("calls:");
    for call in db.calls()? {
        println!("  {} -> {}", call.0, call.1);
    }

    // A body edit: one file is parsed again, nothing else.
    write(
        &root.path().join("src/lexer.rs"),
        "/// Splits `text` at whitespace.\npub fn lex(text: &str) -> Vec<&str> {\n    text.split(' ').filter(|t| !t.is_empty()).collect()\n}\n",
    )?;
    let report = db.ingest(&mut ingester)?;
    println!(
        "== after editing src/lexer.rs: {} parsed, {} unchanged, {} blocks written",
        report.files_parsed, report.files_unchanged, report.blocks_written
    );

    db.close()?;
    Ok(())
}

/// Writes one file of the example tree (the example's own setup; the
/// ingester reads the tree through `Vfs`).
fn write(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}

/// Everything this example asks of the storage engine.
mod db {
    use std::error::Error;
    use std::path::Path;
    use std::sync::Arc;

    use kausal_ingest::{IngestError, IngestReport, Ingester};
    use kausal_storage::{Config, Database, EdgeType};
    use kausal_vfs::Vfs;

    /// A block as the ingester described it in its metadata.
    pub struct Found {
        pub kind: String,
        pub qualified_name: String,
        pub path: String,
        pub line: u64,
    }

    /// An open database.
    pub struct Db(Database);

    /// Opens (creating it if needed) the database in `dir`.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path) -> Result<Db, Box<dyn Error>> {
        Ok(Db(Database::open_with(vfs, dir, Config::default())?))
    }

    impl Db {
        /// Brings the database in line with the ingester's tree.
        pub fn ingest(&self, ingester: &mut Ingester) -> Result<IngestReport, IngestError> {
            ingester.ingest(&self.0)
        }

        /// Every block except files, sorted by path and line.
        pub fn blocks(&self) -> Result<Vec<Found>, Box<dyn Error>> {
            let mut found = Vec::new();
            let snapshot = self.0.snapshot();
            for view in snapshot.iterate_blocks()? {
                let view = view?;
                let meta: serde_json::Value = serde_json::from_str(view.metadata_json)?;
                let text = |field: &str| meta[field].as_str().unwrap_or_default().to_string();
                if text("kind") == "file" {
                    continue;
                }
                found.push(Found {
                    kind: text("kind"),
                    qualified_name: text("qualified_name"),
                    path: text("path"),
                    line: meta["start_line"].as_u64().unwrap_or_default(),
                });
            }
            found.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
            Ok(found)
        }

        /// Every `calls` and `calls_method` edge as (caller, callee)
        /// qualified names, sorted.
        pub fn calls(&self) -> Result<Vec<(String, String)>, Box<dyn Error>> {
            let mut names = std::collections::HashMap::new();
            let snapshot = self.0.snapshot();
            for view in snapshot.iterate_blocks()? {
                let view = view?;
                let meta: serde_json::Value = serde_json::from_str(view.metadata_json)?;
                let name = meta["qualified_name"].as_str().unwrap_or_default();
                names.insert(view.id, name.to_string());
            }
            let mut calls = Vec::new();
            for (id, caller) in &names {
                for edge in snapshot.find_outgoing_edges(*id)? {
                    if matches!(edge.edge_type, EdgeType::Calls | EdgeType::CallsMethod) {
                        let callee = names.get(&edge.target).cloned().unwrap_or_default();
                        calls.push((caller.clone(), callee));
                    }
                }
            }
            calls.sort();
            Ok(calls)
        }

        /// Flushes and closes the database.
        pub fn close(self) -> Result<(), Box<dyn Error>> {
            Ok(self.0.shutdown()?)
        }
    }
}
