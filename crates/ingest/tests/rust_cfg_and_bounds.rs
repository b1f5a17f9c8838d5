//! Rust rules for generic code and cfg: items a `#[cfg(..)]` known false switches off
//! make no calls and take none, and a path through an associated type of
//! a generic parameter (`G::Weight::zero()`) reaches the trait its
//! where-clause bound names, and a value typed `G::Edge` with no bound
//! written reaches the one trait the crate's `type Edge = ..` types share.

mod support;

use support::*;

const LIB: &str = r#"
pub struct Store;

impl Store {
    #[cfg(not(debug_assertions))]
    fn check_xyz(&self) {}
    #[cfg(debug_assertions)]
    // the checking one
    fn check_xyz(&self) {
        self.deep_xyz();
    }
    fn deep_xyz(&self) {}
    pub fn run(&self) {
        self.check_xyz();
    }
}

#[cfg(any())]
pub fn never_xyz() {
    helper_xyz();
}

#[cfg(feature = "maybe")]
pub fn maybe_xyz() {
    helper_xyz();
}

pub fn helper_xyz() {}

pub trait Measure {
    fn zero_xyz() -> Self;
}
pub trait Other {
    fn zero_xyz() -> Self;
}
pub trait Graph {
    type Weight;
    type Cost;
}

pub fn flow<G>(g: G) -> u32
where
    G: Graph,
    G::Weight: Measure + Copy,
{
    let _w = G::Weight::zero_xyz();
    let _c = G::Cost::zero_xyz();
    0
}

pub trait EdgeLike { fn weight_xyz(&self) -> u32; }
pub trait NodeLike { fn weight_xyz(&self) -> u32; }
pub trait Walk { type Edge; type Both; }
pub struct Net;
pub struct NetEdge;
pub struct NetBoth;
impl NetEdge { pub fn weight_xyz(&self) -> u32 { 0 } }
impl EdgeLike for NetEdge { fn weight_xyz(&self) -> u32 { 1 } }
impl EdgeLike for NetBoth { fn weight_xyz(&self) -> u32 { 1 } }
impl NodeLike for NetBoth { fn weight_xyz(&self) -> u32 { 2 } }
impl Walk for Net { type Edge = NetEdge; type Both = NetBoth; }
impl<'a> Walk for &'a Net { type Edge = (u8, u8); type Both = NetBoth; }

pub fn through_edge<G: Walk>(e: G::Edge) -> u32 {
    e.weight_xyz()
}

pub fn through_both<G: Walk>(b: G::Both) -> u32 {
    b.weight_xyz()
}
"#;

#[test]
fn switched_off_items_and_associated_type_bounds() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(root.path(), &[("src/lib.rs", LIB)]);
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let calls = call_lines(&engine);
    for edge in [
        // One `check_xyz` is compiled: the call is not ambiguous.
        "crate::Store::run -calls_method-> crate::Store::check_xyz",
        "crate::Store::check_xyz -calls_method-> crate::Store::deep_xyz",
        // A feature is not known from the source: its item stays.
        "crate::maybe_xyz -calls-> crate::helper_xyz",
        // `G::Weight: Measure` names the trait of `G::Weight::zero_xyz`.
        "crate::flow -calls-> crate::Measure::zero_xyz",
        // `G::Edge` is a `NetEdge` (or a tuple) in the crate's impls of
        // `Walk`: in generic code its `weight_xyz` is `EdgeLike`'s.
        "crate::through_edge -calls_method-> crate::EdgeLike::weight_xyz",
    ] {
        assert!(
            calls.contains(edge),
            "missing {edge:?}\nin {calls:#?}\n{report}"
        );
    }
    // `any()` is false: `never_xyz` calls nothing. `G::Cost` has no bound
    // naming a trait: two traits declare `zero_xyz`, no guess.
    for wrong in [
        "crate::never_xyz -calls-> crate::helper_xyz",
        "crate::flow -calls-> crate::Other::zero_xyz",
        "crate::through_edge -calls_method-> crate::NetEdge::weight_xyz",
        // `NetBoth` has `weight_xyz` through two traits: no guess.
        "crate::through_both -calls_method-> crate::EdgeLike::weight_xyz",
        "crate::through_both -calls_method-> crate::NodeLike::weight_xyz",
    ] {
        assert!(!calls.contains(wrong), "{wrong:?} in {calls:#?}");
    }
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("crate::flow "))
            .count(),
        1,
        "{calls:#?}"
    );
}
