//! C files resolved incrementally (`resolve/generic/incremental.rs`):
//! after any sequence of edits (functions added, removed, made `static`;
//! calls, prototypes, function-like and object-like macros added and
//! removed; `#include`s changed; files added and removed; restarts) the
//! graph an ingester keeps up to date equals a fresh ingest of the same
//! tree, edges, provenance and call counts included.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, Ingester};
use kausal_vfs::{OsVfs, Vfs};
use proptest::prelude::*;
use support::*;

/// Names functions, calls, prototypes and macros draw from (`ext` is
/// defined nowhere: a stub).
const NAMES: [&str; 6] = ["alpha", "beta", "gamma", "delta", "eps", "ext"];
/// Source files, then headers.
const FILES: [&str; 5] = [
    "src/a.c",
    "src/b.c",
    "lib/c.c",
    "include/lib/x.h",
    "src/local.h",
];
/// How each file includes each header.
const INCLUDES: [&str; 2] = ["#include <lib/x.h>", "#include \"local.h\""];

#[derive(Debug, Clone, Default, PartialEq)]
struct Function {
    name: usize,
    is_static: bool,
    calls: Vec<usize>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct File {
    includes: [bool; 2],
    prototypes: Vec<usize>,
    /// (name, function-like; else `#define NAME other_name`).
    macros: Vec<(usize, bool)>,
    functions: Vec<Function>,
}

type Model = BTreeMap<usize, File>;

#[derive(Debug, Clone)]
enum Op {
    AddFunction {
        file: u8,
        name: u8,
        is_static: bool,
    },
    RemoveFunction {
        file: u8,
        at: u8,
    },
    ToggleStatic {
        file: u8,
        at: u8,
    },
    AddCall {
        file: u8,
        at: u8,
        name: u8,
    },
    RemoveCall {
        file: u8,
        at: u8,
    },
    AddPrototype {
        file: u8,
        name: u8,
    },
    RemovePrototype {
        file: u8,
    },
    AddMacro {
        file: u8,
        name: u8,
        function_like: bool,
    },
    RemoveMacro {
        file: u8,
    },
    ToggleInclude {
        file: u8,
        header: u8,
    },
    SwapFunctions {
        file: u8,
    },
    RemoveFile {
        file: u8,
    },
    Restart,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let f = 0u8..5;
    let n = 0u8..6;
    prop_oneof![
        4 => (f.clone(), n.clone(), any::<bool>())
            .prop_map(|(file, name, is_static)| Op::AddFunction { file, name, is_static }),
        1 => (f.clone(), any::<u8>()).prop_map(|(file, at)| Op::RemoveFunction { file, at }),
        1 => (f.clone(), any::<u8>()).prop_map(|(file, at)| Op::ToggleStatic { file, at }),
        4 => (f.clone(), any::<u8>(), n.clone())
            .prop_map(|(file, at, name)| Op::AddCall { file, at, name }),
        1 => (f.clone(), any::<u8>()).prop_map(|(file, at)| Op::RemoveCall { file, at }),
        2 => (f.clone(), n.clone()).prop_map(|(file, name)| Op::AddPrototype { file, name }),
        1 => f.clone().prop_map(|file| Op::RemovePrototype { file }),
        2 => (f.clone(), n.clone(), any::<bool>())
            .prop_map(|(file, name, function_like)| Op::AddMacro { file, name, function_like }),
        1 => f.clone().prop_map(|file| Op::RemoveMacro { file }),
        2 => (f.clone(), 0u8..2).prop_map(|(file, header)| Op::ToggleInclude { file, header }),
        1 => f.clone().prop_map(|file| Op::SwapFunctions { file }),
        1 => f.prop_map(|file| Op::RemoveFile { file }),
        1 => Just(Op::Restart),
    ]
}

fn file(model: &mut Model, file: u8) -> &mut File {
    model.entry(file as usize % FILES.len()).or_default()
}

fn apply(model: &mut Model, op: &Op) {
    match *op {
        Op::AddFunction {
            file: f,
            name,
            is_static,
        } => file(model, f).functions.push(Function {
            name: name as usize,
            is_static,
            calls: Vec::new(),
        }),
        Op::RemoveFunction { file: f, at } => {
            let functions = &mut file(model, f).functions;
            if !functions.is_empty() {
                functions.remove(at as usize % functions.len());
            }
        }
        Op::ToggleStatic { file: f, at } => {
            let functions = &mut file(model, f).functions;
            if !functions.is_empty() {
                let len = functions.len();
                let function = &mut functions[at as usize % len];
                function.is_static = !function.is_static;
            }
        }
        Op::AddCall { file: f, at, name } => {
            let functions = &mut file(model, f).functions;
            if !functions.is_empty() {
                let len = functions.len();
                functions[at as usize % len].calls.push(name as usize);
            }
        }
        Op::RemoveCall { file: f, at } => {
            let functions = &mut file(model, f).functions;
            if !functions.is_empty() {
                let len = functions.len();
                functions[at as usize % len].calls.pop();
            }
        }
        Op::AddPrototype { file: f, name } => file(model, f).prototypes.push(name as usize),
        Op::RemovePrototype { file: f } => {
            file(model, f).prototypes.pop();
        }
        Op::AddMacro {
            file: f,
            name,
            function_like,
        } => file(model, f).macros.push((name as usize, function_like)),
        Op::RemoveMacro { file: f } => {
            file(model, f).macros.pop();
        }
        Op::ToggleInclude { file: f, header } => {
            let includes = &mut file(model, f).includes;
            includes[header as usize] = !includes[header as usize];
        }
        Op::SwapFunctions { file: f } => {
            let functions = &mut file(model, f).functions;
            if functions.len() >= 2 {
                functions.swap(0, 1);
            }
        }
        Op::RemoveFile { file: f } => {
            model.remove(&(f as usize % FILES.len()));
        }
        Op::Restart => {}
    }
}

fn render(model: &Model) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (index, file) in model {
        let mut text = String::new();
        for (include, on) in INCLUDES.iter().zip(file.includes) {
            if on {
                text.push_str(include);
                text.push('\n');
            }
        }
        for (name, function_like) in &file.macros {
            if *function_like {
                text.push_str(&format!("#define {}(x) ((x) + 1)\n", NAMES[*name]));
            } else {
                text.push_str(&format!(
                    "#define {} {}\n",
                    NAMES[*name],
                    NAMES[(*name + 1) % NAMES.len()]
                ));
            }
        }
        for name in &file.prototypes {
            text.push_str(&format!("int {}(int x);\n", NAMES[*name]));
        }
        for function in &file.functions {
            let keyword = if function.is_static { "static " } else { "" };
            text.push_str(&format!(
                "{keyword}int {}(int x) {{\n",
                NAMES[function.name]
            ));
            for call in &function.calls {
                text.push_str(&format!("    x = {}(x);\n", NAMES[*call]));
            }
            text.push_str("    return x;\n}\n");
        }
        out.insert(FILES[*index].to_string(), text);
    }
    out
}

