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

use serde_json::Value;

use crate::{
    checkpoint::Checkpoint,
    clock::Timestamp,
    event::RedactedEvent,
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

/// Writes a record's line (without the newline) into `line`, replacing what it held, and
/// returns the record's hash. `time` is the record's time as [`Timestamp::to_text`] writes it.
pub(crate) fn encode_into(
    line: &mut Vec<u8>,
    seq: u64,
    time: &[u8; 24],
    epoch: u64,
    body: &Body,
    prev: &Hash,
    key: &MacKey,
) -> Hash {
    start(line, seq, time, epoch, body.kind());
    match body {
        Body::Genesis(g) => {
            line.extend_from_slice(b"\"log_id\":\"");
            hex::push(line, &g.log_id);
            line.extend_from_slice(b"\",\"epoch_ms\":");
            push_decimal(line, g.epoch_ms);
            line.extend_from_slice(b",\"start\":\"");
            line.extend_from_slice(&g.start.to_text());
            line.extend_from_slice(b"\",\"key_id\":\"");
            hex::push(line, &g.key_id);
            line.extend_from_slice(b"\",\"origin\":");
            // Into a `Vec` nothing fails, and a string always serializes.
            let _ = serde_json::to_writer(&mut *line, g.origin.as_str());
        }
        Body::Event(v) => {
            line.extend_from_slice(b"\"event\":");
            // A `Value` always serializes, and into a `Vec` nothing fails.
            let _ = serde_json::to_writer(&mut *line, v);
        }
        Body::Seal { through } => {
            line.extend_from_slice(b"\"through\":");
            push_decimal(line, *through);
        }
        Body::Checkpoint(c) => {
            line.extend_from_slice(b"\"size\":");
            push_decimal(line, c.size);
            line.extend_from_slice(b",\"root\":\"");
            hex::push(line, &c.root);
            line.extend_from_slice(b"\",\"sig\":\"");
            hex::push(line, &c.signature);
            line.push(b'"');
        }
    }
    finish(line, prev, key)
}

/// [`encode_into`] for an event record, written from the redacted event: the same bytes as
/// `Body::Event` of its JSON object.
pub(crate) fn encode_event_into(
    line: &mut Vec<u8>,
    seq: u64,
    time: &[u8; 24],
    epoch: u64,
    event: &RedactedEvent,
    prev: &Hash,
    key: &MacKey,
) -> Hash {
    start(line, seq, time, epoch, RecordKind::Event);
    line.extend_from_slice(b"\"event\":");
    event.write_json(line);
    finish(line, prev, key)
}

/// `{"v":1,"seq":…,"time":"…","epoch":…,"kind":"…",` into an emptied `line`.
fn start(line: &mut Vec<u8>, seq: u64, time: &[u8; 24], epoch: u64, kind: RecordKind) {
    line.clear();
    line.extend_from_slice(b"{\"v\":1,\"seq\":");
    push_decimal(line, seq);
    line.extend_from_slice(b",\"time\":\"");
    line.extend_from_slice(time);
    line.extend_from_slice(b"\",\"epoch\":");
    push_decimal(line, epoch);
    line.extend_from_slice(b",\"kind\":\"");
    line.extend_from_slice(kind.as_str().as_bytes());
    line.extend_from_slice(b"\",");
}

/// Adds `,"prev":"…"`, closes the content, hashes and MACs it, and adds the MAC member.
fn finish(line: &mut Vec<u8>, prev: &Hash, key: &MacKey) -> Hash {
    line.extend_from_slice(b",\"prev\":\"");
    hex::push(line, prev);
    // The content is the line so far, closed.
    line.extend_from_slice(b"\"}");
    let hash = merkle::leaf_hash(line);
    let mac = key.mac(line);
    line.pop();
    line.extend_from_slice(b",\"mac\":\"");
    hex::push(line, &mac);
    line.extend_from_slice(b"\"}");
    hash
}

/// `n` in decimal, as `u64`'s `Display` writes it.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A record's line (without the newline) and hash.
#[cfg(test)]
pub(crate) fn encode(
    seq: u64,
    time: Timestamp,
    epoch: u64,
    body: &Body,
    prev: &Hash,
    key: &MacKey,
) -> (String, Hash) {
    let mut line = Vec::new();
    let hash = encode_into(&mut line, seq, &time.to_text(), epoch, body, prev, key);
    (String::from_utf8(line).unwrap(), hash)
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

    #[test]
    fn decimals_are_what_display_writes() {
        let mut n = 1u64;
        let mut values = vec![0, 9, 10, 99, 100, u64::MAX - 1, u64::MAX];
        while let Some(next) = n.checked_mul(3) {
            values.extend([n - 1, n, n + 1]);
            n = next;
        }
        for v in values {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, v);
            assert_eq!(out, format!("x{v}").as_bytes());
        }
    }
}

