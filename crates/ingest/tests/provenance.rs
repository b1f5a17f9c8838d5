//! Call provenance: the rule stored for representative calls in Rust and
//! Python, one record per call edge, and the same records after edits
//! elsewhere as from a fresh ingest.

mod support;

use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_vfs::{OsVfs, Vfs};
use support::*;

#[test]
fn rust_calls_record_the_rule_that_resolved_them() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub mod a;\npub mod b;\npub mod t;\n"),
            (
                "src/a.rs",
                r#"use crate::b::imported;
use crate::t::Shape;

pub struct Table;
impl Table {
    pub fn open() -> Table { Table }
    pub fn get(&self) {}
    pub fn run(&self) {
        self.get();
    }
}

fn local() {}

pub fn caller<S: Shape>(s: S) {
    local();
    imported();
    crate::b::pathed();
    let t = Table::open();
    t.get();
    s.area();
    far_away_xyz();
    other_unique_xyz_method_owner().unique_xyz();
}
"#,
            ),
            (
                "src/b.rs",
                r#"pub fn imported() {}
pub fn pathed() {}
pub fn far_away_xyz() {}
pub struct Owner;
pub fn other_unique_xyz_method_owner() -> u8 { 0 }
impl Owner {
    pub fn unique_xyz(&self) {}
}
"#,
            ),
            (
                "src/t.rs",
                "pub trait Shape {\n    fn area(&self) -> u32;\n}\n",
            ),
        ],
    );
    let (engine, _) = ingest_fresh(root.path(), db.path());
    let (records, unrecorded) = provenance_lines(&engine);
    assert_eq!(unrecorded, 0, "{records:#?}");
    let expected = lines(&[
        "crate::a::Table::run -calls_method-> crate::a::Table::get self_method",
        "crate::a::caller -calls-> crate::a::local scope",
        "crate::a::caller -calls-> crate::b::imported import",
        "crate::a::caller -calls-> crate::b::pathed path",
        "crate::a::caller -calls-> crate::a::Table::open path",
        "crate::a::caller -calls_method-> crate::a::Table::get receiver_type",
        "crate::a::caller -calls_method-> crate::t::Shape::area trait_bound",
        "crate::a::caller -calls-> crate::b::far_away_xyz unique_name",
        "crate::a::caller -calls-> crate::b::other_unique_xyz_method_owner unique_name",
        "crate::a::caller -calls_method-> crate::b::Owner::unique_xyz unique_name",
    ]);
    assert_eq!(records, expected);
}

#[test]
fn python_calls_record_the_rule_that_resolved_them() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "pkg/util.py",
                "def helper():\n    pass\n\nclass Base:\n    def shared(self):\n        pass\n",
            ),
            (
                "pkg/main.py",
                r#"from pkg.util import helper, Base
import pkg.util as util


def local():
    pass


class Child(Base):
    def own(self):
        pass

    def run(self):
        self.own()
        self.shared()
        local()
        helper()
        util.helper()


def typed(c: Child):
    c.own()
"#,
            ),
        ],
    );
    let (engine, _) = ingest_fresh(root.path(), db.path());
    let (records, unrecorded) = provenance_lines(&engine);
    assert_eq!(unrecorded, 0, "{records:#?}");
    let expected = lines(&[
        "pkg.main.Child.run -calls_method-> pkg.main.Child.own self_method",
        "pkg.main.Child.run -calls_method-> pkg.util.Base.shared inherited",
        "pkg.main.Child.run -calls-> pkg.main.local scope",
        "pkg.main.Child.run -calls-> pkg.util.helper import",
        "pkg.main.Child.run -calls_method-> pkg.util.helper path",
        "pkg.main.typed -calls_method-> pkg.main.Child.own receiver_type",
    ]);
    assert_eq!(records, expected);
}

/// One edge from two call sites with different rules records the
/// strongest; an edit elsewhere that changes a call's rule rewrites the
/// caller's file's record, as a fresh ingest would have it.
#[test]
fn rules_follow_edits_elsewhere_and_the_strongest_site_wins() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub mod a;\npub mod b;\n"),
            (
                "src/a.rs",
                "pub fn caller() {\n    parse_xyz();\n    crate::b::parse_xyz();\n}\n",
            ),
            ("src/b.rs", "pub fn other() {}\n"),
        ],
    );
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    assert!(provenance_lines(&engine).0.is_empty());
    // b.rs alone changes: both call sites of a.rs now give one edge, by
    // name (`unique_name`) and by path (`path`): `path` is recorded.
    write_tree(
        root.path(),
        &[("src/b.rs", "pub fn other() {}\npub fn parse_xyz() {}\n")],
    );
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!(report.files_parsed, 1, "{report}");
    let expected = lines(&["crate::a::caller -calls-> crate::b::parse_xyz path"]);
    assert_eq!(provenance_lines(&engine), (expected.clone(), 0));
    let fresh_db = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(root.path(), fresh_db.path());
    assert!(dump(&engine) == dump(&fresh));
    // A no-change re-ingest writes nothing, provenance included.
    let again = ingester.ingest(&engine).unwrap();
    assert_eq!(again.blocks_written + again.blocks_deleted, 0);
    // And back: the record goes with the edge.
    write_tree(root.path(), &[("src/b.rs", "pub fn other() {}\n")]);
    ingester.ingest(&engine).unwrap();
    assert_eq!(provenance_lines(&engine), (lines(&[]), 0));
    // After a restart the picture is reloaded; the graph stays equal.
    write_tree(
        root.path(),
        &[("src/b.rs", "pub fn other() {}\npub fn parse_xyz() {}\n")],
    );
    ingester.forget();
    ingester.ingest(&engine).unwrap();
    assert_eq!(provenance_lines(&engine), (expected, 0));
}
