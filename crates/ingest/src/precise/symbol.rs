//! Reading a SCIP symbol string (`rust-analyzer cargo petgraph 0.8.3
//! visit/NodeIndexable#to_index().`): its descriptors, the simple name of
//! a function symbol, and the part of its name below its module. The
//! grammar is SCIP's (`scip.proto`, `Symbol`): five space-separated
//! fields (scheme, manager, package, version; a space inside one is
//! doubled), then descriptors, each a name (plain, or in backticks with
//! a doubled backtick inside) and a suffix: `/` namespace, `#` type, `.`
//! term, `:` meta, `!` macro, `(..).` method, or `[name]` type parameter
//! and `(name)` parameter.

/// What a descriptor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    /// `name/`: a package or module.
    Namespace,
    /// `name#`: a class, struct, trait, interface.
    Type,
    /// `name.`: a value, field or variable.
    Term,
    /// `name:`: the indexer's own (TypeScript `typeLiteral3:`).
    Meta,
    /// `name!`.
    Macro,
    /// `name(disambiguator).`: a function or method.
    Method,
    /// `[name]`.
    TypeParameter,
    /// `(name)`.
    Parameter,
}

/// One descriptor: its name (unescaped) and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The name, backticks removed.
    pub name: String,
    /// What it is.
    pub suffix: Suffix,
}

/// The descriptors of a global symbol; `None` for a local symbol
/// (`local 12`) or text that does not follow the grammar.
pub fn descriptors(symbol: &str) -> Option<Vec<Descriptor>> {
    if symbol.starts_with("local ") {
        return None;
    }
    // Skip scheme, manager, package and version: a single space ends a
    // field, a doubled one is a space inside it.
    let bytes = symbol.as_bytes();
    let (mut at, mut fields) = (0, 0);
    while fields < 4 {
        let space = at + symbol.get(at..)?.find(' ')?;
        if bytes.get(space + 1) == Some(&b' ') {
            at = space + 2;
            continue;
        }
        at = space + 1;
        fields += 1;
    }
    let mut rest = symbol.get(at..)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (descriptor, after) = descriptor(rest)?;
        out.push(descriptor);
        rest = after;
    }
    (!out.is_empty()).then_some(out)
}

/// A name at the start of `text`: backticked or plain.
fn name(text: &str) -> Option<(String, &str)> {
    if let Some(quoted) = text.strip_prefix('`') {
        let mut name = String::new();
        let mut chars = quoted.char_indices();
        while let Some((offset, c)) = chars.next() {
            if c != '`' {
                name.push(c);
                continue;
            }
            if quoted[offset + 1..].starts_with('`') {
                name.push('`');
                chars.next();
                continue;
            }
            return Some((name, &quoted[offset + 1..]));
        }
        return None;
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '+' | '-' | '$')))
        .unwrap_or(text.len());
    Some((text[..end].to_string(), &text[end..]))
}

/// The first descriptor of `text` and what follows it.
fn descriptor(text: &str) -> Option<(Descriptor, &str)> {
    let enclosed = |open: &str, close: char, suffix: Suffix| -> Option<(Descriptor, &str)> {
        let (name, after) = name(text.strip_prefix(open)?)?;
        let after = after.strip_prefix(close)?;
        Some((Descriptor { name, suffix }, after))
    };
    if text.starts_with('[') {
        return enclosed("[", ']', Suffix::TypeParameter);
    }
    if text.starts_with('(') {
        return enclosed("(", ')', Suffix::Parameter);
    }
    let (name, after) = name(text)?;
    let mut chars = after.chars();
    let suffix = match chars.next()? {
        '/' => Suffix::Namespace,
        '#' => Suffix::Type,
        '.' => Suffix::Term,
        ':' => Suffix::Meta,
        '!' => Suffix::Macro,
        '(' => {
            let close = after.find(')')?;
            let after = after.get(close + 1..)?.strip_prefix('.')?;
            return Some((
                Descriptor {
                    name,
                    suffix: Suffix::Method,
                },
                after,
            ));
        }
        _ => return None,
    };
    Some((Descriptor { name, suffix }, chars.as_str()))
}

/// The name a function's block goes by: a TypeScript constructor
/// (`` `<constructor>` ``) is `constructor`, an accessor (`` `<get>size` ``)
/// its property's name; a private method keeps its `#`.
fn block_name(name: &str) -> &str {
    match name {
        "<constructor>" => "constructor",
        _ => name
            .strip_prefix("<get>")
            .or_else(|| name.strip_prefix("<set>"))
            .unwrap_or(name),
    }
}

