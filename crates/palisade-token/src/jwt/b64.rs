//! Strict base64url without padding (RFC 7515 §2): non-canonical trailing bits are rejected.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// [`decode`] into `buf` when the text decodes to at most `N` bytes, so a JOSE header or a
/// signature decodes without an allocation on every verification; on the heap otherwise. The
/// caller owns the buffer, so the decoded bytes are never moved or copied again.
pub(crate) fn decode_into<'a, const N: usize>(
    text: &str,
    buf: &'a mut [u8; N],
) -> Option<Cow<'a, [u8]>> {
    // The decoder wants room for its estimate: 3 bytes for every 4 characters, rounded up.
    if text.len().div_ceil(4) * 3 <= N {
        let len = URL_SAFE_NO_PAD.decode_slice(text, buf).ok()?;
        Some(Cow::Borrowed(&buf[..len]))
    } else {
        decode(text).map(Cow::Owned)
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
            let small = decode_into(&text, &mut [0; 8]).map(|d| d.to_vec());
            let large = decode_into(&text, &mut [0; 64]).map(|d| d.to_vec());
            proptest::prop_assert_eq!(&small, &heap);
            proptest::prop_assert_eq!(&large, &heap);
        }
    }

    #[test]
    fn bytes_at_the_buffers_edge_stay_inline() {
        let text = encode(&[7u8; 6]);
        assert!(matches!(
            decode_into(&text, &mut [0; 6]),
            Some(Cow::Borrowed(b)) if b == [7u8; 6]
        ));
        let text = encode(&[7u8; 7]);
        assert!(matches!(
            decode_into(&text, &mut [0; 6]),
            Some(Cow::Owned(v)) if v == [7u8; 7]
        ));
    }
}
