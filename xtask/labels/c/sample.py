#!/usr/bin/env python3
"""Enumerate every call site inside a C function body and draw a seeded sample.

Usage: python3 sample.py ROOT N [--all] [--fallback]
  ROOT  directory holding the project's .c/.h files (walked recursively,
        minus the directories named in EXCLUDE_DIRS)
  N     sample size: the first N after random.Random(21).shuffle of the
        sorted population (so a larger N extends a smaller one)
  --all       print the whole population instead of a sample
  --fallback  list on stderr the sites added by the fallback scan

Parser: tree-sitter-c. Before parsing, declaration-decorating macros
(BLANK_MACROS, REPLACE_MACROS) are overwritten in place with spaces (l_noret
with "void"), keeping every line and column.

Function bodies: a masked copy of the file (comments, literals and directive
lines blanked, #elif/#else branches blanked) is scanned for braces; a '{' at
depth 0 whose previous non-blank character is ')' opens a body, ended by
its matching '}'. This does not depend on tree-sitter's error recovery,
which loses function definitions whose text is split by #if branches.

A call site is
  * a tree-sitter `call_expression` whose called-name token lies in a
    function body and not on a preprocessor line, except
      - "(T)(x)" where T is a typedef name of the project, a standard type
        (STD_TYPES) or an object-like macro whose value is a type: a cast
        that tree-sitter, not knowing T, parsed as a call;
      - f(x)(y), a[i](x): calls with no name (Lua's l_mathop(floor)(x):
        the inner l_mathop( call is a site, the outer call is not);
  * plus (fallback) every `name (` token pair in a function body, outside
    comments, literals and directives, not a keyword (NOT_CALLEES) and not
    already a site: the macro uses tree-sitter cannot parse (Lua's
    `vmcase(OP_X) {`, `vmdispatch (x) {`, `cast(T *, x)`, offsetof);
    two lines of prose in a dead #if of zlib's deflate.c are excluded.
Calls written inside #define bodies are not sites (they are macro text).
Called name: identifier f(x) -> f; field p->f(x), s.f(x) -> f; parentheses,
'*' and casts are unwrapped: (*f)(x) -> f, (*p->f)(x) -> f.
Line: 1-based line of the called-name token.
Output (stdout): TSV path<TAB>line<TAB>callee, path relative to ROOT, sorted
by (path, line, column); the population size on stderr.
"""
import os
import random
import re
import sys

import tree_sitter_c
from tree_sitter import Language, Parser

EXCLUDE_DIRS = {"contrib", "examples", "test", "win32", "doc", "amiga",
                "msdos", "nintendods", "old", "os400", "qnx", "watcom"}
SEED = 21

# Object-like macros that only decorate declarations (linkage/visibility/
# calling-convention/"static"). tree-sitter does not expand macros and fails
# to recognise a function definition that starts with one, so before parsing
# each whole-word occurrence is overwritten with spaces of the same length
# (l_noret with "void" + spaces). Lines and columns are unchanged.
BLANK_MACROS = [
    # Lua 5.4 (luaconf.h, llimits.h)
    "LUA_API", "LUALIB_API", "LUAMOD_API", "LUAI_FUNC", "LUAI_DDEF",
    "l_sinline", "l_inline",
    # zlib (zconf.h, zutil.h, gzguts.h)
    "ZEXPORT", "ZEXPORTVA", "ZLIB_INTERNAL", "FAR", "z_const", "local",
]
REPLACE_MACROS = {"l_noret": "void"}

C = Language(tree_sitter_c.language())


def blank(src):
    def rep(m):
        w = m.group(0).decode()
        r = REPLACE_MACROS.get(w, "")
        return (r + " " * (len(w) - len(r))).encode()
    words = BLANK_MACROS + list(REPLACE_MACROS)
    return re.sub(rb"\b(" + "|".join(words).encode() + rb")\b", rep, src)


def callee_node(fn):
    while True:
        t = fn.type
        if t == "identifier":
            return fn
        if t == "field_expression":
            return fn.child_by_field_name("field")
        if t == "parenthesized_expression":
            fn = fn.named_children[-1]
        elif t == "pointer_expression":
            fn = fn.child_by_field_name("argument")
        elif t == "cast_expression":
            fn = fn.child_by_field_name("value")
        else:
            return None


