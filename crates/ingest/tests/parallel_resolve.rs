//! Rust calls are resolved on several threads (a run of files each, with
//! per-thread memos); the graph, the call statistics and the reported
//! samples must be the ones one thread produces, whatever the count.

mod support;

use std::fmt::Write as _;

use kausal_ingest::IngestReport;
use support::*;

const MODULES: usize = 30;
const FUNCTIONS_PER_MODULE: usize = 20;

/// A crate whose calls use every kind of lookup the memos cache: imports
/// in a cycle (`m0` globs `m1`, `m1` globs `m0`), paths, typed receivers,
/// methods of one name on two types (ambiguous: candidates and samples),
/// calls to nothing (samples past the report's cap) and std calls.
fn tree() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut lib = String::new();
    for m in 0..MODULES {
        let _ = writeln!(lib, "pub mod m{m};");
    }
    files.push(("src/lib.rs".to_string(), lib));
    for m in 0..MODULES {
        let next = (m + 1) % MODULES;
        let mut text = format!("use crate::m{next}::*;\nuse crate::m{next};\n\n");
        let _ = writeln!(
            text,
            "pub struct S{m} {{ pub inner: crate::m{next}::S{next} }}"
        );
        let _ = writeln!(text, "impl S{m} {{");
        let _ = writeln!(text, "    pub fn get(&self) -> u32 {{ {m} }}");
        if m % 10 < 2 {
            let _ = writeln!(text, "    pub fn frob_xyz(&self) -> u32 {{ {m} }}");
        }
        let _ = writeln!(
            text,
            "    pub fn own{m}(&self) -> u32 {{ self.inner.get() }}"
        );
        let _ = writeln!(text, "}}\n");
        for f in 0..FUNCTIONS_PER_MODULE {
            let _ = writeln!(text, "pub fn f{m}_{f}(s: &S{m}) -> u32 {{");
            let other = (f + 1) % FUNCTIONS_PER_MODULE;
            let _ = writeln!(text, "    let a = f{next}_{other}(&s.inner);");
            let _ = writeln!(text, "    let b = m{next}::f{next}_{f}(&s.inner);");
            let _ = writeln!(text, "    let c = crate::m{m}::f{m}_{other}(s);");
            let _ = writeln!(text, "    let d = s.get() + s.own{m}() + s.inner.get();");
            let _ = writeln!(text, "    let e = missing_{m}_{f}(a) + undefined::call(b);");
            let _ = writeln!(text, "    let v: Vec<u32> = Vec::new();");
            let _ = writeln!(text, "    let g = v.len() as u32 + unknown().frob_xyz();");
            let _ = writeln!(text, "    a + b + c + d + e + g");
            let _ = writeln!(text, "}}\n");
        }
        files.push((format!("src/m{m}.rs"), text));
    }
    files
}

fn ingest(threads: usize) -> (Dump, IngestReport) {
    ingest_on_threads(&tree(), threads)
}

#[test]
fn calls_resolve_the_same_on_any_number_of_threads() {
    let (one, one_report) = ingest(1);
    // Big enough that 2 and 3 threads each get a run of files (see
    // `MIN_CALLS_PER_THREAD` in resolve/rust/mod.rs).
    assert!(
        one_report.calls.total >= 3 * 2_000,
        "{} calls: too few to split",
        one_report.calls.total
    );
    assert!(one_report.calls.resolved > 0 && one_report.calls.ambiguous > 0);
    assert!(
        one_report.call_samples.len() >= 200,
        "samples reach the cap"
    );
    for threads in [2, 3] {
        let (many, report) = ingest(threads);
        assert_eq!(report.calls, one_report.calls, "{threads} threads: stats");
        assert_eq!(report.imports, one_report.imports, "{threads} threads");
        assert_eq!(
            report.call_samples, one_report.call_samples,
            "{threads} threads: samples"
        );
        assert!(many.edges == one.edges, "{threads} threads: edges differ");
        // Code blocks only: a file's ingest state holds its mtime, which
        // differs between the two trees.
        assert!(
            code_blocks(&many) == code_blocks(&one),
            "{threads} threads: blocks differ"
        );
    }
}
