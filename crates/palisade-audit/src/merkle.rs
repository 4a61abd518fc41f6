//! RFC 9162 (Certificate Transparency 2.0) Merkle tree hashes, inclusion proofs and
//! consistency proofs, over SHA-256.
//!
//! A leaf's hash is `SHA-256(0x00 || data)` and an interior node's `SHA-256(0x01 || left ||
//! right)`; the tree over `n` leaves splits at the largest power of two below `n` (RFC 9162
//! section 2.1.1). In an audit log the leaves are the records' contents, so a record's leaf hash
//! is also the link the next record's `prev` names.
//!
//! ```
//! use palisade_audit::merkle::{self, Tree};
//!
//! let mut tree = Tree::new();
//! for data in [&b"a"[..], b"b", b"c", b"d", b"e"] {
//!     tree.push(merkle::leaf_hash(data));
//! }
//! let root = tree.root();
//! let proof = tree.inclusion_proof(2, 5).unwrap();
//! assert!(proof.verify(&merkle::leaf_hash(b"c"), &root).is_ok());
//!
//! let old_root = tree.root_at(3).unwrap();
//! let consistency = tree.consistency_proof(3, 5).unwrap();
//! assert!(consistency.verify(&old_root, &root).is_ok());
//! ```

use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// The RFC 9162 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a proof did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size, or the old size is above the new one.
    #[error("index or size out of range")]
    OutOfRange,
    /// The proof has the wrong number of hashes for the sizes.
    #[error("proof has the wrong length")]
    WrongLength,
    /// The recomputed root differs from the expected root.
    #[error("recomputed root does not match")]
    RootMismatch,
}

/// A proof that the leaf at `index` is in the tree of `tree_size` leaves (RFC 9162 2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index, from 0.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, from the leaf's sibling up.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Checks the proof for `leaf` (a [`leaf_hash`]) against `root` (RFC 9162 2.1.3.2).
    ///
    /// # Errors
    ///
    /// [`ProofError`] when the proof does not show `leaf` at `index` under `root`.
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), ProofError> {
        if self.index >= self.tree_size {
            return Err(ProofError::OutOfRange);
        }
        let (mut f, mut s) = (self.index, self.tree_size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if s == 0 {
                return Err(ProofError::WrongLength);
            }
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        if s != 0 {
            return Err(ProofError::WrongLength);
        }
        if r == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

/// A proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves
/// (RFC 9162 2.1.4): the log was only appended to in between, never rewritten or truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The earlier tree's size.
    pub old_size: u64,
    /// The later tree's size.
    pub new_size: u64,
    /// The proof's hashes.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks the proof against both roots (RFC 9162 2.1.4.2).
    ///
    /// # Errors
    ///
    /// [`ProofError`] when the trees are not consistent (a fork or a truncation) or the proof is
    /// malformed.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        let (m, n) = (self.old_size, self.new_size);
        if m > n {
            return Err(ProofError::OutOfRange);
        }
        if m == n {
            if !self.path.is_empty() {
                return Err(ProofError::WrongLength);
            }
            return if old_root == new_root {
                Ok(())
            } else {
                Err(ProofError::RootMismatch)
            };
        }
        if m == 0 {
            // Every tree extends the empty tree.
            return if self.path.is_empty() {
                Ok(())
            } else {
                Err(ProofError::WrongLength)
            };
        }
        let mut path: Vec<&Hash> = Vec::with_capacity(self.path.len() + 1);
        if m.is_power_of_two() {
            path.push(old_root);
        }
        path.extend(self.path.iter());
        let Some((first, rest)) = path.split_first() else {
            return Err(ProofError::WrongLength);
        };
        let (mut f, mut s) = (m - 1, n - 1);
        while f & 1 == 1 {
            f >>= 1;
            s >>= 1;
        }
        let (mut fr, mut sr) = (**first, **first);
        for c in rest {
            if s == 0 {
                return Err(ProofError::WrongLength);
            }
            if f & 1 == 1 || f == s {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            f >>= 1;
            s >>= 1;
        }
        if s != 0 {
            return Err(ProofError::WrongLength);
        }
        if fr == *old_root && sr == *new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first. Enough to append
/// and to compute the root, in `O(log n)` memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `(height, hash)` of each perfect subtree, left to right, heights strictly decreasing.
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.nodes.last() {
            if h != node.0 {
                break;
            }
            self.nodes.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        fold(self.nodes.iter().map(|(_, h)| h))
    }

    /// The perfect subtrees' roots, largest (leftmost) first: with [`size`](Self::size), all
    /// that is needed to carry on the tree ([`from_parts`](Self::from_parts)).
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|&(_, h)| h).collect()
    }

    /// The frontier of a tree of `size` leaves from its perfect subtrees' roots, largest first;
    /// `None` unless there is one hash per bit set in `size`.
    pub fn from_parts(size: u64, hashes: &[Hash]) -> Option<Self> {
        if hashes.len() != size.count_ones() as usize {
            return None;
        }
        let heights = (0..64u32).rev().filter(|h| size >> h & 1 == 1);
        Some(Self {
            size,
            nodes: heights.zip(hashes.iter().copied()).collect(),
        })
    }

    /// `(first leaf, leaf count, hash)` of each perfect subtree, left to right.
    fn spans(&self) -> impl Iterator<Item = (u64, u64, Hash)> + '_ {
        let mut start = 0u64;
        self.nodes.iter().map(move |&(h, hash)| {
            let len = 1u64 << h;
            start += len;
            (start - len, len, hash)
        })
    }
}

