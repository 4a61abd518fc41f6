//! Which bytes of a 16-byte chunk of text belong to a small set, as a bitmask (bit `i` for
//! byte `i`): the first test of the scans that look for a few byte values (separators,
//! assignment operators, the digits of a card number). SSE2 compares on x86-64 (every such CPU
//! has them; `safe_arch` wraps them), word-at-a-time arithmetic on other targets.

/// Sixteen bytes of text, ready for [`Chunk::any_of`] and [`Chunk::digits`].
#[derive(Clone, Copy)]
pub(crate) struct Chunk(imp::Bytes);

#[cfg(target_arch = "x86_64")]
use sse2 as imp;
#[cfg(not(target_arch = "x86_64"))]
use words as imp;

impl Chunk {
    #[inline]
    pub(crate) fn new(bytes: &[u8; 16]) -> Self {
        Self(imp::Bytes::new(bytes))
    }

    /// The bytes equal to one of `set`.
    #[inline]
    pub(crate) fn any_of<const N: usize>(self, set: [u8; N]) -> u32 {
        self.0.any_of(set)
    }

    /// The ASCII digits.
    #[inline]
    pub(crate) fn digits(self) -> u32 {
        self.0.digits()
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        add_i8_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_lt_mask_i8_m128i, m128i,
        move_mask_i8_m128i, set_splat_i8_m128i, zeroed_m128i,
    };

    #[derive(Clone, Copy)]
    pub(super) struct Bytes(m128i);

    impl Bytes {
        #[inline]
        pub(super) fn new(bytes: &[u8; 16]) -> Self {
            Self(m128i::from(*bytes))
        }

        #[inline]
        pub(super) fn any_of<const N: usize>(self, set: [u8; N]) -> u32 {
            let mut hits = zeroed_m128i();
            for b in set {
                let hit = cmp_eq_mask_i8_m128i(self.0, set_splat_i8_m128i(b.cast_signed()));
                hits = bitor_m128i(hits, hit);
            }
            move_mask_i8_m128i(hits).cast_unsigned()
        }

        #[inline]
        pub(super) fn digits(self) -> u32 {
            // Adding 0x50 moves '0'..='9' to 0x80..=0x89, -128..=-119 as signed bytes, and
            // every other byte above them: a digit is what is then below -118.
            let moved = add_i8_m128i(self.0, set_splat_i8_m128i(0x50));
            move_mask_i8_m128i(cmp_lt_mask_i8_m128i(moved, set_splat_i8_m128i(-118)))
                .cast_unsigned()
        }
    }
}

// Compiled for tests everywhere, so that x86-64 test runs check it against SSE2.
#[cfg(any(test, not(target_arch = "x86_64")))]
mod words {
    /// Per byte of `v`, the high bit set exactly where the byte is zero.
    #[inline]
    fn zero_bytes(v: u64) -> u64 {
        const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // (v & 0x7F) + 0x7F stays below 0x100 in each byte, so no carry crosses bytes.
        !(((v & LOW).wrapping_add(LOW)) | v) & HIGH
    }

    /// The high bits of the eight bytes of `flags` (each 0x80 or 0) as the eight low bits of the
    /// result, byte `i`'s as bit `i`: one multiply gathers them into the top byte.
    #[inline]
    pub(super) fn gather(flags: u64) -> u32 {
        // Bit 8i of `ones` times bit 8k + 7 - k of the constant lands at 8(i + k) + 7 - k; the
        // products with i + k = 7 fill the top byte (bit 56 + i), the lower ones share no
        // position (so carry nothing into it) and the higher ones overflow.
        let ones = (flags >> 7) & 0x0101_0101_0101_0101;
        (ones.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
    }

    /// Per byte of `v`, the high bit set exactly where the byte is an ASCII digit.
    #[inline]
    fn digit_bytes(v: u64) -> u64 {
        const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let low = v & LOW;
        // Without carries between bytes (each low 7 bits plus at most 0x50 < 0x100): the high bit
        // is set when the byte is >= '0', when it is > '9', and when it is not ASCII.
        let at_least_0 = low.wrapping_add(0x5050_5050_5050_5050) & HIGH;
        let above_9 = low.wrapping_add(0x4646_4646_4646_4646) & HIGH;
        at_least_0 & !above_9 & !v & HIGH
    }

    #[derive(Clone, Copy)]
    pub(super) struct Bytes([u64; 2]);

    impl Bytes {
        #[inline]
        pub(super) fn new(bytes: &[u8; 16]) -> Self {
            let v = u128::from_le_bytes(*bytes);
            // The low and high words: truncations meant.
            Self([v as u64, (v >> 64) as u64])
        }

        #[inline]
        pub(super) fn any_of<const N: usize>(self, set: [u8; N]) -> u32 {
            let half = |v: u64| {
                let hits = set.iter().fold(0, |m, b| {
                    m | zero_bytes(v ^ (u64::from(*b) * 0x0101_0101_0101_0101))
                });
                gather(hits)
            };
            half(self.0[0]) | half(self.0[1]) << 8
        }

        #[inline]
        pub(super) fn digits(self) -> u32 {
            gather(digit_bytes(self.0[0])) | gather(digit_bytes(self.0[1])) << 8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sixteen bytes around `b`, with `b` at each position in turn: the masks name exactly
    /// the positions a byte-by-byte test names.
    #[test]
    fn masks_agree_with_byte_tests() {
        for b in 0u8..=255 {
            for at in 0..16 {
                let mut bytes = [b'a'; 16];
                bytes[at] = b;
                bytes[(at + 7) % 16] = b'0';
                let chunk = Chunk::new(&bytes);
                let expect = |f: &dyn Fn(u8) -> bool| {
                    (0..16).fold(0u32, |m, i| m | u32::from(f(bytes[i])) << i)
                };
                assert_eq!(
                    chunk.digits(),
                    expect(&|c| c.is_ascii_digit()),
                    "{b} at {at}"
                );
                assert_eq!(
                    chunk.any_of([b'_', b'-', b'.']),
                    expect(&|c| matches!(c, b'_' | b'-' | b'.')),
                    "{b} at {at}"
                );
                assert_eq!(chunk.any_of([b]), expect(&|c| c == b), "{b} at {at}");
                let words = words::Bytes::new(&bytes);
                assert_eq!(words.digits(), chunk.digits(), "{b} at {at}");
                assert_eq!(
                    words.any_of([b'_', b'-', b'.']),
                    chunk.any_of([b'_', b'-', b'.'])
                );
                assert_eq!(words.any_of([b]), chunk.any_of([b]), "{b} at {at}");
            }
        }
    }

    #[test]
    fn gather_takes_each_bytes_high_bit() {
        for bits in 0u32..256 {
            let flags = (0..8).fold(0u64, |f, i| f | u64::from(bits >> i & 1) << (8 * i + 7));
            assert_eq!(words::gather(flags), bits);
        }
    }
}
