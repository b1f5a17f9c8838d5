//! One small fixture per non-Rust language, with the expected edges
//! written out by hand.

mod support;

use support::*;

fn graph(
    files: &[(&str, &str)],
) -> (
    std::collections::BTreeSet<String>,
    kausal_ingest::IngestReport,
) {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(root.path(), files);
    let (engine, report) = ingest_fresh(root.path(), db.path());
    let docs: std::collections::BTreeMap<String, String> = dump(&engine)
        .blocks
        .values()
        .map(|(_, meta, _)| (meta_field(meta, "qualified_name"), meta_field(meta, "doc")))
        .collect();
    DOCS.with(|d| *d.borrow_mut() = docs);
    (edge_lines(&engine), report)
}

thread_local! {
    static DOCS: std::cell::RefCell<std::collections::BTreeMap<String, String>> =
        std::cell::RefCell::default();
}

fn doc(qualified: &str) -> String {
    DOCS.with(|d| d.borrow().get(qualified).cloned().unwrap_or_default())
}

fn without_structure(edges: &std::collections::BTreeSet<String>) -> Vec<String> {
    edges
        .iter()
        .filter(|l| !l.contains(" -contains-> ") && !l.contains(" -defined_in-> "))
        .cloned()
        .collect()
}

#[test]
fn python() {
    let (edges, report) = graph(&[
        (
            "pkg/util.py",
            "\"\"\"Utilities.\"\"\"\n\ndef parse(x):\n    \"\"\"Parse x.\"\"\"\n    return helper(x)\n\ndef helper(x):\n    return x\n",
        ),
        (
            "pkg/app.py",
            "from .util import parse as p\nimport pkg.util\n\nclass Base:\n    pass\n\nclass App(Base):\n    def run(self):\n        self.step()\n        p(1)\n        print(2)\n\n    def step(self):\n        return len([])\n",
        ),
    ]);
    let got = without_structure(&edges);
    let mut want = vec![
        "pkg.app.App -extends-> pkg.app.Base",
        "pkg.app.App.run -calls-> pkg.util.parse",
        "pkg.app.App.run -calls_method-> pkg.app.App.step",
        "pkg.app.App.run -method_of-> pkg.app.App",
        "pkg.app.App.step -method_of-> pkg.app.App",
        "pkg.util.parse -calls-> pkg.util.helper",
        // `from .util import parse as p` names the function; `import pkg.util` the file.
        "pkg/app.py -imports-> pkg.util.parse",
        "pkg/app.py -imports-> pkg/util.py",
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(doc("pkg.util.parse"), "Parse x.");
    assert_eq!(doc("pkg.util"), "Utilities.");
}

#[test]
fn typescript_and_javascript() {
    let (edges, report) = graph(&[
        (
            "web/util.ts",
            "/** Formats a value. */\nexport function format(v: number): string {\n  return pad(String(v));\n}\nfunction pad(s: string) { return s; }\nexport interface Shape { area(): number; }\n",
        ),
        (
            "web/app.ts",
            "import { format as fmt } from './util';\nimport * as util from './util';\nimport React from 'react';\n\nexport class Square implements Shape {\n  area(): number { return this.side(); }\n  side(): number { return 2; }\n  show() { return fmt(this.area()) + util.format(1); }\n}\nconst make = () => new Square();\n",
        ),
        (
            "web/legacy.js",
            "function old() { return helperJs(); }\nfunction helperJs() { return 1; }\n",
        ),
    ]);
    let got = without_structure(&edges);
    let mut want = vec![
        "web.app.Square.area -calls_method-> web.app.Square.side",
        "web.app.Square.area -method_of-> web.app.Square",
        "web.app.Square.show -calls-> web.util.format",
        "web.app.Square.show -calls_method-> web.app.Square.area",
        "web.app.Square.show -calls_method-> web.util.format",
        "web.app.Square.show -method_of-> web.app.Square",
        "web.app.Square.side -method_of-> web.app.Square",
        "web.legacy.old -calls-> web.legacy.helperJs",
        "web.util.Shape.area -method_of-> web.util.Shape",
        "web.util.format -calls-> web.util.pad",
        "web/app.ts -imports-> web.util.format",
        "web/app.ts -imports-> web/util.ts",
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(doc("web.util.format"), "Formats a value.");
}

#[test]
fn go() {
    let (edges, report) = graph(&[
        (
            "server/server.go",
            "package server\n\nimport \"fmt\"\n\n// Server serves.\ntype Server struct{}\n\nfunc (s *Server) Start() {\n\ts.stop()\n\tfmt.Println(helper())\n}\n\nfunc (s *Server) stop() {}\n",
        ),
        (
            "server/util.go",
            "package server\n\nfunc helper() string { return \"\" }\n",
        ),
        (
            "cmd/main.go",
            "package main\n\nimport \"example.com/app/server\"\n\nfunc main() {\n\tsrv := server.Server{}\n\tsrv.Start()\n\tserver.New()\n}\n",
        ),
    ]);
    let got = without_structure(&edges);
    let mut want = vec![
        "cmd.main.main -calls_method-> server.server.Server.Start",
        "cmd/main.go -imports-> server/server.go",
        "cmd/main.go -imports-> server/util.go",
        "server.server.Server.Start -calls-> server.util.helper",
        "server.server.Server.Start -calls_method-> server.server.Server.stop",
        "server.server.Server.Start -method_of-> server.server.Server",
        "server.server.Server.stop -method_of-> server.server.Server",
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(doc("server.server.Server"), "Server serves.");
}

#[test]
fn c() {
    let (edges, report) = graph(&[
        (
            "src/util.h",
            "int add(int a, int b);\n#define TWICE(x) ((x) * 2)\n",
        ),
        (
            "src/util.c",
            "#include \"util.h\"\n/* Adds. */\nint add(int a, int b) { return a + b; }\nstatic int *ptr(void) { return 0; }\nstruct point { int x; };\n",
        ),
        (
            "src/main.c",
            "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\", add(1, 2)); ptr(); return 0; }\n",
        ),
    ]);
    let got = without_structure(&edges);
    // `ptr` is `static` in util.c: main.c cannot call it (no edge);
    // `printf` is outside the tree: its stub.
    let mut want = vec![
        "src::main::main -calls-> printf",
        "src::main::main -calls-> src::util::add",
        "src/main.c -imports-> src/util.h",
        "src/util.c -imports-> src/util.h",
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(doc("src::util::add"), "Adds.");
}

/// A function split by `#if` branches, and headers with declaration
/// macros (`int ZEXPORT f(..)`, `local void g(..)`), are still functions:
/// the file is parsed in one configuration when that has fewer errors.
#[test]
fn c_conditional_branches_and_declaration_macros() {
    let (edges, report) = graph(&[(
        "src/z.c",
        "#define local static\n#define ZEXPORT\nlocal void fill_xyz(int s) { (void)s; }\nint ZEXPORT deflate_xyz(int s)\n#ifdef WIN\n{ fill_xyz(s); return 1;\n#else\n{ fill_xyz(s); return 2;\n#endif\n}\nint ZEXPORT reset_xyz(int s) {\n    return deflate_xyz(s);\n}\n",
    )]);
    let got = without_structure(&edges);
    for want in [
        "src::z::deflate_xyz -calls-> src::z::fill_xyz",
        "src::z::reset_xyz -calls-> src::z::deflate_xyz",
    ] {
        assert!(
            got.iter().any(|l| l == want),
            "missing {want:?} in {got:#?}\n{report}"
        );
    }
}

#[test]
fn zig() {
    let (edges, report) = graph(&[
        (
            "src/list.zig",
            "const std = @import(\"std\");\n\n/// A list.\npub const List = struct {\n    len: usize,\n    pub fn push(self: *List) void {\n        self.grow();\n    }\n    fn grow(self: *List) void {\n        _ = self;\n    }\n};\n\npub fn make() List {\n    return .{ .len = 0 };\n}\n",
        ),
        (
            "src/main.zig",
            "const list = @import(\"list.zig\");\n\npub fn main() void {\n    var l = list.make();\n    l.push();\n    std.debug.print(\"\", .{});\n}\n",
        ),
    ]);
    let got = without_structure(&edges);
    let mut want = vec![
        "src.list.List.push -calls_method-> src.list.List.grow",
        "src.list.List.grow -method_of-> src.list.List",
        "src.list.List.push -method_of-> src.list.List",
        "src.main.main -calls_method-> src.list.List.push",
        "src.main.main -calls_method-> src.list.make",
        "src/main.zig -imports-> src/list.zig",
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(doc("src.list.List"), "A list.");
}

/// Zig receivers typed through a file struct (`p: *Parse` with `const
/// Parse = @This()`, `tree: Ast` with `const Ast = @import("Ast.zig")`),
/// a field's written type (`p.syms.pop()`), a local bound to a field
/// (`const syms = p.syms;`), and `try Ast.parse(..)`; a namespace imported
/// from outside the tree (`std.mem.eql`) and std's container methods on
/// an unknown receiver make no edge.
#[test]
fn zig_typed_receivers() {
    let (edges, report) = graph(&[
        (
            "src/Ast.zig",
            "const Ast = @This();\nsource: []const u8,\npub fn tokenSlice_xyz(tree: Ast) void { _ = tree; }\npub fn parse(s: []const u8) !Ast { return .{ .source = s }; }\npub fn append(tree: *Ast) void { _ = tree; }\n",
        ),
        (
            "src/Stack.zig",
            "const Stack = @This();\ndepth: u32,\npub fn pop_xyz(s: *Stack) void { s.depth -= 1; }\n",
        ),
        (
            "src/Parse.zig",
            "const std = @import(\"std\");\nconst Ast = @import(\"Ast.zig\");\nconst Stack = @import(\"Stack.zig\");\nconst Parse = @This();\nsyms: Stack,\ntree: Ast,\nfn run(p: *Parse, list: anytype) !void {\n    p.tree.tokenSlice_xyz();\n    p.syms.pop_xyz();\n    const syms = p.syms;\n    syms.pop_xyz();\n    const t = try Ast.parse(\"x\");\n    t.tokenSlice_xyz();\n    _ = std.mem.eql(u8, \"a\", \"b\");\n    list.append(1);\n}\n",
        ),
    ]);
    let calls: Vec<&String> = edges.iter().filter(|l| l.contains(" -calls")).collect();
    for want in [
        "src.Parse.run -calls_method-> src.Ast.tokenSlice_xyz",
        "src.Parse.run -calls_method-> src.Stack.pop_xyz",
        "src.Parse.run -calls_method-> src.Ast.parse",
    ] {
        assert!(
            calls.iter().any(|l| *l == want),
            "missing {want:?} in {calls:#?}\n{report}"
        );
    }
    assert!(
        !calls
            .iter()
            .any(|l| l.contains("append") || l.contains("eql")),
        "std calls linked: {calls:#?}"
    );
}

/// Go receivers typed by a method receiver, a parameter, `var x T`, a
/// composite literal, `new(T)` and what a function of the tree returns;
/// `pkg.F()` reaches the package's function, never a method named F.
#[test]
fn go_typed_receivers() {
    let (edges, report) = graph(&[
        (
            "store/store.go",
            "package store\n\ntype Table struct{}\n\nfunc (t *Table) Get_xyz() int { return 1 }\n\ntype Other struct{}\n\nfunc (o Other) Get_xyz() int { return 2 }\n\nfunc Open_xyz() (*Table, error) { return &Table{}, nil }\n\nfunc (t *Table) Open_xyz() {}\n",
        ),
        (
            "main.go",
            "package main\n\nimport \"example.com/m/store\"\n\nfunc use(t *store.Table, o store.Other) int {\n\tvar v store.Other\n\tx := &store.Table{}\n\ty := new(store.Table)\n\tz, _ := store.Open_xyz()\n\treturn t.Get_xyz() + o.Get_xyz() + v.Get_xyz() + x.Get_xyz() + y.Get_xyz() + z.Get_xyz()\n}\n",
        ),
    ]);
    let calls: Vec<&String> = edges.iter().filter(|l| l.contains(" -calls")).collect();
    for want in [
        "main.use -calls_method-> store.store.Table.Get_xyz",
        "main.use -calls_method-> store.store.Other.Get_xyz",
        "main.use -calls_method-> store.store.Open_xyz",
    ] {
        assert!(
            calls.iter().any(|l| *l == want),
            "missing {want:?} in {calls:#?}\n{report}"
        );
    }
    assert!(
        !calls.iter().any(|l| l.contains("Table.Open_xyz")),
        "pkg.F linked to a method: {calls:#?}"
    );
}
