//! One configuration of a C file's conditional compilation: tree-sitter
//! parses C without a preprocessor, so a function whose header or braces
//! differ between `#if` branches (`#ifdef X { .. #else { .. #endif`) is a
//! syntax error, and the whole function is lost. [`first_branches`] keeps
//! the first branch of every `#if` chain (the `#else` of an `#if 0`), and
//! blanks the other branches and the conditional directives themselves, so
//! the parser sees straight-line code. Every byte keeps its offset (blanked
//! text becomes spaces, newlines stay), so positions, lines and ranges are
//! those of the real file.
//!
//! [`one_configuration`] also blanks declaration macros in function
//! headers (`int ZEXPORT deflate(..)`, `local void fill(..)`, `static int
//! __init setup(..)`): a word that cannot be the type, since the header
//! has its type already, expands to an attribute or a storage class, and
//! the parser would read it as a second type or the function's name.

/// A conditional chain being read: whether its current branch is kept,
/// and whether one of its branches was kept already.
struct Frame {
    parent_kept: bool,
    kept: bool,
    taken: bool,
}

/// The directive a line starts (`if`, `ifdef`, `else`, ...), or `None`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].trim()))
}

/// `#if 0` (or `#if (0)`): a branch that is never compiled.
fn is_false(condition: &str) -> bool {
    let condition = condition.split("//").next().unwrap_or("");
    let condition = condition.split("/*").next().unwrap_or("").trim();
    matches!(condition, "0" | "(0)")
}

