//! Handles into an arena stay valid when the arena's owner moves.
//!
//! A struct that keeps references into an arena it owns would be
//! self-referential; kausal keeps `Copy` handles instead. Here a small
//! symbol table stores names in its arena, is moved three times (into a
//! `Vec`, a `Box` and out again) and still resolves every name, because the
//! arena's chunks are separate heap allocations that a move never touches.
//!
//! Run: `cargo run -p kausal-memory --example handles_survive_moves`

use kausal_memory::{ArenaCoordinator, MemoryError, StrHandle};

/// Names of a file's functions, their bytes in one arena.
struct SymbolTable {
    arena: ArenaCoordinator,
    names: Vec<StrHandle>,
}

impl SymbolTable {
    fn new() -> Self {
        Self {
            arena: ArenaCoordinator::with_capacity(4 * 1024),
            names: Vec::new(),
        }
    }

    fn add(&mut self, name: &str) {
        let handle = self.arena.store_str(name);
        self.names.push(handle);
    }

    fn names(&self) -> Result<Vec<&str>, MemoryError> {
        self.names
            .iter()
            .map(|handle| self.arena.resolve_str(*handle))
            .collect()
    }
}

fn main() -> Result<(), MemoryError> {
    let mut table = SymbolTable::new();
    for name in ["parse", "lex", "TableReader::find", "main"] {
        table.add(name);
    }
    let before = table.names()?.join(", ");

    // Move the owner around: into a vector, into a box, and back out.
    let mut tables = vec![table];
    let boxed = Box::new(tables.remove(0));
    let table = *boxed;

    let after = table.names()?.join(", ");
    assert_eq!(before, after);
    println!("after three moves: {after}");

    let stats = table.arena.stats();
    println!(
        "{} handles, {} bytes used of {} reserved",
        table.names.len(),
        stats.used_bytes,
        stats.reserved_bytes
    );
    Ok(())
}
