//! The name tables of one language's resolution: top-level items by
//! (module, name), functions and methods by name, and for C the callable
//! definitions, item names, prototypes and object-like macros by name.
//!
//! Keys are 128-bit hashes of the names (XXH3-128, the hash the ingester
//! already trusts for block fingerprints), so the tables own no text and
//! can outlive the summaries they were built from. The C resolution keeps
//! them between ingests and patches only the edited files' entries: built
//! over the Linux tree they took about 3 s per ingest and 1 s to drop.
//!
//! Every list is in (file, item) order, as a build over the files in
//! order makes it; a patch keeps that order, so a patched table equals a
//! table built afresh from the same summaries.

use rustc_hash::FxHashMap;
use twox_hash::XxHash3_128;

use crate::language::Language;
use crate::resolve::ItemRef;
use crate::summary::{ItemKind, Summary};

/// A name, hashed.
pub(super) type NameKey = u128;

/// The key of `name`.
pub(super) fn name_key(name: &str) -> NameKey {
    XxHash3_128::oneshot(name.as_bytes())
}

/// The key of `name` within `scope` (a module key).
pub(super) fn scoped_key(scope: &str, name: &str) -> NameKey {
    // Seeded by the scope's hash: one hash per scope, without joining the
    // two strings.
    let seed = XxHash3_128::oneshot(scope.as_bytes()) as u64;
    XxHash3_128::oneshot_with_seed(seed, name.as_bytes())
}

/// See the module comment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct NameTables {
    /// Top-level items (no methods) by (module key, name).
    pub(super) top_level: FxHashMap<NameKey, Vec<ItemRef>>,
    /// Top-level functions by name.
    pub(super) functions: FxHashMap<NameKey, Vec<ItemRef>>,
    /// Methods by name.
    pub(super) methods: FxHashMap<NameKey, Vec<ItemRef>>,
    /// C: callable top-level definitions (functions and function-like
    /// macros) by name.
    pub(super) c_defs: FxHashMap<NameKey, Vec<ItemRef>>,
    /// C: how many top-level items have each name.
    pub(super) c_names: FxHashMap<NameKey, u32>,
    /// C: files declaring a prototype of a name (a file once per
    /// prototype).
    pub(super) c_declared_in: FxHashMap<NameKey, Vec<u32>>,
    /// C: files defining a name as an object-like macro (`#define zmemcpy
    /// memcpy`), once per definition.
    pub(super) c_object_macros: FxHashMap<NameKey, Vec<u32>>,
}

/// `#define f(..)`: a macro a call can name (an object-like one cannot).
fn is_function_like_macro(signature: &str, name: &str) -> bool {
    signature
        .trim_start_matches('#')
        .trim_start()
        .strip_prefix("define")
        .and_then(|rest| rest.trim_start().strip_prefix(name))
        .is_some_and(|rest| rest.starts_with('('))
}

/// Where one entry of a file goes.
enum Slot {
    TopLevel,
    Function,
    Method,
    CDef,
    CName,
    CDeclared,
    CObjectMacro,
}

/// Calls `each` with every entry `summary` (file `file`, module key
/// `module`) contributes, in item order.
fn entries(
    language: Language,
    module: &str,
    file: u32,
    summary: &Summary,
    mut each: impl FnMut(Slot, NameKey, ItemRef),
) {
    for (i, item) in summary.items.iter().enumerate() {
        let item_ref = ItemRef {
            file,
            item: i as u32,
        };
        // A method at the top is no module-level name: in Python or
        // JavaScript/TypeScript one outside any class is an object
        // literal's or what a syntax error leaves (a property); Go
        // declares every method at the top, bound to its receiver type
        // (`pkg.F()` and a bare `F()` never reach one).
        if item.parent.is_none() && item.kind != ItemKind::Method {
            each(Slot::TopLevel, scoped_key(module, &item.name), item_ref);
        }
        match item.kind {
            ItemKind::Function if item.parent.is_none() => {
                each(Slot::Function, name_key(&item.name), item_ref);
            }
            ItemKind::Method => each(Slot::Method, name_key(&item.name), item_ref),
            _ => {}
        }
        if language != Language::C || item.parent.is_some() {
            continue;
        }
        let key = name_key(&item.name);
        each(Slot::CName, key, item_ref);
        let callable = item.kind == ItemKind::Function
            || (item.kind == ItemKind::Macro
                && is_function_like_macro(&item.signature, &item.name));
        if callable {
            each(Slot::CDef, key, item_ref);
        } else if item.kind == ItemKind::Macro {
            each(Slot::CObjectMacro, key, item_ref);
        }
    }
    if language == Language::C {
        for name in &summary.module_decls {
            let item_ref = ItemRef { file, item: 0 };
            each(Slot::CDeclared, name_key(name), item_ref);
        }
    }
}

/// Appends `value`, or with `sorted` inserts it after every entry not
/// greater than it.
fn put<T: Ord + Copy>(list: &mut Vec<T>, value: T, sorted: bool) {
    if sorted {
        let at = list.partition_point(|v| *v <= value);
        list.insert(at, value);
    } else {
        list.push(value);
    }
}

