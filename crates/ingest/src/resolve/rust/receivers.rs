//! Receivers: the type a method call's receiver has (a typed local or
//! parameter, a field of `self`, a generic parameter's trait bounds), and
//! the text rules that read a type name out of a declaration.

use super::Index;
use crate::limits::MAX_CALL_CHAIN;
use crate::resolve::{ItemRef, Outcome, Rule, is_identifier, kind_of, settle};
use crate::summary::{CallRef, ItemKind, TypedName};

impl Index<'_> {
    /// `x.m()` where `x: G`, or `G::m()`, and `G` is a generic parameter
    /// of the caller or its impl: the method `m` of a bound trait
    /// (`G: IntoNeighbors`), or external when no bound of the crate
    /// declares it. `None` when `G` is not a generic parameter there.
    ///
    /// `param` may be an associated type of a generic parameter
    /// (`G::Weight`, from `G::Weight::zero()` or `w: G::Weight`): its
    /// bounds are those written on that path (`where G::Weight: Measure`);
    /// `None` when none of them names a trait of the crate (what the
    /// associated type is bound to in `G`'s traits is not read here).
    pub(super) fn generic_receiver(
        &self,
        file: u32,
        call: &CallRef,
        param: &str,
        method: &str,
    ) -> Option<Outcome> {
        let (first, associated) = match param.split_once("::") {
            Some((first, rest)) if is_identifier(first) && is_identifier(rest) => (first, true),
            Some(_) => return None,
            None => (param, false),
        };
        let headers = self.generic_headers(file, call);
        if !headers
            .iter()
            .any(|(_, header)| declares_parameter(header, first))
        {
            return None;
        }
        let mut found = Vec::new();
        let mut bound_traits = 0usize;
        for (index, header) in &headers {
            let module = self.module_of(file, Some(*index));
            for bound in bounds_of(header, param) {
                if let Some(trait_ref) = self.resolve_type(module, &bound)
                    && kind_of(self.files, trait_ref) == ItemKind::Trait
                {
                    bound_traits += 1;
                    found.extend(self.methods_of(trait_ref, method));
                }
            }
        }
        if associated && bound_traits == 0 {
            return None;
        }
        Some(settle(self.files, &found, Rule::TraitBound).unwrap_or(Outcome::External))
    }

    /// The signatures around the caller that may declare generic
    /// parameters: the caller, its enclosing functions, impl or trait.
    fn generic_headers<'s>(&'s self, file: u32, call: &CallRef) -> Vec<(u32, &'s str)> {
        let summary = self.files[file as usize].summary;
        let mut headers = Vec::new();
        let mut current = call.caller;
        while let Some(index) = current {
            let Some(item) = summary.items.get(index as usize) else {
                break;
            };
            if item.kind.is_callable()
                || item.kind == ItemKind::Impl
                || item.kind == ItemKind::Trait
            {
                headers.push((index, item.signature.as_str()));
            }
            current = item.parent;
        }
        headers
    }

    /// Whether `param` is a generic parameter declared around the caller.
    fn declares_generic(&self, file: u32, call: &CallRef, param: &str) -> bool {
        self.generic_headers(file, call)
            .iter()
            .any(|(_, header)| declares_parameter(header, param))
    }

    /// The item enclosing `item` (itself at file level).
    fn parent_of(&self, item: ItemRef) -> ItemRef {
        match self.files[item.file as usize].summary.items[item.item as usize].parent {
            Some(parent) => ItemRef {
                file: item.file,
                item: parent,
            },
            None => item,
        }
    }

    /// `x.m()` where `x`'s type is unknown but comes from generic code: `x`
    /// is bound to what a trait method returns (`for e in g.edges(a)` with
    /// `G: IntoEdges`, `let n = g.to_index(..)`), or has a type written
    /// through a generic parameter (`a: G::NodeId`), or the receiver is
    /// such a call itself (`e.source().index()`). When the trait methods
    /// among the candidates are one trait's declaration and its impls, that
    /// declaration: a value typed by an associated type dispatches through
    /// its trait. An inherent method of the same name stays a candidate
    /// elsewhere (`calls_candidate`).
    pub(super) fn generic_trait_method(
        &self,
        file: u32,
        call: &CallRef,
        candidates: &[ItemRef],
        depth: usize,
    ) -> Option<Outcome> {
        if !self.generic_origin(file, call, depth) {
            return None;
        }
        let through_traits: Vec<ItemRef> = candidates
            .iter()
            .copied()
            .filter(|c| self.trait_of_method(*c).is_some())
            .collect();
        if through_traits.len() == candidates.len() {
            return None; // `common_trait_method` already said no
        }
        let declared = self.common_trait_method(&through_traits, &call.text)?;
        Some(Outcome::Resolved(declared, Rule::GenericTraitMethod))
    }

    /// Whether `call`'s receiver is a value produced in generic code (see
    /// [`Self::generic_trait_method`]).
    fn generic_origin(&self, file: u32, call: &CallRef, depth: usize) -> bool {
        // A call that resolves to a trait's method, or whose receiver is a
        // value of a generic parameter's type (`g.edges(a)` with `g: G`,
        // whatever G's bounds resolve to).
        let from_trait_method = |index: u32| {
            if depth >= MAX_CALL_CHAIN {
                return false;
            }
            if matches!(
                self.resolve_call_memo(file, index, depth + 1),
                Outcome::Resolved(target, _)
                    if kind_of(self.files, self.parent_of(target)) == ItemKind::Trait
            ) {
                return true;
            }
            let view = &self.files[file as usize];
            view.summary.calls.get(index as usize).is_some_and(|value| {
                is_identifier(&value.receiver)
                    && view
                        .typed_local_around(value.caller, &value.receiver, value.line)
                        .is_some_and(|t| self.through_generic(file, value, t).is_some())
            })
        };
        if let Some(receiver_call) = call.receiver_call {
            return from_trait_method(receiver_call);
        }
        if !is_identifier(&call.receiver) {
            return false;
        }
        let Some(found) =
            self.files[file as usize].typed_local_around(call.caller, &call.receiver, call.line)
        else {
            return false;
        };
        if let Some(value_call) = found.value_call
            && found.line <= call.line
        {
            return from_trait_method(value_call);
        }
        self.through_generic(file, call, found) == Some(true)
    }

    /// Whether a local's written type starts with a generic parameter
    /// declared around `call` (`g: G`, `a: G::NodeId`): `Some(true)` when
    /// it goes on past the parameter (an associated type), `None` when it
    /// does not start with one.
    fn through_generic(&self, file: u32, call: &CallRef, local: &TypedName) -> Option<bool> {
        let path = receiver_type_path(&local.type_text);
        let (first, associated) = match path.split_once("::") {
            Some((first, _)) => (first, true),
            None => (path.as_str(), false),
        };
        (is_identifier(first) && self.declares_generic(file, call, first)).then_some(associated)
    }

    /// `x.m()` on a receiver of crate type `owner`: its method `m`; a crate
    /// type without one reaches a blanket trait's method, or one of a
    /// trait from elsewhere (Iterator, Display) or of a deref target
    /// (external).
    pub(super) fn method_of_type(
        &self,
        owner: ItemRef,
        file: u32,
        call: &CallRef,
        rule: Rule,
    ) -> Outcome {
        let found = self.methods_of(owner, &call.text);
        settle(self.files, &found, rule)
            .or_else(|| self.blanket_method(file, call))
            .unwrap_or(Outcome::External)
    }

    /// `x.m()` where `x` is a parameter or local with a declared or evident
    /// type, or `self.f.m()` where `f` is a field of the impl's type: the
    /// methods of that type. `None` when the receiver's type is unknown.
    pub(super) fn typed_receiver(
        &self,
        file: u32,
        call: &CallRef,
        depth: usize,
    ) -> Option<Outcome> {
        let receiver = call.receiver.as_str();
        // `self.next[0].m()`, `v[i].m()`: an element of what is indexed.
        if let Some(base) = indexed_base(receiver) {
            let written = self.declared_type(file, call.caller, base, call.line)?;
            let element = self.element_of(&written)?;
            return Some(self.method_of_type(element, file, call, Rule::ElementType));
        }
        let (type_text, module) = if let Some(field) = receiver.strip_prefix("self.") {
            if !is_identifier(field) {
                return None;
            }
            let declared = self.declared_type(file, call.caller, receiver, call.line)?;
            (declared.text, declared.module)
        } else if is_identifier(receiver) {
            let found =
                self.files[file as usize].typed_local_around(call.caller, receiver, call.line)?;
            // `for x in g.edges(a)`: an element of what is iterated.
            if found.element {
                let element = self.element_type(file, call.caller, found, depth)?;
                return Some(self.method_of_type(element, file, call, Rule::ElementType));
            }
            // `let x = f(..)?`: the type f returns, peeled. A binding on the
            // call's own line may be the call's result (`let x = x.f()`).
            if let Some(value_call) = found.value_call
                && found.line < call.line
                && depth < MAX_CALL_CHAIN
                && let Outcome::Resolved(function, _) =
                    self.resolve_call_memo(file, value_call, depth + 1)
                && let Some(returned) = self.return_type(function, found.peel)
            {
                return Some(self.method_of_type(returned, file, call, Rule::TypedReceiver));
            }
            if found.type_text.is_empty() {
                return None;
            }
            (found.type_text.as_str(), self.module_of(file, call.caller))
        } else {
            return None;
        };
        let path = receiver_type_path(type_text);
        let target = if path == "Self" {
            self.self_type(file, call.caller)
        } else {
            self.resolve_type(module, &path)
        };
        match target {
            Some(t) => Some(self.method_of_type(t, file, call, Rule::TypedReceiver)),
            None => {
                let last = path.rsplit("::").next().unwrap_or("");
                if STD_TYPES.contains(&last) {
                    return Some(Outcome::External);
                }
                // `a: NodeIndex<Ix>` with `type NodeIndex<Ix> = Ix;`.
                if let Some(argument) = self.alias_parameter(module, type_text) {
                    let argument = receiver_type_path(&argument);
                    return match self.resolve_type(module, &argument) {
                        Some(t) => Some(self.method_of_type(t, file, call, Rule::TypedReceiver)),
                        None if is_identifier(&argument) => {
                            self.generic_receiver(file, call, &argument, &call.text)
                        }
                        None => None,
                    };
                }
                // `w: G` or `w: G::Weight` (with `G::Weight: Measure`).
                if let Some(outcome) = self.generic_receiver(file, call, &path, &call.text) {
                    return Some(outcome);
                }
                // `e: G::EdgeRef` with no bound written on it.
                let (first, associated) = path.split_once("::")?;
                if is_identifier(first)
                    && is_identifier(associated)
                    && self.declares_generic(file, call, first)
                {
                    return self.associated_type_method(associated, &call.text);
                }
                None
            }
        }
    }
}