/// The text tree-sitter parses for a C file with syntax errors: the first
/// branch of each conditional chain, declaration macros blanked; `None`
/// when that changes nothing.
pub(super) fn one_configuration(source: &str) -> Option<String> {
    let branches = first_branches(source);
    let text = branches.as_deref().unwrap_or(source);
    let mut out = String::with_capacity(text.len());
    let mut changed = branches.is_some();
    for line in text.split_inclusive('\n') {
        match blank_declaration_macros(line) {
            Some(blanked) => {
                out.push_str(&blanked);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// `tree`, the tree of `old`, edited to stand for `new`: a text of the
/// same length whose newlines are where `old` has them (what
/// [`one_configuration`] makes). Each run of differing bytes is one edit,
/// so parsing `new` with this tree reuses every subtree the runs leave
/// alone instead of parsing the file a second time from scratch (more than
/// half of the kernel's C files take this second parse).
pub(super) fn edited_to(tree: &tree_sitter::Tree, old: &str, new: &str) -> tree_sitter::Tree {
    let mut edited = tree.clone();
    let (old, new) = (old.as_bytes(), new.as_bytes());
    let mut row = 0;
    let mut line_start = 0;
    let mut at = 0;
    let point = |row: usize, line_start: usize, at: usize| tree_sitter::Point {
        row,
        column: at - line_start,
    };
    while at < old.len().min(new.len()) {
        if old[at] == new[at] {
            if old[at] == b'\n' {
                row += 1;
                line_start = at + 1;
            }
            at += 1;
            continue;
        }
        let start = at;
        let start_position = point(row, line_start, at);
        while at < old.len().min(new.len()) && old[at] != new[at] {
            // Blanking keeps newlines, so a run holds none; counted anyway
            // so positions stay right whatever the caller passes.
            if old[at] == b'\n' {
                row += 1;
                line_start = at + 1;
            }
            at += 1;
        }
        let end_position = point(row, line_start, at);
        edited.edit(&tree_sitter::InputEdit {
            start_byte: start,
            old_end_byte: at,
            new_end_byte: at,
            start_position,
            old_end_position: end_position,
            new_end_position: end_position,
        });
    }
    edited
}

/// C keywords that may stand in a function header before its name.
const SPECIFIER_KEYWORDS: &[&str] = &[
    "static",
    "extern",
    "inline",
    "__inline",
    "__inline__",
    "register",
    "auto",
    "const",
    "volatile",
    "restrict",
    "_Noreturn",
    "noreturn",
    "typedef",
    "struct",
    "union",
    "enum",
];
/// C's base type keywords: a header with one has its type.
const BASE_TYPES: &[&str] = &[
    "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool",
    "bool",
];

/// A function header at the start of a line (`int ZEXPORT f(`) with its
/// declaration macros blanked, or `None` when it has none. Function-like
/// attribute macros before the name go too (`static __always_inline
/// __alloc_size(1) void *kmalloc(..)`, the Linux tree's most called
/// function, was no block: the parser took `__alloc_size` for the name).
fn blank_declaration_macros(line: &str) -> Option<String> {
    // A header starts its line; indented lines are bodies.
    if !line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let grouped = blank_attribute_groups(line);
    let text = grouped.as_deref().unwrap_or(line);
    match blank_macro_words(text) {
        Some(blanked) => Some(blanked),
        None => grouped.filter(|text| header_words(text).is_some_and(|words| words.len() >= 2)),
    }
}

/// The words before a header's parameter list (offsets into `line`),
/// when `line` reads like a function header: nothing but identifiers and
/// `*` before the first `(`.
fn header_words(line: &str) -> Option<Vec<(usize, &str)>> {
    let head = &line[..line.find('(')?];
    if head.contains(['=', ';', '{', '}', '#', '"', '\'', ',', '[', ':']) {
        return None;
    }
    let words: Vec<(usize, &str)> = head
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty())
        .map(|w| (w.as_ptr() as usize - head.as_ptr() as usize, w))
        .collect();
    words
        .iter()
        .all(|(_, w)| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(words)
}

/// `line` with each `__name(..)` group that comes before another `(` on
/// the line blanked (offsets kept), or `None` when it has none. Only
/// reserved names (a leading `__`): the compiler's `__attribute__((..))`
/// and the attribute macros built on it (`__printf(2, 3)`,
/// `__alloc_size(1)`, `__aligned(8)`); a group must close on its line.
fn blank_attribute_groups(line: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut from = 0;
    loop {
        let text = out.as_deref().unwrap_or(line);
        let Some(open) = text[from..].find('(').map(|at| at + from) else {
            break;
        };
        let before = text[..open].trim_end();
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |at| at + 1);
        let name = &before[start..];
        if !name.starts_with("__") || text[from..start].contains(['(', ')', ';', '=', '{']) {
            break;
        }
        let Some(close) = matching_paren(text, open) else {
            break;
        };
        if !text[close + 1..].contains('(') {
            break;
        }
        let mut blanked = text.to_string();
        blanked.replace_range(start..=close, &" ".repeat(close + 1 - start));
        out = Some(blanked);
        from = close + 1;
    }
    out
}

/// The offset of the `)` closing the `(` at `open`, on the same text.
fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (at, byte) in text.bytes().enumerate().skip(open) {
        match byte {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            b'\n' | b';' | b'{' => return None,
            _ => {}
        }
    }
    None
}

/// [`blank_declaration_macros`] for a line whose attribute groups are
/// blanked already: the words that cannot be the type or the name.
fn blank_macro_words(line: &str) -> Option<String> {
    let words = header_words(line)?;
    if words.len() < 3 {
        return None;
    }
    let specifiers = &words[..words.len() - 1];
    let mut candidates = Vec::new();
    let mut has_type = false;
    let mut after_tag_keyword = false;
    for (at, word) in specifiers {
        if after_tag_keyword {
            after_tag_keyword = false;
            has_type = true;
        } else if BASE_TYPES.contains(word) {
            has_type = true;
        } else if SPECIFIER_KEYWORDS.contains(word) {
            after_tag_keyword = matches!(*word, "struct" | "union" | "enum");
        } else {
            candidates.push((*at, *word));
        }
    }
    if !has_type && !candidates.is_empty() {
        // One of the words is the type: the last that is not ALL-CAPS, or
        // the last.
        let is_caps = |w: &str| w.chars().all(|c| !c.is_ascii_lowercase());
        let keep = candidates
            .iter()
            .rposition(|(_, w)| !is_caps(w))
            .unwrap_or(candidates.len() - 1);
        candidates.remove(keep);
    }
    if candidates.is_empty() {
        return None;
    }
    let mut out = line.to_string();
    for (at, word) in candidates {
        out.replace_range(at..at + word.len(), &" ".repeat(word.len()));
    }
    Some(out)
}

/// `source` with only the first branch of each conditional chain, or
/// `None` when it has no `#else` / `#elif` (nothing to choose).
fn first_branches(source: &str) -> Option<String> {
    if !source.contains("#else") && !source.contains("#elif") && !source.contains("#if 0") {
        return None;
    }
    let mut out = String::with_capacity(source.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut continued = false; // the previous line was a directive ending in `\`
    for line in source.split_inclusive('\n') {
        let kept_here = stack.last().is_none_or(|f| f.kept);
        let mut blank = !kept_here;
        if continued {
            continued = line.trim_end().ends_with('\\');
            blank_line(&mut out, line);
            continue;
        }
        if let Some((name, condition)) = directive(line) {
            match name {
                "if" | "ifdef" | "ifndef" => {
                    let never = name == "if" && is_false(condition);
                    stack.push(Frame {
                        parent_kept: kept_here,
                        kept: kept_here && !never,
                        taken: !never,
                    });
                }
                "elif" => {
                    if let Some(frame) = stack.last_mut() {
                        let take = !frame.taken && !is_false(condition);
                        frame.kept = frame.parent_kept && take;
                        frame.taken |= take;
                    }
                }
                "else" => {
                    if let Some(frame) = stack.last_mut() {
                        frame.kept = frame.parent_kept && !frame.taken;
                        frame.taken = true;
                    }
                }
                "endif" => {
                    stack.pop();
                }
                _ => {} // `#define`, `#include`: kept or blanked with their branch
            }
            if matches!(name, "if" | "ifdef" | "ifndef" | "elif" | "else" | "endif") {
                blank = true;
                continued = line.trim_end().ends_with('\\');
            }
        }
        if blank {
            blank_line(&mut out, line);
        } else {
            out.push_str(line);
        }
    }
    Some(out)
}

/// Appends `line` with every character but the line end made a space (one
/// space per byte, so offsets stay).
fn blank_line(out: &mut String, line: &str) {
    for byte in line.bytes() {
        out.push(if byte == b'\n' || byte == b'\r' {
            byte as char
        } else {
            ' '
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{blank_declaration_macros, edited_to, first_branches, one_configuration};

    #[test]
    fn declaration_macros_in_headers_are_blanked() {
        let blank = |line: &str| blank_declaration_macros(line);
        assert_eq!(
            blank("int ZEXPORT deflate(z_streamp s) {\n").as_deref(),
            Some("int         deflate(z_streamp s) {\n")
        );
        assert_eq!(
            blank("local void fill_window(deflate_state *s) {\n").as_deref(),
            Some("      void fill_window(deflate_state *s) {\n")
        );
        assert_eq!(
            blank("ZEXTERN uLong ZEXPORT crc32(uLong crc);\n").as_deref(),
            Some("        uLong         crc32(uLong crc);\n")
        );
        assert_eq!(
            blank("static int __init setup(void)\n").as_deref(),
            Some("static int        setup(void)\n")
        );
        for untouched in [
            "static struct node *make(int x)\n",
            "uLong crc32(uLong crc)\n",
            "static FILE *open_it(const char *p)\n",
            "    int local_in_body(x);\n",
            "x = f(a, b);\n",
        ] {
            assert_eq!(blank(untouched), None, "{untouched:?}");
        }
        assert_eq!(one_configuration("int f(void) { return 0; }\n"), None);
    }

    #[test]
    fn attribute_macro_groups_before_the_name_are_blanked() {
        let blank = |line: &str| blank_declaration_macros(line);
        // Offsets kept: the same length, the words that are left in place.
        let blanked_to = |line: &str, words: &str| {
            let out = blank(line).unwrap();
            assert_eq!(out.len(), line.len(), "{line:?}");
            assert_eq!(out.split_whitespace().collect::<Vec<_>>().join(" "), words);
            let last = words.rsplit(' ').next().unwrap();
            assert_eq!(line.find(last), out.find(last), "{line:?}");
        };
        blanked_to(
            "static __always_inline __alloc_size(1) void *kmalloc(size_t size, gfp_t flags)\n",
            "static void *kmalloc(size_t size, gfp_t flags)",
        );
        blanked_to(
            "__printf(2, 3) int log_it(int level, const char *fmt, ...);\n",
            "int log_it(int level, const char *fmt, ...);",
        );
        blanked_to(
            "static __attribute__((cold)) void fail(void)\n",
            "static void fail(void)",
        );
        for untouched in [
            "__set_bit(nr, addr);\n",
            "__foo(a) + bar(b);\n",
            "__attribute__((unused)) x;\n",
            "void __init(int x)\n",
            "int f(int a) { return __g(a); }\n",
        ] {
            assert_eq!(blank(untouched), None, "{untouched:?}");
        }
    }

    #[test]
    fn keeps_the_first_branch_and_every_offset() {
        let source = "int f(int x)\n#ifdef WIN\n{ return 1;\n#else\n{ return 2;\n#endif\n}\n";
        let one = first_branches(source).expect("has #else");
        assert_eq!(one.len(), source.len());
        assert_eq!(one.lines().count(), source.lines().count());
        assert!(one.contains("{ return 1;"));
        assert!(!one.contains("return 2"));
        assert!(!one.contains('#'));
    }

    #[test]
    fn if_zero_keeps_its_else_and_nesting_follows_the_parent() {
        let source = "#if 0\nold();\n#else\nnew();\n#endif\n#ifdef A\n#if B\nab();\n#elif C\nac();\n#endif\n#else\nna();\n#endif\n#define X 1\n";
        let one = first_branches(source).expect("has #else");
        assert!(one.contains("new();") && !one.contains("old();"));
        assert!(one.contains("ab();") && !one.contains("ac();") && !one.contains("na();"));
        assert!(one.contains("#define X 1"), "other directives stay");
        assert_eq!(one.len(), source.len());
    }

    #[test]
    fn continued_directives_and_multibyte_text_keep_offsets() {
        let source =
            "#if defined(A) && \\\n    defined(B)\nint a; // é\n#else\nint b; // ü\n#endif\n";
        let one = first_branches(source).expect("has #else");
        assert_eq!(one.len(), source.len());
        assert!(one.contains("int a; // é"));
        assert!(!one.contains("defined(B)"));
        assert!(!one.contains("int b"));
        assert_eq!(first_branches("int main() { return 0; }\n"), None);
    }

    #[test]
    fn a_configuration_parsed_from_the_edited_tree_is_the_tree_a_fresh_parse_gives() {
        // A function split by `#ifdef`, a declaration macro, and functions
        // around them the edits leave alone (their subtrees are reused).
        let source = "static int before(int x) { return x + 1; }\n\
             static int __init split(int a)\n#ifdef CONFIG_A\n{ return helper(a);\n#else\n{ return other(a);\n#endif\n}\n\
             int after(void) { return before(2); }\n";
        let text = one_configuration(source).expect("changes the source");
        assert_eq!(text.len(), source.len());
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&crate::language::Language::C.grammar())
            .unwrap();
        let tree = parser.parse(source, None).unwrap();
        assert!(tree.root_node().has_error());
        let fresh = parser.parse(&text, None).unwrap();
        let reused = parser
            .parse(&text, Some(&edited_to(&tree, source, &text)))
            .unwrap();
        assert!(!fresh.root_node().has_error());
        assert_eq!(reused.root_node().to_sexp(), fresh.root_node().to_sexp());
        // Positions too, not only shapes.
        let ends = |tree: &tree_sitter::Tree| {
            let root = tree.root_node();
            let mut cursor = root.walk();
            root.children(&mut cursor)
                .map(|node| {
                    (
                        node.start_position(),
                        node.end_position(),
                        node.byte_range(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ends(&reused), ends(&fresh));
    }
}
