//! `#[cfg(..)]` on a Rust item: whether the item is compiled out in the
//! configuration a reference build sees (rust-analyzer's defaults: a debug
//! build of a Linux x86_64 target, `test` on). Only predicates whose value
//! is known from the source alone count: `debug_assertions`, `test`, the
//! target, `miri`, `doc`, `any()` / `all()`, and `not` / `all` / `any` of
//! those. Anything else (features, cfgs a build script sets) stays unknown,
//! and an unknown predicate never compiles an item out.

/// Whether an attribute written on the lines right before an item starting
/// at byte `start` (`#[cfg(..)]`, with blank lines, comments and other
/// one-line attributes between) switches it off. Read from the text, not
/// the tree: a sibling walk in tree-sitter goes through the parent.
pub(super) fn compiled_out(start: usize, source: &str) -> bool {
    let before = source.get(..start).unwrap_or("");
    // The text on the item's own line before it (`#[cfg(x)] fn f()`).
    let (earlier, same_line) = before.rsplit_once('\n').unwrap_or(("", before));
    for line in std::iter::once(same_line).chain(earlier.lines().rev()) {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if !line.starts_with("#[") {
            break;
        }
        if attribute_is_off(line) {
            return true;
        }
    }
    false
}

/// `#[cfg(PREDICATE)]` whose predicate is known false.
fn attribute_is_off(text: &str) -> bool {
    let inner = text
        .trim()
        .strip_prefix("#[")
        .and_then(|t| t.strip_suffix(']'))
        .map(str::trim);
    let Some(predicate) = inner
        .and_then(|t| t.strip_prefix("cfg"))
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix('('))
        .and_then(|t| t.strip_suffix(')'))
    else {
        return false;
    };
    evaluate(predicate.trim()) == Some(false)
}

/// A cfg predicate's value: `None` when it cannot be known from the
/// source (a feature, an unknown name).
fn evaluate(predicate: &str) -> Option<bool> {
    let predicate = predicate.trim();
    if let Some((name, args)) = call_form(predicate) {
        let parts = split_top_level(args);
        return match name {
            "not" if parts.len() == 1 => evaluate(parts[0]).map(|value| !value),
            // Three-valued: one false decides `all`, one true decides `any`.
            "all" => combine(&parts, false),
            "any" => combine(&parts, true),
            _ => None,
        };
    }
    match predicate.split_once('=') {
        Some((key, value)) => {
            let value = value.trim().trim_matches('"');
            let is = |wanted: &str| Some(value == wanted);
            match key.trim() {
                "target_os" => is("linux"),
                "target_family" => is("unix"),
                "target_arch" => is("x86_64"),
                "target_pointer_width" => is("64"),
                "target_endian" => is("little"),
                _ => None,
            }
        }
        None => match predicate {
            "test" | "debug_assertions" | "unix" => Some(true),
            "miri" | "doc" | "doctest" | "docsrs" | "windows" => Some(false),
            _ => None,
        },
    }
}

/// `all(..)` (`decider` false) or `any(..)` (`decider` true) of `parts`:
/// the decider if one part has it, else unknown if one part is unknown.
/// `any()` is false, `all()` true.
fn combine(parts: &[&str], decider: bool) -> Option<bool> {
    let mut unknown = false;
    for part in parts {
        match evaluate(part) {
            Some(value) if value == decider => return Some(decider),
            Some(_) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(!decider)
}

/// `name(args)` -> (`name`, `args`); `None` when the text is not one.
fn call_form(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let name = text[..open].trim();
    let args = text[open + 1..].strip_suffix(')')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some((name, args))
}

/// The comma-separated parts of `args` at parenthesis depth 0 (strings
/// kept whole), empty parts dropped.
fn split_top_level(args: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut start = 0;
    for (at, c) in args.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth = depth.saturating_sub(1),
            ',' if !in_string && depth == 0 => {
                parts.push(args[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    parts.retain(|part| !part.is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::{attribute_is_off, evaluate};

    #[test]
    fn known_predicates_evaluate_and_features_stay_unknown() {
        assert_eq!(evaluate("debug_assertions"), Some(true));
        assert_eq!(evaluate("not(debug_assertions)"), Some(false));
        assert_eq!(evaluate("any()"), Some(false));
        assert_eq!(evaluate("all()"), Some(true));
        assert_eq!(evaluate("miri"), Some(false));
        assert_eq!(evaluate("target_os = \"windows\""), Some(false));
        assert_eq!(evaluate("feature = \"rayon\""), None);
        assert_eq!(evaluate("not(feature = \"std\")"), None);
        // One false part decides `all`, even next to an unknown one.
        assert_eq!(evaluate("all(feature = \"serde-1\", miri)"), Some(false));
        assert_eq!(evaluate("any(feature = \"std\", test)"), Some(true));
        assert_eq!(evaluate("any(feature = \"std\", miri)"), None);
        assert_eq!(evaluate("has_atomics"), None);
    }

    #[test]
    fn only_cfg_attributes_switch_items_off() {
        assert!(attribute_is_off("#[cfg(not(debug_assertions))]"));
        assert!(attribute_is_off("#[cfg(any())]"));
        assert!(!attribute_is_off("#[cfg(debug_assertions)]"));
        assert!(!attribute_is_off("#[cfg(feature = \"rayon\")]"));
        assert!(!attribute_is_off("#[cfg_attr(miri, ignore)]"));
        assert!(!attribute_is_off("#[inline]"));
    }
}
