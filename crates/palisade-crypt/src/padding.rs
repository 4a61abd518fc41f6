//! Optional length hiding. The plaintext gets a `0x80` marker and zero bytes up to the padded
//! length (ISO/IEC 7816-4 style); removal happens only after authentication. There is no
//! compression: compressed lengths leak content.

use crate::error::EncryptError;

/// How plaintext lengths are hidden. The default, [`Padding::NONE`], reveals the exact length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Padding(Mode);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    None,
    Padme,
    Bucket(u32),
}

/// The bucket size was 0 or above 65536.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a padding bucket is 1 to 65536 bytes")]
pub struct InvalidBucket;

impl Padding {
    /// No padding: the ciphertext reveals the plaintext's exact length.
    pub const NONE: Self = Self(Mode::None);

    /// Padmé (Nikitin et al., PETS 2019): at most about 12% overhead, and a length leaks only
    /// O(log log n) bits.
    pub const PADME: Self = Self(Mode::Padme);

    /// Rounds up to a multiple of `size` bytes: every value shorter than `size` looks the same.
    ///
    /// # Errors
    /// [`InvalidBucket`] unless `1 <= size <= 65536`.
    pub fn bucket(size: u32) -> Result<Self, InvalidBucket> {
        if size == 0 || size > 65536 {
            return Err(InvalidBucket);
        }
        Ok(Self(Mode::Bucket(size)))
    }

    pub(crate) fn is_none(self) -> bool {
        self.0 == Mode::None
    }

    /// The padded length for a plaintext of `len` bytes (the marker byte included).
    pub fn padded_len(self, len: usize) -> Option<usize> {
        let marked = len.checked_add(1)?;
        match self.0 {
            Mode::None => Some(len),
            Mode::Padme => padme(marked as u64).try_into().ok(),
            Mode::Bucket(size) => marked.checked_next_multiple_of(size as usize),
        }
    }

    /// Appends `plaintext`, padded, to `out`.
    pub(crate) fn pad_into(self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), EncryptError> {
        let too_long = EncryptError::TooLong {
            len: plaintext.len(),
        };
        let target = self.padded_len(plaintext.len()).ok_or(too_long)?;
        out.extend_from_slice(plaintext);
        if !self.is_none() {
            out.push(0x80);
            out.resize(out.len() + (target - plaintext.len() - 1), 0);
        }
        Ok(())
    }
}

/// The length of `body` once padding is removed, or `None` if it carries no marker.
pub(crate) fn unpadded_len(body: &[u8]) -> Option<usize> {
    let end = body.iter().rposition(|&b| b != 0)?;
    (body[end] == 0x80).then_some(end)
}

fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros());
    let s = 64 - u64::from(e.leading_zeros());
    let mask = (1u64 << (e - s)) - 1;
    (len + mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_paper() {
        // Values from the Padmé paper's definition: 2^E with the low E - S bits cleared.
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10);
        assert_eq!(padme(100), 104);
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1025), 1088);
    }

    #[test]
    fn bucket_bounds() {
        assert!(Padding::bucket(0).is_err());
        assert!(Padding::bucket(65537).is_err());
        let p = Padding::bucket(32).unwrap_or_default();
        assert_eq!(p.padded_len(0), Some(32));
        assert_eq!(p.padded_len(31), Some(32));
        assert_eq!(p.padded_len(32), Some(64));
    }
}
