//! Hashers the integration tests share: cheap parameters, so that a test spends its time on
//! what it checks rather than on Argon2id.

use palisade_password::{Hasher, Params, Pepper, Peppers, SecretBox};

/// A hasher with `m_kib` KiB of memory and `t` passes, one lane.
pub(crate) fn hasher(m_kib: u32, t: u32) -> Hasher {
    Hasher::builder()
        .params(Params::insecure(m_kib, t, 1).unwrap())
        .build()
        .unwrap()
}

/// A 32-byte pepper of `byte`s under `id`.
pub(crate) fn pepper(id: &str, byte: u8) -> Pepper {
    Pepper::new(id, SecretBox::new(vec![byte; 32].into_boxed_slice())).unwrap()
}

/// A cheap hasher with these peppers.
pub(crate) fn peppered(peppers: Peppers) -> Hasher {
    Hasher::builder()
        .params(Params::insecure(64, 1, 1).unwrap())
        .peppers(peppers)
        .build()
        .unwrap()
}