/// The simple name of a function symbol (its last descriptor is a
/// method): `rust-analyzer cargo regex-syntax 0.8.12 hir/Hir#kind().` ->
/// `kind`; a TypeScript constructor -> `constructor`, a private method
/// `` Query#`#dispatch`(). `` -> `#dispatch`, a member of a type literal
/// `Annotation#typeLiteral3:make_().` -> `make_`. `None` for any other
/// symbol.
pub fn simple_name(symbol: &str) -> Option<&str> {
    // The name is a slice of the symbol: only a name with a doubled
    // backtick would need unescaping, and no function is named so.
    let trimmed = symbol.strip_suffix(").")?;
    let open = trimmed.rfind('(')?;
    let head = &trimmed[..open];
    let name = match head.strip_suffix('`') {
        Some(quoted) => &quoted[quoted.rfind('`')? + 1..],
        None => {
            let start = head
                .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '+' | '-' | '$')))
                .map_or(0, |at| at + 1);
            &head[start..]
        }
    };
    (!name.is_empty()).then(|| block_name(name))
}

/// The name of a function symbol below its module, with `separator`
/// between parts: the types, terms and method after the last namespace
/// (`visit/NodeIndexable#to_index().` -> `NodeIndexable::to_index`);
/// meta descriptors, parameters and type parameters are left out. With
/// it, whether the function is a method (it has a type or term above it).
/// `None` when the symbol is no function.
pub fn local_path(symbol: &str, separator: &str) -> Option<(String, bool)> {
    let descriptors = descriptors(symbol)?;
    let last = descriptors.last()?;
    if last.suffix != Suffix::Method {
        return None;
    }
    let start = descriptors
        .iter()
        .rposition(|d| d.suffix == Suffix::Namespace)
        .map_or(0, |at| at + 1);
    let mut parts: Vec<&str> = Vec::new();
    let mut method = false;
    for (at, descriptor) in descriptors.iter().enumerate().skip(start) {
        match descriptor.suffix {
            Suffix::Type | Suffix::Term => {
                parts.push(&descriptor.name);
                method = true;
            }
            Suffix::Method if at + 1 == descriptors.len() => {
                parts.push(block_name(&descriptor.name))
            }
            Suffix::Method => parts.push(&descriptor.name),
            _ => {}
        }
    }
    Some((parts.join(separator), method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_names() {
        assert_eq!(simple_name("rust-analyzer cargo a 1 m/T#f()."), Some("f"));
        assert_eq!(simple_name("scip-python python r 1 `a.b`/f()."), Some("f"));
        assert_eq!(
            simple_name("scip-typescript npm m 1 `a.ts`/A#`<constructor>`()."),
            Some("constructor")
        );
        assert_eq!(
            simple_name("scip-typescript npm q 5 src/`q.ts`/Query#`#dispatch`()."),
            Some("#dispatch")
        );
        assert_eq!(
            simple_name("scip-typescript npm m 6 src/`a.ts`/Annotation#typeLiteral3:make_()."),
            Some("make_")
        );
        assert_eq!(
            simple_name("scip-typescript npm m 6 src/`a.ts`/A#`<get>size`()."),
            Some("size")
        );
        assert_eq!(simple_name("rust-analyzer cargo a 1 m/f(+1)."), Some("f"));
        assert_eq!(simple_name("rust-analyzer cargo a 1 m/T#"), None);
        assert_eq!(simple_name("local 3"), None);
    }

    #[test]
    fn descriptors_and_local_paths() {
        let symbol = "rust-analyzer cargo petgraph 0.8.3 visit/NodeIndexable#to_index().";
        assert_eq!(
            local_path(symbol, "::"),
            Some(("NodeIndexable::to_index".to_string(), true))
        );
        assert_eq!(
            local_path("rust-analyzer cargo a 1 m/inner/f().", "::"),
            Some(("f".to_string(), false))
        );
        let private = "scip-typescript npm @tanstack/query-core 5.59.0 src/`mutation.ts`/Mutation#`#dispatch`().";
        assert_eq!(
            local_path(private, "."),
            Some(("Mutation.#dispatch".to_string(), true))
        );
        let spaced = "scip-x npm my  pkg 1 a/`b c`#`x``y`().";
        let parsed = descriptors(spaced).expect("parses");
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].name, "b c");
        assert_eq!(parsed[2].name, "x`y");
        let generic = "rust-analyzer cargo a 1 m/impl#[Graph][GraphBase]add().";
        assert_eq!(
            descriptors(generic).map(|d| d.len()),
            Some(5),
            "{:?}",
            descriptors(generic)
        );
        assert_eq!(local_path("local 4", "."), None);
        assert_eq!(local_path("rust-analyzer cargo a 1 m/T#", "::"), None);
        assert_eq!(descriptors("rust-analyzer cargo a 1 m/T#?"), None);
    }
}
