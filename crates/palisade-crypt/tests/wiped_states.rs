//! Hash and MAC states built from keys are wiped when dropped: the `zeroize` features of
//! `sha2`, `hmac` and `digest` are on for the whole workspace.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Sha256, Sha512};
use zeroize::ZeroizeOnDrop;

const fn wiped_on_drop<T: ZeroizeOnDrop>() {}

/// SHA-256 and SHA-512 states (the inner and outer states of every HMAC, HKDF and PBKDF2
/// computation in the workspace) and MAC outputs declare `ZeroizeOnDrop`. This fails to
/// compile if the features are turned off.
#[test]
fn hmac_and_sha2_states_are_zeroized_on_drop() {
    const {
        wiped_on_drop::<Sha256>();
        wiped_on_drop::<Sha512>();
        wiped_on_drop::<hmac::digest::CtOutput<Hmac<Sha256>>>();
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).expect("any key length");
    mac.update(b"data");
    let tag = mac.finalize();
    assert_eq!(tag.into_bytes().len(), 32);
}