PREPROC_RE = re.compile(rb"^[ \t]*#")
COND_OPEN = re.compile(rb"^[ \t]*#[ \t]*if")            # #if #ifdef #ifndef
COND_ALT = re.compile(rb"^[ \t]*#[ \t]*(elif|else)")
COND_END = re.compile(rb"^[ \t]*#[ \t]*endif")


def mask(src):
    """Return (masked, preproc_lines): a copy of src with comments, string and
    character literals and preprocessor lines replaced by spaces, and with the
    code of every #elif/#else branch also blanked (so braces are counted along
    the first branch of each conditional only); and the set of 1-based line
    numbers that belong to preprocessor directives (incl. continuations)."""
    out = strip_comments(src)
    return mask_pp(out)


def strip_comments(src):
    """src with comments and string/char literals replaced by spaces."""
    out = bytearray(src)
    i, n = 0, len(src)
    # pass 1: comments and literals
    while i < n:
        c = src[i:i + 1]
        if src.startswith(b"/*", i):
            j = src.find(b"*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != 10:
                    out[k] = 32
            i = j
        elif src.startswith(b"//", i):
            j = src.find(b"\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = 32
            i = j
        elif c in (b'"', b"'"):
            j = i + 1
            while j < n and src[j:j + 1] != c and src[j:j + 1] != b"\n":
                j += 2 if src[j:j + 1] == b"\\" else 1
            for k in range(i, min(j + 1, n)):
                if out[k] != 10:
                    out[k] = 32
            i = j + 1
        else:
            i += 1
    return bytes(out)


def mask_pp(out):
    lines = out.split(b"\n")
    pp = set()
    stack = []          # per open conditional: True if now in a later branch
    cont = False
    for ln, text in enumerate(lines):
        is_pp = cont or PREPROC_RE.match(text) is not None
        if is_pp:
            pp.add(ln + 1)
            if not cont:
                if COND_OPEN.match(text):
                    stack.append(False)
                elif COND_ALT.match(text) and stack:
                    stack[-1] = True
                elif COND_END.match(text) and stack:
                    stack.pop()
            cont = text.rstrip().endswith(b"\\")
        if is_pp or any(stack):
            lines[ln] = b" " * len(text)
    return b"\n".join(lines), pp


def body_spans(masked):
    """Byte spans of function bodies: a '{' at brace depth 0 whose previous
    non-blank character is ')' opens a body; it ends at the matching '}'."""
    spans, depth, start, prev = [], 0, None, b""
    for i, ch in enumerate(masked):
        b = bytes([ch])
        if b == b"{":
            if depth == 0 and prev == b")":
                start = i
            depth += 1
        elif b == b"}":
            depth -= 1
            if depth == 0 and start is not None:
                spans.append((start, i + 1))
                start = None
        if not b.isspace():
            prev = b
    return spans


def typedef_names(tree):
    names = set()
    st = [tree.root_node]
    while st:
        n = st.pop()
        if n.type == "type_definition":
            for d in n.children_by_field_name("declarator"):
                while d is not None and d.type != "type_identifier":
                    d = d.child_by_field_name("declarator")
                if d is not None:
                    names.add(d.text.decode())
        st.extend(n.children)
    return names


STD_TYPES = {"size_t", "ptrdiff_t", "intptr_t", "uintptr_t", "off_t",
             "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t",
             "uint16_t", "uint32_t", "uint64_t", "FILE", "va_list",
             "wchar_t", "time_t", "clock_t", "ssize_t", "DWORD"}


TYPE_WORDS = {"void", "char", "short", "int", "long", "float", "double",
              "signed", "unsigned", "const", "volatile", "struct", "union",
              "_Bool", "*"}
DEFINE_RE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([^\n]*)$",
                       re.M)


def type_macros(src, types):
    """Object-like macros whose whole value is a type name (e.g. zlib's
    `#define SRand64 long long` style): treated like typedef names."""
    names = set()
    for m in DEFINE_RE.finditer(strip_comments(src)):
        words = re.findall(rb"[A-Za-z_]\w*|\*|\S", m.group(2))
        if words and all(w.decode() in TYPE_WORDS or w.decode() in types
                         for w in words):
            names.add(m.group(1).decode())
    return names


def files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDE_DIRS)
        for fn in sorted(filenames):
            if fn.endswith((".c", ".h")):
                full = os.path.join(dirpath, fn)
                yield full, os.path.relpath(full, root)


