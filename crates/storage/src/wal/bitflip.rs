//! Single-bit error location for crc32 (IEEE): tells a bit flipped at rest
//! from the zeroed sectors a power loss leaves behind.
//!
//! crc32 is affine over GF(2): flipping message bit `i` changes the final
//! crc by a value that depends only on how far bit `i` sits from the end of
//! the message. For messages shorter than 2^32 bits every single-bit error
//! has a distinct, non-zero effect, so comparing the "syndrome" (stored crc
//! xor computed crc) against these effects finds the flipped bit, if one
//! bit explains the mismatch. Damage from a crash is a run of zeros (bytes
//! whose newest version never reached the disk); a random multi-byte
//! pattern explains itself as a single bit only by a ~2^-32 coincidence per
//! bit position.

/// Reflected polynomial of crc32 (IEEE 802.3).
const POLY: u32 = 0xEDB8_8320;

/// Where a single flipped bit sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlippedBit {
    /// Bit `bit` (0 = least significant) of byte `byte` of the message.
    Message { byte: usize, bit: u8 },
    /// Bit `bit` of the stored crc value itself; the message is intact.
    StoredCrc { bit: u8 },
}

fn shift(crc: u32) -> u32 {
    if crc & 1 == 1 {
        (crc >> 1) ^ POLY
    } else {
        crc >> 1
    }
}

/// The single bit whose flip explains why `message` does not match
/// `stored_crc`, or `None` when it matches or no single bit explains it.
/// Costs about 8 shift steps per message byte.
pub fn locate_single_bit_error(message: &[u8], stored_crc: u32) -> Option<FlippedBit> {
    let syndrome = crc32fast::hash(message) ^ stored_crc;
    if syndrome == 0 {
        return None;
    }
    if syndrome.count_ones() == 1 {
        return Some(FlippedBit::StoredCrc {
            bit: syndrome.trailing_zeros() as u8,
        });
    }
    // Flipping bit t of byte j changes the crc by shift^k(0x80) with
    // k = 8 * (len - j) + (7 - t): bits are fed least significant first,
    // and shift(1 << (t + 1)) == 1 << t.
    let len = message.len();
    let mut effect = 0x80u32;
    for _ in 0..8 {
        effect = shift(effect);
    }
    for k in 8..8 * len + 8 {
        if effect == syndrome {
            let byte = len - k / 8;
            let bit = 7 - (k % 8) as u8;
            return Some(FlippedBit::Message { byte, bit });
        }
        effect = shift(effect);
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect()
    }

    #[test]
    fn every_single_bit_flip_is_located() {
        for len in [1usize, 2, 7, 24, 100] {
            let original = message(len, len as u64);
            let crc = crc32fast::hash(&original);
            assert_eq!(locate_single_bit_error(&original, crc), None);
            for byte in 0..len {
                for bit in 0..8u8 {
                    let mut damaged = original.clone();
                    damaged[byte] ^= 1 << bit;
                    assert_eq!(
                        locate_single_bit_error(&damaged, crc),
                        Some(FlippedBit::Message { byte, bit }),
                        "len {len} byte {byte} bit {bit}"
                    );
                }
            }
            for bit in 0..32u8 {
                assert_eq!(
                    locate_single_bit_error(&original, crc ^ (1 << bit)),
                    Some(FlippedBit::StoredCrc { bit })
                );
            }
        }
    }

    #[test]
    fn zeroed_tails_are_not_mistaken_for_a_flipped_bit() {
        let mut explained = 0;
        for seed in 0..500u64 {
            let original = message(600, seed);
            let crc = crc32fast::hash(&original);
            let mut torn = original.clone();
            let cut = 8 + (seed as usize * 37) % 580;
            torn[cut..].fill(0);
            if torn != original && locate_single_bit_error(&torn, crc).is_some() {
                explained += 1;
            }
        }
        assert_eq!(explained, 0);
    }
}