/// The bytes of every kind of record, pinned: the on-disk format must not move when the
/// encoder changes. Each line was written by the first encoder (format!, `Value::to_string`,
/// a fresh HMAC per record); hash and MAC are checked here against SHA-256 and HMAC-SHA256
/// computed afresh, so a pinned line that no longer matches fails whichever side moved.
#[cfg(test)]
mod format_pin {
    use hmac::{KeyInit, Mac};
    use palisade_redact::Redactor;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::event::{Event, Outcome, RedactedEvent};

    const KEY: [u8; 32] = [0x5a; 32];

    /// The events of `PIN_EVENT` and `PIN_BARE_EVENT`.
    fn events() -> [RedactedEvent; 2] {
        let event = Event::new("auth.login")
            .actor("user:42 \"quoted\" \u{e9}\u{1f600}")
            .client("203.0.113.9")
            .target("session\n\t\u{1}")
            .outcome(Outcome::Failure)
            .request_id("req-0000002a")
            .field("method", "password")
            .field("attempt", 3)
            .field("password", "hunter2")
            .field(
                "note",
                "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
            )
            .field(
                "nested",
                serde_json::json!({"b": [1, 2.5, null, true], "a": "x"}),
            )
            .redact(&Redactor::new());
        let bare = Event::new("a").redact(&Redactor::new());
        [event, bare]
    }

    fn bodies() -> Vec<Body> {
        let [event, bare] = events();
        vec![
            Body::Genesis(Genesis {
                log_id: [0xab; 16],
                epoch_ms: 900_000,
                start: Timestamp::from_unix_millis(1_767_225_600_000),
                key_id: [1, 2, 3, 4],
                origin: "audit.example.com/billing".to_owned(),
            }),
            Body::Event(event.to_json()),
            Body::Event(bare.to_json()),
            Body::Seal { through: 17 },
            Body::Checkpoint(CheckpointBody {
                size: 1234,
                root: [0xcd; 32],
                signature: [0xef; 64],
            }),
        ]
    }

    const PINNED: [&str; 5] = [
        PIN_GENESIS,
        PIN_EVENT,
        PIN_BARE_EVENT,
        PIN_SEAL,
        PIN_CHECKPOINT,
    ];

