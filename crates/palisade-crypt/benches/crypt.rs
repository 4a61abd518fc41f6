//! palisade-crypt against raw AES-256-GCM. In each group `palisade` is the subject; the other
//! functions are baselines:
//!
//! - `aes_gcm`: the `aes-gcm` crate with a cached cipher and a fresh random nonce from the OS
//!   per message (the minimum a correct caller must do), output in a new `Vec`;
//! - `aes_gcm_fixed_nonce`: the same without drawing a nonce, which no real caller may do; it
//!   shows what the OS random call costs;
//! - `aws_lc_rs`: AWS-LC's AES-256-GCM with a cached key and a random nonce from the OS, as the
//!   ceiling on this hardware;
//! - `aws_lc_rs_rand` (encryption): the same with the nonce from AWS-LC's own user-space
//!   generator, which is what palisade's `aws-lc` backend draws from.
//!
//! Built with `--features aws-lc`, `palisade` runs on the AWS-LC backend, so its ratio to
//! `aws_lc_rs` is the backend's overhead (format, subkeys, context check, zeroized output). The
//! groups' names then say so (`encrypt_aws_lc/64B`), so that both backends' results can stand in
//! one table: `cargo xtask bench` runs this bench with every feature and again with the default
//! backend.

use std::hint::black_box;

use aes_gcm::{Aes256Gcm, KeyInit as _};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac as _};
use palisade_crypt::{BlindIndexer, Crypter, KeyPurpose, Keyring};
use sha2::Sha256;

mod support;
use support::{aes_open, aes_seal, lc_nonce, lc_open, lc_seal, nonce, setup};

const SIZES: [(usize, &str); 3] = [(64, "64B"), (4096, "4KiB"), (1 << 20, "1MiB")];

/// `name/size`, with the backend after the name when it is not the default one.
fn group_name(name: &str, size: &str) -> String {
    let backend = if cfg!(feature = "aws-lc") {
        "_aws_lc"
    } else {
        ""
    };
    format!("{name}{backend}/{size}")
}

fn encrypt(c: &mut Criterion) {
    let s = setup();
    for (size, label) in SIZES {
        let pt = vec![0x5au8; size];
        let mut g = c.benchmark_group(group_name("encrypt", label));
        g.throughput(Throughput::Bytes(size as u64));
        if size > 100_000 {
            g.sample_size(20);
        }
        g.bench_function("palisade", |b| {
            b.iter(|| s.crypter.encrypt(&s.context, black_box(&pt)).expect("e"));
        });
        g.bench_function("aes_gcm", |b| {
            b.iter(|| aes_seal(&s.aes, nonce(), &s.aad, black_box(&pt)));
        });
        g.bench_function("aes_gcm_fixed_nonce", |b| {
            b.iter(|| aes_seal(&s.aes, [3; 12], &s.aad, black_box(&pt)));
        });
        g.bench_function("aws_lc_rs", |b| {
            b.iter(|| lc_seal(&s.lc, nonce(), &s.aad, black_box(&pt)));
        });
        g.bench_function("aws_lc_rs_rand", |b| {
            b.iter(|| lc_seal(&s.lc, lc_nonce(), &s.aad, black_box(&pt)));
        });
        g.finish();
    }
}

fn decrypt(c: &mut Criterion) {
    let s = setup();
    for (size, label) in SIZES {
        let pt = vec![0x5au8; size];
        let ours = s.crypter.encrypt(&s.context, &pt).expect("e");
        let raw = aes_seal(&s.aes, nonce(), &s.aad, &pt);
        let lc = lc_seal(&s.lc, nonce(), &s.aad, &pt);
        let mut g = c.benchmark_group(group_name("decrypt", label));
        g.throughput(Throughput::Bytes(size as u64));
        if size > 100_000 {
            g.sample_size(20);
        }
        g.bench_function("palisade", |b| {
            b.iter(|| s.crypter.decrypt(&s.context, black_box(&ours)).expect("d"));
        });
        g.bench_function("aes_gcm", |b| {
            b.iter(|| aes_open(&s.aes, &s.aad, black_box(&raw)));
        });
        g.bench_function("aws_lc_rs", |b| {
            b.iter(|| lc_open(&s.lc, &s.aad, black_box(&lc)));
        });
        g.finish();
    }
}

/// Decrypting a value whose subkey is not cached yet (first value from another writer): HKDF
/// and a key schedule. This is what a per-message key would cost on every message.
fn cold_decrypt(c: &mut Criterion) {
    let keyring = Keyring::generate().expect("keyring");
    let s = setup();
    let writer = Crypter::new(&keyring).expect("crypter");
    let ct = writer.encrypt(&s.context, &[0x5a; 64]).expect("e");
    let raw = aes_seal(&s.aes, nonce(), &s.aad, &[0x5a; 64]);
    let mut g = c.benchmark_group(group_name("decrypt_uncached", "64B"));
    g.bench_function("palisade", |b| {
        b.iter(|| {
            Crypter::new(&keyring)
                .expect("c")
                .decrypt(&s.context, black_box(&ct))
                .expect("d")
        });
    });
    g.bench_function("aes_gcm_new_cipher", |b| {
        b.iter(|| aes_open(&Aes256Gcm::new(&[1u8; 32].into()), &s.aad, black_box(&raw)));
    });
    g.finish();
}

fn blind_index(c: &mut Criterion) {
    let keyring = Keyring::generate().expect("keyring");
    let idx = BlindIndexer::new(&keyring, 8).expect("indexer");
    let mac = <Hmac<Sha256>>::new_from_slice(&[9u8; 32]).expect("key");
    let value = b"alice.example@example.com";
    let mut g = c.benchmark_group(group_name("blind_index", "8B"));
    g.bench_function("palisade", |b| {
        b.iter(|| idx.compute("users.email", black_box(value)).expect("i"));
    });
    g.bench_function("hmac_sha256", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(value));
            m.finalize().into_bytes()[..8].to_vec()
        });
    });
    g.finish();
}

fn rewrap(c: &mut Criterion) {
    let mut keyring = Keyring::generate().expect("keyring");
    let s = setup();
    let old = Crypter::new(&keyring)
        .expect("c")
        .encrypt(&s.context, &[0x5a; 64])
        .expect("e");
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let crypter = Crypter::new(&keyring).expect("c");
    let old_aes = Aes256Gcm::new(&[2u8; 32].into());
    let raw_old = aes_seal(&old_aes, nonce(), &s.aad, &[0x5a; 64]);
    let mut g = c.benchmark_group(group_name("rewrap", "64B"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("palisade", |b| {
        b.iter(|| crypter.rewrap(&s.context, black_box(&old)).expect("r"));
    });
    g.bench_function("aes_gcm", |b| {
        b.iter(|| {
            let pt = aes_open(&old_aes, &s.aad, black_box(&raw_old));
            aes_seal(&s.aes, nonce(), &s.aad, &pt)
        });
    });
    g.finish();
}

criterion_group!(benches, encrypt, decrypt, cold_decrypt, blind_index, rewrap);
criterion_main!(benches);
