//! The correctness rule of incremental ingest: after any sequence of edits
//! and re-ingests, the stored graph equals a from-scratch ingest of the
//! final tree (same block ids, contents, metadata and edge set). Random
//! edit scripts (add/remove/rename functions, add/remove calls, move a
//! function between files, add/remove `use` imports, delete/rename
//! files, touch, body edits, restarts of the ingester) are checked after
//! every step.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_vfs::{OsVfs, Vfs};
use proptest::prelude::*;
use support::*;

#[derive(Debug, Clone)]
struct Func {
    name: String,
    calls: Vec<String>,
    version: u32,
}

#[derive(Debug, Clone)]
enum Op {
    AddFn { file: u8, name: u8 },
    RemoveFn { file: u8, index: u8 },
    RenameFn { file: u8, index: u8, name: u8 },
    AddCall { file: u8, index: u8, target: u8 },
    RemoveCall { file: u8, index: u8 },
    MoveFn { from: u8, index: u8, to: u8 },
    DeleteFile { file: u8 },
    RenameFile { file: u8, to: u8 },
    Touch { file: u8 },
    EditBody { file: u8, index: u8 },
    AddUse { file: u8, path: u8 },
    RemoveUse { file: u8 },
    Restart,
}

const TARGETS: &[&str] = &[
    "f0",
    "f1",
    "f2",
    "crate::m0::f0",
    "crate::m1::f1",
    "super::m2::f2",
    "self::f3",
    "crate::m3::f0",
    "nothing_here",
];

/// `use` paths a module may import: functions, a module, a glob, a
/// rename and a path that leads nowhere.
const USES: &[&str] = &[
    "crate::m0::f0",
    "crate::m1::f1",
    "super::m2::f2",
    "crate::m3",
    "crate::m1::*",
    "crate::m2::f3 as f0",
    "crate::m4::f4",
];

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>()).prop_map(|(file, name)| Op::AddFn { file, name }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(file, index)| Op::RemoveFn { file, index }),
        1 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(file, index, name)| Op::RenameFn { file, index, name }),
        3 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(file, index, target)| Op::AddCall { file, index, target }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(file, index)| Op::RemoveCall { file, index }),
        1 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(from, index, to)| Op::MoveFn { from, index, to }),
        1 => any::<u8>().prop_map(|file| Op::DeleteFile { file }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(file, to)| Op::RenameFile { file, to }),
        1 => any::<u8>().prop_map(|file| Op::Touch { file }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(file, index)| Op::EditBody { file, index }),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(file, path)| Op::AddUse { file, path }),
        1 => any::<u8>().prop_map(|file| Op::RemoveUse { file }),
        1 => Just(Op::Restart),
    ]
}

#[derive(Debug, Clone, Default)]
struct Module {
    uses: Vec<String>,
    funcs: Vec<Func>,
}

/// Module name -> its imports and functions.
type Model = BTreeMap<String, Module>;

fn pick_module(model: &mut Model, file: u8) -> Option<&mut Module> {
    let key = model
        .keys()
        .nth(file as usize % model.len().max(1))?
        .clone();
    model.get_mut(&key)
}

fn pick(model: &mut Model, file: u8) -> Option<&mut Vec<Func>> {
    pick_module(model, file).map(|module| &mut module.funcs)
}