/// Whether a header declares generic parameter `param` (`<G: Walk, H>`).
fn declares_parameter(header: &str, param: &str) -> bool {
    header.match_indices(param).any(|(at, _)| {
        let before = header[..at].trim_end().chars().last();
        let after = header[at + param.len()..].trim_start().chars().next();
        matches!(before, Some('<' | ',')) && matches!(after, Some(':' | ',' | '>'))
    })
}

/// The trait bounds of generic parameter `param` written in a header
/// (`<G: A + B<X>>`, `where G: C`), as paths without generic arguments.
fn bounds_of(header: &str, param: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in header.match_indices(param) {
        let before = header[..at].chars().last();
        if !before.is_some_and(|c| c == '<' || c == ',' || c.is_whitespace()) {
            continue;
        }
        let rest = header[at + param.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':').filter(|r| !r.starts_with(':')) else {
            continue;
        };
        // Up to the next ',' / '>' / '{' at generic depth 0.
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth == 0 => {
                    end = i;
                    break;
                }
                '>' | ')' => depth -= 1,
                ',' | '{' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        for bound in rest[..end].split('+') {
            let bound = crate::text::normalize_type_text(bound.trim().trim_start_matches('?'));
            if !bound.is_empty() && !bound.starts_with('\'') {
                out.push(bound);
            }
        }
    }
    out
}