/// MTH of consecutive perfect subtrees whose sizes decrease left to right: the last is folded
/// into each one before it, as RFC 9162's split at the largest power of two does.
fn fold<'a>(nodes: impl DoubleEndedIterator<Item = &'a Hash>) -> Hash {
    let mut it = nodes.rev();
    let Some(&last) = it.next() else {
        return empty_root();
    };
    let mut r = last;
    for left in it {
        r = node_hash(left, &r);
    }
    r
}

/// Builds the RFC 9162 consistency proof from an earlier tree to the tree as it grows, in
/// `O(log n)` memory and without keeping the leaves: start it with the earlier tree's
/// [`Frontier`], push every later leaf, then ask for the [`proof`](Self::proof). A verifier that
/// streams a log proves with it that the log extends a checkpoint kept elsewhere.
///
/// ```
/// use palisade_audit::merkle::{self, ConsistencyBuilder, Frontier};
///
/// let mut frontier = Frontier::new();
/// for i in 0u8..5 {
///     frontier.push(merkle::leaf_hash(&[i]));
/// }
/// let old_root = frontier.root();
/// let mut builder = ConsistencyBuilder::new(frontier.clone());
/// for i in 5u8..12 {
///     frontier.push(merkle::leaf_hash(&[i]));
///     builder.push(merkle::leaf_hash(&[i]));
/// }
/// let proof = builder.proof().unwrap();
/// assert!(proof.verify(&old_root, &frontier.root()).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct ConsistencyBuilder {
    old: Frontier,
    /// `(first leaf, height, hash)` of the maximal perfect subtrees covering the leaves pushed
    /// since the old tree, left to right.
    tail: Vec<(u64, u32, Hash)>,
    size: u64,
}

impl ConsistencyBuilder {
    /// Starts from the earlier tree.
    pub fn new(old: Frontier) -> Self {
        let size = old.size();
        Self {
            old,
            tail: Vec::new(),
            size,
        }
    }

    /// The earlier tree's size.
    pub fn old_size(&self) -> u64 {
        self.old.size()
    }

    /// The later tree's size so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash to the later tree.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (self.size, 0u32, leaf);
        while let Some(&(start, h, left)) = self.tail.last() {
            // Merge only with a left sibling: same height, starting on a boundary of the parent.
            if h != node.1 || start % (2u64 << h) != 0 {
                break;
            }
            self.tail.pop();
            node = (start, h + 1, node_hash(&left, &node.2));
        }
        self.tail.push(node);
        self.size += 1;
    }

    /// The proof that the earlier tree is a prefix of the tree pushed so far.
    ///
    /// `None` is never returned for trees built through [`push`](Self::push) (every hash the
    /// proof needs is kept); it is there so a logic error cannot panic.
    pub fn proof(&self) -> Option<ConsistencyProof> {
        let (m, n) = (self.old.size(), self.size);
        let mut path = Vec::new();
        if m > 0 && m < n {
            subproof(m, 0, n, true, &mut path, &|lo, hi| self.mth(lo, hi))?;
        }
        Some(ConsistencyProof {
            old_size: m,
            new_size: n,
            path,
        })
    }

    /// MTH(D[lo:hi]) from the kept subtrees that tile that range exactly.
    fn mth(&self, lo: u64, hi: u64) -> Option<Hash> {
        let m = self.old.size();
        let spans: Vec<(u64, u64, Hash)> = if hi <= m {
            self.old
                .spans()
                .filter(|&(s, l, _)| s >= lo && s + l <= hi)
                .collect()
        } else if lo >= m {
            self.tail
                .iter()
                .map(|&(s, h, hash)| (s, 1u64 << h, hash))
                .filter(|&(s, l, _)| s >= lo && s + l <= hi)
                .collect()
        } else {
            return None;
        };
        let mut at = lo;
        for &(s, l, _) in &spans {
            if s != at {
                return None;
            }
            at += l;
        }
        (at == hi && !spans.is_empty()).then(|| fold(spans.iter().map(|(_, _, h)| h)))
    }
}

