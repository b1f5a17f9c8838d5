//! `Op`: one logical write (put/delete of a block or an edge), borrowed from
//! the caller or from a WAL buffer, and its encoding inside a WAL record.
//!
//! A WAL record payload is `[base_sequence u64][op_count u32][op]*`; op `i`
//! gets sequence `base_sequence + i`. Single writes are records of one op, a
//! `WriteBatch` is one record, so atomicity is per record.

use crate::codec::{DecodeError, PutBytes, Reader};
use crate::{BlockId, EdgeType, GraphEdge, StorageError, StorageResult};

const TAG_PUT_BLOCK: u8 = 1;
const TAG_DELETE_BLOCK: u8 = 2;
const TAG_PUT_EDGE: u8 = 3;
const TAG_DELETE_EDGE: u8 = 4;

/// Size of the record payload header (base sequence and op count).
pub const PAYLOAD_HEADER_BYTES: usize = 12;

/// One write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    PutBlock {
        id: BlockId,
        source_uri: &'a str,
        metadata_json: &'a str,
        content: &'a str,
    },
    DeleteBlock(BlockId),
    PutEdge(GraphEdge),
    DeleteEdge(GraphEdge),
}

impl Op<'_> {
    /// Bytes this op takes inside a record payload.
    pub fn encoded_len(&self) -> usize {
        match self {
            Op::PutBlock {
                source_uri,
                metadata_json,
                content,
                ..
            } => 1 + 16 + 12 + source_uri.len() + metadata_json.len() + content.len(),
            Op::DeleteBlock(_) => 1 + 16,
            Op::PutEdge(_) | Op::DeleteEdge(_) => 1 + 32 + 2,
        }
    }

    /// Appends the op's encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::PutBlock {
                id,
                source_uri,
                metadata_json,
                content,
            } => {
                out.put_u8(TAG_PUT_BLOCK);
                out.put_id(*id);
                // Lengths fit u32: fields are validated against limits far below 4 GiB.
                out.put_u32(source_uri.len() as u32);
                out.put_u32(metadata_json.len() as u32);
                out.put_u32(content.len() as u32);
                out.extend_from_slice(source_uri.as_bytes());
                out.extend_from_slice(metadata_json.as_bytes());
                out.extend_from_slice(content.as_bytes());
            }
            Op::DeleteBlock(id) => {
                out.put_u8(TAG_DELETE_BLOCK);
                out.put_id(*id);
            }
            Op::PutEdge(edge) | Op::DeleteEdge(edge) => {
                out.put_u8(if matches!(self, Op::PutEdge(_)) {
                    TAG_PUT_EDGE
                } else {
                    TAG_DELETE_EDGE
                });
                out.put_id(edge.source);
                out.put_id(edge.target);
                out.put_u16(edge.edge_type.as_u16());
            }
        }
    }

    /// Validates the op's fields against the limits.
    pub fn validate(&self) -> StorageResult<()> {
        match self {
            Op::PutBlock {
                id,
                source_uri,
                metadata_json,
                content,
            } => crate::types::validate_block_fields(*id, source_uri, metadata_json, content),
            Op::DeleteBlock(id) => id.validate(),
            Op::PutEdge(edge) | Op::DeleteEdge(edge) => edge.validate(),
        }
    }
}

/// Why a payload failed to decode.
#[derive(Debug)]
pub enum PayloadError {
    Decode(DecodeError),
    Invalid(StorageError),
}

impl From<DecodeError> for PayloadError {
    fn from(error: DecodeError) -> Self {
        Self::Decode(error)
    }
}

/// Iterates over the ops of a record payload.
pub struct PayloadOps<'a> {
    reader: Reader<'a>,
    remaining: u32,
    next_sequence: u64,
}

impl<'a> PayloadOps<'a> {
    /// Starts decoding `payload`; fails when its header is cut short.
    pub fn new(payload: &'a [u8]) -> Result<Self, PayloadError> {
        let mut reader = Reader::new(payload);
        let base_sequence = reader.u64("base sequence")?;
        let remaining = reader.u32("op count")?;
        Ok(Self {
            reader,
            remaining,
            next_sequence: base_sequence,
        })
    }

    /// Sequence of the first op (before iterating: of the next op).
    pub fn base_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Ops not yet decoded, as the payload's header counts them.
    pub fn remaining_ops(&self) -> u32 {
        self.remaining
    }

