//! Arbitrary bytes as a sealed keyring file (under a fixed master key) and as a serialized
//! keyring: no panic, and a keyring that loads saves and loads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_crypt::{Keyring, MasterKey};

fuzz_target!(|data: &[u8]| {
    let master = MasterKey::insecure_from_bytes([7; 32]);
    let _ = palisade_crypt::fuzzing::parse_keyring_plaintext(data);
    if let Ok(keyring) = Keyring::open(data, &master) {
        let sealed = keyring.seal(&master).expect("a loaded keyring seals");
        let again = Keyring::open(&sealed, &master).expect("a sealed keyring opens");
        assert!(again.keys().eq(keyring.keys()));
    }
});
