//! Rust receiver types the resolver infers (issue 21), each with the edge
//! it must make and, where a guess would be wrong, the edge it must not:
//! type aliases, inherent methods before trait methods, locals typed by
//! the call they are bound to (`?`, `.unwrap()`, `&`), turbofish types,
//! and methods of blanket-implemented traits in scope.

mod support;

use support::*;

const LIB: &str = r#"
pub struct Graph { n: u32 }
pub type DiGraph = Graph;
pub type Alias2<T = u8> = DiGraph;

#[cfg(feature = "std")]
pub type Multi<
    N,
> = Graph;
#[cfg(not(feature = "std"))]
pub type Multi<N> = crate::Graph;

pub struct Error;
pub struct Table;
pub struct Builder;

pub trait Count {
    fn node_count(&self) -> u32;
}

impl Graph {
    pub fn new() -> Self { Graph { n: 0 } }
    pub fn with<T>(n: u32) -> Self { Graph { n } }
    pub fn node_count(&self) -> u32 { self.n }
    pub fn add_node(&mut self) -> u32 { self.n }
}

impl Count for Graph {
    fn node_count(&self) -> u32 { self.node_count() }
}

impl Table {
    pub fn open() -> Result<Table, Error> { Ok(Table) }
    pub fn find(&self) -> Option<&Table> { Some(self) }
    pub fn get(&self) -> u32 { 1 }
}

impl Builder {
    pub fn build(&self) -> Table { Table }
    pub fn get(&self) -> u32 { 2 }
}

pub fn make() -> Builder { Builder }

pub fn aliases() -> u32 {
    let mut g = DiGraph::new();
    g.add_node();
    let h = Alias2::<u16>::with::<u8>(3);
    h.node_count()
}

pub fn values() -> Result<u32, Error> {
    let t = Table::open()?;
    let found = t.find().unwrap();
    let b = &make();
    let built = b.build();
    Ok(t.get() + found.get() + built.get())
}

pub mod ext {
    pub trait IterExt: Iterator {
        fn pairs_xyz(self) -> u32 where Self: Sized { 0 }
    }
    impl<I: Iterator> IterExt for I {}
}

pub mod uses_ext {
    use crate::ext::IterExt;
    pub fn blanket(v: Vec<u8>) -> u32 {
        v.iter().pairs_xyz()
    }
}

pub mod flow {
    mod dinics_xyz {
        pub fn dinics_xyz() {}
    }
    pub use dinics_xyz::dinics_xyz;
}

pub fn uses_flow() {
    flow::dinics_xyz();
}

pub trait Kind {
    fn is_directed() -> bool;
}

pub fn generic_path<Ty: Kind>() -> bool {
    Ty::is_directed()
}

pub fn in_macro() {
    let b = make();
    assert_eq!(b.get(), 2);
}

pub fn multi_line_alias() -> u32 {
    let mut m = Multi::<u8>::new();
    m.add_node()
}

pub struct Edge;
impl Edge {
    pub fn weight_xyz(&self) -> u32 { 1 }
}
pub struct Edges;
impl Iterator for Edges {
    type Item = Edge;
    fn next(&mut self) -> Option<Edge> { None }
}
pub struct Net { edges: Vec<Edge> }
impl Net {
    pub fn edges(&self) -> Edges { Edges }
    pub fn total(&self, slice: &[Edge]) -> u32 {
        let mut sum = 0;
        for e in self.edges() {
            sum += e.weight_xyz();
        }
        for f in &self.edges {
            sum += f.weight_xyz();
        }
        for g in slice.iter() {
            sum += g.weight_xyz();
        }
        sum
    }
}

pub fn turbofish() -> u32 {
    let g = Graph::with::<u8>(1);
    g.add_node()
}
"#;