    #[test]
    fn every_kind_of_record_encodes_to_the_pinned_bytes() {
        let key = MacKey::at_epoch(3, KEY);
        let time = Timestamp::from_unix_millis(1_767_225_912_345);
        let mut prev = [0x11; 32];
        let mut lines = Vec::new();
        for (i, body) in bodies().iter().enumerate() {
            let (line, hash) = encode(40 + i as u64, time, 3, body, &prev, &key);
            lines.push((line, hash));
            prev = hash;
        }
        for (i, ((line, hash), pinned)) in lines.iter().zip(PINNED).enumerate() {
            assert_eq!(line, pinned, "record {i} moved");
            let (content, mac) = split_mac(line.as_bytes()).unwrap();
            let mut leaf = Sha256::new();
            leaf.update([0]);
            leaf.update(&content);
            assert_eq!(*hash, <[u8; 32]>::from(leaf.finalize()), "record {i}: hash");
            let fresh = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&KEY)
                .unwrap()
                .chain_update(&content)
                .finalize()
                .into_bytes();
            assert_eq!(mac, <[u8; 32]>::from(fresh), "record {i}: mac");
        }
    }

    /// An event written straight from its redacted form, as `AuditLog::append` writes it,
    /// gives the pinned bytes too, into a buffer that held a longer line before.
    #[test]
    fn events_written_straight_encode_to_the_pinned_bytes() {
        let key = MacKey::at_epoch(3, KEY);
        let time = Timestamp::from_unix_millis(1_767_225_912_345);
        let mut line = vec![b'x'; 4096];
        let text = crate::clock::TimeText::default().of(time).to_owned();
        let mut prev = [0x11; 32];
        let (_, genesis_hash) = encode(40, time, 3, &bodies()[0], &prev, &key);
        prev = genesis_hash;
        for (i, (event, pinned)) in events().iter().zip([PIN_EVENT, PIN_BARE_EVENT]).enumerate() {
            let hash = encode_event_into(&mut line, 41 + i as u64, &text, 3, event, &prev, &key);
            assert_eq!(String::from_utf8_lossy(&line), pinned, "event {i} moved");
            let (content, _) = split_mac(&line).unwrap();
            assert_eq!(hash, merkle::leaf_hash(&content));
            prev = hash;
        }
    }

    // Lines as the first encoder wrote them (`cargo test` printed them before it changed).
    const PIN_GENESIS: &str = r#"{"v":1,"seq":40,"time":"2026-01-01T00:05:12.345Z","epoch":3,"kind":"genesis","log_id":"abababababababababababababababab","epoch_ms":900000,"start":"2026-01-01T00:00:00.000Z","key_id":"01020304","origin":"audit.example.com/billing","prev":"1111111111111111111111111111111111111111111111111111111111111111","mac":"4e8793cb292f85785287b639b1b36662ebb9a4d417a44570da58501608f11839"}"#;
    const PIN_EVENT: &str = r#"{"v":1,"seq":41,"time":"2026-01-01T00:05:12.345Z","epoch":3,"kind":"event","event":{"action":"auth.login","actor":"user:42 \"quoted\" é😀","client":"203.0.113.9","fields":{"attempt":3,"method":"password","nested":{"a":"x","b":[1,2.5,null,true]},"note":"Authorization: [REDACTED]","password":"[REDACTED]"},"outcome":"failure","request_id":"req-0000002a","target":"session\n\t\u0001"},"prev":"73a05b02d04bc36413ed704e6358f3af09afcaaf65dd91d0a731f1ef068a7481","mac":"55a4e19807e0c3ac5c5cb4ad6acb6be5da66d937e50302f00316ba2394f81d7d"}"#;
    const PIN_BARE_EVENT: &str = r#"{"v":1,"seq":42,"time":"2026-01-01T00:05:12.345Z","epoch":3,"kind":"event","event":{"action":"a","outcome":"unknown"},"prev":"7ec604b7e2c4749f2dc27a3fc01c68b5719267d8a7fe0e24271da80d637ffaac","mac":"d7f091196aa4e505aa1aaab5c7aa6b388afbbc564b97c6eb18e8a9ea91911706"}"#;
    const PIN_SEAL: &str = r#"{"v":1,"seq":43,"time":"2026-01-01T00:05:12.345Z","epoch":3,"kind":"seal","through":17,"prev":"7585fc4ad1c90d1f36e7059f3094279347e94192ab3c3c6eb5b47938e1c16114","mac":"226bbde5393eb5468f2b6a1203fce65f8cecd277b58f51055fd637d44d05942e"}"#;
    const PIN_CHECKPOINT: &str = r#"{"v":1,"seq":44,"time":"2026-01-01T00:05:12.345Z","epoch":3,"kind":"checkpoint","size":1234,"root":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","sig":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef","prev":"a32f8fada073a240f128415b371a5e8960dbdc337b811646512e034e52caf25e","mac":"0edc6f7ed4e1c1e37e7cf87249c318a6763fc015628f79153cbf736f7b96b6fd"}"#;
}