fn apply(model: &mut Model, op: &Op) {
    match *op {
        Op::AddFn { file, name } => {
            let func = Func {
                name: format!("f{}", name % 5),
                calls: Vec::new(),
                version: 0,
            };
            if model.is_empty() || file % 4 == 0 {
                model
                    .entry(format!("m{}", file % 4))
                    .or_default()
                    .funcs
                    .push(func);
            } else if let Some(funcs) = pick(model, file) {
                funcs.push(func);
            }
        }
        Op::RemoveFn { file, index } => {
            if let Some(funcs) = pick(model, file)
                && !funcs.is_empty()
            {
                let i = index as usize % funcs.len();
                funcs.remove(i);
            }
        }
        Op::RenameFn { file, index, name } => {
            if let Some(funcs) = pick(model, file)
                && !funcs.is_empty()
            {
                let i = index as usize % funcs.len();
                funcs[i].name = format!("f{}", name % 5);
            }
        }
        Op::AddCall {
            file,
            index,
            target,
        } => {
            if let Some(funcs) = pick(model, file)
                && !funcs.is_empty()
            {
                let i = index as usize % funcs.len();
                funcs[i]
                    .calls
                    .push(TARGETS[target as usize % TARGETS.len()].to_string());
            }
        }
        Op::RemoveCall { file, index } => {
            if let Some(funcs) = pick(model, file)
                && !funcs.is_empty()
            {
                let i = index as usize % funcs.len();
                funcs[i].calls.pop();
            }
        }
        Op::MoveFn { from, index, to } => {
            let moved = pick(model, from).and_then(|funcs| {
                (!funcs.is_empty()).then(|| funcs.remove(index as usize % funcs.len()))
            });
            if let Some(func) = moved {
                model
                    .entry(format!("m{}", to % 4))
                    .or_default()
                    .funcs
                    .push(func);
            }
        }
        Op::DeleteFile { file } => {
            if let Some(key) = model
                .keys()
                .nth(file as usize % model.len().max(1))
                .cloned()
            {
                model.remove(&key);
            }
        }
        Op::RenameFile { file, to } => {
            if let Some(key) = model
                .keys()
                .nth(file as usize % model.len().max(1))
                .cloned()
            {
                let moved = model.remove(&key).unwrap_or_default();
                let module = model.entry(format!("m{}", to % 5)).or_default();
                module.funcs.extend(moved.funcs);
                module.uses.extend(moved.uses);
                module.uses.sort();
                module.uses.dedup();
            }
        }
        Op::EditBody { file, index } => {
            if let Some(funcs) = pick(model, file)
                && !funcs.is_empty()
            {
                let i = index as usize % funcs.len();
                funcs[i].version += 1;
            }
        }
        Op::AddUse { file, path } => {
            if let Some(module) = pick_module(model, file) {
                let path = USES[path as usize % USES.len()].to_string();
                if !module.uses.contains(&path) {
                    module.uses.push(path);
                }
            }
        }
        Op::RemoveUse { file } => {
            if let Some(module) = pick_module(model, file) {
                module.uses.pop();
            }
        }
        Op::Touch { .. } | Op::Restart => {}
    }
}

fn render(model: &Model) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut lib = String::from("//! Root.\n");
    for module in model.keys() {
        lib.push_str(&format!("pub mod {module};\n"));
    }
    lib.push_str("pub fn root() {\n    crate::m0::f0();\n    f1();\n}\n");
    files.insert("src/lib.rs".to_string(), lib);
    for (module, Module { uses, funcs }) in model {
        let mut text = String::new();
        for path in uses {
            text.push_str(&format!("use {path};\n"));
        }
        for func in funcs {
            text.push_str(&format!(
                "/// {} doc.\npub fn {}() {{\n",
                func.name, func.name
            ));
            text.push_str(&format!("    // version {}\n", func.version));
            for call in &func.calls {
                text.push_str(&format!("    {call}();\n"));
            }
            text.push_str("}\n\n");
        }
        files.insert(format!("src/{module}.rs"), text);
    }
    files
}

/// Makes the directory hold exactly `files`, rewriting only what changed
/// (and `touch`ed files, rewritten with the same bytes).
fn sync_tree(
    root: &Path,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    touch: Option<u8>,
) {
    for path in old.keys() {
        if !new.contains_key(path) {
            std::fs::remove_file(root.join(path)).unwrap();
        }
    }
    let touched = touch.and_then(|t| new.keys().nth(t as usize % new.len().max(1)).cloned());
    for (path, text) in new {
        if old.get(path) != Some(text) || touched.as_ref() == Some(path) {
            write_tree(root, &[(path, text)]);
        }
    }
}

fn check_script(ops: &[Op]) -> Result<(), TestCaseError> {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs.clone(), root.path(), options()).unwrap();
    let mut model = Model::new();
    let mut on_disk = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        apply(&mut model, op);
        let files = render(&model);
        let touch = match op {
            Op::Touch { file } => Some(*file),
            _ => None,
        };
        sync_tree(root.path(), &on_disk, &files, touch);
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
            let block_diff: Vec<_> = incremental
                .blocks
                .iter()
                .filter(|(id, v)| expected.blocks.get(id) != Some(v))
                .map(|(_, v)| v.1.clone())
                .chain(
                    expected
                        .blocks
                        .iter()
                        .filter(|(id, _)| !incremental.blocks.contains_key(id))
                        .map(|(_, v)| format!("MISSING {}", v.1)),
                )
                .collect();
            return Err(TestCaseError::fail(format!(
                "step {step} {op:?}: incremental differs from fresh\nextra edges {extra:#?}\nmissing edges {missing:#?}\nblocks differing {block_diff:#?}\nreport {report}"
            )));
        }
        // Call provenance is part of the dump; said again readably, and
        // every call edge has its record.
        let (records, unrecorded) = provenance_lines(&engine);
        prop_assert_eq!(unrecorded, 0, "step {} {:?}", step, op);
        prop_assert_eq!(
            records,
            provenance_lines(&fresh).0,
            "step {} {:?}",
            step,
            op
        );
        prop_assert_eq!(&report.calls, &fresh_report.calls, "step {} {:?}", step, op);
        prop_assert_eq!(
            &report.imports,
            &fresh_report.imports,
            "step {} {:?}",
            step,
            op
        );
        prop_assert_eq!(&report.blocks_by_kind, &fresh_report.blocks_by_kind);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_fresh(ops in proptest::collection::vec(op_strategy(), 1..16)) {
        check_script(&ops)?;
    }
}

