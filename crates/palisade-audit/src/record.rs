//! The on-disk record: one JSON object per line.
//!
//! ```text
//! {"v":1,"seq":7,"time":"…","epoch":2,"kind":"event","event":{…},"prev":"<hex>","mac":"<hex>"}
//! ```
//!
//! A record's *content* is its line without the trailing `,"mac":"…"` member: the exact bytes
//! written, closed with `}`. Nothing is re-serialized to check a record, so no canonical JSON
//! form is needed. The content's RFC 9162 leaf hash is the record's hash: the next record's
//! `prev` names it, and it is the record's leaf in the Merkle tree. The MAC is HMAC-SHA256 of
//! the content under the key of the record's epoch.

use std::fmt::Write as _;

use serde_json::Value;

use crate::{
    checkpoint::Checkpoint,
    clock::Timestamp,
    hex,
    keys::MacKey,
    merkle::{self, Hash},
};

/// The longest line a log holds, newline included. Longer events are refused when appended,
/// and longer lines are malformed when read.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// `,"mac":"` + 64 hex digits + `"}`.
const MAC_SUFFIX_LEN: usize = 8 + 64 + 2;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// The first record of a log: its id, epoch length and start, and the checkpoint key's id.
    Genesis,
    /// An audited event.
    Event,
    /// The end of one or more epochs, written even when nothing else happened.
    Seal,
    /// A signed checkpoint of the Merkle tree over every earlier record.
    Checkpoint,
}

impl RecordKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Genesis => "genesis",
            Self::Event => "event",
            Self::Seal => "seal",
            Self::Checkpoint => "checkpoint",
        }
    }
}

/// The log's parameters, fixed at creation and written into the genesis record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Genesis {
    pub(crate) log_id: [u8; 16],
    pub(crate) epoch_ms: u64,
    pub(crate) start: Timestamp,
    /// The checkpoint key's C2SP note key id under the origin.
    pub(crate) key_id: [u8; 4],
    /// The log's name: its checkpoints' origin line and their signing key's name.
    pub(crate) origin: String,
}

impl Genesis {
    /// The epoch that time `t` falls in.
    pub(crate) fn epoch_of(&self, t: Timestamp) -> u64 {
        t.unix_millis().saturating_sub(self.start.unix_millis()) / self.epoch_ms.max(1)
    }
}

/// A record's kind-specific part.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Genesis(Genesis),
    Event(Value),
    Seal { through: u64 },
    Checkpoint(CheckpointBody),
}

/// What a checkpoint record stores: the log's origin and key id are in its genesis record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckpointBody {
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) signature: [u8; 64],
}

impl CheckpointBody {
    pub(crate) fn of(cp: &Checkpoint) -> Self {
        Self {
            size: cp.size(),
            root: cp.root(),
            signature: cp.own_signature(),
        }
    }

    /// The checkpoint as a note, with the log's origin and key id.
    pub(crate) fn resolve(&self, genesis: &Genesis) -> Checkpoint {
        Checkpoint::from_parts(
            &genesis.origin,
            genesis.key_id,
            self.size,
            self.root,
            self.signature,
        )
    }
}

impl Body {
    pub(crate) fn kind(&self) -> RecordKind {
        match self {
            Self::Genesis(_) => RecordKind::Genesis,
            Self::Event(_) => RecordKind::Event,
            Self::Seal { .. } => RecordKind::Seal,
            Self::Checkpoint(_) => RecordKind::Checkpoint,
        }
    }
}

/// A record read from a log, after its syntax was checked (not its MAC or links).
///
/// ```
/// # use palisade_audit::{AuditLog, Event, RecordKind};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-rec-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mut log = AuditLog::builder(&dir)
///     .create_with(|_bundle| Ok(())) // a real log keeps its bundle: see `create`
///     .unwrap();
/// log.append(Event::new("auth.login").actor("user:42")).unwrap();
/// let records = palisade_audit::read_records(&dir).unwrap();
/// assert_eq!(records[0].kind(), RecordKind::Genesis);
/// assert_eq!(records[1].event().unwrap()["actor"], "user:42");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) epoch: u64,
    pub(crate) body: Body,
    pub(crate) prev: Hash,
    pub(crate) mac: [u8; 32],
    pub(crate) hash: Hash,
    /// The checkpoint as a note, once the genesis record that names the log is known.
    pub(crate) resolved: Option<Checkpoint>,
}

impl Record {
    /// The sequence number, from 0.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When it was written, by the writer's clock.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The MAC epoch it belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// What it is.
    pub fn kind(&self) -> RecordKind {
        self.body.kind()
    }

    /// The event, as redacted and written, for event records.
    pub fn event(&self) -> Option<&Value> {
        match &self.body {
            Body::Event(v) => Some(v),
            _ => None,
        }
    }

    /// The checkpoint, for checkpoint records read by [`read_records`](crate::read_records)
    /// (which knows the log's origin from its genesis record).
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.resolved.as_ref()
    }

    /// The record's hash: the RFC 9162 leaf hash of its content, and its Merkle tree leaf.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The hash of the record before it (all zeros for the genesis record).
    pub fn prev(&self) -> Hash {
        self.prev
    }
}

