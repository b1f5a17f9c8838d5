//! The peer tools of `cargo xtask eval-calls --peers`: GitNexus (npm) and
//! CodeGraphContext (PyPI), installed at pinned versions into the eval
//! directory's `tools/peers/`, run on a copy of each project's tree, and
//! their call edges read back from their graphs as the TSV that
//! `scip-eval --peer-edges` scores (`caller_path`, `caller_line`,
//! `callee_path`, `callee_line`, `caller_name`, `callee_name` separated by
//! tabs; paths relative to the tree, lines 1-based; the names let the
//! scorer take an overload signature for its implementation).
//! Only edges whose both ends are functions or methods in the tool's own
//! graph are kept: an edge to a class (`new X()`, `X()`) or a Rust struct
//! literal is no call between functions, for the tool or for kausal.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::run;

/// A peer tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    GitNexus,
    CodeGraphContext,
}

/// The peers, in the table's order.
pub const PEERS: [Peer; 2] = [Peer::GitNexus, Peer::CodeGraphContext];

/// The GitNexus labels of function nodes (its other CALLS targets are
/// classes, structs, properties and variables).
const GITNEXUS_FUNCTIONS: &str = "['Function', 'Method', 'Constructor']";

/// tree-sitter-language-pack 1.x, which CodeGraphContext 0.6.13 asks for,
/// downloads its grammars from GitHub on first use, which this machine
/// cannot reach; 0.13.0 ships them in the wheel and has the same
/// `get_language`/`get_parser` API, so it is installed over it.
const CGC_GRAMMARS: &str = "tree-sitter-language-pack==0.13.0";