#[test]
fn a_new_function_turns_an_external_call_into_an_edge_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub mod a;\npub mod b;\n"),
            ("src/a.rs", "pub fn caller() {\n    parse();\n}\n"),
            ("src/b.rs", "pub fn other() {}\n"),
        ],
    );
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    let first = ingester.ingest(&engine).unwrap();
    assert!(call_lines(&engine).is_empty());
    assert_eq!(first.calls.external, 1);
    // Only b.rs changes; a.rs's call now resolves (crate-unique name).
    write_tree(
        root.path(),
        &[("src/b.rs", "pub fn other() {}\npub fn parse() {}\n")],
    );
    let second = ingester.ingest(&engine).unwrap();
    assert_eq!(second.files_parsed, 1, "{second}");
    assert_eq!(
        call_lines(&engine),
        lines(&["crate::a::caller -calls-> crate::b::parse"])
    );
    // And back.
    write_tree(root.path(), &[("src/b.rs", "pub fn other() {}\n")]);
    ingester.ingest(&engine).unwrap();
    assert!(call_lines(&engine).is_empty());
}

/// Import edges are cached with their file's calls: an edit elsewhere
/// keeps them, and an edit that changes what a `use` reaches resolves the
/// importing file again.
#[test]
fn import_edges_of_files_not_resolved_again_stay_and_follow_their_targets() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
            (
                "src/a.rs",
                "use crate::b::parse;\nuse crate::b::later;\npub fn caller() {\n    parse();\n}\n",
            ),
            ("src/b.rs", "pub fn parse() {}\n"),
            ("src/c.rs", "pub fn unrelated() {}\n"),
        ],
    );
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    let imports = |engine: &kausal_storage::Database| -> BTreeSet<String> {
        edge_lines(engine)
            .into_iter()
            .filter(|l| l.contains(" -imports-> "))
            .collect()
    };
    let expected = lines(&["src/a.rs -imports-> crate::b::parse"]);
    assert_eq!(imports(&engine), expected);
    let edits: [(&str, &str); 3] = [
        // Elsewhere: a.rs keeps its cached resolution, imports included.
        ("src/c.rs", "pub fn unrelated() {}\npub fn more() {}\n"),
        // `later` appears: a.rs's second import now resolves.
        ("src/b.rs", "pub fn parse() {}\npub fn later() {}\n"),
        // And goes again.
        ("src/b.rs", "pub fn parse() {}\n"),
    ];
    for (path, text) in edits {
        write_tree(root.path(), &[(path, text)]);
        let report = ingester.ingest(&engine).unwrap();
        let fresh_db = tempfile::tempdir().unwrap();
        let (fresh, fresh_report) = ingest_fresh(root.path(), fresh_db.path());
        assert_eq!(imports(&engine), imports(&fresh), "after editing {path}");
        assert_eq!(report.imports, fresh_report.imports, "after editing {path}");
    }
    assert_eq!(imports(&engine), expected);
}

