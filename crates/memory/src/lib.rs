//! kausal-memory: the one place arena memory is handed out.
//!
//! The engine this crate replaces embedded arenas in structs and handed out
//! raw slices; copying the struct left dangling slices behind and the process
//! segfaulted. Here every subsystem reaches arena memory through an
//! [`ArenaCoordinator`]:
//!
//! * borrowed allocations (`duplicate_slice`, `alloc_str`, `alloc`) carry the
//!   coordinator's lifetime, so the compiler refuses any use after `reset()`;
//! * data that must outlive the call that wrote it (a memtable index) is kept
//!   as a [`BytesHandle`] / [`StrHandle`]: a plain `Copy` value that stays
//!   valid when its owner moves and is checked against the coordinator's
//!   identity and generation on every read, so a stale handle is an error,
//!   never a read of freed memory.
//!
//! The workspace's `unsafe` code lives in this crate (`coordinator.rs`,
//! `shared.rs`, `collections.rs`, `mapping.rs` and `prefetch.rs`), each block with a `// SAFETY:`
//! comment, and its tests run under valgrind (`cargo xtask valgrind-memory`).
//! The one `unsafe` call elsewhere is `OsVfs::map_readonly` calling the
//! `unsafe fn` [`map_file_readonly`], whose contract only its caller can keep.
//!
//! # Example
//!
//! A handle is a plain value: it can be kept in a struct next to the
//! coordinator, survives moves of both, and is refused (not dereferenced)
//! once the coordinator has been reset.
//!
//! ```
//! use kausal_memory::{ArenaCoordinator, MemoryError, StrHandle};
//!
//! struct Index {
//!     arena: ArenaCoordinator,
//!     names: Vec<StrHandle>,
//! }
//!
//! let mut index = Index { arena: ArenaCoordinator::with_capacity(4096), names: Vec::new() };
//! index.names.push(index.arena.store_str("parse"));
//! let index = Box::new(index); // moving the owner moves no arena bytes
//! assert_eq!(index.arena.resolve_str(index.names[0])?, "parse");
//!
//! let mut index = *index;
//! index.arena.reset(); // O(1)
//! assert!(matches!(
//!     index.arena.resolve_str(index.names[0]),
//!     Err(MemoryError::StaleHandle { handle_generation: 0, current_generation: 1 })
//! ));
//! # Ok::<(), MemoryError>(())
//! ```
//!
//! Runnable programs: `cargo run -p kausal-memory --example handles_survive_moves`
//! and `--example stale_handle_after_reset`.
//!
//! # Neighbours
//!
//! * [`kausal-vfs`](https://github.com/kausal-db/kausal/tree/main/crates/vfs)
//!   maps table files through [`map_file_readonly`];
//! * [`kausal-storage`](https://github.com/kausal-db/kausal/tree/main/crates/storage)
//!   keeps memtable bytes behind [`StrTripleHandle`]s;
//! * [`kausal-query`](https://github.com/kausal-db/kausal/tree/main/crates/query)
//!   gives every query an arena and builds its working set from
//!   [`ArenaVec`] and [`ArenaMap`].

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![deny(unsafe_op_in_unsafe_fn)]

mod collections;
mod coordinator;
mod error;
mod mapping;
mod prefetch;
mod shared;
mod typed;

pub use collections::{ArenaAllocator, ArenaMap, ArenaVec};
pub use coordinator::{ArenaCoordinator, ArenaStats, BytesHandle, StrHandle, StrTripleHandle};
pub use error::MemoryError;
pub use mapping::{Mmap, map_file_readonly};
pub use prefetch::{PREFETCH_MAX_LINES, prefetch};
pub use shared::SharedArena;
pub use typed::TypedPool;

// The crate README's examples run as doc tests, so they cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
