//! The command line as typed: clap definitions only, checked without I/O.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kausal: a code graph of your repository, on disk, answering in milliseconds.
#[derive(Debug, Parser)]
#[command(name = "kausal", version, about, long_about = None)]
pub struct Cli {
    /// Database directory (default: $KAUSAL_DB, else `.kausal/` in the
    /// nearest ancestor that has one, else `ingest` creates `.kausal/` in
    /// the repository it ingests).
    #[arg(long, global = true, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Print one JSON document on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Even when not writing to a terminal.
    Always,
    /// Plain text only.
    Never,
}

/// The commands `kausal` runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest (or re-ingest, incrementally) a source tree.
    Ingest {
        /// Repository root (default: the current directory).
        path: Option<PathBuf>,
        /// Merge the call edges of this SCIP index (`rust-analyzer scip`,
        /// `scip-typescript`, `scip-python`) for the files it covers and
        /// still describes (precise mode); repeatable, later files win for
        /// a file several cover. Every file is read and checked before the
        /// database is opened.
        #[arg(long = "scip", value_name = "FILE")]
        scip: Vec<PathBuf>,
        /// Which files the walk reads.
        #[command(flatten)]
        walk: WalkArgs,
    },
    /// Run the SCIP indexers of the repository's languages (rust-analyzer,
    /// scip-typescript, scip-python, as found on PATH), then ingest with
    /// their call edges (precise mode). A missing indexer is named, and the
    /// heuristic graph is ingested without it.
    Index {
        /// Repository root (default: the current directory).
        path: Option<PathBuf>,
        /// Which files the walk reads.
        #[command(flatten)]
        walk: WalkArgs,
    },
    /// Find blocks by exact name, qualified-name suffix (`Reader::find`) or prefix.
    Find(FindArgs),
    /// Show one block: its metadata and source.
    Show(ShowArgs),
    /// Who calls NAME, as a tree.
    Callers(TreeArgs),
    /// What NAME calls, as a tree.
    Callees(TreeArgs),
    /// Everything reachable from NAME over the chosen edges.
    Trace(TraceArgs),
    /// The shortest path from FROM to TO.
    Path(PathArgs),
    /// Groups of blocks that reach each other (recursion, import cycles).
    Cycles(CyclesArgs),
    /// What a file or module imports, and what imports it.
    Deps(DepsArgs),
    /// Blocks by kind and language, edges by type, tables, bytes on disk.
    Stats,
    /// NAME's source, its callers' and callees' signatures, the types it
    /// uses and its file's outline, packed into a token budget.
    Context(ContextArgs),
    /// What can break: everything that reaches NAME, a file's items or the
    /// lines PATH:START-END (or, with --diff, the lines a diff on stdin
    /// changes) over calls and imports, by distance; the tests among it.
    Impact(ImpactArgs),
    /// A file's items, nested: kind, name, signature, doc, lines.
    Outline(OutlineArgs),
    /// The repository's most important files and items (PageRank over
    /// calls and imports), packed into a token budget.
    Map(MapArgs),
    /// Re-read every table and WAL record and check every checksum.
    Verify,
    /// Copy the database to DIR, consistently, even while it is written.
    Backup {
        /// A new or empty directory to write the copy into.
        dir: PathBuf,
    },
    /// Merge all tables into one.
    Compact,
    /// Write the graph as Apache Parquet tables (blocks, edges, files)
    /// into DIR, for DataFusion, DuckDB, Spark or Trino (docs/EXPORT.md).
    Export(crate::export::ExportArgs),
    /// Serve the graph over HTTP/JSON on 127.0.0.1 (address and bearer
    /// token in `server.json` in the database directory) until SIGINT or
    /// SIGTERM; other `kausal` commands then use it.
    Serve {
        /// Re-ingest changed files (debounced) so answers follow edits.
        #[arg(long)]
        watch: bool,
        /// Port (default: any free port; see server.json).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// With --watch: once the tree has been quiet for a while after a
        /// re-ingest, run the SCIP indexers (as `kausal index`) in the
        /// background and merge their precise calls.
        #[arg(long, requires = "watch")]
        precise: bool,
        /// Seconds of quiet before --precise runs the indexers (default 30).
        #[arg(long, value_name = "SECONDS", requires = "precise")]
        precise_quiet: Option<u64>,
        /// Repository root that ingests read (default: the directory that
        /// holds the database's `.kausal/`, else the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Which files the server's ingests read.
        #[command(flatten)]
        walk: WalkArgs,
    },
    /// Serve the graph as Model Context Protocol tools on stdin/stdout,
    /// for LLM agents (register `kausal mcp` with your MCP client). With a
    /// `kausal serve` running for the database, answers come through it;
    /// otherwise the database is opened read-only (writable with --watch).
    Mcp {
        /// Re-ingest changed files (debounced) so answers follow edits
        /// (left to the server when one runs).
        #[arg(long)]
        watch: bool,
        /// Repository root that ingests read (default as for `serve`).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Which files the server's ingests read.
        #[command(flatten)]
        walk: WalkArgs,
    },
}

/// Which files an ingest's walk reads (`ingest`, `serve`, `mcp`), named
/// as in ripgrep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct WalkArgs {
    /// Read no ignore files (`.gitignore`, `.ignore`, `.kausalignore`):
    /// ingest what they would exclude. Hidden files and `target/`,
    /// `node_modules/`, `.git/` stay out.
    #[arg(long)]
    pub no_ignore: bool,
    /// Also exclude what this gitignore-syntax file lists (patterns
    /// relative to the repository root); repeatable.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Vec<PathBuf>,
    /// Skip files larger than this: bytes, or with a K, M or G suffix
    /// (default 1M, at most 8M). Skipped files are listed and make the exit
    /// status 3.
    #[arg(long, value_name = "NUM+SUFFIX?", value_parser = parse_size, alias = "max-file-bytes")]
    pub max_filesize: Option<u64>,
}

/// `1048576`, `512K`, `1M`, `2G` (binary multiples, either case) as bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, multiple) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1u64 << 10),
        Some((at, 'm' | 'M')) => (&text[..at], 1u64 << 20),
        Some((at, 'g' | 'G')) => (&text[..at], 1u64 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(multiple))
        .ok_or_else(|| {
            format!("{text:?} is not a size (a number of bytes, optionally with K, M or G)")
        })
}

pub use kausal_service::{
    ContextArgs, CyclesArgs, DepsArgs, FindArgs, ImpactArgs, MapArgs, OutlineArgs, PathArgs,
    ShowArgs, TraceArgs, TraceDirection, TreeArgs,
};

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn sizes_take_binary_suffixes_and_reject_the_rest() {
        use super::parse_size;
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("1m"), Ok(1024 * 1024));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        for bad in ["", "M", "1.5M", "-1", "1T", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?} parsed");
        }
    }
}
