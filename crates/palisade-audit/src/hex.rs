//! Lower-case hexadecimal, as records write hashes and MACs.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Each byte's two digits, so a byte costs one look-up.
const PAIRS: [[u8; 2]; 256] = {
    let mut pairs = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [DIGITS[b >> 4], DIGITS[b & 0xf]];
        b += 1;
    }
    pairs
};

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Appends the hex of `bytes` to `out`, as [`encode`] writes it, without a `String` of its own.
pub(crate) fn push(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    for (pair, &b) in out[start..].chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(b)]);
    }
}

/// Decodes exactly `N` bytes of lower-case hex; anything else is `None`.
pub(crate) fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let b = text.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xfe, 0xff];
        assert_eq!(super::encode(&bytes), "00017f80feff");
        let mut out = b"x".to_vec();
        super::push(&mut out, &bytes);
        assert_eq!(out, b"x00017f80feff");
        let all: Vec<u8> = (0..=255).collect();
        let mut pushed = Vec::new();
        super::push(&mut pushed, &all);
        assert_eq!(pushed, super::encode(&all).as_bytes());
        assert_eq!(super::decode::<6>("00017f80feff"), Some(bytes));
        assert_eq!(super::decode::<6>("00017F80feff"), None);
        assert_eq!(super::decode::<6>("00017f80fef"), None);
    }
}
