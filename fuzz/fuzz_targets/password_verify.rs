//! Arbitrary stored-hash strings through the parser and verifier: no input may panic, and
//! limits keep every accepted one cheap.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_password::{Hasher, Limits, Params, Password};

fn hasher() -> &'static Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(|| {
        let mut limits = Limits::DEFAULT;
        limits.max_memory_kib = 256;
        limits.max_time_cost = 2;
        limits.max_parallelism = 2;
        limits.max_bcrypt_cost = 5;
        limits.max_pbkdf2_iterations = 2_000;
        Hasher::builder()
            .params(Params::insecure(64, 1, 1).expect("valid"))
            .limits(limits)
            .build()
            .expect("valid configuration")
    })
}

fuzz_target!(|data: &[u8]| {
    let (password, stored) = data.split_at(data.len().min(4));
    let stored = String::from_utf8_lossy(stored);
    let password = Password::from(String::from_utf8_lossy(password).into_owned());
    let _ = hasher().needs_rehash(&stored);
    let _ = hasher().verify(&password, &stored);
});
