#!/usr/bin/env python3
"""Deterministic sample of Go call sites for hand labelling.

Usage: python3 sample.py ROOT [N] [--all]
  ROOT  project root (e.g. pkgroot/usr/share/gocode/src/github.com/spf13/cobra)
  N     sample size (default 130)
  --all print the whole population instead of the sample

Parser: tree-sitter with tree-sitter-go (PyPI: tree-sitter 0.26.1, tree-sitter-go 0.25.0).

Population: every `call_expression` node, plus every `type_conversion_expression`
whose type is a `generic_type` (tree-sitter cannot tell `F[T](x)`, a generic call, from a
generic type conversion), that lies inside a function/method body or a function literal
body (`block` whose parent is function_declaration, method_declaration or func_literal).
Package-level initialisers outside any function body are not in the population.

Excluded (the parser can tell):
  * calls whose callee is a bare identifier naming a Go builtin function
    (len make append new panic cap copy delete close print println recover min max
    clear complex real imag);
  * bare identifiers naming a predeclared type (string, int, byte, error, any, ...)
    -- these are conversions, not calls;
  * `type_conversion_expression` with a non-generic type ([]byte(x), map[K]V(m), ...).
  Shadowing of these names is not checked (none was found in the sampled projects).

Recorded per site: path relative to ROOT, the line (1-based) of the called name token,
and the called name as written: `f` for f(x), `C` for a.b.C(x), `T` for (*T)(x) and
for F[T](x) the `F`. Callees with no name: `<func literal>` (func(){...}()),
`<call result>` (f()()), `<index>` (m[k]()), `<paren>` (other parenthesised exprs).

Sampling: population sorted by (path, line, column), shuffled with random.Random(21),
first N taken, then sorted by (path, line, column).
"""
import os
import random
import sys

import tree_sitter as ts
import tree_sitter_go as tsg

BUILTINS = {"len", "make", "append", "new", "panic", "cap", "copy", "delete", "close",
            "print", "println", "recover", "min", "max", "clear", "complex", "real", "imag"}
PREDECLARED_TYPES = {"bool", "byte", "complex64", "complex128", "error", "float32", "float64",
                     "int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8",
                     "uint16", "uint32", "uint64", "uintptr", "any", "comparable"}
FUNC_NODES = {"function_declaration", "method_declaration", "func_literal"}

LANG = ts.Language(tsg.language())
PARSER = ts.Parser(LANG)


def in_function_body(node):
    n = node.parent
    while n is not None:
        if n.type == "block" and n.parent is not None and n.parent.type in FUNC_NODES:
            return True
        n = n.parent
    return False


def callee_name(fn):
    """Return (name, name_node) for the callee expression node, or (None, None) to exclude."""
    t = fn.type
    if t == "identifier":
        name = fn.text.decode()
        if name in BUILTINS or name in PREDECLARED_TYPES:
            return None, None
        return name, fn
    if t == "selector_expression":
        f = fn.child_by_field_name("field")
        return f.text.decode(), f
    if t == "parenthesized_expression":
        inner = [c for c in fn.named_children if c.type != "comment"][0]
        if inner.type == "unary_expression" and inner.child_by_field_name("operand") is not None:
            op = inner.child_by_field_name("operand")
            if op.type in ("identifier", "selector_expression"):
                return callee_name(op)
        if inner.type in ("identifier", "selector_expression"):
            return callee_name(inner)
        return "<paren>", fn
    if t == "func_literal":
        return "<func literal>", fn
    if t == "call_expression":
        return "<call result>", fn
    if t == "index_expression":
        return "<index>", fn
    if t == "generic_type":
        ty = fn.child_by_field_name("type")
        if ty.type == "qualified_type":
            ty = ty.child_by_field_name("name")
        return ty.text.decode(), ty
    return "<" + t + ">", fn


def sites(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            if not fn.endswith(".go"):
                continue
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root)
            with open(full, "rb") as fh:
                tree = PARSER.parse(fh.read())
            stack = [tree.root_node]
            while stack:
                n = stack.pop()
                stack.extend(n.children)
                if n.type == "call_expression":
                    f = n.child_by_field_name("function")
                elif n.type == "type_conversion_expression":
                    f = n.child_by_field_name("type")
                    if f.type != "generic_type":
                        continue
                else:
                    continue
                if not in_function_body(n):
                    continue
                name, tok = callee_name(f)
                if name is None:
                    continue
                out.append((rel, tok.start_point[0] + 1, tok.start_point[1] + 1, name))
    out.sort()
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = args[0]
    n = int(args[1]) if len(args) > 1 else 130
    pop = sites(root)
    if "--all" in sys.argv:
        chosen = pop
    else:
        rnd = random.Random(21)
        shuffled = list(pop)
        rnd.shuffle(shuffled)
        chosen = sorted(shuffled[:n])
    print("# population: %d call sites" % len(pop), file=sys.stderr)
    for rel, line, col, name in chosen:
        print("%s\t%d\t%d\t%s" % (rel, line, col, name))


if __name__ == "__main__":
    main()
