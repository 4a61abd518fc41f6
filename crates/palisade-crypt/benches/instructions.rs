//! One operation of `benches/crypt.rs`, repeated a given number of times, for instruction
//! counts under callgrind: unlike wall time they do not move with the load of a shared machine.
//! Run it twice with different counts and divide the difference of the totals by the difference
//! of the counts, so set-up (key generation, cache warm-up, the first seeding) cancels out:
//!
//! ```text
//! cargo bench -p palisade-crypt --bench instructions --no-run   # add --features aws-lc
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* \
//!     encrypt/palisade 64 1000
//! ```
//!
//! Operations: `encrypt/{palisade,aes_gcm,aes_gcm_fixed_nonce,aws_lc_rs,aws_lc_rs_rand}`,
//! `decrypt/{palisade,aes_gcm,aws_lc_rs}` and `context/new` (building the benches' context,
//! `users.email;row=123456;tenant=acme`, as an application does for each row), then the
//! plaintext size in bytes (ignored by `context/new`) and the count.

use std::hint::black_box;

use palisade_crypt::Context;

mod support;
use support::{aes_open, aes_seal, lc_nonce, lc_open, lc_seal, nonce, setup};

fn main() {
    // `cargo bench` (and `cargo xtask bench`) run every bench with flags only (`--bench`):
    // nothing to count then.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [op, size, count] = args.as_slice() else {
        return;
    };
    let size: usize = size.parse().expect("size");
    let count: usize = count.parse().expect("count");
    let s = setup();
    let pt = vec![0x5au8; size];
    let ours = s.crypter.encrypt(&s.context, &pt).expect("e");
    let raw = aes_seal(&s.aes, nonce(), &s.aad, &pt);
    let lc = lc_seal(&s.lc, nonce(), &s.aad, &pt);
    let run: Box<dyn Fn()> = match op.as_str() {
        "encrypt/palisade" => Box::new(|| drop(black_box(s.crypter.encrypt(&s.context, &pt)))),
        "encrypt/aes_gcm" => Box::new(|| drop(black_box(aes_seal(&s.aes, nonce(), &s.aad, &pt)))),
        "encrypt/aes_gcm_fixed_nonce" => {
            Box::new(|| drop(black_box(aes_seal(&s.aes, [3; 12], &s.aad, &pt))))
        }
        "encrypt/aws_lc_rs" => Box::new(|| drop(black_box(lc_seal(&s.lc, nonce(), &s.aad, &pt)))),
        "encrypt/aws_lc_rs_rand" => {
            Box::new(|| drop(black_box(lc_seal(&s.lc, lc_nonce(), &s.aad, &pt))))
        }
        "decrypt/palisade" => Box::new(|| drop(black_box(s.crypter.decrypt(&s.context, &ours)))),
        "decrypt/aes_gcm" => Box::new(|| drop(black_box(aes_open(&s.aes, &s.aad, &raw)))),
        "decrypt/aws_lc_rs" => Box::new(|| drop(black_box(lc_open(&s.lc, &s.aad, &lc)))),
        "context/new" => Box::new(|| {
            drop(black_box(
                Context::new(black_box("users.email"))
                    .and_then(|c| c.with("row", black_box(123_456)))
                    .and_then(|c| c.with("tenant", black_box("acme"))),
            ));
        }),
        other => {
            eprintln!("unknown operation {other}");
            std::process::exit(2);
        }
    };
    for _ in 0..count {
        run();
    }
}
