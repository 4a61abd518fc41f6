//! RFC 9162 Merkle vectors from an independent implementation (`tests/vectors/generate.py`,
//! Python's hashlib): every leaf hash, root, inclusion proof and consistency proof must match,
//! and every proof, mutated, must fail.

use palisade_audit::merkle::{self, ConsistencyProof, Hash, InclusionProof, Tree};

fn h(hex: &str) -> Hash {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn hashes(field: &str) -> Vec<Hash> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').map(h).collect()
    }
}

fn bytes(field: &str) -> Vec<u8> {
    if field == "-" {
        return Vec::new();
    }
    (0..field.len() / 2)
        .map(|i| u8::from_str_radix(&field[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn rfc9162_vectors() {
    let text = include_str!("vectors/merkle.txt");
    let mut tree = Tree::new();
    let mut roots = Vec::new();
    let (mut inclusions, mut consistencies) = (0, 0);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "leaf" => {
                let hash = merkle::leaf_hash(&bytes(f[2]));
                assert_eq!(hash, h(f[3]), "{line}");
                tree.push(hash);
            }
            "root" => {
                let size: u64 = f[1].parse().unwrap();
                assert_eq!(tree.root_at(size), Some(h(f[2])), "{line}");
                roots.push(h(f[2]));
            }
            "inclusion" => {
                let (index, size): (u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
                let expected = hashes(f[3]);
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert_eq!(proof.path, expected, "{line}");
                let leaf = tree.leaf(index).unwrap();
                let root = roots[size as usize];
                assert!(proof.verify(&leaf, &root).is_ok(), "{line}");
                for mutated in mutate_inclusion(&proof) {
                    assert!(mutated.verify(&leaf, &root).is_err(), "{line}: {mutated:?}");
                }
                let mut other_leaf = leaf;
                other_leaf[0] ^= 1;
                assert!(proof.verify(&other_leaf, &root).is_err(), "{line}");
                inclusions += 1;
            }
            "consistency" => {
                let (m, n): (u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
                let expected = hashes(f[3]);
                let proof = tree.consistency_proof(m, n).unwrap();
                assert_eq!(proof.path, expected, "{line}");
                let (old, new) = (roots[m as usize], roots[n as usize]);
                assert!(proof.verify(&old, &new).is_ok(), "{line}");
                for mutated in mutate_consistency(&proof) {
                    assert!(mutated.verify(&old, &new).is_err(), "{line}: {mutated:?}");
                }
                if m > 0 && m < n {
                    let mut forked = old;
                    forked[31] ^= 0x80;
                    assert!(proof.verify(&forked, &new).is_err(), "{line}");
                }
                consistencies += 1;
            }
            other => panic!("unknown record {other}"),
        }
    }
    assert_eq!((inclusions, consistencies), (153, 170));
}

fn mutate_inclusion(p: &InclusionProof) -> Vec<InclusionProof> {
    let mut out = Vec::new();
    for i in 0..p.path.len() {
        let mut m = p.clone();
        m.path[i][0] ^= 1;
        out.push(m);
        let mut m = p.clone();
        m.path.remove(i);
        out.push(m);
    }
    let mut m = p.clone();
    m.path.push([0; 32]);
    out.push(m);
    if p.tree_size > 1 {
        let mut m = p.clone();
        m.index = (p.index + 1) % p.tree_size;
        out.push(m);
    }
    let mut m = p.clone();
    m.index = p.tree_size;
    out.push(m);
    out
}

fn mutate_consistency(p: &ConsistencyProof) -> Vec<ConsistencyProof> {
    let mut out = Vec::new();
    for i in 0..p.path.len() {
        let mut m = p.clone();
        m.path[i][5] ^= 4;
        out.push(m);
        let mut m = p.clone();
        m.path.remove(i);
        out.push(m);
    }
    let mut m = p.clone();
    m.path.push([7; 32]);
    out.push(m);
    if p.old_size > 0 {
        let mut m = p.clone();
        m.new_size = p.old_size - 1;
        out.push(m);
    }
    out
}