impl Peer {
    /// The name used in file names and the table's columns.
    pub fn name(self) -> &'static str {
        match self {
            Peer::GitNexus => "gitnexus",
            Peer::CodeGraphContext => "cgc",
        }
    }

    /// The pinned version of its package.
    pub fn version(self) -> &'static str {
        match self {
            Peer::GitNexus => "1.6.12",
            Peer::CodeGraphContext => "0.6.13",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Peer::GitNexus => "gitnexus",
            Peer::CodeGraphContext => "codegraphcontext",
        }
    }

    /// Installs the tool under `tools` unless its pinned version is there;
    /// returns its command and whether it installed now.
    pub fn install(self, tools: &Path) -> Result<(PathBuf, bool), String> {
        let prefix = tools.join("peers").join(self.name());
        let done = prefix.join("installed");
        // What is installed, as the marker file records it.
        let spec = match self {
            Peer::GitNexus => format!("{}@{}", self.package(), self.version()),
            Peer::CodeGraphContext => {
                format!("{}=={} {CGC_GRAMMARS}", self.package(), self.version())
            }
        };
        let program = match self {
            Peer::GitNexus => prefix.join("node_modules").join(".bin").join("gitnexus"),
            Peer::CodeGraphContext => prefix.join("bin").join("cgc"),
        };
        if std::fs::read_to_string(&done).is_ok_and(|text| text.trim() == spec) {
            return Ok((program, false));
        }
        std::fs::create_dir_all(&prefix)
            .map_err(|error| format!("create {}: {error}", prefix.display()))?;
        match self {
            Peer::GitNexus => {
                run(
                    Command::new("npm")
                        .args(["install", "--no-audit", "--no-fund", "--save-exact"])
                        .arg("--prefix")
                        .arg(&prefix)
                        .arg(&spec),
                    &format!("npm install {spec}"),
                )?;
            }
            Peer::CodeGraphContext => {
                run(
                    Command::new("python3").args(["-m", "venv"]).arg(&prefix),
                    "python3 -m venv",
                )?;
                let pip = prefix.join("bin").join("pip");
                let package = format!("{}=={}", self.package(), self.version());
                for what in [package.as_str(), CGC_GRAMMARS] {
                    run(
                        Command::new(&pip).args(["install", "--quiet", what]),
                        &format!("pip install {what}"),
                    )?;
                }
            }
        }
        std::fs::write(&done, format!("{spec}\n"))
            .map_err(|error| format!("write {}: {error}", done.display()))?;
        Ok((program, true))
    }

    /// The first line of its `edges.tsv`: the tool, its version and the
    /// TSV's columns. An `edges.tsv` that starts otherwise was made by
    /// another version or query and is made again.
    fn tsv_header(self) -> String {
        format!(
            "# {} {}: caller_path caller_line callee_path callee_line caller_name callee_name\n",
            self.name(),
            self.version()
        )
    }

    /// Runs the tool on a copy of `pdir/project` (its files, such as
    /// `.cgcignore`, stay out of the tree kausal ingests) and writes its
    /// edges to `pdir/peers/NAME/edges.tsv`, unless that file is there
    /// with this version's header.
    /// Returns the seconds the tool took to index (when it ran now; read
    /// back from `index.seconds` otherwise) and whether it ran now.
    pub fn edges(self, program: &Path, pdir: &Path) -> Result<(Option<f64>, bool), String> {
        let dir = pdir.join("peers").join(self.name());
        let tsv = dir.join("edges.tsv");
        let seconds_file = dir.join("index.seconds");
        let header = self.tsv_header();
        let current = std::fs::read_to_string(&tsv).is_ok_and(|text| text.starts_with(&header));
        if current {
            let seconds = std::fs::read_to_string(&seconds_file)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            return Ok((seconds, false));
        }
        let tree = dir.join("tree");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|error| format!("remove {}: {error}", dir.display()))?;
        }
        let home = dir.join("home");
        std::fs::create_dir_all(&home)
            .map_err(|error| format!("create {}: {error}", home.display()))?;
        run(
            Command::new("cp")
                .arg("-a")
                .arg(pdir.join("project"))
                .arg(&tree),
            "copy the tree",
        )?;
        let started = Instant::now();
        self.index(program, &dir, &tree)?;
        let seconds = started.elapsed().as_secs_f64();
        let text = self.query(program, &dir)?;
        let edges = match self {
            Peer::GitNexus => gitnexus_edges(&text)?,
            Peer::CodeGraphContext => cgc_edges(&text, &tree)?,
        };
        let partial = dir.join("edges.tsv.partial");
        std::fs::write(&partial, header + &edges)
            .map_err(|error| format!("write {}: {error}", partial.display()))?;
        std::fs::rename(&partial, &tsv)
            .map_err(|error| format!("move {}: {error}", partial.display()))?;
        std::fs::write(&seconds_file, format!("{seconds:.1}\n"))
            .map_err(|error| format!("write {}: {error}", seconds_file.display()))?;
        Ok((Some(seconds), true))
    }

    /// The tool's command with its state kept under `dir`: its home
    /// (GitNexus keeps a registry of repositories in `~/.gitnexus`,
    /// CodeGraphContext its configuration in `~/.codegraphcontext`) and
    /// its graph.
    fn command(self, program: &Path, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("HOME", dir.join("home"))
            .env("DO_NOT_TRACK", "1")
            .current_dir(dir);
        match self {
            Peer::GitNexus => {
                command.env("GITNEXUS_STORAGE_PATH", dir.join("graph"));
            }
            Peer::CodeGraphContext => {
                // The embedded KuzuDB backend: no database server to run.
                command
                    .args(["--db", "kuzudb", "--db-path"])
                    .arg(dir.join("graph.kuzu"));
            }
        }
        command
    }

    /// Indexes `tree`, its output in `dir/index.log`.
    fn index(self, program: &Path, dir: &Path, tree: &Path) -> Result<(), String> {
        let log_path = dir.join("index.log");
        let log = File::create(&log_path)
            .map_err(|error| format!("create {}: {error}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|error| format!("open {}: {error}", log_path.display()))?;
        let mut command = self.command(program, dir);
        match self {
            Peer::GitNexus => command.args(["analyze", "--skip-git", "--index-only", "--skip-fts"]),
            Peer::CodeGraphContext => command.arg("index"),
        };
        let status = command
            .arg(tree)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .status()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let last = text.lines().rev().find(|l| !l.trim().is_empty());
        Err(format!(
            "{} index failed ({status}): {} (log: {})",
            self.name(),
            last.unwrap_or("").trim(),
            log_path.display()
        ))
    }

    /// Asks the tool's graph for its call edges between functions. The
    /// answer goes to `dir/query.out`, a file: node cuts what it writes
    /// to a pipe at 64 KiB when GitNexus exits, and a file it writes in
    /// full.
    fn query(self, program: &Path, dir: &Path) -> Result<String, String> {
        let mut command = self.command(program, dir);
        match self {
            Peer::GitNexus => command.arg("cypher").arg(format!(
                "MATCH (a)-[r:CodeRelation {{type: 'CALLS'}}]->(b) \
                 WHERE label(a) IN {GITNEXUS_FUNCTIONS} AND label(b) IN {GITNEXUS_FUNCTIONS} \
                 RETURN a.filePath AS ap, a.startLine AS al, b.filePath AS bp, b.startLine AS bl, \
                 a.name AS an, b.name AS bn"
            )),
            // CodeGraphContext prints the answer through rich, which wraps
            // lines at 80 columns when its output is no terminal.
            Peer::CodeGraphContext => command.env("COLUMNS", "1000000").arg("query").arg(
                "MATCH (a:Function)-[r:CALLS]->(b:Function) \
                 RETURN a.path AS ap, a.line_number AS al, b.path AS bp, b.line_number AS bl, \
                 a.name AS an, b.name AS bn",
            ),
        };
        let out_path = dir.join("query.out");
        let out = File::create(&out_path)
            .map_err(|error| format!("create {}: {error}", out_path.display()))?;
        let output = command
            .stdout(Stdio::from(out))
            .stderr(Stdio::piped())
            .output()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            return Err(format!(
                "{} query failed ({}): {}",
                self.name(),
                output.status,
                last.unwrap_or("no message").trim()
            ));
        }
        std::fs::read_to_string(&out_path)
            .map_err(|error| format!("read {}: {error}", out_path.display()))
    }
}

