//! A unified diff (`git diff`, `diff -u`) read into the lines each file
//! changed, for `impact --diff`. Only what locating changed symbols needs
//! is kept: each file's old and new path, whether it was added, deleted or
//! renamed, the new-side lines added, and the old-side lines removed with
//! the new-side line each removal sits before. Bad input is an error that
//! names the line, never a panic; limits are named and checked.

/// Largest diff `impact --diff` reads, in bytes.
pub const MAX_DIFF_BYTES: usize = 1024 * 1024;
/// Most files one diff may change.
pub const MAX_DIFF_FILES: usize = 10_000;

/// What a diff did to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// The path before (`None` for an added file).
    pub old_path: Option<String>,
    /// The path after (`None` for a deleted file).
    pub new_path: Option<String>,
    /// New-side line numbers of added lines, ascending.
    pub added: Vec<u32>,
    /// Old-side line numbers of removed lines, ascending.
    pub removed: Vec<u32>,
    /// For each hunk that only removes lines: the new-side line before
    /// which the removed lines were (0 when they were at the top).
    pub removal_points: Vec<u32>,
    /// `Binary files ... differ`: no lines are known.
    pub binary: bool,
}

impl FileDiff {
    /// The path the file has after the diff, else before.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

/// Why a diff could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffError(pub String);

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(line: usize, what: impl std::fmt::Display) -> DiffError {
    DiffError(format!("diff line {line}: {what}"))
}

/// `a/src/x.rs` -> `src/x.rs`; `/dev/null` -> `None`. A tab ends the path
/// (`diff -u` puts the time after it); git quotes unusual names.
fn diff_path(text: &str) -> Option<String> {
    let text = text.split('\t').next().unwrap_or(text).trim_end();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if text == "/dev/null" {
        return None;
    }
    let stripped = text
        .strip_prefix("a/")
        .or_else(|| text.strip_prefix("b/"))
        .unwrap_or(text);
    Some(stripped.to_string())
}

/// `-12,3` or `+7` -> (12, 3) / (7, 1).
fn range(text: &str, sign: char) -> Option<(u32, u32)> {
    let text = text.strip_prefix(sign)?;
    match text.split_once(',') {
        Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

/// `@@ -a,b +c,d @@ ...` -> (a, b, c, d).
fn hunk_header(line: &str) -> Option<(u32, u32, u32, u32)> {
    let rest = line.strip_prefix("@@ ")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(' ')?;
    let (a, b) = range(old, '-')?;
    let (c, d) = range(new, '+')?;
    Some((a, b, c, d))
}

/// The files a unified diff changes, in the order it lists them.
pub fn parse_diff(text: &str) -> Result<Vec<FileDiff>, DiffError> {
    if text.len() > MAX_DIFF_BYTES {
        return Err(DiffError(format!(
            "the diff is {} bytes, over the limit of {MAX_DIFF_BYTES} (MAX_DIFF_BYTES)",
            text.len()
        )));
    }
    let mut files: Vec<FileDiff> = Vec::new();
    // A `diff --git` header opened the last file and its `---` line has
    // not come yet: that line names the same file, not a new one.
    let mut awaiting_paths = false;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        if let Some(rest) = line.strip_prefix("diff --git ") {
            files.push(git_header(rest));
            awaiting_paths = true;
        } else if let Some(rest) = line.strip_prefix("--- ") {
            let Some((_, next)) = lines.next() else {
                return Err(error(number, "`---` without a `+++` line after it"));
            };
            let Some(new) = next.strip_prefix("+++ ") else {
                return Err(error(number + 1, "expected a `+++` line after `---`"));
            };
            if !awaiting_paths {
                files.push(FileDiff::default());
            }
            awaiting_paths = false;
            if let Some(file) = files.last_mut() {
                file.old_path = diff_path(rest);
                file.new_path = diff_path(new);
            }
        } else if line.starts_with("@@") {
            let Some(file) = files.last_mut() else {
                return Err(error(number, "a hunk before any file header"));
            };
            awaiting_paths = false;
            let header = hunk_header(line)
                .ok_or_else(|| error(number, format!("not a hunk header: {line:?}")))?;
            hunk(file, header, &mut lines)?;
        } else if let Some(file) = files.last_mut() {
            git_extended_line(file, line);
        }
        // Anything before the first file (a commit message) belongs to
        // no file.
        if files.len() > MAX_DIFF_FILES {
            return Err(DiffError(format!(
                "the diff changes more than {MAX_DIFF_FILES} files (MAX_DIFF_FILES)"
            )));
        }
    }
    Ok(files)
}

/// `a/x.rs b/y.rs` of a `diff --git` line (the `---`/`+++` and `rename`
/// lines after it, when present, say it better).
fn git_header(rest: &str) -> FileDiff {
    let (old, new) = match rest.strip_prefix("a/").and_then(|r| r.split_once(" b/")) {
        Some((old, new)) => (Some(old.to_string()), Some(new.to_string())),
        None => (None, None),
    };
    FileDiff {
        old_path: old,
        new_path: new,
        ..FileDiff::default()
    }
}

/// Git's extended header lines: added, deleted, renamed, binary.
fn git_extended_line(file: &mut FileDiff, line: &str) {
    if line.starts_with("new file mode") {
        file.old_path = None;
    } else if line.starts_with("deleted file mode") {
        file.new_path = None;
    } else if let Some(path) = line.strip_prefix("rename from ") {
        file.old_path = Some(path.to_string());
    } else if let Some(path) = line.strip_prefix("rename to ") {
        file.new_path = Some(path.to_string());
    } else if line.starts_with("Binary files ") && line.ends_with(" differ") {
        file.binary = true;
    }
}

type Lines<'t> = std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'t>>>;

/// The lines of one hunk, as many as its header counts (`\ No newline at
/// end of file` markers are skipped wherever they are).
fn hunk(
    file: &mut FileDiff,
    (old_start, old_count, new_start, new_count): (u32, u32, u32, u32),
    lines: &mut Lines<'_>,
) -> Result<(), DiffError> {
    // A count of 0 puts the start at the line before (git, diff -u).
    let after = |start: u32, count: u32| {
        if count == 0 {
            start.saturating_add(1)
        } else {
            start
        }
    };
    let (mut old, mut new) = (after(old_start, old_count), after(new_start, new_count));
    let (mut old_left, mut new_left) = (old_count, new_count);
    // The new-side line before which the current run of removed lines
    // sits, while the run has not been followed by an added line.
    let mut removal: Option<u32> = None;
    while old_left > 0 || new_left > 0 {
        let Some(&(index, line)) = lines.peek() else {
            return Err(DiffError(format!(
                "the diff ends inside a hunk ({old_left} old and {new_left} new lines missing)"
            )));
        };
        let number = index + 1;
        let (marker, counts_old, counts_new) = match line.as_bytes().first() {
            Some(b'\\') => {
                lines.next();
                continue;
            }
            // Some tools strip the space of an empty context line.
            None | Some(b' ') => (' ', true, true),
            Some(b'-') => ('-', true, false),
            Some(b'+') => ('+', false, true),
            Some(_) => {
                return Err(error(
                    number,
                    format!(
                        "the hunk ends early ({old_left} old and {new_left} new lines missing)"
                    ),
                ));
            }
        };
        if (counts_old && old_left == 0) || (counts_new && new_left == 0) {
            return Err(error(number, "more lines than the hunk header counts"));
        }
        lines.next();
        match marker {
            '-' => {
                file.removed.push(old);
                removal.get_or_insert(new);
            }
            '+' => {
                file.added.push(new);
                removal = None;
            }
            _ => file.removal_points.extend(removal.take()),
        }
        if counts_old {
            old += 1;
            old_left -= 1;
        }
        if counts_new {
            new += 1;
            new_left -= 1;
        }
    }
    file.removal_points.extend(removal);
    // A marker right after the last counted line belongs to this hunk.
    while lines.peek().is_some_and(|(_, line)| line.starts_with('\\')) {
        lines.next();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_give_added_lines_and_removal_points() -> Result<(), DiffError> {
        let diff = "diff --git a/src/lib.rs b/src/lib.rs\nindex 1..2 100644\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n fn a() {\n-    old();\n+    new();\n }\n@@ -10,3 +10,2 @@ fn b() {\n x\n-gone\n y\n";
        let files = parse_diff(diff)?;
        assert_eq!(files.len(), 1);
        let file = &files[0];
        assert_eq!(file.path(), "src/lib.rs");
        assert_eq!(file.old_path.as_deref(), Some("src/lib.rs"));
        assert_eq!(file.added, [2]);
        assert_eq!(file.removed, [2, 11]);
        // `gone` sat between new lines 10 and 11: a pure removal.
        assert_eq!(file.removal_points, [11]);
        Ok(())
    }

    #[test]
    fn zero_count_hunks_start_after_the_line_they_name() -> Result<(), DiffError> {
        let files =
            parse_diff("--- a/x.py\n+++ b/x.py\n@@ -5,2 +4,0 @@\n-a\n-b\n@@ -9,0 +8,1 @@\n+c\n")?;
        assert_eq!(files[0].removed, [5, 6]);
        assert_eq!(files[0].removal_points, [5], "removed after new line 4");
        assert_eq!(files[0].added, [8]);
        Ok(())
    }

    #[test]
    fn new_deleted_renamed_and_binary_files() -> Result<(), DiffError> {
        let diff = "diff --git a/new.ts b/new.ts\nnew file mode 100644\nindex 0000000..1\n--- /dev/null\n+++ b/new.ts\n@@ -0,0 +1,2 @@\n+export function f() {}\n+f();\ndiff --git a/old.go b/old.go\ndeleted file mode 100644\n--- a/old.go\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-package x\n-func F() {}\ndiff --git a/a.rs b/b.rs\nsimilarity index 100%\nrename from a.rs\nrename to b.rs\ndiff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n";
        let files = parse_diff(diff)?;
        assert_eq!(files.len(), 4);
        assert_eq!(
            (files[0].old_path.as_deref(), files[0].path()),
            (None, "new.ts")
        );
        assert_eq!(files[0].added, [1, 2]);
        assert_eq!(
            (files[1].new_path.as_deref(), files[1].path()),
            (None, "old.go")
        );
        assert_eq!(files[1].removed, [1, 2]);
        assert_eq!(files[2].old_path.as_deref(), Some("a.rs"));
        assert_eq!(files[2].new_path.as_deref(), Some("b.rs"));
        assert!(files[2].added.is_empty() && files[2].removed.is_empty());
        assert!(files[3].binary);
        Ok(())
    }

    #[test]
    fn no_newline_markers_and_plain_diff_u_headers() -> Result<(), DiffError> {
        let diff = "--- x.c\t2024-01-01 00:00:00\n+++ x.c\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-int a;\n\\ No newline at end of file\n+int b;\n\\ No newline at end of file\n--- y.c\n+++ y.c\n@@ -1 +1,2 @@\n int c;\n+int d;\n";
        let files = parse_diff(diff)?;
        assert_eq!(files.len(), 2);
        assert_eq!(
            (files[0].path(), files[0].added.as_slice()),
            ("x.c", &[1][..])
        );
        assert_eq!(files[0].removed, [1]);
        assert_eq!(
            (files[1].path(), files[1].added.as_slice()),
            ("y.c", &[2][..])
        );
        assert!(parse_diff("")?.is_empty(), "an empty diff changes nothing");
        Ok(())
    }

    #[test]
    fn bad_input_is_an_error_naming_the_line_never_a_panic() {
        let bad = [
            ("@@ -1 +1 @@\n-a\n+b\n", "before any file header"),
            ("--- a/x\n@@ -1 +1 @@\n", "expected a `+++` line"),
            ("--- a/x\n", "without a `+++`"),
            (
                "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n",
                "ends inside a hunk",
            ),
            ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n*b\n", "ends early"),
            ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n-b\n", "more lines than"),
            ("--- a/x\n+++ b/x\n@@ nonsense @@\n", "not a hunk header"),
            (
                "--- a/x\n+++ b/x\n@@ -99999999999 +1 @@\n",
                "not a hunk header",
            ),
        ];
        for (diff, expected) in bad {
            match parse_diff(diff) {
                Err(DiffError(message)) => {
                    assert!(message.contains(expected), "{diff:?}: {message}")
                }
                Ok(files) => panic!("{diff:?} parsed: {files:?}"),
            }
        }
        let huge = "x".repeat(MAX_DIFF_BYTES + 1);
        assert!(parse_diff(&huge).is_err());
        // Arbitrary bytes never panic.
        for junk in [
            "@@",
            "@@ -",
            "@@ -1,x +1 @@",
            "--- \n+++ \n@@ -0,0 +0,0 @@\n",
            "\\\n\\",
        ] {
            let _ = parse_diff(junk);
        }
    }
}
