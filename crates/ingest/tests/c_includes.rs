//! C calls through `#include` (`resolve/generic/c.rs`) and external stubs
//! (`stubs.rs`): a header declaring a function another `.c` file defines,
//! a `static inline` and a function-like macro in a header, two `static`
//! functions of one name in two files, and calls of functions outside the
//! tree, each with the edge and the rule it must get.

mod support;

use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_vfs::{OsVfs, Vfs};
use support::*;

const UTIL_H: &str = r#"#ifndef UTIL_H
#define UTIL_H
int shared_add(int a, int b);
static inline int clamp_zero(int x) { return x < 0 ? 0 : x; }
#define twice(x) ((x) * 2)
#define LIMIT 10
#endif
"#;

const UTIL_C: &str = r#"#include <util.h>
static int helper(int x) { return x + 1; }
int shared_add(int a, int b) { return helper(a) + b; }
int lonely(void) { return 1; }
"#;

/// A second global `shared_add` that does not see `util.h`: the
/// prototype the caller sees picks `lib/util.c`'s.
const TOOL_C: &str = "int shared_add(int a, int b) { return a - b; }\n";

const MAIN_C: &str = r#"#include <util.h>
#include <stdlib.h>
static int helper(int x) { return x * 3; }
int run(int v) {
    int a = shared_add(v, LIMIT);
    int b = clamp_zero(a);
    int c = twice(b);
    int d = helper(c) + lonely();
    void *p = malloc(d);
    free(p);
    return d;
}
"#;

/// Calls `helper`, which only the other files define, as `static`.
const OTHER_C: &str = "void *other(void) { helper(2); return malloc(4); }\n";

fn tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("include/util.h", UTIL_H),
        ("lib/util.c", UTIL_C),
        ("tools/shared_add.c", TOOL_C),
        ("src/main.c", MAIN_C),
        ("src/other.c", OTHER_C),
    ]
}

#[test]
fn c_calls_resolve_through_includes_and_reach_external_stubs() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(root.path(), &tree());
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let (records, unrecorded) = provenance_lines(&engine);
    assert_eq!(unrecorded, 0, "{records:#?}");
    let expected = lines(&[
        "lib::util::shared_add -calls-> lib::util::helper scope",
        "src::main::run -calls-> lib::util::shared_add import",
        "src::main::run -calls-> include::util::clamp_zero import",
        "src::main::run -calls-> include::util::twice import",
        "src::main::run -calls-> src::main::helper scope",
        "src::main::run -calls-> lib::util::lonely unique_name",
        "src::main::run -calls-> malloc external",
        "src::main::run -calls-> free external",
        "src::other::other -calls-> malloc external",
    ]);
    assert_eq!(records, expected);
    // `helper` in other.c sees neither static definition: no edge, not
    // even a candidate, and no stub (the name is the tree's).
    let edges = edge_lines(&engine);
    let candidates: Vec<&String> = edges
        .iter()
        .filter(|e| e.contains("calls_candidate"))
        .collect();
    assert!(candidates.is_empty(), "{candidates:#?}");
    let by_rule = &report.calls.by_rule;
    assert_eq!(by_rule.get("include"), Some(&2), "{by_rule:?}");
    assert_eq!(by_rule.get("include_declared"), Some(&1), "{by_rule:?}");
    // Counted as external calls, and the stubs as blocks of their own kind.
    assert_eq!(report.calls.external, 4, "{:?}", report.calls);
    assert_eq!(stub_names(&dump(&engine)), vec!["free", "malloc"]);
    assert_eq!(report.blocks_by_kind.get("external"), Some(&2));
}

/// The stubs of a tree's dump, by name.
fn stub_names(dump: &Dump) -> Vec<String> {
    let mut names: Vec<String> = dump
        .blocks
        .values()
        .filter(|(uri, meta, _)| {
            meta_field(meta, "kind") == kausal_ingest::stubs::EXTERNAL_KIND
                && uri == "kausal:external/c"
        })
        .map(|(_, meta, _)| meta_field(meta, "name"))
        .collect();
    names.sort();
    names
}