/// One end of an edge: path, 1-based line, name.
type End<'a> = (&'a str, u64, &'a str);

/// One TSV line. A tab or a line break in a name (none is expected)
/// would break the line, so it becomes a space.
fn tsv_line(caller: End, callee: End) -> String {
    let name = |name: &str| name.replace(['\t', '\n', '\r'], " ");
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\n",
        caller.0,
        caller.1,
        callee.0,
        callee.1,
        name(caller.2),
        name(callee.2)
    )
}

/// The edges of `gitnexus cypher`'s answer: a JSON object whose
/// `markdown` is a table with the columns `ap | al | bp | bl | an | bn`
/// (paths relative to the tree, 0-based start lines, names).
pub fn gitnexus_edges(stdout: &str) -> Result<String, String> {
    let start = stdout
        .find('{')
        .ok_or("gitnexus cypher: no JSON in its output")?;
    let value: serde_json::Value = serde_json::from_str(stdout[start..].trim())
        .map_err(|error| format!("gitnexus cypher: not JSON: {error}"))?;
    if let Some(error) = value["error"].as_str() {
        return Err(format!("gitnexus cypher: {error}"));
    }
    let table = value["markdown"]
        .as_str()
        .ok_or("gitnexus cypher: no `markdown` table")?;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().map(cells).unwrap_or_default();
    if header != ["ap", "al", "bp", "bl", "an", "bn"] {
        return Err(format!("gitnexus cypher: unexpected columns {header:?}"));
    }
    let mut tsv = String::new();
    for line in lines.filter(|line| !line.starts_with("| ---")) {
        let row = cells(line);
        let line_of = |cell: &str| {
            cell.parse::<u64>()
                .map(|line| line + 1)
                .map_err(|_| format!("gitnexus cypher: not a line number in `{line}`"))
        };
        let [ap, al, bp, bl, an, bn] = row[..] else {
            return Err(format!("gitnexus cypher: not 6 cells: `{line}`"));
        };
        tsv.push_str(&tsv_line((ap, line_of(al)?, an), (bp, line_of(bl)?, bn)));
    }
    Ok(tsv)
}

/// The cells of a markdown table row.
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// The edges of `cgc query`'s answer: log lines, then a JSON array of
/// objects `{ap, al, bp, bl, an, bn}` (absolute paths under `tree`,
/// 1-based lines, names).
pub fn cgc_edges(stdout: &str, tree: &Path) -> Result<String, String> {
    let start = stdout
        .lines()
        .position(|line| line.starts_with('['))
        .ok_or("cgc query: no JSON array in its output")?;
    let json: Vec<&str> = stdout.lines().skip(start).collect();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.join("\n"))
        .map_err(|error| format!("cgc query: not JSON: {error}"))?;
    let root = format!("{}/", tree.display());
    let mut tsv = String::new();
    for row in &rows {
        let end = |path: &str, line: &str, name: &str| {
            let file = row[path]
                .as_str()
                .ok_or_else(|| format!("cgc query: no `{path}` in {row}"))?;
            let file = file.strip_prefix(&root).unwrap_or(file);
            let number = row[line]
                .as_u64()
                .ok_or_else(|| format!("cgc query: no `{line}` in {row}"))?;
            let name = row[name].as_str().unwrap_or("");
            Ok::<End, String>((file, number, name))
        };
        tsv.push_str(&tsv_line(end("ap", "al", "an")?, end("bp", "bl", "bn")?));
    }
    Ok(tsv)
}