CALL_RE = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")
NOT_CALLEES = {"if", "while", "for", "switch", "return", "sizeof", "case",
               "do", "else", "defined", "__attribute__", "__declspec",
               "_Alignof", "volatile", "__asm__", "asm"}
# Prose, not C, inside a never-compiled branch of zlib's deflate.c
# ("#if MIN_MATCH != 3 / Call UPDATE_HASH() MIN_MATCH-3 more times").
PROSE_RE = re.compile(rb"^[ \t]*Call UPDATE_HASH\(\) MIN_MATCH-3 more times")


def fallback(rel, src, tree, pp, in_body, found):
    """Call sites tree-sitter did not produce because it cannot parse the
    macro use (Lua's `vmdispatch (x) {` / `vmcase(OP_MOVE) {` statement
    macros, which it reads as nested function definitions, and
    `cast(T *, x)` whose first argument is a type, which turns the statement
    into a declaration): every `name (` token pair inside a function body,
    outside comments, literals and directives, that is not a keyword and not
    already a call_expression site."""
    have = {(line, col) for r, line, col, _ in found if r == rel}
    csrc = strip_comments(src)
    lines = src.split(b"\n")
    extra = []
    for m in CALL_RE.finditer(csrc):
        pos = m.start(1)
        name = m.group(1).decode()
        line = csrc.count(b"\n", 0, pos) + 1
        col = pos - (csrc.rfind(b"\n", 0, pos) + 1)
        if (name in NOT_CALLEES or line in pp or not in_body(pos)
                or (line, col) in have
                or PROSE_RE.match(lines[line - 1])):
            continue
        extra.append((rel, line, col, name))
    return extra


def sites(root):
    parser = Parser(C)
    parsed = []
    types = set(STD_TYPES)
    for full, rel in files(root):
        src = blank(open(full, "rb").read())
        tree = parser.parse(src)
        types |= typedef_names(tree)
        parsed.append((rel, src, tree))
    for _ in range(2):
        for rel, src, tree in parsed:
            types |= type_macros(src, types)
    out = []
    for rel, src, tree in parsed:
        masked, pp = mask(src)
        spans = body_spans(masked)

        def in_body(pos):
            return any(a < pos < b for a, b in spans)

        stack = [tree.root_node]
        while stack:
            n = stack.pop()
            stack.extend(reversed(n.children))
            if n.type != "call_expression":
                continue
            f = n.child_by_field_name("function")
            if f is None:
                continue
            name_node = callee_node(f)
            tok = name_node if name_node is not None else f
            line = tok.start_point[0] + 1
            if line in pp or not in_body(tok.start_byte):
                continue
            if (name_node is not None and f.type == "parenthesized_expression"
                    and name_node.type == "identifier"
                    and f.named_children[-1] is name_node
                    and name_node.text.decode() in types):
                continue        # "(T)(x)": a cast that tree-sitter, not
                                # knowing T is a type, parsed as a call
            if name_node is None:
                continue        # f(x)(y), a[i](x): no called name
            out.append((rel, line, tok.start_point[1],
                        name_node.text.decode()))
        extra = fallback(rel, src, tree, pp, in_body, out)
        if "--fallback" in sys.argv:
            for e in extra:
                print("fallback", *e, file=sys.stderr)
        out.extend(extra)
    out.sort()
    return out


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    allsites = sites(root)
    print(f"# population: {len(allsites)} call sites", file=sys.stderr)
    if "--all" in sys.argv:
        chosen = allsites
    else:
        rng = random.Random(SEED)
        shuffled = list(allsites)
        rng.shuffle(shuffled)
        chosen = sorted(shuffled[:n])
    for rel, line, col, name in chosen:
        print(f"{rel}\t{line}\t{name}")


if __name__ == "__main__":
    main()
