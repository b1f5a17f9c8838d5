//! `Query`: a read-only question about the graph, one argument struct per
//! command. Each struct derives `clap::Args`, `Deserialize` and
//! `JsonSchema`, so the CLI's flags, the HTTP server's JSON and query
//! strings, and the MCP tools' input schemas are one type with one set of
//! defaults and docs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::ContextArgs;
use crate::impact::ImpactArgs;
use crate::map::MapArgs;
use crate::outline::OutlineArgs;

/// Deepest `callers`/`callees` tree.
pub const MAX_TREE_DEPTH: u32 = 32;
/// Most nodes a `callers`/`callees` tree shows before it is cut.
pub const MAX_TREE_NODES: usize = 2000;
/// Most results `find` and `trace` return.
pub const MAX_FIND_LIMIT: usize = 10_000;

/// Default `find` limit.
pub const DEFAULT_FIND_LIMIT: usize = 50;
/// Default `trace` limit.
pub const DEFAULT_TRACE_LIMIT: usize = 1000;
/// Default `callers`/`callees` depth.
pub const DEFAULT_TREE_DEPTH: u32 = 1;
/// Default `trace` depth.
pub const DEFAULT_TRACE_DEPTH: u32 = 3;

/// A read-only question about the graph, as the CLI, the HTTP server and
/// the MCP tools ask it; [`answer`](crate::answer) answers it on one
/// consistent view. On the wire it is the command's arguments with a
/// `command` field naming it: `{"command": "find", "name": "parse"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Query {
    /// Blocks matching a name (`find`).
    Find(FindArgs),
    /// One block with its signature, doc, metadata and content (`show`).
    Show(ShowArgs),
    /// The tree of blocks that call a block (`callers`).
    Callers(TreeArgs),
    /// The tree of blocks a block calls (`callees`).
    Callees(TreeArgs),
    /// Every block reachable from a block along chosen edges (`trace`).
    Trace(TraceArgs),
    /// A shortest path between two blocks (`path`).
    Path(PathArgs),
    /// Cycles in the graph (`cycles`).
    Cycles(CyclesArgs),
    /// What a file or module imports and what imports it (`deps`).
    Deps(DepsArgs),
    /// Counts of blocks, edges, tables and bytes in the database (`stats`).
    Stats,
    /// A symbol's source, callers, callees, types and file outline in a
    /// token budget (`context`).
    Context(ContextArgs),
    /// What reaches changed symbols, and the tests among it (`impact`).
    Impact(ImpactArgs),
    /// A file's items, nested (`outline`).
    Outline(OutlineArgs),
    /// The repository's most important files and items in a token budget (`map`).
    Map(MapArgs),
}

/// Arguments of `find`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct FindArgs {
    /// A name (`parse`), a qualified-name suffix (`Reader::find`), a
    /// repo-relative file path, a name prefix, or a 32-hex-digit block id.
    pub name: String,
    /// Only this kind: fn, method, struct, enum, trait, impl, module, file, ...
    #[arg(long)]
    #[serde(default)]
    pub kind: Option<String>,
    /// Only paths matching this glob (`*` within a segment, `**` across).
    #[arg(long, value_name = "GLOB")]
    #[serde(default)]
    pub path: Option<String>,
    /// At most this many results (1 to 10,000).
    #[arg(long, default_value_t = DEFAULT_FIND_LIMIT)]
    #[serde(default = "default_find_limit")]
    pub limit: usize,
}

/// Arguments of `show`: the one block to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// A name, a qualified-name suffix, a file path, or a 32-hex-digit
    /// block id. An ambiguous name is an error listing the candidates.
    pub name: String,
}

/// Arguments of `callers` and `callees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct TreeArgs {
    /// A name, a qualified-name suffix, a file path, or a block id.
    pub name: String,
    /// Levels to follow (1 to 32).
    #[arg(long, default_value_t = DEFAULT_TREE_DEPTH)]
    #[serde(default = "default_tree_depth")]
    pub depth: u32,
    /// Also follow calls the ingester could not settle between a few
    /// candidates (`calls_candidate` edges), marked as such.
    #[arg(long)]
    #[serde(default)]
    pub candidates: bool,
}

/// Arguments of `trace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct TraceArgs {
    /// The block to start from: a name, a qualified-name suffix, a file
    /// path, or a block id.
    pub name: String,
    /// Follow edges out of the block, into it, or both ways.
    #[arg(long, value_enum, default_value_t = TraceDirection::Out)]
    #[serde(default = "default_direction")]
    pub direction: TraceDirection,
    /// Most edges to follow from the start (at most 1,000).
    #[arg(long, default_value_t = DEFAULT_TRACE_DEPTH)]
    #[serde(default = "default_trace_depth")]
    pub depth: u32,
    /// Edge types (calls, calls_method, calls_function, imports,
    /// defined_in, ...), comma separated on the command line; every type
    /// but `names` and `calls_candidate` when empty.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub edges: Vec<String>,
    /// At most this many blocks (1 to 10,000).
    #[arg(long, default_value_t = DEFAULT_TRACE_LIMIT)]
    #[serde(default = "default_trace_limit")]
    pub limit: usize,
    /// Also follow `calls_candidate` edges (calls with a few possible
    /// targets).
    #[arg(long)]
    #[serde(default)]
    pub candidates: bool,
}

