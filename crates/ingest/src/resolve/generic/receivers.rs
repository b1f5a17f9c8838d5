//! Method calls whose receiver's class or module is known: `super().m()`,
//! `self.m()` / `this.m()` / `cls.m()`, a typed local (`x: Foo`,
//! `x = Foo()`, `x = make()` with `-> Foo`), a field of `self` / `this`
//! (`self.x = Foo()` in a method, `private x: Foo`, a class-level `x: Foo`),
//! the value of a call (`Foo().m()`, `innerFrom(x).subscribe()`), a module
//! (`mod.f()`, `a.b.f()`), or a class named directly (`Base.m(self)`).
//! The method is looked up through the class hierarchy (`classes.rs`).

use rustc_hash::FxHashSet;

use super::Index;
use super::classes::{MAX_TYPE_HOPS, Target};
use super::types::{callback_parameter, dotted, untyped_parameter};
use crate::language::Language;
use crate::resolve::{ItemRef, Outcome, Rule, item_of, owner_ancestor};
use crate::summary::{CallKind, CallRef, TypedName};

/// What a dotted expression (`self`, `env`, `self.stream`, `mod.sub`)
/// evaluates to.
enum Value {
    /// An instance of a class of the tree.
    Instance(ItemRef),
    /// A module, a class or function itself, or something outside.
    Bound(Target),
}

impl<'a> Index<'a> {
    /// The outcome of a method call by what its receiver is; `None` when
    /// the receiver is unknown (other rules decide).
    pub(super) fn receiver_rules(&self, file: u32, call: &CallRef, hops: usize) -> Option<Outcome> {
        let summary = self.files[file as usize].summary;
        let receiver = call.receiver.as_str();
        if self.is_super(receiver) {
            // A base's method, or one of a base outside the tree
            // (`Exception.__init__`).
            let owner = owner_ancestor(summary, call.caller)?;
            let found = self.method_in_hierarchy(ItemRef { file, item: owner }, &call.text, true);
            return Some(found.map_or(Outcome::External, |m| {
                Outcome::Resolved(m, Rule::SuperMethod)
            }));
        }
        if let Some(index) = call.receiver_call {
            let class = self.class_of_call(file, index, hops + 1)?;
            let found = self.method_in_hierarchy(class, &call.text, false)?;
            return Some(Outcome::Resolved(found, Rule::TypedReceiver));
        }
        let segments = dotted(receiver)?;
        let Some(value) = self.value_of_path(file, call.caller, call.line, &segments, hops) else {
            // A local whose type is written or evident but no class of the
            // tree (`e = threading.Event()`, `r = requests.get(..)` without
            // a return annotation): the unique-name rule would be a guess.
            let typed = match segments.as_slice() {
                [name] => self.typed_name(file, call.caller, name, call.line),
                _ => None,
            };
            // A callback's parameter typed by no class (`xs.map((x) =>
            // x.m())` on an array) is left to the unique-name rule, as
            // before it had a type.
            let written = typed.filter(|t| !callback_parameter(&t.type_text));
            // Go's and Zig's typed receivers have their own rules (go.rs,
            // zig.rs); a type they could not follow leaves the call to the
            // unique-name rule, as before they had types.
            if !matches!(
                self.language,
                Language::Python | Language::JavaScript | Language::TypeScript | Language::Tsx
            ) {
                return None;
            }
            return written.map(|_| Outcome::Unresolved("receiver's type is no class of the tree"));
        };
        match value {
            Value::Instance(class) => {
                let found = self.method_in_hierarchy(class, &call.text, false)?;
                let rule = match segments.as_slice() {
                    [this] if self.language.scope_rules().self_receivers.contains(this) => {
                        let own = found.file == class.file
                            && item_of(self.files, found).parent == Some(class.item);
                        if own {
                            Rule::SelfMethod
                        } else {
                            Rule::InheritedMethod
                        }
                    }
                    _ => Rule::TypedReceiver,
                };
                Some(Outcome::Resolved(found, rule))
            }
            Value::Bound(Target::External) => Some(Outcome::External),
            Value::Bound(Target::Module(files)) => {
                let found = self.exported_in(&files, &call.text);
                Some(
                    self.settle_call(&found, Rule::ModuleMember)
                        .unwrap_or(Outcome::Unresolved("name not in imported module")),
                )
            }
            Value::Bound(Target::Items(items)) => {
                // `Base.m(self)`, `Foo.create()`: the class named.
                let class = self.class_among(&items)?;
                let found = self.method_in_hierarchy(class, &call.text, false)?;
                Some(Outcome::Resolved(found, Rule::ClassMethod))
            }
        }
    }

