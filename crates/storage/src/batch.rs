//! `WriteBatch`: blocks, edges and deletes committed as one WAL record, so
//! they are all applied or none is, also across a crash.

use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};
use crate::op::{Op, PAYLOAD_HEADER_BYTES};
use crate::{BlockId, ContextBlock, GraphEdge, StorageError, StorageResult};

#[derive(Debug, Clone, PartialEq, Eq)]
enum BatchOp {
    PutBlock(ContextBlock),
    DeleteBlock(BlockId),
    PutEdge(GraphEdge),
    DeleteEdge(GraphEdge),
}

impl BatchOp {
    fn as_op(&self) -> Op<'_> {
        match self {
            BatchOp::PutBlock(block) => Op::PutBlock {
                id: block.id,
                source_uri: &block.source_uri,
                metadata_json: &block.metadata_json,
                content: &block.content,
            },
            BatchOp::DeleteBlock(id) => Op::DeleteBlock(*id),
            BatchOp::PutEdge(edge) => Op::PutEdge(*edge),
            BatchOp::DeleteEdge(edge) => Op::DeleteEdge(*edge),
        }
    }
}

/// Writes applied atomically by `Database::write_batch`, in order.
/// Each op is validated when added, so a bad op is rejected before the
/// batch reaches the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
    encoded_bytes: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, op: BatchOp) -> StorageResult<()> {
        let borrowed = op.as_op();
        borrowed.validate()?;
        if self.ops.len() >= MAX_BATCH_OPS {
            return Err(StorageError::BatchTooLarge {
                reason: format!("more than {MAX_BATCH_OPS} operations"),
            });
        }
        let bytes = borrowed.encoded_len();
        if PAYLOAD_HEADER_BYTES + self.encoded_bytes + bytes > MAX_BATCH_BYTES {
            return Err(StorageError::BatchTooLarge {
                reason: format!("more than {MAX_BATCH_BYTES} encoded bytes"),
            });
        }
        self.encoded_bytes += bytes;
        self.ops.push(op);
        Ok(())
    }

    /// Adds a block write (its `sequence` is ignored).
    pub fn put_block(&mut self, block: ContextBlock) -> StorageResult<()> {
        self.push(BatchOp::PutBlock(block))
    }

    /// Adds a block delete (which also deletes the block's edges).
    pub fn delete_block(&mut self, id: BlockId) -> StorageResult<()> {
        self.push(BatchOp::DeleteBlock(id))
    }

    /// Adds an edge write.
    pub fn put_edge(&mut self, edge: GraphEdge) -> StorageResult<()> {
        self.push(BatchOp::PutEdge(edge))
    }

    /// Adds an edge delete.
    pub fn delete_edge(&mut self, edge: GraphEdge) -> StorageResult<()> {
        self.push(BatchOp::DeleteEdge(edge))
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes every operation, keeping capacity.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.encoded_bytes = 0;
    }

    /// The operations, borrowed.
    pub(crate) fn ops(&self) -> impl Iterator<Item = Op<'_>> {
        self.ops.iter().map(BatchOp::as_op)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::EdgeType;

    #[test]
    fn invalid_ops_are_rejected_when_added() {
        let mut batch = WriteBatch::new();
        let good = ContextBlock::new(BlockId::from_u128(1), "a.rs", "{}", "x");
        batch.put_block(good).unwrap();
        let bad = ContextBlock::new(BlockId::from_u128(2), "a.rs", "not json", "x");
        assert!(batch.put_block(bad).is_err());
        assert!(batch.delete_block(BlockId::default()).is_err());
        let zero_edge = GraphEdge::new(BlockId::default(), BlockId::from_u128(1), EdgeType::Calls);
        assert!(batch.put_edge(zero_edge).is_err());
        assert_eq!(batch.len(), 1);
        batch.clear();
        assert!(batch.is_empty());
    }
}