    fn decode_op(&mut self) -> Result<Op<'a>, PayloadError> {
        let reader = &mut self.reader;
        let tag = reader.u8("op tag")?;
        let op = match tag {
            TAG_PUT_BLOCK => {
                let id = reader.id("block id")?;
                let uri_len = reader.u32("source_uri length")? as usize;
                let metadata_len = reader.u32("metadata length")? as usize;
                let content_len = reader.u32("content length")? as usize;
                Op::PutBlock {
                    id,
                    source_uri: reader.str(uri_len, "source_uri")?,
                    metadata_json: reader.str(metadata_len, "metadata_json")?,
                    content: reader.str(content_len, "content")?,
                }
            }
            TAG_DELETE_BLOCK => Op::DeleteBlock(reader.id("block id")?),
            TAG_PUT_EDGE | TAG_DELETE_EDGE => {
                let source = reader.id("edge source")?;
                let target = reader.id("edge target")?;
                let edge_type =
                    EdgeType::from_u16(reader.u16("edge type")?).map_err(PayloadError::Invalid)?;
                let edge = GraphEdge::new(source, target, edge_type);
                if tag == TAG_PUT_EDGE {
                    Op::PutEdge(edge)
                } else {
                    Op::DeleteEdge(edge)
                }
            }
            _ => {
                return Err(PayloadError::Decode(DecodeError {
                    at: reader.position() - 1,
                    what: "op tag",
                }));
            }
        };
        Ok(op)
    }

    /// Fails unless every byte of the payload was consumed.
    pub fn finish(&self) -> Result<(), PayloadError> {
        if self.reader.remaining() != 0 {
            return Err(PayloadError::Decode(DecodeError {
                at: self.reader.position(),
                what: "trailing bytes after the last op",
            }));
        }
        Ok(())
    }
}

impl<'a> Iterator for PayloadOps<'a> {
    type Item = Result<(u64, Op<'a>), PayloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        Some(self.decode_op().map(|op| (sequence, op)))
    }
}

/// Writes a record payload for `ops` starting at `base_sequence`.
pub fn encode_payload<'a>(
    base_sequence: u64,
    ops: impl Iterator<Item = Op<'a>>,
    count: u32,
    out: &mut Vec<u8>,
) {
    out.put_u64(base_sequence);
    out.put_u32(count);
    for op in ops {
        op.encode(out);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let edge = GraphEdge::new(
            BlockId::from_u128(1),
            BlockId::from_u128(2),
            EdgeType::Calls,
        );
        let ops = [
            Op::PutBlock {
                id: BlockId::from_u128(1),
                source_uri: "src/lib.rs",
                metadata_json: r#"{"name":"f"}"#,
                content: "fn f() {}",
            },
            Op::PutEdge(edge),
            Op::DeleteEdge(edge),
            Op::DeleteBlock(BlockId::from_u128(2)),
        ];
        let mut payload = Vec::new();
        encode_payload(40, ops.iter().copied(), ops.len() as u32, &mut payload);
        let expected: usize = PAYLOAD_HEADER_BYTES + ops.iter().map(Op::encoded_len).sum::<usize>();
        assert_eq!(payload.len(), expected);
        let mut decoded = PayloadOps::new(&payload).unwrap();
        assert_eq!(decoded.base_sequence(), 40);
        let all: Vec<_> = decoded.by_ref().map(|r| r.unwrap()).collect();
        decoded.finish().unwrap();
        assert_eq!(all.len(), 4);
        for (i, (sequence, op)) in all.iter().enumerate() {
            assert_eq!(*sequence, 40 + i as u64);
            assert_eq!(*op, ops[i]);
        }
    }

    #[test]
    fn bad_payloads_are_errors() {
        let mut payload = Vec::new();
        encode_payload(
            1,
            [Op::DeleteBlock(BlockId::from_u128(3))].into_iter(),
            1,
            &mut payload,
        );
        // Unknown tag.
        let mut bad_tag = payload.clone();
        bad_tag[PAYLOAD_HEADER_BYTES] = 99;
        assert!(PayloadOps::new(&bad_tag).unwrap().next().unwrap().is_err());
        // Count larger than the ops present.
        let mut bad_count = payload.clone();
        bad_count[8] = 2;
        let ops: Vec<_> = PayloadOps::new(&bad_count).unwrap().collect();
        assert!(ops[1].is_err());
        // Cut short.
        assert!(PayloadOps::new(&payload[..5]).is_err());
        // Unknown edge type.
        let edge = GraphEdge::new(
            BlockId::from_u128(1),
            BlockId::from_u128(2),
            EdgeType::Calls,
        );
        let mut edge_payload = Vec::new();
        encode_payload(1, [Op::PutEdge(edge)].into_iter(), 1, &mut edge_payload);
        let len = edge_payload.len();
        edge_payload[len - 2] = 77;
        assert!(matches!(
            PayloadOps::new(&edge_payload).unwrap().next().unwrap(),
            Err(PayloadError::Invalid(StorageError::UnknownEdgeType {
                value: 77
            }))
        ));
    }
}