/// SUBPROOF(m, D[lo:hi], b) of RFC 9162 2.1.4.1, with `mth` giving MTH of any range it needs.
fn subproof(
    m: u64,
    lo: u64,
    hi: u64,
    b: bool,
    out: &mut Vec<Hash>,
    mth: &dyn Fn(u64, u64) -> Option<Hash>,
) -> Option<()> {
    let n = hi - lo;
    if m == n {
        if !b {
            out.push(mth(lo, hi)?);
        }
        return Some(());
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, b, out, mth)?;
        out.push(mth(lo + k, hi)?);
    } else {
        subproof(m - k, lo + k, hi, false, out, mth)?;
        out.push(mth(lo, lo + k)?);
    }
    Some(())
}

/// A whole tree, kept level by level so roots at any size and proofs cost `O(log² n)` hashes.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[h][i]` is the root of the perfect subtree of height `h` over leaves
    /// `i·2^h .. (i+1)·2^h`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = 0;
        let mut node = leaf;
        loop {
            if self.levels.len() == h {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[h];
            level.push(node);
            if level.len() % 2 == 1 {
                return;
            }
            node = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
            h += 1;
        }
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.mth(0, self.size())
    }

    /// The root of the tree of the first `size` leaves, if the tree is that large.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.size()).then(|| self.mth(0, size))
    }

    /// The proof that leaf `index` is in the tree of the first `tree_size` leaves.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Option<InclusionProof> {
        if index >= tree_size || tree_size > self.size() {
            return None;
        }
        let mut path = Vec::new();
        self.path(index, 0, tree_size, &mut path);
        Some(InclusionProof {
            index,
            tree_size,
            path,
        })
    }

    /// The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Option<ConsistencyProof> {
        if old_size > new_size || new_size > self.size() {
            return None;
        }
        let mut path = Vec::new();
        if old_size > 0 && old_size < new_size {
            subproof(old_size, 0, new_size, true, &mut path, &|lo, hi| {
                Some(self.mth(lo, hi))
            })?;
        }
        Some(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    /// MTH(D[lo:hi]).
    fn mth(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            if let Some(hash) = self
                .levels
                .get(h)
                .and_then(|l| l.get(usize::try_from(lo >> h).ok()?))
            {
                return *hash;
            }
        }
        let k = split(n);
        node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
    }

    /// PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1, `m` relative to `lo`.
    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out);
            out.push(self.mth(lo + k, hi));
        } else {
            self.path(m - k, lo + k, hi, out);
            out.push(self.mth(lo, lo + k));
        }
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_largest_power_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    #[test]
    fn streamed_consistency_proofs_equal_the_whole_trees() {
        let mut tree = Tree::new();
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for l in &leaves {
            tree.push(*l);
        }
        for m in 0..=70u64 {
            let mut old = Frontier::new();
            for l in &leaves[..m as usize] {
                old.push(*l);
            }
            let again = Frontier::from_parts(m, &old.hashes()).unwrap();
            assert_eq!(again, old);
            let mut b = ConsistencyBuilder::new(old);
            for n in m..=70 {
                assert_eq!(b.proof(), tree.consistency_proof(m, n), "{m} -> {n}");
                if n < 70 {
                    b.push(leaves[n as usize]);
                }
            }
        }
    }

    #[test]
    fn frontier_matches_tree() {
        let mut t = Tree::new();
        let mut f = Frontier::new();
        assert_eq!(t.root(), f.root());
        for i in 0u32..70 {
            let leaf = leaf_hash(&i.to_be_bytes());
            t.push(leaf);
            f.push(leaf);
            assert_eq!(t.root(), f.root(), "size {}", i + 1);
        }
    }
}
