//! Zig receivers: `p.next()` where `p: *Parse`, `tree: Ast` or `var x: Ast
//! = ..` (a written type), or `const y = Ast.init(..)`. A Zig file is a
//! struct, so the type is a file (`const Ast = @import("Ast.zig")`, `const
//! Parse = @This()`, or a file of the tree named after it when the type
//! comes through a path such as `std.zig.Ast`) or a container declared in
//! one (`const Node = struct { .. }`, `Ast.Node`); the method is its
//! function of that name. A receiver through fields (`p.syms.pop()`)
//! follows the fields' written types.

use super::Index;
use crate::resolve::{ItemRef, Outcome, Rule, children_named, is_identifier, kind_of, settle};
use crate::summary::CallRef;

/// What a Zig type names: a file (its top level) or a container item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    File(u32),
    Item(ItemRef),
}

/// Methods of std's containers, allocators, writers and readers: on a
/// receiver of unknown type, far more often std's than the tree's.
const ZIG_STD_METHODS: &[&str] = &[
    "append",
    "appendSlice",
    "appendAssumeCapacity",
    "appendSliceAssumeCapacity",
    "addOne",
    "ensureTotalCapacity",
    "ensureUnusedCapacity",
    "toOwnedSlice",
    "clearRetainingCapacity",
    "clearAndFree",
    "resize",
    "shrinkRetainingCapacity",
    "pop",
    "put",
    "putNoClobber",
    "putAssumeCapacity",
    "get",
    "getPtr",
    "getOrPut",
    "getOrPutAssumeCapacity",
    "contains",
    "fetchPut",
    "fetchRemove",
    "alloc",
    "allocSentinel",
    "realloc",
    "free",
    "create",
    "destroy",
    "dupe",
    "dupeZ",
    "print",
    "write",
    "writeAll",
    "writeByte",
    "writeByteNTimes",
    "writeInt",
    "writer",
    "reader",
    "readByte",
    "readInt",
    "readAll",
    "allocator",
    "deinit",
];

/// Most segments of a type path followed (`a.b.C`).
const MAX_TYPE_SEGMENTS: usize = 6;

/// The type name in a written Zig type: pointers, optionals, `const` and
/// error unions taken off (`*const Ast` -> `Ast`, `!*Parse` -> `Parse`);
/// `None` for slices, arrays and anything that is not a (dotted) name.
pub(super) fn type_path(text: &str) -> Option<&str> {
    let mut t = text.trim();
    loop {
        let before = t;
        t = t.trim_start_matches(['*', '?', '!']).trim_start();
        t = t.strip_prefix("const ").unwrap_or(t).trim_start();
        if t == before {
            break;
        }
    }
    t.split('.').all(is_identifier).then_some(t)
}

