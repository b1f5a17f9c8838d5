//! `kausal ingest` says what it left out: ignore rules that hide most of
//! the tree are named (and `--no-ignore` / `--ignore-file` change them), a
//! file over a limit is skipped with its cause while the rest is ingested
//! (exit 3, listed in `--json`), and `kausal stats` repeats both.

mod support;

use std::fmt::Write as _;
use std::path::Path;

use support::*;

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = kausal_output(dir, args, true);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rules_that_hide_the_tree_are_named_and_no_ignore_ingests_it() {
    let repo = tempfile::tempdir().expect("tempdir");
    for (path, text) in [
        (".gitignore", "/*\n!/debian/\n"),
        ("kernel/fork.c", "int copy_process(void) { return 0; }\n"),
        ("kernel/exit.c", "void do_exit(void) { copy_process(); }\n"),
        ("debian/rules.py", "def main():\n    pass\n"),
    ] {
        write(repo.path(), path, text);
    }
    let (code, out, err) = run(repo.path(), &["ingest"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(
            "warning: ignore rules excluded 2 of 3 source files; most by .gitignore (rule `/*`"
        ),
        "{out}"
    );
    let (code, out, _) = run(repo.path(), &["stats"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(
            "last ingest: 1 source files seen, 0 skipped, 0 partial, 2 excluded by ignore rules"
        ) && out.contains("most by .gitignore"),
        "{out}"
    );
    let (code, _, _) = run(repo.path(), &["find", "copy_process"]);
    assert_eq!(code, Some(1), "ignored files are not in the graph");

    let (code, out, err) = run(repo.path(), &["ingest", "--no-ignore"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("files: 3 seen"), "{out}");
    let (code, out, _) = run(repo.path(), &["find", "copy_process"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("kernel/fork.c"), "{out}");

    // An extra rule file, relative to where kausal runs.
    write(repo.path(), "rules.txt", "kernel/exit.c\n");
    let (code, out, err) = run(repo.path(), &["ingest", "--no-ignore", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(
        repo.path(),
        &["--json", "ingest", "--ignore-file", "rules.txt"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["files_seen"], 1, "{json}");
    assert_eq!(json["ignored"]["excluded"], 2, "{json}");
    assert_eq!(json["complete"], true, "{json}");
}

fn register_header(count: usize) -> String {
    let mut text = String::new();
    for index in 0..count {
        let _ = writeln!(text, "#define mmREG_{index:05}__FIELD_MASK 0x{index:08x}");
    }
    text
}

#[test]
fn a_file_over_a_limit_is_skipped_listed_and_exits_3_while_the_rest_is_ingested() {
    let repo = tempfile::tempdir().expect("tempdir");
    // 30,000 #defines: over the default 1M size limit.
    write(
        repo.path(),
        "asic_reg/bif_sh_mask.h",
        &register_header(30_000),
    );
    write(
        repo.path(),
        "gpu.c",
        "int gpu_init(void) { return helper(); }\nint helper(void) { return 1; }\n",
    );
    let (code, out, err) = run(repo.path(), &["--json", "ingest"]);
    assert_eq!(code, Some(3), "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["complete"], false, "{json}");
    assert_eq!(
        json["skipped"][0]["path"], "asic_reg/bif_sh_mask.h",
        "{json}"
    );
    assert_eq!(json["skipped"][0]["cause"], "too_large", "{json}");
    let (code, out, _) = run(repo.path(), &["callers", "helper"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("gpu_init"), "{out}");

    let (code, out, _) = run(repo.path(), &["ingest"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("skipped asic_reg/bif_sh_mask.h: larger than 1048576 bytes (--max-filesize)")
            && out.contains("incomplete: 1 files left out"),
        "{out}"
    );
    let (code, out, _) = run(repo.path(), &["--json", "stats"]);
    assert_eq!(code, Some(0), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        json["last_walk"]["skipped_by_cause"]["too_large"], 1,
        "{json}"
    );
    // A larger limit ingests it: complete, exit 0, and stats says so.
    let (code, out, _) = run(repo.path(), &["--json", "ingest", "--max-filesize", "2M"]);
    assert_eq!(code, Some(0), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["complete"], true, "{json}");
    let (code, out, _) = run(repo.path(), &["--json", "stats"]);
    assert_eq!(code, Some(0), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        json["last_walk"]["skipped"],
        serde_json::json!([]),
        "{json}"
    );
    assert_eq!(json["blocks_by_kind"]["macro"], 30_000, "{json}");
    let (code, _, err) = run(repo.path(), &["ingest", "--max-filesize", "1.5M"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a size"), "{err}");
}
