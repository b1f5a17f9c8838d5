//! With several threads, a language's query compiles on a thread of its
//! own while the workers parse; files parsed before it is ready wait in a
//! backlog. This file is its own test binary with one test so that its
//! first ingest really starts with no query compiled: the graph must be
//! the one a single thread (parse, then summarize, in order) produces.

mod support;

use std::fmt::Write as _;

use kausal_ingest::IngestReport;
use support::*;

/// More files per language than a worker's backlog holds (64), in three
/// languages, so full backlogs and several compiling queries both occur
/// (Python's and C's; Rust walks its tree and needs no query).
const FILES_PER_LANGUAGE: usize = 150;

fn tree() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut lib = String::new();
    for m in 0..FILES_PER_LANGUAGE {
        let _ = writeln!(lib, "pub mod m{m};");
        let next = (m + 1) % FILES_PER_LANGUAGE;
        files.push((
            format!("src/m{m}.rs"),
            format!(
                "pub struct S{m};\nimpl S{m} {{ pub fn get(&self) -> u32 {{ crate::m{next}::f{next}() }} }}\npub fn f{m}() -> u32 {{ S{m}.get() + crate::m{next}::f{next}() }}\n"
            ),
        ));
        files.push((
            format!("py/p{m}.py"),
            format!(
                "from py.p{next} import g{next}\n\nclass C{m}:\n    def run(self):\n        return g{next}()\n\ndef g{m}():\n    return C{m}().run()\n"
            ),
        ));
        files.push((
            format!("c/c{m}.c"),
            format!("int h{next}(void);\nstatic int k{m}(void) {{ return h{next}(); }}\nint h{m}(void) {{ return k{m}(); }}\n"),
        ));
    }
    files.push(("src/lib.rs".to_string(), lib));
    files.push(("py/__init__.py".to_string(), String::new()));
    files
}

fn ingest(threads: usize) -> (Dump, IngestReport) {
    ingest_on_threads(&tree(), threads)
}

#[test]
fn files_parsed_while_queries_compile_give_the_one_thread_graph() {
    // First: no query of this process is compiled yet.
    let (many, many_report) = ingest(2);
    let (one, one_report) = ingest(1);
    assert_eq!(
        many_report.files_parsed,
        (3 * FILES_PER_LANGUAGE + 2) as u64
    );
    assert!(many_report.skipped.is_empty(), "{:?}", many_report.skipped);
    assert_eq!(many_report.calls, one_report.calls);
    assert_eq!(many_report.blocks_by_kind, one_report.blocks_by_kind);
    assert!(one_report.calls.resolved >= (5 * FILES_PER_LANGUAGE) as u64);
    assert!(many.edges == one.edges, "edges differ");
    assert!(code_blocks(&many) == code_blocks(&one), "blocks differ");
}