#[test]
fn no_change_reingest_writes_nothing_and_ids_survive_edits_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[("src/lib.rs", "pub fn a() {\n    b();\n}\npub fn b() {}\n")],
    );
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    let before = dump(&engine);
    let again = ingester.ingest(&engine).unwrap();
    assert_eq!(
        again.blocks_written + again.edges_written + again.blocks_deleted,
        0
    );
    assert_eq!(dump(&engine), before);
    // A body edit that keeps items, calls and imports: blocks are
    // rewritten, resolution is skipped, and the graph still equals fresh.
    write_tree(
        root.path(),
        &[(
            "src/lib.rs",
            "pub fn a() {\n    b();\n}\npub fn b() { let _x = 1; }\n",
        )],
    );
    let body_edit = ingester.ingest(&engine).unwrap();
    assert!(!body_edit.resolved, "{body_edit}");
    assert_eq!(body_edit.files_parsed, 1);
    let fresh_db = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(root.path(), fresh_db.path());
    assert!(dump(&engine) == dump(&fresh));
    // Back to the original text: the original graph.
    write_tree(
        root.path(),
        &[("src/lib.rs", "pub fn a() {\n    b();\n}\npub fn b() {}\n")],
    );
    ingester.ingest(&engine).unwrap();
    // (The file block's mtime differs; ids and edges are the original ones.)
    let restored = dump(&engine);
    assert!(restored.blocks.keys().eq(before.blocks.keys()));
    assert!(restored.edges == before.edges);
    // Insert a function above `b`: `b` keeps its id, only content moves.
    write_tree(
        root.path(),
        &[(
            "src/lib.rs",
            "pub fn z() {}\npub fn a() {\n    b();\n}\npub fn b() {}\n",
        )],
    );
    ingester.ingest(&engine).unwrap();
    let after = dump(&engine);
    let ids_before: Vec<_> = before.blocks.keys().collect();
    for id in ids_before {
        assert!(after.blocks.contains_key(id), "id {id} did not survive");
    }
    assert_eq!(after.blocks.len(), before.blocks.len() + 1);
}

/// `calls_candidate` edges follow edits made elsewhere, as `calls` edges
/// do: a bare call with two same-named functions in the crate is a
/// candidate edge to each; removing one makes it a call edge; adding it
/// back makes candidates again, each step equal to a fresh ingest.
#[test]
fn candidate_edges_follow_edits_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let both = [
        ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("src/a.rs", "pub fn caller() {\n    parse_xyz();\n}\n"),
        ("src/b.rs", "pub fn parse_xyz() {}\n"),
        ("src/c.rs", "pub fn parse_xyz() {}\n"),
    ];
    write_tree(root.path(), &both);
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    let same_as_fresh = |engine: &kausal_storage::Database| {
        let fresh_db = tempfile::tempdir().unwrap();
        let (fresh, _) = ingest_fresh(root.path(), fresh_db.path());
        assert_eq!(edge_lines(engine), edge_lines(&fresh));
        assert!(
            dump(engine) == dump(&fresh),
            "blocks differ from a fresh ingest"
        );
    };
    let candidates = |engine: &kausal_storage::Database| -> Vec<String> {
        edge_lines(engine)
            .into_iter()
            .filter(|l| l.contains("-calls_candidate->"))
            .collect()
    };
    ingester.ingest(&engine).unwrap();
    assert_eq!(candidates(&engine).len(), 2, "{:#?}", edge_lines(&engine));
    same_as_fresh(&engine);
    write_tree(root.path(), &[("src/c.rs", "pub fn other() {}\n")]);
    ingester.ingest(&engine).unwrap();
    assert!(candidates(&engine).is_empty());
    assert_eq!(
        call_lines(&engine),
        lines(&["crate::a::caller -calls-> crate::b::parse_xyz"])
    );
    same_as_fresh(&engine);
    write_tree(root.path(), &[both[3]]);
    ingester.ingest(&engine).unwrap();
    assert_eq!(candidates(&engine).len(), 2);
    same_as_fresh(&engine);
}

