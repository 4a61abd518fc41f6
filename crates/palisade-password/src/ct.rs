//! The one comparison of computed hash outputs with stored ones, in constant time.
//!
//! Every digest comparison in the crate goes through [`digests_match`], which is `subtle`'s
//! `ConstantTimeEq`; the `digests_are_compared_only_in_constant_time` test checks that no
//! other comparison of digests appears in the sources.

use subtle::ConstantTimeEq;

/// Whether `computed` equals `stored`, in time that depends only on their lengths.
pub(crate) fn digests_match<T: ConstantTimeEq + ?Sized>(computed: &T, stored: &T) -> bool {
    bool::from(computed.ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    use subtle::Choice;

    use super::*;

    /// A value whose `ConstantTimeEq` records that it was used.
    struct Spy<'a>(&'a Cell<u32>, u8);

    impl ConstantTimeEq for Spy<'_> {
        fn ct_eq(&self, other: &Self) -> Choice {
            self.0.set(self.0.get() + 1);
            self.1.ct_eq(&other.1)
        }
    }

    /// The helper answers through `subtle::ConstantTimeEq` and nothing else.
    #[test]
    fn digest_comparison_goes_through_subtle() {
        let calls = Cell::new(0);
        assert!(digests_match(&Spy(&calls, 1), &Spy(&calls, 1)));
        assert!(!digests_match(&Spy(&calls, 1), &Spy(&calls, 2)));
        assert_eq!(calls.get(), 2);
        assert!(digests_match(&[1u8, 2, 3][..], &[1, 2, 3][..]));
        assert!(!digests_match(&[1u8, 2, 3][..], &[1, 2, 4][..]));
        assert!(!digests_match(&[1u8, 2, 3][..], &[1, 2][..]));
    }

    /// No digest is compared anywhere but in [`digests_match`]: the sources call `ct_eq` only
    /// here, and no line compares a computed output (`out`) or a stored `hash` with `==` or
    /// `!=`. bcrypt's comparison is the `bcrypt` crate's own `verify`, which uses `subtle`.
    #[test]
    fn digests_are_compared_only_in_constant_time() {
        // Every source file but this one, read from disk so a new module is checked too.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.extension().is_some_and(|ext| ext == "rs") && file != "ct.rs" {
                sources.push((file, std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert!(sources.len() >= 10, "{} source files", sources.len());
        let mut calls = 0;
        for (file, text) in &sources {
            // Only the code before each file's unit tests, which may compare freely.
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or(text.as_str());
            for (n, line) in code.lines().enumerate() {
                let line = line.trim();
                if line.starts_with("//") {
                    continue;
                }
                assert!(!line.contains("ct_eq"), "{file}:{}: {line}", n + 1);
                // A comparison of lengths (`len`) compares no digest bytes.
                let compares =
                    (line.contains("==") || line.contains("!=")) && !line.contains("len");
                let digest = ["out", "hash", "expected", "tag"].iter().any(|word| {
                    line.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|token| token == *word)
                });
                assert!(!(compares && digest), "{file}:{}: {line}", n + 1);
                calls += line.matches("digests_match(").count();
            }
        }
        // Argon2's verification, the dummy's final comparison, PBKDF2 and scrypt.
        assert_eq!(calls, 4);
    }
}