    /// A Python method call on a parameter written without a type (a
    /// pytest fixture, a duck-typed argument): its class is unknown, and
    /// the unique-name rule would be a guess. TypeScript's untyped
    /// parameters are mostly a callback's, typed by the callee, which the
    /// unique-name rule approximates.
    pub(super) fn untyped_parameter(&self, file: u32, call: &CallRef) -> bool {
        if self.language != Language::Python || dotted(&call.receiver).is_none_or(|p| p.len() != 1)
        {
            return false;
        }
        let summary = self.files[file as usize].summary;
        let mut current = call.caller;
        while let Some(index) = current {
            let Some(item) = summary.items.get(index as usize) else {
                return false;
            };
            if item.kind.is_callable() && untyped_parameter(&item.signature, &call.receiver) {
                return true;
            }
            current = item.parent;
        }
        false
    }

    /// The typed local `name` in scope at `line` of `scope`, else the
    /// module-level variable `name` (`env = Environment()` at the top of
    /// the file) when every assignment to it reads the same.
    fn typed_name(
        &self,
        file: u32,
        scope: Option<u32>,
        name: &str,
        line: u32,
    ) -> Option<&'a TypedName> {
        let view = &self.files[file as usize];
        if let Some(local) = view.typed_local_around(scope, name, line) {
            return Some(local);
        }
        let summary: &'a crate::summary::Summary = view.summary;
        let mut globals = summary
            .typed_locals
            .iter()
            .filter(|t| t.scope.is_none() && t.name == name);
        let first = globals.next()?;
        globals
            .all(|other| other.type_text == first.type_text)
            .then_some(first)
    }

    /// `super().m()` / `super(Foo, self).m()` in Python, `super.m()` in
    /// JavaScript and TypeScript.
    fn is_super(&self, receiver: &str) -> bool {
        match self.language {
            Language::Python => receiver.starts_with("super(") && receiver.ends_with(')'),
            Language::JavaScript | Language::TypeScript | Language::Tsx => receiver == "super",
            _ => false,
        }
    }

    /// What `a.b.c` evaluates to where `scope` (an item) is at `line`:
    /// `self` / `this` is an instance of the enclosing class, a typed local
    /// one of its type (an untyped one is unknown), any other name what
    /// the file binds it to; each further segment a field of an instance,
    /// or a member of a module.
    fn value_of_path(
        &self,
        file: u32,
        scope: Option<u32>,
        line: u32,
        segments: &[&str],
        hops: usize,
    ) -> Option<Value> {
        if hops > MAX_TYPE_HOPS {
            return None;
        }
        let (first, rest) = segments.split_first()?;
        let view = &self.files[file as usize];
        let mut value = if self.language.scope_rules().self_receivers.contains(first) {
            Value::Instance(ItemRef {
                file,
                item: owner_ancestor(view.summary, scope)?,
            })
        } else if let Some(typed) = self.typed_name(file, scope, first, line) {
            // The value is evaluated before the name is bound: in
            // `frame = frame.soft()` the callee's `frame` is the earlier one.
            let before = typed.line.saturating_sub(1);
            let class =
                self.class_of_type(file, typed.scope, before, &typed.type_text, hops + 1)?;
            Value::Instance(class)
        } else {
            Value::Bound(self.binding(file, first)?)
        };
        for segment in rest {
            value = match value {
                Value::Instance(class) => {
                    let mut visited = FxHashSet::default();
                    Value::Instance(self.field_class(class, segment, hops + 1, &mut visited)?)
                }
                Value::Bound(Target::External) => return Some(Value::Bound(Target::External)),
                Value::Bound(target) => Value::Bound(self.member(target, segment)?),
            };
        }
        Some(value)
    }

    /// The class a call's callee (`Foo`, `mod.Foo`, `env.parse`, `make`)
    /// gives its value: the class constructed, or the return annotation of
    /// the function or method called.
    pub(super) fn class_of_callee(
        &self,
        file: u32,
        scope: Option<u32>,
        line: u32,
        path: &[&str],
        hops: usize,
    ) -> Option<ItemRef> {
        let view = &self.files[file as usize];
        let (last, receiver) = path.split_last()?;
        if receiver.is_empty() {
            if let Some(item) = crate::resolve::nested_callable(view, scope, last) {
                return self.returned_class(ItemRef { file, item }, hops + 1);
            }
            let Target::Items(items) = self.binding(file, last)? else {
                return None;
            };
            return self.class_of_items(&items, hops + 1);
        }
        match self.value_of_path(file, scope, line, receiver, hops + 1)? {
            Value::Instance(class) => {
                let method = self.method_in_hierarchy(class, last, false)?;
                self.returned_class(method, hops + 1)
            }
            Value::Bound(Target::External) => None,
            Value::Bound(target) => match self.member(target, last)? {
                Target::Items(items) => self.class_of_items(&items, hops + 1),
                _ => None,
            },
        }
    }

    /// The function or method a callee names (`operate`, `obs.map`,
    /// `this.pipe`), or with `new` the constructor of the class it names.
    pub(super) fn callee_function(
        &self,
        file: u32,
        scope: Option<u32>,
        line: u32,
        path: &[&str],
        new: bool,
        hops: usize,
    ) -> Option<ItemRef> {
        let view = &self.files[file as usize];
        let (last, receiver) = path.split_last()?;
        let items = if receiver.is_empty() {
            if let Some(item) = crate::resolve::nested_callable(view, scope, last) {
                return Some(ItemRef { file, item });
            }
            match self.binding(file, last)? {
                Target::Items(items) => items,
                _ => return None,
            }
        } else {
            match self.value_of_path(file, scope, line, receiver, hops + 1)? {
                Value::Instance(class) => vec![self.method_in_hierarchy(class, last, false)?],
                Value::Bound(target) => match self.member(target, last)? {
                    Target::Items(items) => items,
                    _ => return None,
                },
            }
        };
        if new {
            let class = self.class_among(&items)?;
            return self.method_in_hierarchy(class, "constructor", false);
        }
        match self.one_binding(&items).as_slice() {
            [function] if crate::resolve::kind_of(self.files, *function).is_callable() => {
                Some(*function)
            }
            _ => None,
        }
    }

    /// The class of the value call `index` of `file` returns.
    fn class_of_call(&self, file: u32, index: u32, hops: usize) -> Option<ItemRef> {
        if hops > MAX_TYPE_HOPS {
            return None;
        }
        let view = &self.files[file as usize];
        let call = view.summary.calls.get(index as usize)?;
        match (call.kind, call.receiver_call) {
            (CallKind::Path, _) => {
                self.class_of_callee(file, call.caller, call.line, &[&call.text], hops)
            }
            // `a().b()`: b's return annotation on the class a returns.
            (CallKind::Method, Some(inner)) => {
                let class = self.class_of_call(file, inner, hops + 1)?;
                let method = self.method_in_hierarchy(class, &call.text, false)?;
                self.returned_class(method, hops + 1)
            }
            (CallKind::Method, None) => {
                let mut path = dotted(&call.receiver)?;
                path.push(&call.text);
                self.class_of_callee(file, call.caller, call.line, &path, hops)
            }
        }
    }

    /// The class of field `name` of `class` (or of its nearest base that
    /// has one): its type declared in the class body (`private x: Foo`, a
    /// class-level `x: Foo`), else what methods assign to it
    /// (`self.x = Foo()`, `this.x = new Foo()`, `self.x = param` of a
    /// typed parameter), which must agree where they name classes.
    fn field_class(
        &self,
        class: ItemRef,
        name: &str,
        hops: usize,
        visited: &mut FxHashSet<ItemRef>,
    ) -> Option<ItemRef> {
        if !visited.insert(class) || visited.len() > 16 {
            return None;
        }
        let view = &self.files[class.file as usize];
        let summary = view.summary;
        let mut found: Option<ItemRef> = None;
        let fields: Vec<&TypedName> = summary
            .fields
            .iter()
            .filter(|f| f.name == name)
            .filter(|f| {
                f.scope.is_some_and(|scope| {
                    scope == class.item
                        || summary.items.get(scope as usize).and_then(|s| s.parent)
                            == Some(class.item)
                })
            })
            .collect();
        // A declaration in the class body (`atom_: IAtom`) is the type;
        // what methods assign (`this.atom_ = new Atom()`) only without one.
        let declared = fields.iter().any(|f| f.scope == Some(class.item));
        let seen = !fields.is_empty();
        for field in fields {
            let Some(scope) = field.scope else { continue };
            if declared && scope != class.item {
                continue;
            }
            // `self.x = ctx` with `ctx: Context`: the parameter's type.
            let (text, text_scope, line) =
                match view.typed_local(scope, &field.type_text, field.line) {
                    Some(local) if dotted(&field.type_text).is_some_and(|p| p.len() == 1) => {
                        (local.type_text.as_str(), local.scope, local.line)
                    }
                    _ => (field.type_text.as_str(), Some(scope), field.line),
                };
            let class_found = self.class_of_type(class.file, text_scope, line, text, hops + 1);
            match (found, class_found) {
                (_, None) => {}
                (None, Some(c)) => found = Some(c),
                (Some(a), Some(b)) if a == b => {}
                _ => return None,
            }
        }
        if seen {
            return found;
        }
        self.bases(class)
            .into_iter()
            .find_map(|base| self.field_class(base, name, hops, visited))
    }
}