/// An edit is written in one batch per changed file: its new blocks, the
/// deletes of its blocks that are gone and its edges together, so a reader
/// never sees a file's old and new items at once. A rebuild of more than
/// 512 files writes blocks in runs first (a cold ingest's memory), and
/// each file's old items still leave in the batch its new ones arrive in.
#[test]
fn an_edit_reaches_readers_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_tree(
        &root,
        &[
            (
                "src/lib.rs",
                "mod a;\nmod b;\npub fn top() { a::old_name(); }\n",
            ),
            ("src/a.rs", "pub fn old_name() {}\npub fn gone() {}\n"),
            ("src/b.rs", "pub fn b() { crate::a::old_name(); }\n"),
        ],
    );
    let engine = open_engine(&dir.path().join("db"));
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, &root, options()).unwrap();
    ingester.ingest(&engine).unwrap();
    std::fs::write(
        root.join("src/a.rs"),
        "pub fn old_name() {}\npub fn came() {}\n",
    )
    .unwrap();
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!((report.blocks_deleted, report.batches), (1, 1), "{report}");

    // Past the streaming threshold: every file rebuilt (a fresh ingester
    // on the stored graph is unverified), blocks and deletes per run.
    let many: Vec<(String, String)> = (0..600)
        .map(|i| (format!("src/m{i}.rs"), format!("pub fn f{i}() {{}}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    write_tree(&root, &refs);
    std::fs::write(
        root.join("src/a.rs"),
        "pub fn old_name() {}\npub fn came_too() {}\n",
    )
    .unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let report = Ingester::new(vfs, &root, options())
        .unwrap()
        .ingest(&engine)
        .unwrap();
    assert_eq!(report.blocks_deleted, 1, "{report}");
    let fresh_dir = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(&root, fresh_dir.path());
    assert_eq!(dump(&engine), dump(&fresh));
}

/// After a restart, files whose size and modification time match their
/// stored state and predate the last walk are not read again: the walk
/// time is kept in the walk record. Before it was, a restarted ingester
/// read and hashed every file of the tree (on the Linux tree, 5-12 s).
#[test]
fn a_restart_does_not_read_files_the_last_walk_saw_unchanged() {
    use kausal_vfs::testing::{HookVfs, OpKind};
    use std::sync::atomic::{AtomicU64, Ordering};
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub fn a() {\n    b();\n}\npub fn b() {}\n"),
            ("src/util.rs", "pub fn c() {}\n"),
        ],
    );
    // An hour old: clearly older than any walk of this test.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for path in ["src/lib.rs", "src/util.rs"] {
        std::fs::File::options()
            .write(true)
            .open(root.path().join(path))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let reads = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&reads);
    let source_root = root.path().to_path_buf();
    let vfs: Arc<dyn Vfs> = Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if op.kind == OpKind::ReadFile && op.path.starts_with(&source_root) {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }));
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs.clone(), root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    let before = dump(&engine);

    // A restart: the picture is reloaded from the graph.
    ingester.forget();
    let again = ingester.ingest(&engine).unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 2, "{again}");
    assert_eq!(again.files_unchanged, 2);
    assert_eq!(again.blocks_written + again.edges_written, 0, "{again}");
    assert!(dump(&engine) == before);

    // A file edited after the last walk is read again after a restart.
    write_tree(
        root.path(),
        &[("src/util.rs", "pub fn c() {}\npub fn d() {}\n")],
    );
    ingester.forget();
    let edited = ingester.ingest(&engine).unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 3, "{edited}");
    assert_eq!(edited.files_parsed, 1);
    let fresh_db = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(root.path(), fresh_db.path());
    assert!(dump(&engine) == dump(&fresh));
}

/// A restart after a finished ingest trusts the stored graph (the walk
/// record is its newest write) and rebuilds only what changed; after an
/// ingest that stopped half-way (here: a block deleted after the walk
/// record, as a crashed ingest's first batch would leave it) it rebuilds
/// and compares every file, and repairs the graph.
#[test]
fn a_restart_checks_the_whole_graph_only_after_a_half_finished_ingest() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub fn a() {\n    b();\n}\npub fn b() {}\n"),
            ("src/util.rs", "pub fn c() {\n    crate::b();\n}\n"),
        ],
    );
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(vfs.clone(), root.path(), options()).unwrap();
    let first = ingester.ingest(&engine).unwrap();
    assert!(
        first.checked_whole_graph,
        "an empty graph has no walk record"
    );
    let whole = dump(&engine);

    // Finished: a restart trusts the graph, and still counts the calls.
    ingester.forget();
    let again = ingester.ingest(&engine).unwrap();
    assert!(!again.checked_whole_graph, "{again}");
    assert!(again.resolved);
    assert_eq!(again.calls, first.calls);
    assert_eq!(again.blocks_written + again.edges_written, 0, "{again}");
    assert!(dump(&engine) == whole);

    // Half-finished: a write after the walk record.
    let (victim, _) = whole
        .blocks
        .iter()
        .find(|(_, (uri, meta, _))| uri == "src/util.rs" && meta.contains("\"function\""))
        .expect("a function block of src/util.rs");
    let mut batch = kausal_storage::WriteBatch::new();
    batch.delete_block(*victim).unwrap();
    engine.write_batch(&batch).unwrap();
    ingester.forget();
    let repair = ingester.ingest(&engine).unwrap();
    assert!(repair.checked_whole_graph, "{repair}");
    assert!(repair.blocks_written > 0, "{repair}");
    assert!(dump(&engine) == whole);
    // And the repair finished: the next restart trusts it again.
    ingester.forget();
    assert!(!ingester.ingest(&engine).unwrap().checked_whole_graph);
}
