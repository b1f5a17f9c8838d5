//! Little-endian encoding helpers shared by the WAL, SSTable and manifest
//! formats. Every integer on disk is little-endian; block ids are stored as
//! their 16 bytes in id order.

use crate::BlockId;

/// Appends little-endian integers and ids to a byte vector.
pub trait PutBytes {
    fn put_u8(&mut self, value: u8);
    fn put_u16(&mut self, value: u16);
    fn put_u32(&mut self, value: u32);
    fn put_u64(&mut self, value: u64);
    fn put_id(&mut self, id: BlockId);
}

impl PutBytes for Vec<u8> {
    fn put_u8(&mut self, value: u8) {
        self.push(value);
    }
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_id(&mut self, id: BlockId) {
        self.extend_from_slice(id.as_bytes());
    }
}

/// Decoding ran out of bytes or met an invalid value; `at` is the offset
/// inside the decoded buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub at: usize,
    pub what: &'static str,
}

/// A cursor over a byte slice reading little-endian values.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError {
                at: self.position,
                what,
            })?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.bytes(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn id(&mut self, what: &'static str) -> Result<BlockId, DecodeError> {
        Ok(BlockId::from_bytes(self.array(what)?))
    }
    pub fn str(&mut self, len: usize, what: &'static str) -> Result<&'a str, DecodeError> {
        let at = self.position;
        let bytes = self.bytes(len, what)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError { at, what })
    }
}

/// Reads a little-endian u32 at `offset` of `bytes` (caller checked bounds).
pub fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut array = [0u8; 4];
    array.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(array)
}

/// Reads a little-endian u64 at `offset` of `bytes` (caller checked bounds).
pub fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(array)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut buf = Vec::new();
        buf.put_u8(7);
        buf.put_u16(0x1234);
        buf.put_u32(0xdead_beef);
        buf.put_u64(u64::MAX - 1);
        buf.put_id(BlockId::from_u128(99));
        buf.extend_from_slice("héllo".as_bytes());
        assert_eq!(&buf[1..3], &[0x34, 0x12], "little-endian");
        let mut reader = Reader::new(&buf);
        assert_eq!(reader.u8("a").unwrap(), 7);
        assert_eq!(reader.u16("b").unwrap(), 0x1234);
        assert_eq!(reader.u32("c").unwrap(), 0xdead_beef);
        assert_eq!(reader.u64("d").unwrap(), u64::MAX - 1);
        assert_eq!(reader.id("e").unwrap(), BlockId::from_u128(99));
        assert_eq!(reader.str(6, "f").unwrap(), "héllo");
        assert_eq!(reader.remaining(), 0);
        assert_eq!(
            reader.u8("past end"),
            Err(DecodeError {
                at: 37,
                what: "past end"
            })
        );
        let mut bad = Reader::new(&[0xff, 0xfe]);
        assert!(bad.str(2, "utf8").is_err());
    }
}
