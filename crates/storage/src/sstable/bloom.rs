//! Bloom filter over block ids, read in place from a table's map.
//!
//! Hand-written rather than a crate because the filter must be read straight
//! from the mapped table bytes with a fixed, documented on-disk format; the
//! available crates own their bit vectors and serialise them their own way.
//! Layout: `hash_count u32 | bit_count u64 | bits (little-endian u64 words)`.
//! Probe i of an id tests bit `(h1 + i * h2) mod bit_count` (double hashing).

use crate::BlockId;
use crate::codec::{u32_at, u64_at};

/// Bits per key; with 7 probes this gives about a 1% false-positive rate.
pub const BLOOM_BITS_PER_KEY: u64 = 10;
/// Probes per key.
pub const BLOOM_HASH_COUNT: u32 = 7;
/// Bytes before the bit words.
pub const BLOOM_HEADER_BYTES: usize = 12;

fn mix(mut value: u64) -> u64 {
    // splitmix64 finaliser: spreads sequential ids across the whole word.
    value ^= value >> 30;
    value = value.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value ^= value >> 27;
    value = value.wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

fn hashes(id: BlockId) -> (u64, u64) {
    let value = id.as_u128();
    let low = value as u64;
    let high = (value >> 64) as u64;
    let h1 = mix(low ^ mix(high));
    let h2 = mix(high.wrapping_add(low.rotate_left(32)) ^ 0x9e37_79b9_7f4a_7c15) | 1;
    (h1, h2)
}

/// Salt that keeps an id's in-edge key apart from its out-edge key in a
/// table's edge filter.
const IN_EDGE_SALT: u128 = 0x5bd1_e995_9e37_79b9_7f4a_7c15_f39c_c060;

/// The key of `id` in a table's edge filter: as a source of out-edges, or
/// (with `incoming`) as a target of in-edges.
pub fn edge_filter_key(id: BlockId, incoming: bool) -> BlockId {
    if incoming {
        BlockId::from_u128(id.as_u128() ^ IN_EDGE_SALT)
    } else {
        id
    }
}

/// Bytes of the well-formed filter at the start of `bytes`, or `None` when
/// its header is cut short.
pub fn bloom_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < BLOOM_HEADER_BYTES {
        return None;
    }
    let bit_count = u64_at(bytes, 4);
    let words = usize::try_from(bit_count.div_ceil(64)).ok()?;
    BLOOM_HEADER_BYTES.checked_add(words.checked_mul(8)?)
}

/// Encodes a filter holding `ids`.
pub fn build_bloom(ids: &[BlockId]) -> Vec<u8> {
    let bit_count = (ids.len() as u64 * BLOOM_BITS_PER_KEY).max(64);
    let words = bit_count.div_ceil(64) as usize;
    let mut bits = vec![0u64; words];
    for id in ids {
        let (h1, h2) = hashes(*id);
        for probe in 0..BLOOM_HASH_COUNT as u64 {
            let bit = h1.wrapping_add(probe.wrapping_mul(h2)) % bit_count;
            bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }
    let mut out = Vec::with_capacity(BLOOM_HEADER_BYTES + words * 8);
    out.extend_from_slice(&BLOOM_HASH_COUNT.to_le_bytes());
    out.extend_from_slice(&bit_count.to_le_bytes());
    for word in bits {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

/// Checks that `bytes` is a well-formed filter; the error says why not.
pub fn check_bloom(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < BLOOM_HEADER_BYTES {
        return Err("bloom filter shorter than its header".into());
    }
    let hash_count = u32_at(bytes, 0);
    let bit_count = u64_at(bytes, 4);
    if hash_count == 0 || hash_count > 32 || bit_count == 0 {
        return Err(format!(
            "bloom filter header invalid: {hash_count} probes, {bit_count} bits"
        ));
    }
    if (bytes.len() - BLOOM_HEADER_BYTES) as u64 != bit_count.div_ceil(64) * 8 {
        return Err("bloom filter length does not match its bit count".into());
    }
    Ok(())
}

/// False when `id` is certainly absent; `bytes` passed `check_bloom`.
pub fn bloom_may_contain(bytes: &[u8], id: BlockId) -> bool {
    let hash_count = u32_at(bytes, 0) as u64;
    let bit_count = u64_at(bytes, 4);
    let (h1, h2) = hashes(id);
    (0..hash_count).all(|probe| {
        let bit = h1.wrapping_add(probe.wrapping_mul(h2)) % bit_count;
        let word = u64_at(bytes, BLOOM_HEADER_BYTES + (bit / 64) as usize * 8);
        word & (1 << (bit % 64)) != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_filter_keys_keep_directions_apart() {
        let id = BlockId::from_u128(42);
        let filter = build_bloom(&[edge_filter_key(id, false)]);
        assert!(bloom_may_contain(&filter, edge_filter_key(id, false)));
        assert!(!bloom_may_contain(&filter, edge_filter_key(id, true)));
        assert_eq!(bloom_len(&filter), Some(filter.len()));
        assert_eq!(bloom_len(&filter[..4]), None);
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let ids: Vec<BlockId> = (1..=10_000u128).map(BlockId::from_u128).collect();
        let bloom = build_bloom(&ids);
        assert!(check_bloom(&bloom).is_ok());
        assert!(ids.iter().all(|id| bloom_may_contain(&bloom, *id)));
        let false_positives = (20_000..30_000u128)
            .filter(|n| bloom_may_contain(&bloom, BlockId::from_u128(*n)))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10000"
        );
        let empty = build_bloom(&[]);
        assert!(check_bloom(&empty).is_ok());
        assert!(!bloom_may_contain(&empty, BlockId::from_u128(1)));
        assert!(check_bloom(&bloom[..bloom.len() - 8]).is_err());
    }
}