/// `self.next[0]` -> `self.next`, `v[i + 1]` -> `v`: the local or `self`
/// field an indexing receiver indexes; `None` for anything else.
fn indexed_base(receiver: &str) -> Option<&str> {
    let inner = receiver.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    let base = &inner[..open];
    let field = base.strip_prefix("self.").unwrap_or(base);
    is_identifier(field).then_some(base)
}

/// The type a method call on a value of this declared type dispatches on:
/// references, `mut`, `dyn`, `impl`, lifetimes and smart pointers
/// (`Box`, `Rc`, `Arc`) removed, then generic arguments.
pub(super) fn receiver_type_path(text: &str) -> String {
    let mut t = text.trim();
    loop {
        let before = t;
        t = t.trim_start_matches('&').trim_start();
        for prefix in ["mut ", "dyn ", "impl "] {
            t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
        }
        if t.starts_with('\'') {
            t = t.split_once(' ').map_or("", |(_, rest)| rest).trim_start();
        }
        for wrapper in ["Box<", "Rc<", "Arc<", "std::rc::Rc<", "std::sync::Arc<"] {
            if let Some(inner) = t.strip_prefix(wrapper).and_then(|r| r.strip_suffix('>')) {
                t = inner.trim();
            }
        }
        if t == before {
            break;
        }
    }
    crate::text::normalize_type_text(t)
}

