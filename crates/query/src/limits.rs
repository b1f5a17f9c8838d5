//! Named limits of queries, checked when a query is validated.

/// Depth a traversal goes to when none is given.
pub const DEFAULT_MAX_DEPTH: u32 = 10;
/// Largest depth a traversal accepts.
pub const MAX_DEPTH_CAP: u32 = 1_000;
/// Results a query returns when no limit is given.
pub const DEFAULT_MAX_RESULTS: usize = 1_000;
/// Largest result limit a query accepts.
pub const MAX_RESULTS_CAP: usize = 10_000;
/// Most start ids of one traversal.
pub const MAX_START_IDS: usize = 10_000;
/// Most nodes a topological sort or SCC may load into its working subgraph.
pub const MAX_SUBGRAPH_NODES: usize = 2_000_000;
/// Most ids of one `find_blocks` call.
pub const MAX_BATCH_LOOKUP_IDS: usize = 100_000;
/// Most block ids a cycle error names.
pub const MAX_CYCLE_IDS_REPORTED: usize = 16;
/// Arena a `QueryEngine` starts with. Small, because engines are made per
/// query batch (after every write): the arena grows by doubling when a
/// query needs more and keeps its largest chunk across resets, so a repeated
/// query allocates nothing once the arena has grown to its size.
pub const QUERY_ARENA_INITIAL_BYTES: usize = 16 * 1024;
/// Entries a walk's visited map, records, stack and neighbour buffer are
/// sized for up front (capped by `max_results`).
pub const WALK_INITIAL_CAPACITY: usize = 64;