#[test]
fn receivers_are_typed_by_aliases_values_and_inherent_methods() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(root.path(), &[("src/lib.rs", LIB)]);
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls = call_lines(&engine);
    for edge in [
        // `DiGraph::new()` through the alias; `g` typed by it.
        "crate::aliases -calls-> crate::Graph::new",
        "crate::aliases -calls_method-> crate::Graph::add_node",
        // Two aliases deep, with a turbofish on each segment.
        "crate::aliases -calls-> crate::Graph::with",
        // Inherent `node_count` wins over `Count::node_count`.
        "crate::aliases -calls_method-> crate::Graph::node_count",
        "crate::<Graph as Count>::node_count -calls_method-> crate::Graph::node_count",
        // `Table::open()?` peels the Result; `.unwrap()` the Option.
        "crate::values -calls_method-> crate::Table::find",
        "crate::values -calls_method-> crate::Table::get",
        // `&make()`: a reference to what `make` returns.
        "crate::values -calls_method-> crate::Builder::build",
        "crate::turbofish -calls_method-> crate::Graph::add_node",
        // A module and the function it re-exports share a name.
        "crate::uses_flow -calls-> crate::flow::dinics_xyz::dinics_xyz",
        // An alias over several lines, declared once per cfg.
        "crate::multi_line_alias -calls-> crate::Graph::new",
        "crate::multi_line_alias -calls_method-> crate::Graph::add_node",
        // `for` bindings: the Item of a crate iterator, the element of a
        // Vec field and of a slice parameter (three calls, one edge).
        "crate::Net::total -calls_method-> crate::Edge::weight_xyz",
        // `Ty::f()` through the bound of generic parameter Ty.
        "crate::generic_path -calls-> crate::Kind::is_directed",
        // Inside a macro's tokens, the receiver is still `b`.
        "crate::in_macro -calls_method-> crate::Builder::get",
        // A blanket-implemented trait in scope extends std's iterators.
        "crate::uses_ext::blanket -calls_method-> crate::ext::IterExt::pairs_xyz",
    ] {
        assert!(
            calls.contains(edge),
            "missing {edge:?}\nin {calls:#?}\n{report}"
        );
    }
    // `built.get()` is Table's (what `build` returns), not Builder's; an
    // inherent call is never linked to the trait's method.
    for wrong in [
        "crate::values -calls_method-> crate::Builder::get",
        "crate::aliases -calls_method-> crate::Count::node_count",
    ] {
        assert!(!calls.contains(wrong), "{wrong:?} in {calls:#?}");
    }
    assert_eq!(report.calls.ambiguous, 0, "{report}");
    let by_element = report
        .calls
        .by_rule
        .get("element_type")
        .copied()
        .unwrap_or(0);
    assert_eq!(by_element, 3, "{report}");
}

#[test]
fn an_ambiguous_call_keeps_its_few_candidates_apart() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let lib = "pub struct A;\nimpl A { pub fn frob_xyz(&self) {} }\npub struct B;\nimpl B { pub fn frob_xyz(&self) {} }\npub fn unknown(x: &dyn Fn() -> u8, v: Vec<A>) {\n    v.first().map(|a| a.frob_xyz());\n}\n";
    write_tree(root.path(), &[("src/lib.rs", lib)]);
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let all = edge_lines(&engine);
    for edge in [
        "crate::unknown -calls_candidate-> crate::A::frob_xyz",
        "crate::unknown -calls_candidate-> crate::B::frob_xyz",
    ] {
        assert!(all.contains(edge), "missing {edge:?} in {all:#?}\n{report}");
    }
    assert!(
        !call_lines(&engine)
            .iter()
            .any(|line| line.contains("frob_xyz")),
        "an ambiguous call is no call edge"
    );
    assert_eq!(report.calls.ambiguous, 1, "{report}");
}

/// Generic code: a value bound to what a trait method returns dispatches
/// through the trait (an associated type), not to a concrete type's
/// inherent method of the same name; `for (i, x) in v.iter().enumerate()`
/// types `x`; a full path inside a macro's arguments is read back.
const GENERIC: &str = r#"
pub trait EdgeRefXyz {
    fn target_xyz(&self) -> u32;
}
pub trait IntoEdgesXyz {
    type Edge: EdgeRefXyz;
    fn edges_xyz(&self) -> Vec<Self::Edge>;
}
pub struct Plain;
impl Plain {
    pub fn target_xyz(&self) -> u32 { 0 }
}
pub struct Ref;
impl EdgeRefXyz for Ref {
    fn target_xyz(&self) -> u32 { 1 }
}
pub fn walk<G: IntoEdgesXyz>(g: G) -> u32 {
    let mut sum = 0;
    for e in g.edges_xyz() {
        sum += e.target_xyz();
    }
    sum
}
pub fn unknown<G: IntoEdgesXyz>(v: Vec<u8>, w: Wrap) -> u32 {
    w.inner.target_xyz()
}
pub struct Wrap { inner: Other }
pub struct Other;
pub struct Net { plain: Vec<Plain> }
impl Net {
    pub fn sum(&self) -> u32 {
        let mut s = 0;
        for (i, p) in self.plain.iter().enumerate() {
            s += p.target_xyz() + i as u32;
        }
        s
    }
}
pub mod algo {
    pub fn deep_xyz() -> bool { true }
}
pub trait IndexTypeXyz {
    fn index_xyz(&self) -> usize;
}
pub type NodeIx<Ix = u32> = Ix;
pub fn alias_param<Ix: IndexTypeXyz>(a: NodeIx<Ix>) -> usize {
    a.index_xyz()
}
pub fn adaptor<G: IntoEdgesXyz>(g: G) -> Vec<u32> {
    g.edges_xyz().map(|e| e.target_xyz()).collect()
}
pub fn macro_trait<G: external::Walker>(g: G) -> u32 {
    let mut sum = 0;
    for e in g.walk_xyz() {
        sum += e.target_xyz();
    }
    sum
}
pub fn shadow_xyz(x: u32) -> u32 { x }
pub fn shadowing() -> u32 {
    let shadow_xyz = shadow_xyz(1);
    shadow_xyz
}
pub fn qualified<T: IndexTypeXyz>(t: T) -> usize {
    <T as IndexTypeXyz>::index_xyz(&t)
}
pub struct Slots { next: [Plain; 2] }
impl Slots {
    pub fn first(&self) -> u32 { self.next[0].target_xyz() }
    pub fn frob_unique_xyz(&self) {}
}
pub fn checks() {
    assert!(crate::algo::deep_xyz());
}
"#;

