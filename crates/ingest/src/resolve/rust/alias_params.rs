//! Aliases of a generic parameter: `pub type NodeIndex<Ix = DefaultIx> =
//! Ix;` names whatever argument a use site gives it, so `a: NodeIndex<Ix>`
//! in an impl with `Ix: IndexType` is an `Ix`, and `a.index()` is
//! `IndexType::index`.

use super::receivers::receiver_type_path;
use super::{Found, Index, ModId, Target};
use crate::resolve::kind_of;
use crate::summary::ItemKind;

impl Index<'_> {
    /// The type text an alias of one of its own generic parameters stands
    /// for at a use written `type_text` (`NodeIndex<Ix>` -> `Ix`; the
    /// parameter's default when the use gives no argument); `None` when
    /// `type_text` names no such alias.
    pub(super) fn alias_parameter(&self, module: ModId, type_text: &str) -> Option<String> {
        let path = receiver_type_path(type_text);
        let segments: Vec<String> = path.split("::").map(str::to_string).collect();
        let Found::Targets(targets) = self.resolve_use(module, &segments, 0) else {
            return None;
        };
        let mut aliases = targets.into_iter().filter_map(|t| match t {
            Target::Item(item) if kind_of(self.files, item) == ItemKind::TypeAlias => Some(item),
            _ => None,
        });
        let alias = aliases.next()?;
        let signature =
            &self.files[alias.file as usize].summary.items[alias.item as usize].signature;
        let (parameters, right) = alias_parts(signature)?;
        let position = parameters.iter().position(|(name, _)| *name == right)?;
        let arguments = generic_arguments(type_text);
        match arguments.get(position) {
            Some(argument) => Some(argument.to_string()),
            None => parameters[position].1.map(str::to_string),
        }
    }
}

/// A generic parameter's name and its default, if it has one.
type Parameter<'s> = (&'s str, Option<&'s str>);

/// `pub type A<X = D, Y> = X;` -> ([("X", Some("D")), ("Y", None)], "X").
fn alias_parts(signature: &str) -> Option<(Vec<Parameter<'_>>, &str)> {
    let right = super::imports::alias_right_side(signature)?.trim();
    let open = signature.find('<')?;
    let equals = signature.find('=')?;
    if open > equals {
        return None; // no generic parameters
    }
    let inside = top_level_args(&signature[open..])?;
    let parameters = inside
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((name, default)) => (
                name.split(':').next().unwrap_or("").trim(),
                Some(default.trim()),
            ),
            None => (p.split(':').next().unwrap_or("").trim(), None),
        })
        .collect();
    Some((parameters, right))
}

/// The generic arguments of a written type: `&NodeIndex<Ix, u8>` ->
/// `["Ix", "u8"]`; none when it has none.
fn generic_arguments(type_text: &str) -> Vec<&str> {
    let text = type_text.trim_start_matches(['&', ' ']);
    let text = text.strip_prefix("mut ").unwrap_or(text);
    match text.find('<') {
        Some(open) => top_level_args(&text[open..]).unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The comma-separated parts of `<a, b<c, d>, e>` at its top level.
fn top_level_args(text: &str) -> Option<Vec<&str>> {
    let inner = text.strip_prefix('<')?;
    let mut depth = 0usize;
    let mut start = 0;
    let mut out = Vec::new();
    for (at, c) in inner.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' if depth == 0 => {
                out.push(inner[start..at].trim());
                return Some(out);
            }
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(inner[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{alias_parts, generic_arguments};

    #[test]
    fn alias_of_a_parameter_and_use_site_arguments() {
        assert_eq!(
            alias_parts("pub type NodeIndex<Ix = DefaultIx> = Ix;"),
            Some((vec![("Ix", Some("DefaultIx"))], "Ix"))
        );
        assert_eq!(
            alias_parts("type P<A: Clone, B = u8> = B;"),
            Some((vec![("A", None), ("B", Some("u8"))], "B"))
        );
        assert_eq!(alias_parts("type A = B;"), None);
        assert_eq!(
            generic_arguments("&NodeIndex<Ix, Vec<u8>>"),
            vec!["Ix", "Vec<u8>"]
        );
        assert!(generic_arguments("Ix").is_empty());
    }
}