impl Index<'_> {
    /// Zig's rules for a receiver of unknown type, after the shared ones
    /// and before the unique-name rule: a namespace imported from outside
    /// the tree (`std.math.maxInt(..)`, `std.mem`) is external; so is a
    /// method of std's containers, allocators and writers (`list.append`,
    /// `gpa.free`, `w.print`).
    pub(super) fn zig_unknown_receiver(&self, file: u32, call: &CallRef) -> Option<Outcome> {
        let head = call.receiver.split('.').next().unwrap_or("");
        if let Some(import) = self.import_binding(file, head)
            && let Some(spec) = import.path.first()
            && spec != THIS_FILE
            && self
                .module_files_of(self.files[file as usize].path, spec)
                .is_empty()
        {
            return Some(Outcome::External);
        }
        ZIG_STD_METHODS
            .contains(&call.text.as_str())
            .then_some(Outcome::External)
    }

    /// `x.m()` where `x` has a written or evident Zig type of the tree:
    /// that container's function `m` (external when it has none: a method
    /// of a type the tree does not define, such as `std.ArrayList`'s).
    /// `None` when the receiver's type is unknown.
    pub(super) fn zig_typed_receiver(&self, file: u32, call: &CallRef) -> Option<Outcome> {
        let container = self.zig_value(file, call.caller, &call.receiver, call.line, 0)?;
        let found: Vec<ItemRef> = match container {
            Container::File(target) => self
                .top_level_in(&[target], &call.text)
                .into_iter()
                .filter(|item| kind_of(self.files, *item).is_callable())
                .collect(),
            Container::Item(owner) => children_named(
                &self.files[owner.file as usize],
                Some(owner.item),
                &call.text,
            )
            .map(|item| ItemRef {
                file: owner.file,
                item,
            })
            .collect(),
        };
        Some(settle(self.files, &found, Rule::TypedReceiver).unwrap_or(Outcome::External))
    }

    /// The container the value `expression` (`p`, `p.syms`, a local bound
    /// to `gz.astgen`) has at `line` of `caller`: the first name's written
    /// type (or the value it is bound to), then fields' written types.
    fn zig_value(
        &self,
        file: u32,
        caller: Option<u32>,
        expression: &str,
        line: u32,
        depth: usize,
    ) -> Option<Container> {
        let mut segments = expression.split('.');
        let first = segments.next()?;
        if !is_identifier(first) || depth > MAX_TYPE_SEGMENTS {
            return None;
        }
        let view = &self.files[file as usize];
        let typed = view.typed_local_around(caller, first, line)?;
        let path = type_path(&typed.type_text)?;
        let head = path.split('.').next().unwrap_or("");
        // `const astgen = gz.astgen;` records the value it is bound to.
        let bound_to_value = head != first
            && view
                .typed_local_around(caller, head, typed.line)
                .is_some_and(|t| t.line <= typed.line);
        let mut container = if bound_to_value {
            self.zig_value(file, caller, path, typed.line, depth + 1)?
        } else {
            self.zig_container(file, path)?
        };
        // `p.syms.popScope()`: through the fields' written types.
        for (hops, field) in segments.enumerate() {
            if hops >= MAX_TYPE_SEGMENTS || !is_identifier(field) {
                return None;
            }
            container = self.zig_field_type(container, field)?;
        }
        Some(container)
    }

    /// The container the written type of field `name` of `container`
    /// names (a file's fields are its top-level `name: Type` lines).
    fn zig_field_type(&self, container: Container, name: &str) -> Option<Container> {
        let (file, declared) = match container {
            Container::File(file) => {
                let view = &self.files[file as usize];
                let mut fields = view
                    .summary
                    .fields
                    .iter()
                    .filter(|f| f.scope.is_none() && f.name == name);
                (file, fields.next()?)
            }
            Container::Item(owner) => (
                owner.file,
                self.files[owner.file as usize].field(owner.item, name)?,
            ),
        };
        self.zig_container(file, type_path(&declared.type_text)?)
    }

    /// The container a type path names, seen from `file`.
    fn zig_container(&self, file: u32, path: &str) -> Option<Container> {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut current = self.zig_name(file, first, path.contains('.'))?;
        for segment in segments.take(MAX_TYPE_SEGMENTS) {
            current = match current {
                Container::File(target) => {
                    let mut found = self
                        .top_level_in(&[target], segment)
                        .into_iter()
                        .filter(|item| kind_of(self.files, *item).is_type());
                    match (found.next(), found.next()) {
                        (Some(item), None) => Container::Item(item),
                        _ => return None,
                    }
                }
                Container::Item(owner) => {
                    let view = &self.files[owner.file as usize];
                    let mut found = children_named(view, Some(owner.item), segment)
                        .filter(|item| view.summary.items[*item as usize].kind.is_type());
                    match (found.next(), found.next()) {
                        (Some(item), None) => Container::Item(ItemRef {
                            file: owner.file,
                            item,
                        }),
                        _ => return None,
                    }
                }
            };
        }
        Some(current)
    }

    /// What the first segment of a type path names in `file`: a container
    /// declared there, an `@import`ed file, `@This()` (the file itself),
    /// the file's own name, or (a name reached through a path the resolver
    /// cannot follow, such as `std.zig.Ast`) the one file of the tree named
    /// after it.
    fn zig_name(&self, file: u32, name: &str, dotted: bool) -> Option<Container> {
        let view = &self.files[file as usize];
        let mut declared = self
            .top_level_in(&[file], name)
            .into_iter()
            .filter(|item| kind_of(self.files, *item).is_type());
        if let (Some(item), None) = (declared.next(), declared.next()) {
            return Some(Container::Item(item));
        }
        if let Some(import) = self.import_binding(file, name) {
            let spec = import.path.first()?;
            if spec == THIS_FILE {
                return Some(Container::File(file));
            }
            if import.path.len() == 1 {
                let targets = self.module_files_of(view.path, spec);
                return match targets.as_slice() {
                    [target] => Some(Container::File(*target)),
                    _ => None,
                };
            }
        }
        if file_stem(view.path) == name {
            return Some(Container::File(file));
        }
        let named: Vec<u32> = self
            .zig_files_named(name)
            .into_iter()
            .filter(|f| *f != file)
            .collect();
        // A bare name that is neither declared nor imported here is a
        // parameter's comptime type or a typo: only a path's last segment
        // (`std.zig.Ast`, aliased by a `const`) is matched by file name.
        match (named.as_slice(), dotted) {
            ([only], _) => Some(Container::File(*only)),
            _ => None,
        }
    }

    /// Files of the tree whose stem is `name` (`Ast.zig` for `Ast`).
    fn zig_files_named(&self, name: &str) -> Vec<u32> {
        self.zig_stems.get(name).cloned().unwrap_or_default()
    }
}

/// The import spec a `const Self = @This();` binding carries.
pub(super) const THIS_FILE: &str = "@This";

/// `lib/std/zig/Ast.zig` -> `Ast`.
pub(super) fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".zig").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::{file_stem, type_path};

    #[test]
    fn type_paths_lose_pointers_and_qualifiers_only() {
        assert_eq!(type_path("*const Ast"), Some("Ast"));
        assert_eq!(type_path("?*Parse"), Some("Parse"));
        assert_eq!(type_path("*std.zig.Ast"), Some("std.zig.Ast"));
        assert_eq!(type_path("Ast.Node.Index"), Some("Ast.Node.Index"));
        assert_eq!(type_path("[]const u8"), None);
        assert_eq!(type_path("std.ArrayList(u8)"), None);
        assert_eq!(file_stem("lib/std/zig/Ast.zig"), "Ast");
    }
}
