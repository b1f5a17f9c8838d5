//! A small Rust lexer: identifiers, punctuation and line numbers; strings,
//! characters and numbers reduced to one token each, comments skipped.

/// One token of Rust source: what the checks need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Ident(String),
    Punct(char),
    /// A string, character or number literal (its text is not needed).
    Literal,
    /// `'a`, and loop labels.
    Lifetime,
}

/// A token and the line it starts on.
#[derive(Clone, Debug)]
pub(super) struct Lexeme {
    pub(super) token: Token,
    /// 1-based.
    pub(super) line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The index past the identifier characters from `i`.
fn ident_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && is_ident_continue(chars[i]) {
        i += 1;
    }
    i
}

/// The index past the (nested) block comment starting at `i`.
fn block_comment_end(chars: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
            depth += 1;
            j += 2;
        } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    chars.len()
}

/// The index past the raw string (`r"…"`, `r#"…"#`, `br##"…"##`, `cr"…"`)
/// starting at `i`, or `None` when none starts there.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

/// The index past the string (`"…"`, `b"…"`, `c"…"`) starting at `i`, or
/// `None` when none starts there.
fn string_end(chars: &[char], i: usize) -> Option<usize> {
    let open = match chars.get(i) {
        Some('"') => i,
        Some('b' | 'c') if chars.get(i + 1) == Some(&'"') => i + 1,
        _ => return None,
    };
    let mut j = open + 1;
    while j < chars.len() && chars[j] != '"' {
        j += if chars[j] == '\\' { 2 } else { 1 };
    }
    Some((j + 1).min(chars.len()))
}

/// The token and end index of the character literal (`'x'`, `'\n'`,
/// `b'x'`) or lifetime (`'a`) starting at `i`, or `None` when neither does.
fn quote_end(chars: &[char], i: usize) -> Option<(Token, usize)> {
    let quote = match chars.get(i) {
        Some('\'') => i,
        Some('b') if chars.get(i + 1) == Some(&'\'') => i + 1,
        _ => return None,
    };
    if chars.get(quote + 1) == Some(&'\\') {
        // Past the backslash and the character it escapes.
        let mut j = quote + 3;
        while j < chars.len() && chars[j] != '\'' {
            j += 1;
        }
        Some((Token::Literal, (j + 1).min(chars.len())))
    } else if chars.get(quote + 2) == Some(&'\'') {
        Some((Token::Literal, quote + 3))
    } else {
        Some((Token::Lifetime, ident_end(chars, quote + 1)))
    }
}

/// The token and end index of the word (identifier, raw identifier or
/// number) starting at `i`, or `None` when none does.
fn word_end(chars: &[char], i: usize) -> Option<(Token, usize)> {
    let c = chars[i];
    if c == 'r'
        && chars.get(i + 1) == Some(&'#')
        && chars.get(i + 2).is_some_and(|c| is_ident_start(*c))
    {
        let end = ident_end(chars, i + 2);
        return Some((Token::Ident(chars[i + 2..end].iter().collect()), end));
    }
    if is_ident_start(c) {
        let end = ident_end(chars, i);
        return Some((Token::Ident(chars[i..end].iter().collect()), end));
    }
    if c.is_ascii_digit() {
        return Some((Token::Literal, ident_end(chars, i)));
    }
    None
}

/// Splits `text` into tokens, skipping whitespace and comments.
/// Unterminated constructs end at the end of the text.
pub(super) fn lex(text: &str) -> Vec<Lexeme> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, end) = if c.is_whitespace() {
            (None, i + 1)
        } else if c == '/' && next == Some('/') {
            let end = chars[i..].iter().position(|c| *c == '\n');
            (None, end.map_or(chars.len(), |end| i + end))
        } else if c == '/' && next == Some('*') {
            (None, block_comment_end(&chars, i))
        } else if let Some(end) = raw_string_end(&chars, i).or_else(|| string_end(&chars, i)) {
            (Some(Token::Literal), end)
        } else if let Some((token, end)) = quote_end(&chars, i).or_else(|| word_end(&chars, i)) {
            (Some(token), end)
        } else {
            (Some(Token::Punct(c)), i + 1)
        };
        if let Some(token) = token {
            tokens.push(Lexeme { token, line });
        }
        line += chars[i..end].iter().filter(|c| **c == '\n').count();
        i = end;
    }
    tokens
}
