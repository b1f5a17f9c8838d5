//! The names dictionary and the names by length across shards: after each
//! incremental edit (names added and removed, a shard's first name added
//! and removed, a length emptied, a file added and deleted, a restart) the
//! stored dictionary blocks are exactly what a fresh ingest of the same
//! tree stores, and both list every code block's name.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_ingest::name_dictionary::{Dictionary, is_cut, is_dictionary_block};
use kausal_ingest::name_lengths::{self, NameLengths, name_length};
use kausal_storage::{BlockId, Database};
use kausal_vfs::OsVfs;
use support::{code_blocks, dump, meta_field, open_engine, options, write_tree};

/// A Python file defining `names`.
fn python(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("def {name}():\n    return 1\n\n"))
        .collect()
}

/// The dictionary blocks of `engine`: id -> (metadata, content).
fn dictionary_blocks(engine: &Database) -> BTreeMap<BlockId, (String, String)> {
    dump(engine)
        .blocks
        .into_iter()
        .filter(|(_, (_, meta, _))| is_dictionary_block(meta))
        .map(|(id, (_, meta, content))| (id, (meta, content)))
        .collect()
}

/// The names the stored dictionary lists, and the names of the code blocks.
fn names_and_code_names(engine: &Database) -> (BTreeSet<String>, BTreeSet<String>) {
    let snapshot = engine.snapshot();
    let dictionary = Dictionary::open(&snapshot).unwrap().expect("a dictionary");
    let mut listed = BTreeSet::new();
    dictionary
        .names(|name| {
            listed.insert(name.to_string());
            true
        })
        .unwrap();
    // The names by length list the same names, each under its length.
    let lengths = NameLengths::open(&snapshot)
        .unwrap()
        .expect("names by length");
    let mut by_length = BTreeSet::new();
    for length in 0..=64 {
        lengths
            .names_of_length(length, |name| {
                assert_eq!(name_length(name), length, "{name}");
                assert!(by_length.insert(name.to_string()), "{name} twice");
                true
            })
            .unwrap();
    }
    assert_eq!(by_length, listed);
    let dump = dump(engine);
    let code = code_blocks(&dump)
        .into_iter()
        .map(|(_, meta, _)| meta_field(meta, "name"))
        .collect();
    (listed, code)
}

fn fresh_dictionary(root: &Path) -> BTreeMap<BlockId, (String, String)> {
    let db = tempfile::tempdir().unwrap();
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(Arc::new(OsVfs::new()), root, options()).unwrap();
    ingester.ingest(&engine).unwrap();
    dictionary_blocks(&engine)
}

#[test]
fn incremental_dictionary_equals_fresh_across_shards() {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    let names = |file: usize, range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|n| format!("f{file}_name_{n:05}")).collect()
    };
    // 4 files of 4,000 names: a few shards of SHARD_ENTRIES (4,096).
    let mut files: Vec<Vec<String>> = (0..4).map(|file| names(file, 0..4000)).collect();
    let write_all = |files: &[Vec<String>]| {
        for (n, names) in files.iter().enumerate() {
            write_tree(root, &[(&format!("m{n}.py"), &python(names))]);
        }
    };
    write_all(&files);
    let db = tempfile::tempdir().unwrap();
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(Arc::new(OsVfs::new()), root, options()).unwrap();
    ingester.ingest(&engine).unwrap();
    let first = dictionary_blocks(&engine);
    assert!(first.len() >= 3, "{} dictionary blocks", first.len());
    assert_eq!(first, fresh_dictionary(root));

    // Names that start a shard, to add and remove.
    let cuts: Vec<String> = (0..200_000)
        .map(|n| format!("cut_{n}"))
        .filter(|name| is_cut(name))
        .take(2)
        .collect();
    assert_eq!(cuts.len(), 2);
    // A name that starts a shard of the names by length, of a length no
    // other name has.
    let length_cut = (0..200_000)
        .map(|n| format!("length_cut_of_a_length_of_its_own_{n:06}"))
        .find(|name| name_lengths::is_cut(name))
        .expect("a cut");
    let check = |step: &str, ingester: &mut Ingester| {
        ingester.ingest(&engine).unwrap();
        let stored = dictionary_blocks(&engine);
        assert_eq!(stored, fresh_dictionary(root), "after {step}");
        let (listed, code) = names_and_code_names(&engine);
        assert_eq!(listed, code, "after {step}");
    };
    // Names removed from one file and added to another; a cut added.
    files[1].truncate(3000);
    files[2].extend(names(9, 0..50));
    files[2].push(cuts[0].clone());
    files[2].push(length_cut.clone());
    write_all(&files);
    check("removing and adding names, a cut added", &mut ingester);
    // The cut removed, another added; a file deleted, one added.
    files[2].retain(|name| *name != cuts[0] && *name != length_cut);
    files[3].push(cuts[1].clone());
    write_all(&files);
    std::fs::remove_file(root.join("m0.py")).unwrap();
    write_tree(root, &[("new.py", &python(&names(7, 100..200)))]);
    check("a cut moved, a file deleted and one added", &mut ingester);
    // A restart, then an edit.
    ingester.forget();
    files[3].retain(|name| *name != cuts[1]);
    write_all(&files[1..]);
    std::fs::remove_file(root.join("m0.py")).unwrap();
    check("a restart and the last cut removed", &mut ingester);
}
