#!/usr/bin/env python3
"""Deterministic sample of Zig call sites for hand labelling.

Usage: python sample.py ROOT [N] [--all]
  ROOT  project root (e.g. ziglang/lib/std/zig)
  N     sample size (default 130)
  --all print every enumerated site instead of the sample

Parser: tree-sitter 0.26.1 + tree-sitter-zig 1.1.2 (PyPI).

A call site = a `call_expression` node that lies inside the `body` block of a
`function_declaration`, with no struct/union/enum/opaque/test between
(nested functions count; calls in parameter or return types, in
container-level `const` initialisers -- also those of a struct declared inside
a generic `fn(...) type` --, in `comptime` blocks outside functions and in
`test` blocks are not counted).
Called name = for callee `identifier` -> its text; for `field_expression` ->
its `member` identifier (`self.tree.nodeData(x)` -> nodeData);
`parenthesized_expression` / `.?` unwrap are looked through.  Callees with no
name (`arr[i](x)`, `f()(x)`) are skipped.  Builtins (`@import`, `@intCast`,
...) are `builtin_function` nodes in this grammar, not `call_expression`,
so they never appear.
Line = 1-based line of the called name token.
Sites: all .zig files under ROOT, sorted by relative path, in tree order;
then random.Random(21).shuffle, first N, sorted by (path, line, column).
"""
import os
import random
import sys

import tree_sitter_zig as tsz
from tree_sitter import Language, Parser

LANG = Language(tsz.language())
PARSER = Parser(LANG)


def callee_name(fn):
    while fn is not None:
        if fn.type == "identifier":
            return fn
        if fn.type == "field_expression":
            return fn.child_by_field_name("member")
        if fn.type in ("parenthesized_expression", "null_coercion_expression",
                       "unwrap_expression"):
            fn = fn.named_children[0] if fn.named_children else None
            continue
        return None
    return None


CONTAINERS = ("struct_declaration", "union_declaration", "enum_declaration",
              "opaque_declaration", "test_declaration")


def in_fn_body(node):
    """True if the nearest enclosing scope is the body block of a
    function_declaration: walking up, a fn body is met before any container
    (struct/union/enum/opaque) or test block.  So calls in the container-level
    declarations of a struct returned by a generic `fn(...) type` do not
    count, nor do calls in test blocks."""
    child, par = node, node.parent
    while par is not None:
        if par.type in CONTAINERS:
            return False
        if par.type == "function_declaration":
            body = par.child_by_field_name("body")
            if body is not None and body.id == child.id:
                return True
        child, par = par, par.parent
    return False


def sites(root):
    files = []
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".zig"):
                files.append(os.path.relpath(os.path.join(d, f), root))
    out = []
    for rel in sorted(files):
        src = open(os.path.join(root, rel), "rb").read()
        tree = PARSER.parse(src)
        stack = [tree.root_node]
        while stack:
            n = stack.pop()
            if n.type == "call_expression" and in_fn_body(n):
                nm = callee_name(n.child_by_field_name("function"))
                if nm is not None:
                    out.append((rel, nm.start_point[0] + 1,
                                nm.start_point[1] + 1, nm.text.decode()))
            stack.extend(reversed(n.children))
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = args[0]
    n = int(args[1]) if len(args) > 1 else 130
    allsites = sites(root)
    if "--all" in sys.argv:
        chosen = allsites
    else:
        chosen = list(allsites)
        random.Random(21).shuffle(chosen)
        chosen = sorted(chosen[:n])
    print(f"# {len(allsites)} call sites under {root}", file=sys.stderr)
    for rel, line, col, name in chosen:
        print(f"{rel}\t{line}\t{col}\t{name}")


if __name__ == "__main__":
    main()
