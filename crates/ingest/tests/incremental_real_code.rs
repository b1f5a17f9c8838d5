//! Incremental Rust resolution on real code: a copy of this workspace's
//! `vfs` and `storage` crates (about 9,000 lines of traits, impls,
//! generics and cross-crate calls) is edited step by step the way people
//! edit: functions and methods added with names and types the code
//! already uses, return and field types changed, trait impls added,
//! imports removed, functions renamed, calls added to bodies. After each
//! re-ingest the stored graph (edges, provenance, call counts) must equal
//! a fresh ingest of the same tree: an edit that changes how calls in
//! other files resolve must re-resolve them (see
//! `resolve/rust/incremental.rs`). The edit scripts come from fixed seeds.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_vfs::{OsVfs, Vfs};
use support::*;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len())]
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers following `keyword ` in `text` (`fn open`, `struct Table`).
fn names_after(text: &str, keyword: &str, out: &mut Vec<String>) {
    for (at, _) in text.match_indices(keyword) {
        let rest = &text[at + keyword.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
}

struct Pools {
    functions: Vec<String>,
    types: Vec<String>,
    traits: Vec<String>,
}

fn pools(files: &[PathBuf]) -> Pools {
    let (mut functions, mut types, mut traits) = (Vec::new(), Vec::new(), Vec::new());
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        names_after(&text, "fn ", &mut functions);
        names_after(&text, "struct ", &mut types);
        names_after(&text, "enum ", &mut types);
        names_after(&text, "trait ", &mut traits);
    }
    functions.sort();
    types.sort();
    traits.sort();
    Pools {
        functions,
        types,
        traits,
    }
}

/// One edit of `text`; returns what it did.
fn edit(text: &mut String, rng: &mut Rng, pools: &Pools) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let find = |lines: &[String], rng: &mut Rng, test: &dyn Fn(&str) -> bool| {
        let found: Vec<usize> = (0..lines.len()).filter(|i| test(&lines[*i])).collect();
        (!found.is_empty()).then(|| found[rng.below(found.len())])
    };
    let what = match rng.below(8) {
        0 => {
            let (name, ty) = (rng.pick(&pools.functions), rng.pick(&pools.types));
            lines.push(format!("pub fn {name}() -> {ty} {{ todo!() }}"));
            format!("free fn {name} -> {ty}")
        }
        1 => {
            let (name, ty) = (rng.pick(&pools.functions), rng.pick(&pools.types));
            let Some(at) = find(&lines, rng, &|l| l.starts_with("impl") && l.ends_with('{')) else {
                return "nothing (no impl)".into();
            };
            lines.insert(
                at + 1,
                format!("    pub fn {name}(&self) -> {ty} {{ todo!() }}"),
            );
            format!("method {name} -> {ty} in {}", lines[at])
        }
        2 => {
            let ty = rng.pick(&pools.types);
            let Some(at) = find(&lines, rng, &|l| l.contains(") -> ") && l.ends_with('{')) else {
                return "nothing (no return type)".into();
            };
            let line = &lines[at];
            let arrow = line.find(") -> ").unwrap_or(0) + 5;
            let end = line.rfind(" where").unwrap_or(line.len() - 1);
            let end = end.max(arrow);
            lines[at] = format!("{}{ty}{}", &line[..arrow], &line[end..]);
            format!("return type -> {ty}: {}", lines[at])
        }
        3 => {
            let ty = rng.pick(&pools.types);
            let Some(at) = find(&lines, rng, &|l| {
                let t = l.trim_start();
                l.starts_with("    ")
                    && !t.starts_with("//")
                    && t.ends_with(',')
                    && t.contains(": ")
                    && !t.contains('(')
                    && !t.contains('"')
            }) else {
                return "nothing (no field)".into();
            };
            let line = lines[at].clone();
            let colon = line.find(": ").unwrap_or(0);
            lines[at] = format!("{}: {ty},", &line[..colon]);
            format!("field type -> {ty}: {}", lines[at])
        }
        4 => {
            let (tr, ty) = (rng.pick(&pools.traits), rng.pick(&pools.types));
            lines.push(format!("impl {tr} for {ty} {{}}"));
            format!("impl {tr} for {ty}")
        }
        5 => {
            let Some(at) = find(&lines, rng, &|l| l.starts_with("use ")) else {
                return "nothing (no use)".into();
            };
            let removed = lines.remove(at);
            format!("removed {removed}")
        }
        6 => {
            let name = rng.pick(&pools.functions);
            let Some(at) = find(&lines, rng, &|l| {
                l.trim_start().starts_with("pub fn ") || l.trim_start().starts_with("fn ")
            }) else {
                return "nothing (no fn)".into();
            };
            let line = lines[at].clone();
            let start = line.find("fn ").unwrap_or(0) + 3;
            let end = line[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(line.len(), |e| start + e);
            lines[at] = format!("{}{name}{}", &line[..start], &line[end..]);
            format!("renamed fn: {}", lines[at])
        }
        _ => {
            let (method, ty) = (rng.pick(&pools.functions), rng.pick(&pools.types));
            let Some(at) = find(&lines, rng, &|l| l.contains("fn ") && l.ends_with('{')) else {
                return "nothing (no body)".into();
            };
            lines.insert(
                at + 1,
                format!("        let _k = {ty}::{method}().{method}();"),
            );
            format!("call {ty}::{method}().{method}() after {}", lines[at])
        }
    };
    *text = lines.join("\n");
    text.push('\n');
    what
}

fn check_seed(seed: u64, steps: usize) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = tempfile::tempdir().unwrap();
    for krate in ["vfs", "storage"] {
        copy_dir(
            &workspace.join("crates").join(krate),
            &root.path().join("crates").join(krate),
        );
    }
    let mut files = Vec::new();
    rust_files(root.path(), &mut files);
    let pools = pools(&files);
    let mut rng = Rng(seed);

    let db = tempfile::tempdir().unwrap();
    let engine = open_engine(db.path());
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    for step in 0..steps {
        // Mostly one file an edit, sometimes two before one re-ingest.
        let mut done = Vec::new();
        for _ in 0..1 + usize::from(rng.below(4) == 0) {
            let file = &files[rng.below(files.len())];
            let mut text = std::fs::read_to_string(file).unwrap();
            let what = edit(&mut text, &mut rng, &pools);
            std::fs::write(file, text).unwrap();
            done.push(format!(
                "{}: {what}",
                file.strip_prefix(root.path()).unwrap().display()
            ));
        }
        let report = ingester.ingest(&engine).unwrap();
        let fresh_db = tempfile::tempdir().unwrap();
        let (fresh, fresh_report) = ingest_fresh(root.path(), fresh_db.path());
        let (got, want) = (edge_lines(&engine), edge_lines(&fresh));
        let extra: Vec<_> = got.difference(&want).collect();
        let missing: Vec<_> = want.difference(&got).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "seed {seed} step {step} ({done:?}): incremental differs from fresh\n\
             extra {extra:#?}\nmissing {missing:#?}"
        );
        assert_eq!(
            provenance_lines(&engine),
            provenance_lines(&fresh),
            "seed {seed} step {step} ({done:?})"
        );
        assert_eq!(
            report.calls, fresh_report.calls,
            "seed {seed} step {step} ({done:?})"
        );
        assert_eq!(
            report.call_samples, fresh_report.call_samples,
            "seed {seed} step {step} ({done:?})"
        );
    }
}

#[test]
fn edits_of_real_code_resolve_as_a_fresh_ingest_does() {
    for seed in [0x9e37_79b9_7f4a_7c15, 0x2545_f491_4f6c_dd1d, 21] {
        check_seed(seed, 25);
    }
}
