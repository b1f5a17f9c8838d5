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
//! `shared.rs`, `collections.rs` and `mapping.rs`), each block with a `// SAFETY:`
//! comment, and its tests run under valgrind (`cargo xtask valgrind-memory`).
//! The one `unsafe` call elsewhere is `OsVfs::map_readonly` calling the
//! `unsafe fn` [`map_file_readonly`], whose contract only its caller can keep.

#![deny(clippy::unwrap_used)]
#![deny(unsafe_op_in_unsafe_fn)]

mod collections;
mod coordinator;
mod error;
mod mapping;
mod shared;
mod typed;

pub use collections::{ArenaAllocator, ArenaMap, ArenaVec};
pub use coordinator::{ArenaCoordinator, ArenaStats, BytesHandle, StrHandle, StrTripleHandle};
pub use error::MemoryError;
pub use mapping::{Mmap, map_file_readonly};
pub use shared::SharedArena;
pub use typed::TypedPool;