#[test]
fn includes_make_import_edges_from_include_directories() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(root.path(), &tree());
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let edges = edge_lines(&engine);
    let imports: Vec<&String> = edges.iter().filter(|e| e.contains("imports")).collect();
    assert_eq!(
        imports.len(),
        2,
        "<util.h> from lib/ and src/: {imports:#?}"
    );
    // `<stdlib.h>` is outside the tree.
    assert_eq!(report.imports.external, 1, "{:?}", report.imports);
}

#[test]
fn stubs_come_and_go_with_their_calls_as_in_a_fresh_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_tree(&root, &tree());
    let engine = open_engine(&dir.path().join("db"));
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, &root, options()).unwrap();
    ingester.ingest(&engine).unwrap();
    assert_eq!(stub_names(&dump(&engine)), vec!["free", "malloc"]);
    // `free` is no longer called; `kfree` is.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let edited = MAIN_C.replace("free(p);", "kfree(p);");
    write_tree(&root, &[("src/main.c", edited.as_str())]);
    ingester.ingest(&engine).unwrap();
    let incremental = dump(&engine);
    assert_eq!(stub_names(&incremental), vec!["kfree", "malloc"]);

    let fresh_dir = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(&root, fresh_dir.path());
    assert_eq!(incremental, dump(&fresh), "incremental equals fresh");
    // A restarted ingester (its picture loaded from the graph) keeps them.
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut restarted = Ingester::new(vfs, &root, options()).unwrap();
    restarted.ingest(&engine).unwrap();
    assert_eq!(dump(&engine), incremental, "a restart changes nothing");
}

/// Two C idioms the Linux and zlib trees use: an object-like macro that
/// renames a function where it is seen (`#define zmemcpy memcpy`: the
/// call is `memcpy`'s, not the fallback `zmemcpy` a `.c` file defines
/// for builds without it), and a function-like attribute macro before a
/// header's name (`__alloc_size(1)`: the function was lost to a syntax
/// error, so every call of the kernel's `kmalloc` went nowhere).
#[test]
fn object_like_macros_rename_calls_and_attribute_macros_keep_functions() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "include/zutil.h",
                "#ifdef HAVE_MEMCPY\n#define zmemcpy memcpy\n#else\nvoid zmemcpy(void *d, const void *s, int n);\n#endif\n",
            ),
            (
                "lib/zutil.c",
                "void zmemcpy(void *d, const void *s, int n) { while (n--) ((char *)d)[n] = ((const char *)s)[n]; }\n",
            ),
            (
                "src/deflate.c",
                "#include <zutil.h>\nvoid copy(void *d, void *s) { zmemcpy(d, s, 4); }\n",
            ),
            // Does not see the macro: the tree's one `zmemcpy`.
            (
                "src/plain.c",
                "void zmemcpy(void *d, const void *s, int n);\nvoid plain(void *d, void *s) { zmemcpy(d, s, 4); }\n",
            ),
            (
                "include/slab.h",
                "static __always_inline __alloc_size(1) void *kmalloc(unsigned long size, int flags)\n{\n\treturn __kmalloc(size, flags);\n}\n",
            ),
            (
                "src/user.c",
                "#include <slab.h>\nvoid *make(void) { return kmalloc(8, 0); }\n",
            ),
        ],
    );
    let (engine, _report) = ingest_fresh(root.path(), db.path());
    let (records, _) = provenance_lines(&engine);
    let has = |line: &str| records.iter().any(|r| r == line);
    assert!(
        !records
            .iter()
            .any(|r| r.starts_with("src::deflate::copy -calls-> lib::zutil::zmemcpy")),
        "{records:#?}"
    );
    assert!(
        has("src::plain::plain -calls-> lib::zutil::zmemcpy import"),
        "{records:#?}"
    );
    assert!(
        has("src::user::make -calls-> include::slab::kmalloc import"),
        "{records:#?}"
    );
}
