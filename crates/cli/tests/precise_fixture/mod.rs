//! Shared by the precise-mode tests (`ingest_scip.rs`, `index_command.rs`):
//! a small Rust crate whose one method call the heuristic cannot settle
//! (two `get`s, a receiver from a function returning `impl Sized`), a
//! Python file no index covers, a SCIP index of the crate built with the
//! `scip` crate's types, fixed modification times (no clock in the
//! tests), and helpers to run `kausal`.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protobuf::Message;
use scip::types::{Document, Index, Metadata, Occurrence, ToolInfo};

pub const CARGO: &str = "[package]\nname = \"fx\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
pub const LIB: &str = "mod a;\nmod b;\nmod c;\n";
pub const A: &str = "\
pub struct Store;
impl Store {
    pub fn get(&self) -> u32 {
        1
    }
}
pub struct Cache;
impl Cache {
    pub fn get(&self) -> u32 {
        2
    }
}
pub fn open() -> Store {
    Store
}
";
/// `second`'s receiver comes from a function the heuristic cannot type:
/// it sees two `get`s and stores candidates only; the index knows.
pub const B: &str = "\
use crate::a;
pub fn first() -> u32 {
    let s = a::open();
    s.get()
}
pub fn second() -> u32 {
    let v = crate::c::make();
    v.get()
}
";
pub const C: &str = "\
pub fn make() -> impl Sized {
    crate::a::Cache
}
pub fn third() -> u32 {
    crate::b::first()
}
";
/// No index covers it: its call edges stay heuristic and unmarked.
pub const PY: &str =
    "def summarize(rows):\n    return len(rows)\n\n\ndef main():\n    return summarize([])\n";

/// The files of the fixture.
pub const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", CARGO),
    ("src/lib.rs", LIB),
    ("src/a.rs", A),
    ("src/b.rs", B),
    ("src/c.rs", C),
    ("tools/report.py", PY),
];

/// When the fixture's files were written (2020).
pub const WRITTEN: u64 = 1_600_000_000;
/// When the prepared index was made (2023).
pub const INDEXED: u64 = 1_700_000_000;
/// When a file was edited after the index (2027).
pub const EDITED: u64 = 1_800_000_000;

const PKG: &str = "rust-analyzer cargo fx 0.1.0 ";

pub fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

pub fn set_mtime(path: &Path, time: SystemTime) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open to set mtime");
    file.set_modified(time).expect("set mtime");
}

pub fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(&full, text).expect("write");
}

/// The fixture in a new directory, every file written at [`WRITTEN`].
pub fn fixture() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    for (path, text) in FILES {
        write(repo.path(), path, text);
        set_mtime(&repo.path().join(path), at(WRITTEN));
    }
    repo
}

/// A SCIP document under construction: occurrences found by searching the
/// text (byte columns, as rust-analyzer counts).
struct Doc {
    path: &'static str,
    text: &'static str,
    occurrences: Vec<Occurrence>,
}

impl Doc {
    fn new(path: &'static str, text: &'static str) -> Self {
        Self {
            path,
            text,
            occurrences: Vec::new(),
        }
    }

    /// An occurrence of `ident` in the `nth` line containing `line`.
    fn at(mut self, line: &str, nth: usize, ident: &str, symbol: &str, definition: bool) -> Self {
        let (number, text) = self
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(line))
            .nth(nth)
            .unwrap_or_else(|| panic!("no line {nth} with {line:?} in {}", self.path));
        let from = text.find(line).expect("line");
        let column = from + text[from..].find(ident).expect("ident");
        self.occurrences.push(Occurrence {
            range: vec![number as i32, column as i32, (column + ident.len()) as i32],
            symbol: format!("{PKG}{symbol}"),
            symbol_roles: i32::from(definition),
            ..Occurrence::default()
        });
        self
    }

    fn def(self, line: &str, ident: &str, symbol: &str) -> Self {
        self.at(line, 0, ident, symbol, true)
    }

    fn call(self, line: &str, ident: &str, symbol: &str) -> Self {
        self.at(line, 0, ident, symbol, false)
    }
}

/// The index of the fixture's crate, as rust-analyzer would make it:
/// every definition and every call with its true callee.
pub fn index_bytes() -> Vec<u8> {
    let a = Doc::new("src/a.rs", A)
        .def("pub fn get(&self) -> u32 {", "get", "a/Store#get().")
        .at(
            "pub fn get(&self) -> u32 {",
            1,
            "get",
            "a/Cache#get().",
            true,
        )
        .def("pub fn open()", "open", "a/open().");
    let b = Doc::new("src/b.rs", B)
        .def("pub fn first", "first", "b/first().")
        .def("pub fn second", "second", "b/second().")
        .call("a::open()", "open", "a/open().")
        .call("s.get()", "get", "a/Store#get().")
        .call("c::make()", "make", "c/make().")
        .call("v.get()", "get", "a/Cache#get().");
    let c = Doc::new("src/c.rs", C)
        .def("pub fn make", "make", "c/make().")
        .def("pub fn third", "third", "c/third().")
        .call("b::first()", "first", "b/first().");
    let index = Index {
        metadata: Some(Metadata {
            tool_info: Some(ToolInfo {
                name: "rust-analyzer".into(),
                version: "test".into(),
                ..ToolInfo::default()
            })
            .into(),
            project_root: "file:///fixture".into(),
            ..Metadata::default()
        })
        .into(),
        documents: [a, b, c]
            .into_iter()
            .map(|doc| Document {
                relative_path: doc.path.into(),
                occurrences: doc.occurrences,
                ..Document::default()
            })
            .collect(),
        ..Index::default()
    };
    index.write_to_bytes().expect("encode the index")
}

/// `kausal ARGS` in `dir`, on its own database, never through a server.
pub fn kausal(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kausal"));
    command
        .current_dir(dir)
        .env_remove("KAUSAL_DB")
        .env("KAUSAL_NO_SERVER", "1")
        .env("NO_COLOR", "1");
    command
}

/// Runs `command`, expecting exit `code`; returns its output.
pub fn expect(command: &mut Command, code: i32) -> Output {
    let output = command.output().expect("run kausal");
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Stdout of `command`, which must exit `code`.
pub fn stdout(command: &mut Command, code: i32) -> String {
    String::from_utf8(expect(command, code).stdout).expect("utf-8")
}

/// The JSON document `command --json` prints; it must exit `code`.
pub fn json(command: &mut Command, code: i32) -> serde_json::Value {
    let output = expect(command.arg("--json"), code);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The direct callers of `name`: (qualified name, resolved_by,
/// precise_file) of each.
pub fn callers(dir: &Path, name: &str) -> Vec<(String, String, bool)> {
    let answer = json(kausal(dir).args(["callers", name]), 0);
    answer["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|child| {
            (
                child["qualified_name"].as_str().unwrap_or("").to_string(),
                child["resolved_by"].as_str().unwrap_or("").to_string(),
                child["precise_file"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}
