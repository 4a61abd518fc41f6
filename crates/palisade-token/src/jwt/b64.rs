//! Strict base64url without padding (RFC 7515 §2): non-canonical trailing bits are rejected.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decoded bytes: in a buffer on the stack when they fit in `N` bytes, else on the heap.
pub(crate) enum Decoded<const N: usize> {
    Inline([u8; N], usize),
    Heap(Vec<u8>),
}

impl<const N: usize> core::ops::Deref for Decoded<N> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Inline(buf, len) => &buf[..*len],
            Self::Heap(bytes) => bytes,
        }
    }
}

/// [`decode`] without an allocation when the text decodes to at most `N` bytes: a JOSE header
/// or a signature on every verification.
pub(crate) fn decode_inline<const N: usize>(text: &str) -> Option<Decoded<N>> {
    // The decoder wants room for its estimate: 3 bytes for every 4 characters, rounded up.
    if text.len().div_ceil(4) * 3 <= N {
        let mut buf = [0u8; N];
        let len = URL_SAFE_NO_PAD.decode_slice(text, &mut buf).ok()?;
        Some(Decoded::Inline(buf, len))
    } else {
        decode(text).map(Decoded::Heap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// On the stack or not, the bytes and the refusals are those of `decode`: canonical
        /// trailing bits only, no padding, no other alphabet.
        #[test]
        fn inline_decoding_agrees_with_decode(text in "[A-Za-z0-9_+/=-]{0,30}") {
            let heap = decode(&text);
            let small = decode_inline::<8>(&text).map(|d| d.to_vec());
            let large = decode_inline::<64>(&text).map(|d| d.to_vec());
            proptest::prop_assert_eq!(&small, &heap);
            proptest::prop_assert_eq!(&large, &heap);
        }
    }

    #[test]
    fn bytes_at_the_buffers_edge_stay_inline() {
        let text = encode(&[7u8; 6]);
        assert!(matches!(
            decode_inline::<6>(&text),
            Some(Decoded::Inline(_, 6))
        ));
        let text = encode(&[7u8; 7]);
        assert!(matches!(decode_inline::<6>(&text), Some(Decoded::Heap(v)) if v == [7u8; 7]));
    }
}
