//! Type texts of Python and TypeScript as written (an annotation, the
//! callee of `x = Foo(..)`, a function's return annotation) reduced to the
//! dotted name resolution can look up. Pure text work: what the name
//! means is decided in `classes.rs`.

/// What a type text names: `Named(path)` for an annotation (`Foo`,
/// `t.Optional["Foo"]`, `Subscriber<T> | undefined`), `Called(path)` for
/// a call (`Foo(a, b)`, `mod.make(x)`: the callee, whose class or return
/// type is the value's type). `None` for anything else (a union of two
/// types, an array, a function type, a subscript).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TypeText<'t> {
    Named(Vec<&'t str>),
    Called(Vec<&'t str>),
    /// A callback's parameter (`[new ]callee() => argument.parameter`,
    /// written by extraction): typed by the callee's parameter `argument`,
    /// a function type, whose parameter `parameter` has the type.
    Argument {
        callee: Vec<&'t str>,
        new: bool,
        argument: usize,
        parameter: usize,
    },
}

/// `[new ]callee() => argument.parameter` split up.
fn callback_position(text: &str) -> Option<(&str, usize, usize)> {
    let (call, position) = text.rsplit_once("() => ")?;
    let (argument, parameter) = position.split_once('.')?;
    Some((call, argument.parse().ok()?, parameter.parse().ok()?))
}

/// Whether a local's type text is the mark of a callback's parameter
/// (whatever its callee).
pub(super) fn callback_parameter(text: &str) -> bool {
    callback_position(text).is_some()
}

/// Wrappers whose argument is the type a value has for method lookup:
/// `Optional[Foo]` is a Foo or None, `Type[Foo]` the class itself (its
/// class methods are looked up the same way).
const PYTHON_WRAPPERS: &[&str] = &["Optional", "Type", "type", "ClassVar", "Final", "Annotated"];

/// Parts of a union that are no value to call a method on.
const NOTHING: &[&str] = &["None", "null", "undefined", "void"];

pub(super) fn type_text(text: &str) -> Option<TypeText<'_>> {
    let text = text.trim();
    if let Some((call, argument, parameter)) = callback_position(text) {
        let (new, callee) = match call.strip_prefix("new ") {
            Some(callee) => (true, callee),
            None => (false, call),
        };
        return Some(TypeText::Argument {
            callee: dotted(callee)?,
            new,
            argument,
            parameter,
        });
    }
    let prefix_len = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '$'))
        .unwrap_or(text.len());
    if prefix_len > 0 && text[prefix_len..].starts_with('(') {
        // One argument list to the end: `f(x)(y)` calls what f returns.
        let close = closing_paren(text, prefix_len)?;
        if close + 1 != text.len() {
            return None;
        }
        return dotted(&text[..prefix_len]).map(TypeText::Called);
    }
    annotation(text, 0).map(TypeText::Named)
}

/// Most wrappers (`Optional[Type["Foo"]]`) read through.
const MAX_WRAPPERS: usize = 4;

fn annotation(text: &str, depth: usize) -> Option<Vec<&str>> {
    let text = text.trim().trim_matches(['"', '\'']).trim();
    if depth > MAX_WRAPPERS {
        return None;
    }
    let parts = split_top(text, '|');
    let mut values = parts
        .iter()
        .map(|part| part.trim())
        .filter(|part| !NOTHING.contains(&part.trim_matches(['"', '\''])));
    let (Some(only), None) = (values.next(), values.next()) else {
        return None;
    };
    if parts.len() > 1 {
        return annotation(only, depth + 1);
    }
    // `Foo<T>` / `Foo[T]`: the name before the arguments.
    let open = only.find(['[', '<']).unwrap_or(only.len());
    let (name, rest) = only.split_at(open);
    let path = dotted(name.trim())?;
    if rest.is_empty() {
        return Some(path);
    }
    if !(rest.ends_with(']') || rest.ends_with('>')) || rest.ends_with("[]") {
        return None;
    }
    let last = path.last().copied().unwrap_or("");
    if rest.starts_with('[') && PYTHON_WRAPPERS.contains(&last) {
        let inner = &rest[1..rest.len() - 1];
        return match split_top(inner, ',').as_slice() {
            [first, ..] if last == "Annotated" => annotation(first, depth + 1),
            [single] => annotation(single, depth + 1),
            _ => None,
        };
    }
    Some(path)
}

/// `a.b.C` as its segments, each an identifier.
pub(super) fn dotted(text: &str) -> Option<Vec<&str>> {
    let segments: Vec<&str> = text.split('.').collect();
    let identifier = |s: &&str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.trim_start_matches('#')
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    segments.iter().all(identifier).then_some(segments)
}

