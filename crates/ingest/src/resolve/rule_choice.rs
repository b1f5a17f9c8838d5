//! The rules resolution reports and the choice of one per edge: every
//! resolver step that settles a call names a [`Rule`] (fine-grained,
//! counted in `CallStats::by_rule`), each of which belongs to one public
//! [`CallRule`] (the stored provenance vocabulary). When several call
//! sites of one caller give the same edge, [`choose`] keeps the strongest
//! rule, so the record does not depend on the order calls were resolved.

use kausal_storage::GraphEdge;

use crate::provenance::{CallProvenance, CallRule};

/// The resolver step that settled a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A function nested in an enclosing function.
    Nested,
    /// Rust: an item declared in the caller's module.
    Scope,
    /// Rust: a bare name bound by a `use` (module, function-local, glob).
    ScopeImport,
    /// Rust: a free function unique in the crate.
    CrateUnique,
    /// Rust: `Self::f` in an impl of another crate's type.
    SelfPath,
    /// Rust: a path into another crate of the tree.
    OtherCrate,
    /// Rust: a path through modules and types.
    Path,
    /// Rust: `<T as Trait>::f`.
    QualifiedTrait,
    /// `self.m()`: the caller's own impl, trait or class.
    SelfMethod,
    /// A method name unique in the crate or project.
    UniqueMethod,
    /// Rust: the candidates are one trait's method and its impls.
    TraitMethod,
    /// Rust: a value of generic code dispatching through its trait.
    GenericTraitMethod,
    /// Rust: a generic parameter's bound trait.
    TraitBound,
    /// Rust: a value typed by an associated type (`G::Edge`) whose impls
    /// all give types with the method through one crate trait.
    AssociatedType,
    /// A receiver of known type.
    TypedReceiver,
    /// Rust: an element of a typed collection (`v[i].m()`).
    ElementType,
    /// Rust: a blanket-implemented trait in scope.
    BlanketTrait,
    /// `super().m()`: a base class's method.
    SuperMethod,
    /// `self.m()` found in a base class.
    InheritedMethod,
    /// `module.f()` through an imported module.
    ModuleMember,
    /// `Class.m()`: the class named directly.
    ClassMethod,
    /// A top-level item of the caller's module (file, Go package).
    Module,
    /// A name bound by an import.
    Import,
    /// A function name unique in the project.
    UniqueFunction,
    /// C: a definition in a file the caller includes (a header's
    /// `static inline`, a function-like macro).
    Include,
    /// C: the definition of a function an included header declares.
    IncludeDeclared,
    /// C: a function outside the tree, reached as its named stub.
    External,
}

impl Rule {
    /// The name counted in `CallStats::by_rule`.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::Nested => "nested",
            Rule::Scope => "scope",
            Rule::ScopeImport => "scope_import",
            Rule::CrateUnique => "crate_unique",
            Rule::SelfPath => "self_path",
            Rule::OtherCrate => "other_crate",
            Rule::Path => "path",
            Rule::QualifiedTrait => "qualified_trait",
            Rule::SelfMethod => "self_method",
            Rule::UniqueMethod => "unique_method",
            Rule::TraitMethod => "trait_method",
            Rule::GenericTraitMethod => "generic_trait_method",
            Rule::TraitBound => "trait_bound",
            Rule::AssociatedType => "associated_type",
            Rule::TypedReceiver => "typed_receiver",
            Rule::ElementType => "element_type",
            Rule::BlanketTrait => "blanket_trait",
            Rule::SuperMethod => "super_method",
            Rule::InheritedMethod => "inherited_method",
            Rule::ModuleMember => "module_member",
            Rule::ClassMethod => "class_method",
            Rule::Module => "module",
            Rule::Import => "import",
            Rule::UniqueFunction => "unique_function",
            Rule::Include => "include",
            Rule::IncludeDeclared => "include_declared",
            Rule::External => "external",
        }
    }

    /// The public rule this step is recorded as.
    pub const fn provenance(self) -> CallRule {
        match self {
            Rule::Nested | Rule::Scope | Rule::Module => CallRule::Scope,
            Rule::ScopeImport | Rule::Import | Rule::Include | Rule::IncludeDeclared => {
                CallRule::Import
            }
            Rule::SelfPath
            | Rule::OtherCrate
            | Rule::Path
            | Rule::QualifiedTrait
            | Rule::ModuleMember
            | Rule::ClassMethod => CallRule::Path,
            Rule::SelfMethod => CallRule::SelfMethod,
            Rule::SuperMethod | Rule::InheritedMethod => CallRule::Inherited,
            Rule::TypedReceiver | Rule::ElementType => CallRule::ReceiverType,
            Rule::GenericTraitMethod | Rule::TraitBound | Rule::AssociatedType => {
                CallRule::TraitBound
            }
            Rule::BlanketTrait => CallRule::BlanketTrait,
            Rule::External => CallRule::External,
            Rule::CrateUnique | Rule::UniqueMethod | Rule::TraitMethod | Rule::UniqueFunction => {
                CallRule::UniqueName
            }
        }
    }
}