fn sync_tree(root: &Path, old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) {
    for path in old.keys() {
        if !new.contains_key(path) {
            std::fs::remove_file(root.join(path)).unwrap();
        }
    }
    for (path, text) in new {
        if old.get(path) != Some(text) {
            write_tree(root, &[(path, text)]);
        }
    }
}

/// `keep`: the ingester keeps its caches between ingests (as `serve
/// --watch`), else resolves every file each time (as `kausal ingest`).
fn check_script(ops: &[Op], keep: bool) -> Result<(), TestCaseError> {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let options = IngestOptions {
        keep_for_next: keep,
        ..options()
    };
    let mut ingester = Ingester::new(vfs, root.path(), options).unwrap();
    // Every file exists at first, with one function each, so that most
    // steps keep the file set (the incremental path).
    let mut model = Model::new();
    for (index, name) in [0usize, 1, 2, 3, 4].into_iter().enumerate() {
        model.insert(
            index,
            File {
                includes: [index != 3, index < 2],
                functions: vec![Function {
                    name,
                    is_static: false,
                    calls: vec![(name + 1) % NAMES.len()],
                }],
                ..File::default()
            },
        );
    }
    let mut on_disk = BTreeMap::new();
    for (step, op) in std::iter::once(&Op::Restart).chain(ops).enumerate() {
        apply(&mut model, op);
        let files = render(&model);
        sync_tree(root.path(), &on_disk, &files);
        on_disk = files;
        if matches!(op, Op::Restart) {
            ingester.forget();
        }
        let report = ingester.ingest(&engine).unwrap();
        let fresh_db = tempfile::tempdir().unwrap();
        let (fresh, fresh_report) = ingest_fresh(root.path(), fresh_db.path());
        let incremental = dump(&engine);
        let expected = dump(&fresh);
        if incremental != expected {
            let a = edge_lines(&engine);
            let b = edge_lines(&fresh);
            let extra: Vec<_> = a.difference(&b).collect();
            let missing: Vec<_> = b.difference(&a).collect();
            prop_assert!(
                false,
                "step {step} {op:?}: incremental differs from fresh\nextra edges {extra:#?}\nmissing edges {missing:#?}\ntree {on_disk:#?}"
            );
        }
        prop_assert_eq!(&report.calls, &fresh_report.calls, "step {} {:?}", step, op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn c_incremental_equals_fresh(
        ops in proptest::collection::vec(op_strategy(), 1..14),
        keep in proptest::bool::weighted(0.75),
    ) {
        check_script(&ops, keep)?;
    }
}

/// A function added to one file re-resolves the files that call its name
/// and keeps the others: a call that was a stub becomes an edge.
#[test]
fn a_definition_added_elsewhere_turns_a_stub_into_an_edge() {
    use Op::*;
    let script = [
        AddCall {
            file: 0,
            at: 0,
            name: 5,
        },
        AddFunction {
            file: 2,
            name: 5,
            is_static: false,
        },
        AddPrototype { file: 3, name: 5 },
        ToggleStatic { file: 2, at: 1 },
        SwapFunctions { file: 2 },
    ];
    check_script(&script, true).unwrap();
    check_script(&script, false).unwrap();
}