#[test]
fn generic_values_enumerate_and_macro_paths() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let test = "fn helper_xyz() -> u8 { 0 }\n#[test]\nfn it_works() {\n    helper_xyz().frob_unique_xyz();\n}\n";
    write_tree(
        root.path(),
        &[("src/lib.rs", GENERIC), ("tests/it.rs", test)],
    );
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls = call_lines(&engine);
    for edge in [
        // `type NodeIx<Ix> = Ix`: `a` is an `Ix`, bound by IndexTypeXyz.
        "crate::alias_param -calls_method-> crate::IndexTypeXyz::index_xyz",
        // `self.next[0]`: an element of the array field.
        "crate::Slots::first -calls_method-> crate::Plain::target_xyz",
        // A closure given to an iterator adaptor binds an element.
        "crate::adaptor -calls_method-> crate::EdgeRefXyz::target_xyz",
        // Iterating what a generic value's method returns, whatever its
        // bound (here a trait from elsewhere).
        "crate::macro_trait -calls_method-> crate::EdgeRefXyz::target_xyz",
        // `let f = f(..)`: the call is the outer function's.
        "crate::shadowing -calls-> crate::shadow_xyz",
        // `<T as Trait>::m(..)`: the trait's method.
        "crate::qualified -calls-> crate::IndexTypeXyz::index_xyz",
        // A test crate's unknown receiver: the library's unique method.
        "crate::it_works -calls_method-> crate::Slots::frob_unique_xyz",
        "crate::walk -calls_method-> crate::EdgeRefXyz::target_xyz",
        "crate::Net::sum -calls_method-> crate::Plain::target_xyz",
        "crate::checks -calls-> crate::algo::deep_xyz",
    ] {
        assert!(
            calls.contains(edge),
            "missing {edge:?}\nin {calls:#?}\n{report}"
        );
    }
    // `w.inner` has a concrete (if method-less) type: no trait guess, and
    // generic code alone does not make a receiver generic.
    for wrong in [
        "crate::walk -calls_method-> crate::Plain::target_xyz",
        "crate::unknown -calls_method-> crate::EdgeRefXyz::target_xyz",
    ] {
        assert!(!calls.contains(wrong), "{wrong:?} in {calls:#?}");
    }
}

/// A lookup cut short by an import cycle is not remembered as the answer:
/// `visit` globs `filter`, which globs `prelude`, which re-exports
/// `visit::Bfs`. Asked first for `visit::Bfs` (from `first`), the inner
/// lookup of `prelude::Bfs` met the cycle and found nothing; remembered,
/// it hid `Bfs` from the test crate's `use mylib::prelude::*`.
#[test]
fn an_import_cycle_does_not_hide_a_re_export() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\n",
            ),
            (
                "src/lib.rs",
                "pub mod visit;\npub mod prelude;\npub fn first() {\n    crate::visit::Bfs::new_xyz();\n}\n",
            ),
            (
                "src/visit/mod.rs",
                "pub use self::filter::*;\nmod filter;\nmod traversal;\npub use self::traversal::*;\n",
            ),
            (
                "src/visit/filter.rs",
                "use crate::{prelude::*};\npub struct Filtered;\n",
            ),
            (
                "src/visit/traversal.rs",
                "pub struct Bfs;\nimpl Bfs {\n    pub fn new_xyz() -> Self { Bfs }\n}\n",
            ),
            ("src/prelude.rs", "pub use crate::visit::{Bfs};\n"),
            (
                "tests/it.rs",
                "use mylib::prelude::*;\n#[test]\nfn t() {\n    let b = Bfs::new_xyz();\n}\n",
            ),
        ],
    );
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls = call_lines(&engine);
    for edge in [
        "crate::first -calls-> crate::visit::traversal::Bfs::new_xyz",
        "crate::t -calls-> crate::visit::traversal::Bfs::new_xyz",
    ] {
        assert!(
            calls.contains(edge),
            "missing {edge:?} in {calls:#?}\n{report}"
        );
    }
}