/// A provenance record of the calling file `file` (an index into the
/// resolved files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileProvenance {
    pub file: u32,
    pub record: CallProvenance,
}

/// Sorts `records` by (file, edge) and keeps one per edge: the strongest
/// rule (the first in [`CallRule`]'s order). The result depends only on
/// the set of records, not on their order.
pub fn choose(records: &mut Vec<FileProvenance>) {
    // (file, edge, rule) order puts the strongest rule of an edge first.
    // Records come grouped by file, in file order for each language (a
    // Rust file's cached records already sorted, see `resolve_rust`), so
    // they are put in file order by distribution when the languages
    // interleave, and each file's run is sorted alone: a sorted run costs
    // one pass, where one sort of the whole tree's records cost a
    // seventh of an edit's re-ingest.
    if !records.is_sorted_by_key(|record| record.file) {
        let files = records
            .iter()
            .map(|r| r.file as usize + 1)
            .max()
            .unwrap_or(0);
        crate::buckets::distribute(records, files, |record| record.file as usize);
    }
    for run in records.chunk_by_mut(|a, b| a.file == b.file) {
        run.sort_unstable();
    }
    records.dedup_by(|later, kept| same_edge(kept, later));
}

fn same_edge(a: &FileProvenance, b: &FileProvenance) -> bool {
    let key = |p: &FileProvenance| -> (u32, GraphEdge) { (p.file, p.record.edge) };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use kausal_storage::{BlockId, EdgeType};

    use super::*;

    fn at(file: u32, source: u128, target: u128, rule: CallRule) -> FileProvenance {
        FileProvenance {
            file,
            record: CallProvenance {
                edge: GraphEdge::new(
                    BlockId::from_u128(source),
                    BlockId::from_u128(target),
                    EdgeType::Calls,
                ),
                rule,
            },
        }
    }

    #[test]
    fn the_strongest_rule_of_an_edge_wins_whatever_the_order() {
        let records = vec![
            at(0, 1, 2, CallRule::UniqueName),
            at(0, 1, 3, CallRule::ReceiverType),
            at(0, 1, 2, CallRule::Import),
            at(0, 1, 2, CallRule::ReceiverType),
            at(1, 5, 6, CallRule::TraitBound),
        ];
        let expected = vec![
            at(0, 1, 2, CallRule::Import),
            at(0, 1, 3, CallRule::ReceiverType),
            at(1, 5, 6, CallRule::TraitBound),
        ];
        // Every rotation and the reverse give the same choice.
        for shift in 0..records.len() {
            let mut rotated = records.clone();
            rotated.rotate_left(shift);
            choose(&mut rotated);
            assert_eq!(rotated, expected, "rotation {shift}");
            let mut reversed = records.clone();
            reversed.rotate_left(shift);
            reversed.reverse();
            choose(&mut reversed);
            assert_eq!(reversed, expected, "reversed rotation {shift}");
        }
    }

    proptest::proptest! {
        // Files interleaved, runs in and out of order: the choice is the
        // one a sort of the whole list and a dedup give.
        #[test]
        fn choose_equals_one_sort_of_everything(
            raw in proptest::collection::vec((0u32..40, 0u128..6, 0u128..6, 0usize..3), 0..400),
            sorted_prefix in 0usize..400,
        ) {
            let rules = [CallRule::Import, CallRule::ReceiverType, CallRule::UniqueName];
            let mut records: Vec<FileProvenance> = raw
                .iter()
                .map(|(file, source, target, rule)| at(*file, source + 1, target + 1, rules[*rule]))
                .collect();
            let prefix = sorted_prefix.min(records.len());
            records[..prefix].sort_unstable();
            let mut expected = records.clone();
            expected.sort_unstable();
            expected.dedup_by(|later, kept| same_edge(kept, later));
            choose(&mut records);
            proptest::prop_assert_eq!(records, expected);
        }
    }

    #[test]
    fn every_step_maps_to_a_public_rule() {
        use Rule::*;
        let all = [
            Nested,
            Scope,
            ScopeImport,
            CrateUnique,
            SelfPath,
            OtherCrate,
            Path,
            QualifiedTrait,
            SelfMethod,
            UniqueMethod,
            TraitMethod,
            GenericTraitMethod,
            TraitBound,
            TypedReceiver,
            ElementType,
            BlanketTrait,
            SuperMethod,
            InheritedMethod,
            ModuleMember,
            ClassMethod,
            Module,
            Import,
            UniqueFunction,
            Include,
            IncludeDeclared,
            External,
        ];
        let names: std::collections::BTreeSet<&str> = all.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), all.len(), "names are distinct");
        let public: std::collections::BTreeSet<CallRule> =
            all.iter().map(|r| r.provenance()).collect();
        // Every public rule is used, but `precise`: no resolution step
        // gives it (precise mode does).
        assert!(!public.contains(&CallRule::Precise));
        assert_eq!(
            public.len() + 1,
            CallRule::ALL.len(),
            "every public rule is used"
        );
    }
}
