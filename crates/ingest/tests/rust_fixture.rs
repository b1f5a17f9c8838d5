//! Rust fixture: one file set exercising each resolution rule, with the
//! expected edges written out by hand.

mod support;

use support::*;

const LIB: &str = r#"//! Crate doc.
pub mod a;
mod b;
use crate::a::helper as h;
use b::*;

/// A thing.
/// Second line.
#[derive(Debug)]
pub struct Thing {
    x: u32,
}

impl Thing {
    pub fn new() -> Self {
        Self::make(1)
    }
    fn make(x: u32) -> Self {
        Thing { x }
    }
    pub fn get(&self) -> u32 {
        self.twice()
    }
    fn twice(&self) -> u32 {
        self.x * 2
    }
}

pub trait Shape {
    fn area(&self) -> u32;
    fn name(&self) -> u32 {
        self.area()
    }
}

impl Shape for Thing {
    fn area(&self) -> u32 {
        self.get()
    }
}

pub fn run_later() {}

pub fn run() {
    let t = Thing::new();
    h();
    a::helper();
    crate::a::inner::deep::<u8>();
    from_b();
    let f = |x: u32| x;
    f(1);
    fn nested() {}
    nested();
    t.get();
    Thing::new().twice();
    other::make().unique_method_xyz();
    Vec::<u8>::new();
    std::mem::drop(t);
    Some(1);
}
"#;

const A: &str = r#"pub fn helper() {
    super::run_later();
}

pub mod inner {
    pub fn deep<T>() {
        super::helper();
        self::deeper();
    }
    fn deeper() {}
}
"#;

const B: &str = r#"pub fn from_b() {}
pub struct Other;
impl Other {
    pub fn unique_method_xyz(&self) {}
}
"#;

#[test]
fn rust_fixture_edges_are_the_hand_checked_ones() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[("src/lib.rs", LIB), ("src/a.rs", A), ("src/b.rs", B)],
    );
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls = call_lines(&engine);
    let expected = lines(&[
        "crate::Thing::new -calls-> crate::Thing::make",
        "crate::Thing::get -calls_method-> crate::Thing::twice",
        "crate::<Thing as Shape>::area -calls_method-> crate::Thing::get",
        "crate::Shape::name -calls_method-> crate::Shape::area",
        "crate::run -calls-> crate::Thing::new",
        "crate::run -calls-> crate::a::helper",
        "crate::run -calls-> crate::a::inner::deep",
        "crate::run -calls-> crate::b::from_b",
        "crate::run -calls-> crate::run::nested",
        // `let t = Thing::new(); t.get()`: the local's evident type.
        "crate::run -calls_method-> crate::Thing::get",
        // `Thing::new().twice()`: `new` returns `Self`.
        "crate::run -calls_method-> crate::Thing::twice",
        // `other::make().unique_method_xyz()`: unknown receiver, unique name.
        "crate::run -calls_method-> crate::b::Other::unique_method_xyz",
        "crate::a::helper -calls-> crate::run_later",
        "crate::a::inner::deep -calls-> crate::a::helper",
        "crate::a::inner::deep -calls-> crate::a::inner::deeper",
    ]);
    assert_eq!(calls, expected, "report:\n{report}");

    let all = edge_lines(&engine);
    for line in [
        "crate::Thing -implements-> crate::Shape",
        "crate::Thing::new -method_of-> crate::Thing",
        "crate::<Thing as Shape>::area -method_of-> crate::Thing",
        "crate::Shape::area -method_of-> crate::Shape",
        "src/lib.rs -contains-> src/a.rs",
        "src/a.rs -defined_in-> src/lib.rs",
        "src/lib.rs -contains-> crate::Thing",
        "crate::Thing -defined_in-> src/lib.rs",
        "crate::<impl Thing> -contains-> crate::Thing::new",
        "crate::a::inner -contains-> crate::a::inner::deep",
        "src/lib.rs -imports-> crate::a::helper",
        "src/lib.rs -imports-> src/b.rs",
    ] {
        assert!(all.contains(line), "missing {line:?} in\n{all:#?}");
    }
    // `run` makes: Thing::new (twice), h, a::helper, deep, from_b, nested
    // (resolved paths), f (local), other::make, Vec::new, drop, Some
    // (external) and three resolved method calls.
    assert_eq!(report.calls.local, 1, "{report}");
    assert_eq!(report.calls.external, 4, "{report}");
    assert_eq!(report.calls.ambiguous, 0, "{report}");
    assert_eq!(report.calls.unresolved, 0, "{report}");
    // 17 calls resolve to 15 distinct edges (`h()` and `a::helper()`;
    // `Thing::new()` twice).
    assert_eq!(report.calls.resolved, 17, "{report}");
    assert_eq!(report.blocks_by_kind["file"], 3);
    assert_eq!(report.blocks_by_kind["impl"], 3);
    assert_eq!(report.blocks_by_kind["trait"], 1);
    assert_eq!(report.blocks_by_kind["module"], 1);
}

#[test]
fn rust_metadata_schema() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[("src/lib.rs", LIB), ("src/a.rs", A), ("src/b.rs", B)],
    );
    let (engine, _) = ingest_fresh(root.path(), db.path());
    let dump = dump(&engine);
    let thing = dump
        .blocks
        .values()
        .find(|(_, meta, _)| meta_field(meta, "qualified_name") == "crate::Thing")
        .unwrap();
    let meta: serde_json::Value = serde_json::from_str(&thing.1).unwrap();
    assert_eq!(meta["kind"], "struct");
    assert_eq!(meta["name"], "Thing");
    assert_eq!(meta["language"], "rust");
    assert_eq!(meta["path"], "src/lib.rs");
    assert_eq!(meta["start_line"], 10);
    assert_eq!(meta["end_line"], 12);
    assert_eq!(meta["signature"], "pub struct Thing");
    assert_eq!(meta["doc"], "A thing.");
    assert!(thing.2.starts_with("pub struct Thing {"));
    let get = dump
        .blocks
        .values()
        .find(|(_, meta, _)| meta_field(meta, "qualified_name") == "crate::Thing::get")
        .unwrap();
    assert_eq!(meta_field(&get.1, "kind"), "method");
    assert_eq!(meta_field(&get.1, "signature"), "pub fn get(&self) -> u32");
    let file = dump
        .blocks
        .values()
        .find(|(uri, meta, _)| uri == "src/lib.rs" && meta_field(meta, "kind") == "file")
        .unwrap();
    assert_eq!(file.2, LIB);
    assert_eq!(meta_field(&file.1, "qualified_name"), "crate");
    assert_eq!(meta_field(&file.1, "doc"), "Crate doc.");
}