/// Writes a record's line (without the newline) and returns it with the record's hash.
pub(crate) fn encode(
    seq: u64,
    time: Timestamp,
    epoch: u64,
    body: &Body,
    prev: &Hash,
    key: &MacKey,
) -> (String, Hash) {
    let mut line = format!(
        "{{\"v\":1,\"seq\":{seq},\"time\":\"{time}\",\"epoch\":{epoch},\"kind\":\"{}\",",
        body.kind().as_str()
    );
    match body {
        Body::Genesis(g) => {
            let _ = write!(
                line,
                "\"log_id\":\"{}\",\"epoch_ms\":{},\"start\":\"{}\",\"key_id\":\"{}\",\"origin\":{}",
                hex::encode(&g.log_id),
                g.epoch_ms,
                g.start,
                hex::encode(&g.key_id),
                Value::String(g.origin.clone())
            );
        }
        Body::Event(v) => {
            line.push_str("\"event\":");
            line.push_str(&v.to_string());
        }
        Body::Seal { through } => {
            let _ = write!(line, "\"through\":{through}");
        }
        Body::Checkpoint(c) => {
            let _ = write!(
                line,
                "\"size\":{},\"root\":\"{}\",\"sig\":\"{}\"",
                c.size,
                hex::encode(&c.root),
                hex::encode(&c.signature)
            );
        }
    }
    let _ = write!(line, ",\"prev\":\"{}\"", hex::encode(prev));
    // The content is the line so far, closed.
    line.push('}');
    let hash = merkle::leaf_hash(line.as_bytes());
    let mac = key.mac(line.as_bytes());
    line.pop();
    let _ = write!(line, ",\"mac\":\"{}\"}}", hex::encode(&mac));
    (line, hash)
}

/// Why a line is not a record.
pub(crate) type Malformed = &'static str;

/// A line's content (the bytes hashed and authenticated) and its MAC, without parsing the JSON.
pub(crate) fn split_mac(line: &[u8]) -> Result<(Vec<u8>, [u8; 32]), Malformed> {
    if line.len() > MAX_LINE_BYTES {
        return Err("line too long");
    }
    if line.len() < MAC_SUFFIX_LEN + 2 || !line.ends_with(b"\"}") {
        return Err("no trailing mac member");
    }
    let cut = line.len() - MAC_SUFFIX_LEN;
    if &line[cut..cut + 8] != b",\"mac\":\"" {
        return Err("no trailing mac member");
    }
    let mac_hex = std::str::from_utf8(&line[cut + 8..line.len() - 2]).map_err(|_| "bad mac")?;
    let mac = hex::decode::<32>(mac_hex).ok_or("bad mac")?;
    let mut content = Vec::with_capacity(cut + 1);
    content.extend_from_slice(&line[..cut]);
    content.push(b'}');
    Ok((content, mac))
}

/// Parses one line (without its newline).
pub(crate) fn parse(line: &[u8]) -> Result<Record, Malformed> {
    let (content, mac) = split_mac(line)?;
    let value: Value = serde_json::from_slice(&content).map_err(|_| "not a JSON object")?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    let u64_of = |name: &str| obj.get(name).and_then(Value::as_u64);
    let str_of = |name: &str| obj.get(name).and_then(Value::as_str);
    if u64_of("v") != Some(1) {
        return Err("unknown version");
    }
    let seq = u64_of("seq").ok_or("no seq")?;
    let time = str_of("time")
        .and_then(Timestamp::parse)
        .ok_or("no valid time")?;
    let epoch = u64_of("epoch").ok_or("no epoch")?;
    let prev = str_of("prev")
        .and_then(hex::decode::<32>)
        .ok_or("no valid prev")?;
    let body = match str_of("kind").ok_or("no kind")? {
        "genesis" => Body::Genesis(Genesis {
            log_id: str_of("log_id")
                .and_then(hex::decode::<16>)
                .ok_or("no valid log_id")?,
            epoch_ms: u64_of("epoch_ms")
                .filter(|&ms| ms > 0)
                .ok_or("no valid epoch_ms")?,
            start: str_of("start")
                .and_then(Timestamp::parse)
                .ok_or("no valid start")?,
            key_id: str_of("key_id")
                .and_then(hex::decode::<4>)
                .ok_or("no valid key_id")?,
            origin: str_of("origin")
                .filter(|o| crate::log::valid_origin(o))
                .ok_or("no valid origin")?
                .to_owned(),
        }),
        "event" => Body::Event(
            obj.get("event")
                .filter(|v| v.is_object())
                .cloned()
                .ok_or("no event object")?,
        ),
        "seal" => Body::Seal {
            through: u64_of("through").ok_or("no through")?,
        },
        "checkpoint" => Body::Checkpoint(CheckpointBody {
            size: u64_of("size").ok_or("no size")?,
            root: str_of("root")
                .and_then(hex::decode::<32>)
                .ok_or("no valid root")?,
            signature: str_of("sig")
                .and_then(hex::decode::<64>)
                .ok_or("no valid sig")?,
        }),
        _ => return Err("unknown kind"),
    };
    Ok(Record {
        seq,
        time,
        epoch,
        body,
        prev,
        mac,
        hash: merkle::leaf_hash(&content),
        resolved: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse() {
        let key = MacKey::from_bytes([1; 32]);
        let body = Body::Event(serde_json::json!({"action": "a\"\n}", "outcome": "success"}));
        let time = Timestamp::from_unix_millis(1_700_000_000_000);
        let (line, hash) = encode(5, time, 2, &body, &[3; 32], &key);
        assert!(!line.contains('\n'));
        let rec = parse(line.as_bytes()).unwrap();
        assert_eq!(
            (rec.seq, rec.time, rec.epoch, rec.prev),
            (5, time, 2, [3; 32])
        );
        assert_eq!(rec.body, body);
        assert_eq!(rec.hash, hash);
        let (content, mac) = split_mac(line.as_bytes()).unwrap();
        assert!(key.check(&content, &mac));
        assert!(parse(&line.as_bytes()[..line.len() - 1]).is_err());
    }
}