/// Drops the entries of `file` from the list at `key`, and the list when
/// it is left empty.
fn drop_file<T>(map: &mut FxHashMap<NameKey, Vec<T>>, key: NameKey, of_file: impl Fn(&T) -> bool) {
    if let Some(list) = map.get_mut(&key) {
        list.retain(|v| !of_file(v));
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

impl NameTables {
    /// Adds the entries of `summary`, file `file` with module key
    /// `module`. Without `sorted` each is appended (a build over files in
    /// order); with it each goes to its place (a patch).
    pub(super) fn add_file(
        &mut self,
        language: Language,
        module: &str,
        file: u32,
        summary: &Summary,
        sorted: bool,
    ) {
        entries(language, module, file, summary, |slot, key, item_ref| {
            let list = match slot {
                Slot::TopLevel => self.top_level.entry(key).or_default(),
                Slot::Function => self.functions.entry(key).or_default(),
                Slot::Method => self.methods.entry(key).or_default(),
                Slot::CDef => self.c_defs.entry(key).or_default(),
                Slot::CName => {
                    *self.c_names.entry(key).or_default() += 1;
                    return;
                }
                Slot::CDeclared => {
                    let files = self.c_declared_in.entry(key).or_default();
                    return put(files, file, sorted);
                }
                Slot::CObjectMacro => {
                    let files = self.c_object_macros.entry(key).or_default();
                    return put(files, file, sorted);
                }
            };
            put(list, item_ref, sorted);
        });
    }

    /// Removes the entries `summary` gave file `file` (the summary the
    /// tables were built from).
    pub(super) fn remove_file(
        &mut self,
        language: Language,
        module: &str,
        file: u32,
        summary: &Summary,
    ) {
        let of_item = |r: &ItemRef| r.file == file;
        let of_file = |f: &u32| *f == file;
        entries(language, module, file, summary, |slot, key, _| match slot {
            Slot::TopLevel => drop_file(&mut self.top_level, key, of_item),
            Slot::Function => drop_file(&mut self.functions, key, of_item),
            Slot::Method => drop_file(&mut self.methods, key, of_item),
            Slot::CDef => drop_file(&mut self.c_defs, key, of_item),
            Slot::CName => {
                if let Some(count) = self.c_names.get_mut(&key) {
                    *count -= 1;
                    if *count == 0 {
                        self.c_names.remove(&key);
                    }
                }
            }
            Slot::CDeclared => drop_file(&mut self.c_declared_in, key, of_file),
            Slot::CObjectMacro => drop_file(&mut self.c_object_macros, key, of_file),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::summary::Item;

    fn item(kind: ItemKind, name: &str, signature: &str) -> Item {
        Item {
            kind,
            name: name.into(),
            parent: None,
            start_byte: 0,
            end_byte: 0,
            start_line: 1,
            end_line: 1,
            signature: signature.into(),
            doc: String::new(),
            impl_type: String::new(),
            impl_trait: String::new(),
            compiled_out: false,
        }
    }

    fn summary(items: Vec<Item>, decls: &[&str]) -> Summary {
        Summary {
            items,
            module_decls: decls.iter().map(|d| d.to_string()).collect(),
            ..Summary::default()
        }
    }

    fn build(files: &[(&str, &Summary)]) -> NameTables {
        let mut tables = NameTables::default();
        for (file, (path, summary)) in files.iter().enumerate() {
            tables.add_file(Language::C, path, file as u32, summary, false);
        }
        tables
    }

    #[test]
    fn a_patched_table_equals_a_fresh_build() {
        let a = summary(
            vec![
                item(ItemKind::Function, "f", "int f(void)"),
                item(ItemKind::Macro, "M", "#define M(x) x"),
                item(ItemKind::Macro, "K", "#define K 1"),
            ],
            &["g"],
        );
        let b_old = summary(
            vec![
                item(ItemKind::Function, "f", "static int f(void)"),
                item(ItemKind::Function, "g", "int g(void)"),
            ],
            &["f", "g"],
        );
        let b_new = summary(
            vec![
                item(ItemKind::Macro, "K", "#define K 2"),
                item(ItemKind::Function, "h", "int h(void)"),
                item(ItemKind::Function, "f", "int f(int)"),
            ],
            &["f"],
        );
        let c = summary(vec![item(ItemKind::Function, "f", "int f(void)")], &["g"]);
        let mut patched = build(&[("a.c", &a), ("b.c", &b_old), ("c.c", &c)]);
        patched.remove_file(Language::C, "b.c", 1, &b_old);
        patched.add_file(Language::C, "b.c", 1, &b_new, true);
        let fresh = build(&[("a.c", &a), ("b.c", &b_new), ("c.c", &c)]);
        assert_eq!(patched, fresh);
        // `g` is defined nowhere now, and no file but a.c and c.c declares it.
        assert!(!patched.c_defs.contains_key(&name_key("g")));
        assert_eq!(patched.c_declared_in[&name_key("g")], vec![0, 2]);
        assert_eq!(patched.c_names[&name_key("f")], 3);
    }

    #[test]
    fn function_like_macros_have_a_parenthesis_after_the_name() {
        assert!(is_function_like_macro(
            "#define max(a, b) ((a) > (b))",
            "max"
        ));
        assert!(!is_function_like_macro("#define LIMIT (4)", "LIMIT"));
        assert!(!is_function_like_macro("#define LIMIT 4", "LIMIT"));
    }

    #[test]
    fn scoped_keys_tell_scopes_apart() {
        assert_ne!(scoped_key("a.c", "f"), scoped_key("b.c", "f"));
        assert_ne!(scoped_key("a.c", "f"), name_key("f"));
        assert_eq!(scoped_key("a.c", "f"), scoped_key("a.c", "f"));
    }
}