/// `text` split at `separator` outside brackets and quotes.
fn split_top(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' | '<' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            '>' if !text[..i].ends_with('=') => depth -= 1,
            _ if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The byte index of the bracket closing the one at `open`.
fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The return annotation of a function's signature as written: Python's
/// `def f(x) -> Foo`, TypeScript's `function f(x: A): Foo<T>` or method
/// `m(x): Foo`. `None` when it has none.
pub(super) fn return_annotation(signature: &str) -> Option<&str> {
    let close = closing_paren(signature, signature.find('(')?)?;
    let rest = signature[close + 1..].trim_start();
    let annotation = rest
        .strip_prefix("->")
        .or_else(|| rest.strip_prefix(':'))?
        .trim();
    (!annotation.is_empty()).then_some(annotation)
}

/// The written type of parameter `index` of a signature or function type
/// (`f(a: A, b: (x: X) => Y)`), TypeScript's `this:` pseudo-parameter
/// left out.
pub(super) fn parameter_type(signature: &str, index: usize) -> Option<&str> {
    let open = signature.find('(')?;
    let close = closing_paren(signature, open)?;
    let parameter = split_top(&signature[open + 1..close], ',')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with("this:") && !p.starts_with("this :"))
        .nth(index)?;
    let colon = top_level_find(parameter, |rest| rest.starts_with(':'))?;
    let written = &parameter[colon + 1..];
    // A default value (`b: number = 1`), not an arrow's `=>`.
    let written = match top_level_find(written, |rest| {
        rest.starts_with('=') && !rest.starts_with("=>")
    }) {
        Some(equals) => &written[..equals],
        None => written,
    };
    let written = written.trim();
    (!written.is_empty()).then_some(written)
}

/// The first byte index outside brackets where `at` holds for the rest.
fn top_level_find(text: &str, at: impl Fn(&str) -> bool) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '[' | '<' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            // `=>` is no closing angle bracket.
            '>' if !text[..i].ends_with('=') => depth -= 1,
            _ if depth == 0 && at(&text[i..]) => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether `name` is a parameter written without a type in `signature`
/// (`def f(self, env, n: int = 1)`: `self` and `env`).
pub(super) fn untyped_parameter(signature: &str, name: &str) -> bool {
    let Some(open) = signature.find('(') else {
        return false;
    };
    let Some(close) = closing_paren(signature, open) else {
        return false;
    };
    split_top(&signature[open + 1..close], ',')
        .iter()
        .any(|parameter| {
            let parameter = parameter.trim().trim_start_matches('*');
            let head = parameter.split('=').next().unwrap_or("").trim();
            head == name
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(text: &str) -> Option<Vec<&str>> {
        match type_text(text)? {
            TypeText::Named(path) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn annotations_reduce_to_the_named_class() {
        assert_eq!(named("Foo"), Some(vec!["Foo"]));
        assert_eq!(named("t.Optional[\"Context\"]"), Some(vec!["Context"]));
        assert_eq!(named("'nodes.Node'"), Some(vec!["nodes", "Node"]));
        assert_eq!(named("Subscriber<T> | undefined"), Some(vec!["Subscriber"]));
        assert_eq!(named("None | Foo"), Some(vec!["Foo"]));
        assert_eq!(named("t.Type[Command]"), Some(vec!["Command"]));
        assert_eq!(named("Dict[str, Foo]"), Some(vec!["Dict"]));
        assert_eq!(named("Foo | Bar"), None);
        assert_eq!(named("Foo[]"), None);
        assert_eq!(named("(x: T) => void"), None);
        assert_eq!(named("t.Union[Foo, Bar]"), Some(vec!["t", "Union"]));
    }

    #[test]
    fn calls_name_their_callee() {
        assert_eq!(
            type_text("requests.Session()"),
            Some(TypeText::Called(vec!["requests", "Session"]))
        );
        assert_eq!(
            type_text("Foo(a, b=1)"),
            Some(TypeText::Called(vec!["Foo"]))
        );
        assert_eq!(type_text("f(x)(y)"), None);
        assert_eq!(type_text("x[0](y)"), None);
    }

    #[test]
    fn untyped_parameters_are_found_in_the_signature() {
        let signature = "def test(self, env, n: int = 1, flag=False, *args, **kw) -> None";
        assert!(untyped_parameter(signature, "env"));
        assert!(untyped_parameter(signature, "flag"));
        assert!(untyped_parameter(signature, "kw"));
        assert!(!untyped_parameter(signature, "n"));
        assert!(!untyped_parameter(signature, "other"));
    }

    #[test]
    fn parameter_types_and_callbacks() {
        let operate = "export function operate<T, R>( init: (liftedSource: Observable<T>, subscriber: Subscriber<R>) => (() => void) | void ): OperatorFunction<T, R>";
        let init = parameter_type(operate, 0).expect("init has a type");
        assert_eq!(parameter_type(init, 1), Some("Subscriber<R>"));
        let constructor = "constructor(subscribe?: (this: Observable<T>, subscriber: Subscriber<T>) => TeardownLogic)";
        let subscribe = parameter_type(constructor, 0).expect("typed");
        assert_eq!(parameter_type(subscribe, 0), Some("Subscriber<T>"));
        assert_eq!(parameter_type("f(a, b: number = 1)", 1), Some("number"));
        assert_eq!(parameter_type("f(a, b)", 1), None);
        assert_eq!(
            type_text("new Observable() => 0.1"),
            Some(TypeText::Argument {
                callee: vec!["Observable"],
                new: true,
                argument: 0,
                parameter: 1
            })
        );
    }

    #[test]
    fn return_annotations_follow_the_parameters() {
        assert_eq!(
            return_annotation("def get(self, key: str = \"a\") -> \"Foo\""),
            Some("\"Foo\"")
        );
        assert_eq!(
            return_annotation("export function innerFrom<O>(input: O): Observable<T>"),
            Some("Observable<T>")
        );
        assert_eq!(
            return_annotation("pipe(...ops: ((x) => y)[]): Observable<R>"),
            Some("Observable<R>")
        );
        assert_eq!(return_annotation("def run(self)"), None);
        assert_eq!(return_annotation("m(a: number)"), None);
    }
}
