//! Go receivers: `x.M()` where `x` has a written type (`func (s *Sorter)
//! ..`, a parameter `opts formatOptions`, `var r Reporter`), a composite
//! literal (`x := &T{..}`) or the type a function of the tree returns (`x
//! := NewT()`, `v, err := pkg.Load()`): the method `M` declared with that
//! receiver type in that type's package (the caller's directory, or the
//! package an import names for `pkg.T`).

use super::Index;
use crate::resolve::{ItemRef, Outcome, Rule, is_identifier, item_of, settle};
use crate::summary::{CallRef, ItemKind};

/// The type name in a written Go type: pointers taken off (`*T` -> `T`,
/// `pkg.T` stays); `None` for slices, maps, channels, functions and
/// generic instantiations.
pub(super) fn type_name(text: &str) -> Option<&str> {
    let t = text.trim().trim_start_matches('*').trim();
    let name_like = t.split('.').count() <= 2 && t.split('.').all(is_identifier);
    name_like.then_some(t)
}

/// The first result type of a Go function signature (`func (r *R) Get(k
/// string) (*T, error)` -> `*T`), or `None` when it returns nothing.
pub(super) fn first_result(signature: &str) -> Option<&str> {
    let mut rest = signature.trim().strip_prefix("func")?.trim_start();
    if rest.starts_with('(') {
        rest = rest[closing_paren(rest)? + 1..].trim_start(); // the receiver
    }
    let open = rest.find('(')?;
    rest = rest[open..].trim_start();
    rest = rest[closing_paren(rest)? + 1..].trim();
    let rest = rest.trim_end_matches('{').trim();
    let first = match rest.strip_prefix('(') {
        Some(list) => list.split([',', ')']).next()?.trim(),
        None => rest,
    };
    // `(n int, err error)`: named results.
    let first = first.rsplit(' ').next().unwrap_or(first);
    (!first.is_empty()).then_some(first)
}

/// The index of the `)` closing the `(` that `text` starts with.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => {}
        }
    }
    None
}

impl Index<'_> {
    /// `x.M()` on a receiver whose type is known: the method of that
    /// type, or external when the type is the tree's but has no such
    /// method of its own (an embedded type's or an interface's). `None`
    /// when the type is unknown or not the tree's.
    pub(super) fn go_method(&self, file: u32, call: &CallRef) -> Option<Outcome> {
        if !is_identifier(&call.receiver) {
            return None;
        }
        let (type_text, from) = self.go_local_type(file, call)?;
        let name = type_name(&type_text)?;
        let (package_files, type_name) = match name.split_once('.') {
            Some((package, type_name)) => {
                let import = self.import_binding(from, package)?;
                let spec = import.path.first()?;
                let files = self.module_files_of(self.files[from as usize].path, spec);
                (files, type_name)
            }
            None => {
                let key = self.module_key(self.files[from as usize].path);
                (self.module_files.get(key)?.clone(), name)
            }
        };
        let declared = self.top_level_in(&package_files, type_name);
        if declared.is_empty() {
            return None; // a builtin or a type of another module
        }
        let methods: Vec<ItemRef> = self
            .names
            .methods
            .get(&super::names::name_key(&call.text))
            .into_iter()
            .flatten()
            .copied()
            .filter(|m| package_files.contains(&m.file))
            .filter(|m| {
                let item = item_of(self.files, *m);
                item.kind == ItemKind::Method && item.impl_type == type_name
            })
            .collect();
        Some(settle(self.files, &methods, Rule::TypedReceiver).unwrap_or(Outcome::External))
    }

    /// The written type of the receiver local, and the file it was written
    /// in: its declaration's type, or the first result of the function of
    /// the tree its value comes from.
    fn go_local_type(&self, file: u32, call: &CallRef) -> Option<(String, u32)> {
        let view = &self.files[file as usize];
        let typed = view.typed_local_around(call.caller, &call.receiver, call.line)?;
        if !typed.type_text.is_empty() {
            return Some((typed.type_text.clone(), file));
        }
        let value_call = typed.value_call?;
        if typed.line >= call.line {
            return None; // `x := x.Next()`: not its own type
        }
        let value = view.summary.calls.get(value_call as usize)?;
        let Outcome::Resolved(function, _) = self.resolve_call(file, value) else {
            return None;
        };
        let item = item_of(self.files, function);
        let result = first_result(&item.signature)?;
        Some((result.to_string(), function.file))
    }
}

#[cfg(test)]
mod tests {
    use super::{first_result, type_name};

    #[test]
    fn go_type_names_and_results() {
        assert_eq!(type_name("*sliceSorter"), Some("sliceSorter"));
        assert_eq!(type_name("value.Path"), Some("value.Path"));
        assert_eq!(type_name("[]T"), None);
        assert_eq!(type_name("map[string]int"), None);
        assert_eq!(first_result("func NewT(a int) *T"), Some("*T"));
        assert_eq!(
            first_result("func (r *R) Get(k string) (*T, error)"),
            Some("*T")
        );
        assert_eq!(
            first_result("func Load() (cfg Config, err error)"),
            Some("Config")
        );
        assert_eq!(first_result("func run(f func(int) bool)"), None);
    }
}