/// The return type written in a function signature: what follows `->`
/// after the parameter list, up to a `where` clause. Arrows inside the
/// generics or parameters (`F: Fn(u8) -> u8`) and in the where clause are
/// not it.
pub(super) fn return_type_text(signature: &str) -> Option<&str> {
    let mut angle = 0usize;
    let mut paren = 0usize;
    let mut params_end = None;
    let bytes = signature.as_bytes();
    for (at, c) in signature.char_indices() {
        match c {
            // `->` is not a closing angle bracket.
            '>' if at > 0 && bytes[at - 1] == b'-' => {}
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            '(' => paren += 1,
            ')' => {
                paren = paren.saturating_sub(1);
                if paren == 0 && angle == 0 {
                    params_end = Some(at + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let rest = signature[params_end?..].trim_start().strip_prefix("->")?;
    let returned = match rest.find(" where ") {
        Some(at) => &rest[..at],
        None => rest,
    };
    let returned = returned.trim().trim_end_matches(['{', ';']).trim();
    (!returned.is_empty()).then_some(returned)
}

/// `Result<T, E>`, `io::Result<T>`, `Option<T>` -> `T`: what `?`,
/// `.unwrap()` or `.expect(..)` leaves of a returned type. `None` for any
/// other type.
pub(super) fn peel_wrapper(text: &str) -> Option<&str> {
    let text = text.trim();
    let open = text.find('<')?;
    let name = text[..open].trim().rsplit("::").next().unwrap_or("");
    if !matches!(name, "Result" | "Option") {
        return None;
    }
    first_generic_arg(text)
}

/// `Vec<Table<K>>` -> `Table<K>`, `HashMap<K, V>` -> `K`: the first
/// generic argument of a type, `None` when it has none.
pub(super) fn first_generic_arg(text: &str) -> Option<&str> {
    let text = text.trim();
    let open = text.find('<')?;
    let inner = text[open + 1..].strip_suffix('>')?;
    let mut depth = 0usize;
    for (at, c) in inner.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Some(inner[..at].trim()),
            _ => {}
        }
    }
    Some(inner.trim())
}

/// Std types: a receiver of one of them never dispatches into the crate.
const STD_TYPES: &[&str] = &[
    "Vec",
    "String",
    "str",
    "Option",
    "Result",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "Cow",
    "Path",
    "PathBuf",
    "OsStr",
    "OsString",
    "Duration",
    "Instant",
    "SystemTime",
    "Mutex",
    "RwLock",
    "Cell",
    "RefCell",
    "File",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "bool",
    "char",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexing_receivers_name_what_they_index() {
        assert_eq!(indexed_base("self.next[0]"), Some("self.next"));
        assert_eq!(indexed_base("v[i + 1]"), Some("v"));
        assert_eq!(indexed_base("a.b[0]"), None);
        assert_eq!(indexed_base("v"), None);
    }

    #[test]
    fn receiver_types_see_through_references_and_smart_pointers() {
        assert_eq!(receiver_type_path("&'a mut Table<K>"), "Table");
        assert_eq!(receiver_type_path("Box<dyn Shape>"), "Shape");
        assert_eq!(receiver_type_path("&Arc<crate::a::Node>"), "crate::a::Node");
        assert_eq!(receiver_type_path("impl Visitor"), "Visitor");
        assert_eq!(receiver_type_path("Vec<u8>"), "Vec");
        assert_eq!(peel_wrapper("Result<Table<K>, Error>"), Some("Table<K>"));
        assert_eq!(peel_wrapper("io::Result<Self>"), Some("Self"));
        assert_eq!(
            peel_wrapper("Option<&'a Node<(u8, u16)>>"),
            Some("&'a Node<(u8, u16)>")
        );
        assert_eq!(peel_wrapper("Vec<Table>"), None);
        assert_eq!(
            return_type_text(
                "pub fn filter_map_owned<'a, F, G>( self, f: F, ) -> Graph<N2, E2> where F: FnMut(N) -> Option<N2>"
            ),
            Some("Graph<N2, E2>")
        );
        assert_eq!(
            return_type_text("fn apply<F: Fn(u8) -> u8>(f: F) -> Result<Table, E>"),
            Some("Result<Table, E>")
        );
        assert_eq!(return_type_text("fn run(&self)"), None);
        assert!(is_identifier("table_2") && !is_identifier("a.b") && !is_identifier("2x"));
        assert_eq!(
            bounds_of(
                "pub fn toposort<G>(g: G) -> X where G: IntoNeighbors + Visitable<Map = M>",
                "G"
            ),
            vec!["IntoNeighbors".to_string(), "Visitable".to_string()]
        );
        assert_eq!(
            bounds_of("fn f<G: a::Walk + 'static, H>(g: G)", "G"),
            vec!["a::Walk".to_string()]
        );
    }
}