/// Arguments of `path`: the two ends of a shortest path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct PathArgs {
    /// Where the path starts: a name, suffix, file path or block id.
    pub from: String,
    /// Where the path ends.
    pub to: String,
    /// Edge types the path may use, comma separated on the command line;
    /// calls and calls_method when empty.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub edges: Vec<String>,
}

/// Arguments of `cycles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct CyclesArgs {
    /// Edge types, comma separated on the command line; calls and
    /// calls_method when empty (`imports` finds import cycles).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub edges: Vec<String>,
}

/// Arguments of `deps`: the file or module whose imports to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct DepsArgs {
    /// A file path (`src/lib.rs`) or a module name.
    pub target: String,
}

fn default_find_limit() -> usize {
    DEFAULT_FIND_LIMIT
}
fn default_tree_depth() -> u32 {
    DEFAULT_TREE_DEPTH
}
fn default_direction() -> TraceDirection {
    TraceDirection::Out
}
fn default_trace_depth() -> u32 {
    DEFAULT_TRACE_DEPTH
}
fn default_trace_limit() -> usize {
    DEFAULT_TRACE_LIMIT
}

impl Query {
    /// The names the query resolves (each must be non-empty).
    pub fn names(&self) -> Vec<&str> {
        match self {
            Query::Find(FindArgs { name, .. })
            | Query::Show(ShowArgs { name })
            | Query::Callers(TreeArgs { name, .. })
            | Query::Callees(TreeArgs { name, .. })
            | Query::Trace(TraceArgs { name, .. })
            | Query::Context(ContextArgs { name, .. }) => vec![name],
            Query::Outline(OutlineArgs { path }) => vec![path],
            Query::Impact(ImpactArgs { target, .. }) => target.iter().map(String::as_str).collect(),
            Query::Path(PathArgs { from, to, .. }) => vec![from, to],
            Query::Deps(DepsArgs { target }) => vec![target],
            Query::Cycles(_) | Query::Stats | Query::Map(_) => Vec::new(),
        }
    }
}

/// Which way `trace` follows edges.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum TraceDirection {
    /// Follow edges into the block: what reaches it.
    In,
    /// Follow edges out of the block: what it reaches.
    Out,
    /// Follow edges both ways.
    Both,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Query, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn omitted_arguments_take_the_same_defaults_as_the_command_line() -> Result<(), String> {
        use clap::Parser;
        #[derive(clap::Parser)]
        enum Commands {
            Find(FindArgs),
            Trace(TraceArgs),
            Callers(TreeArgs),
        }
        let parsed = |json: &str| parse(json).map_err(|error| error.to_string());
        let clap = |args: &[&str]| Commands::try_parse_from(args).map_err(|e| e.to_string());
        match (
            clap(&["k", "find", "x"])?,
            parsed(r#"{"command":"find","name":"x"}"#)?,
        ) {
            (Commands::Find(cli), Query::Find(wire)) => assert_eq!(cli, wire),
            _ => return Err("find parsed as another command".into()),
        }
        match (
            clap(&["k", "trace", "x"])?,
            parsed(r#"{"command":"trace","name":"x"}"#)?,
        ) {
            (Commands::Trace(cli), Query::Trace(wire)) => assert_eq!(cli, wire),
            _ => return Err("trace parsed as another command".into()),
        }
        match (
            clap(&["k", "callers", "x"])?,
            parsed(r#"{"command":"callers","name":"x"}"#)?,
        ) {
            (Commands::Callers(cli), Query::Callers(wire)) => assert_eq!(cli.depth, wire.depth),
            _ => return Err("callers parsed as another command".into()),
        }
        Ok(())
    }

    #[test]
    fn unknown_fields_are_refused_and_named() {
        let error = parse(r#"{"command":"find","name":"x","limt":3}"#)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("unknown field `limt`"), "{error}");
        assert!(parse(r#"{"command":"stats"}"#).is_ok());
    }

    #[test]
    fn a_query_round_trips_through_its_wire_form() -> Result<(), serde_json::Error> {
        let query = Query::Trace(TraceArgs {
            name: "main".into(),
            direction: TraceDirection::Both,
            depth: 2,
            edges: vec!["calls".into()],
            limit: 7,
            candidates: true,
        });
        let wire = serde_json::to_string(&query)?;
        assert_eq!(parse(&wire)?, query);
        Ok(())
    }
}
