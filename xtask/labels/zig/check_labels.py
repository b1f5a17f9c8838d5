#!/usr/bin/env python3
"""Sanity check for <name>.tsv: each call line contains the callee name and
each `path:line` label points at a line containing `fn <callee>` (except rows
whose note says `alias`).  Usage: python check_labels.py std_zig.tsv aro.tsv"""
import os, re, sys
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
ok = True
for tsv in sys.argv[1:]:
    root = None
    counts = Counter()
    for line in open(tsv):
        if line.startswith("# root:"):
            root = os.path.join(here, line.split(":", 1)[1].strip())
        if line.startswith("#") or line.startswith("path\t"):
            continue
        path, ln, callee, exp, note = line.rstrip("\n").split("\t")
        src = open(os.path.join(root, path)).read().split("\n")
        if callee not in src[int(ln) - 1]:
            print("callee not on line:", tsv, path, ln, callee); ok = False
        if exp in ("external", "dynamic", "type"):
            counts[exp] += 1
            continue
        counts["path:line"] += 1
        fp, fl = exp.rsplit(":", 1)
        dl = open(os.path.join(root, fp)).read().split("\n")[int(fl) - 1]
        if not re.search(r"\bfn\s+" + re.escape(callee) + r"\b", dl) and "alias" not in note:
            print("bad target:", tsv, path, ln, callee, exp, dl.strip()); ok = False
    print(tsv, dict(counts))
sys.exit(0 if ok else 1)
