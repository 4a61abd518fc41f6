//! `palisade audit append|verify`, on palisade-audit.
//!
//! The key file holds at least 32 secret bytes. Two keys are derived from it with
//! HMAC-SHA256 (the file's bytes as the HMAC key, a fixed label as the message): the log's
//! epoch-0 MAC key and the Ed25519 seed of its checkpoint signing key. The writer keeps only
//! the current epoch's MAC key in the log directory (palisade-audit's forward-secure design);
//! the key file lets `verify` re-derive every epoch's key and check every MAC and signature.

use std::{
    io::{self, Write},
    path::Path,
};

use hmac::{Hmac, KeyInit, Mac};
use palisade_audit::{
    AppendError, AuditLog, Event, MacKey, OpenError, Outcome, SecretBox, SigningKey, Verifier,
    VerifyError,
};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    args::{AuditArgs, AuditCommand},
    error::{CmdResult, Failure},
    input,
};

/// The least a key file may hold.
pub(crate) const MIN_KEY_BYTES: usize = 32;
/// The most JSON read from standard input by one `append`, which checks every object before
/// writing any.
const MAX_APPEND_INPUT: usize = 64 * 1024 * 1024;

const MAC_LABEL: &[u8] = b"palisade-cli audit v1 epoch-0 mac key";
const SIGNING_LABEL: &[u8] = b"palisade-cli audit v1 checkpoint signing seed";

pub(crate) fn run(cmd: AuditCommand) -> CmdResult {
    match cmd {
        AuditCommand::Append(args) => append(&args),
        AuditCommand::Verify(args) => verify(&args),
    }
}

struct Keys {
    mac: MacKey,
    signing: SigningKey,
}

fn derive(root: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; a failure here would be a bug in the hmac crate.
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(root) {
        out.copy_from_slice(&mac.chain_update(label).finalize().into_bytes());
    }
    out
}

fn keys(path: &Path) -> Result<Keys, Failure> {
    let root = input::key_file(path, MIN_KEY_BYTES, "--key-file")?;
    let mac = MacKey::from_bytes(*derive(&root, MAC_LABEL));
    let seed = SecretBox::new(Box::new(*derive(&root, SIGNING_LABEL)));
    Ok(Keys {
        mac,
        signing: SigningKey::from_secret(&seed),
    })
}

/// Turns one JSON object into an event; `index` (from 1) names it in errors.
fn event_from(value: Value, index: usize) -> Result<Event, Failure> {
    let Value::Object(mut map) = value else {
        return Err(Failure::usage(format!(
            "input value {index} is not a JSON object"
        )));
    };
    let Some(Value::String(action)) = map.remove("action") else {
        return Err(Failure::usage(format!(
            "input object {index} has no \"action\" string"
        )));
    };
    if action.trim().is_empty() {
        return Err(Failure::usage(format!(
            "input object {index} has an empty \"action\""
        )));
    }
    let mut event = Event::new(action);
    let text = |map: &mut Map<String, Value>, name: &str| match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::usage(format!(
            "input object {index}: \"{name}\" must be a string"
        ))),
    };
    if let Some(v) = text(&mut map, "actor")? {
        event = event.actor(v);
    }
    if let Some(v) = text(&mut map, "client")? {
        event = event.client(v);
    }
    if let Some(v) = text(&mut map, "target")? {
        event = event.target(v);
    }
    if let Some(v) = text(&mut map, "request_id")? {
        event = event.request_id(v);
    }
    if let Some(v) = text(&mut map, "outcome")? {
        let outcome = Outcome::from_name(&v);
        if outcome == Outcome::Unknown && v != "unknown" {
            return Err(Failure::usage(format!(
                "input object {index}: \"outcome\" must be success, failure, denied or unknown"
            )));
        }
        event = event.outcome(outcome);
    }
    match map.remove("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(fields)) => {
            for (name, value) in fields {
                event = event.field(name, value);
            }
        }
        Some(_) => {
            return Err(Failure::usage(format!(
                "input object {index}: \"fields\" must be an object"
            )));
        }
    }
    for (name, value) in map {
        event = event.field(name, value);
    }
    Ok(event)
}

fn append(args: &AuditArgs) -> CmdResult {
    let keys = keys(&args.key_file)?;
    let text = input::stdin_bounded(MAX_APPEND_INPUT, "the JSON on standard input")?;
    // Every object is checked before anything is written: a bad line appends nothing.
    let mut events = Vec::new();
    for (i, value) in serde_json::Deserializer::from_slice(&text)
        .into_iter::<Value>()
        .enumerate()
    {
        let value = value.map_err(|e| {
            Failure::usage(format!(
                "the input is not JSON at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        events.push(event_from(value, i + 1)?);
    }
    drop(text);
    let log_exists = args.log.is_dir()
        && std::fs::read_dir(&args.log).is_ok_and(|mut entries| {
            entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("audit-")))
        });
    let builder = AuditLog::builder(&args.log);
    let mut log = if log_exists {
        builder.open(keys.signing)
    } else {
        builder.create(keys.mac, keys.signing)
    }
    .map_err(|e| open_failure(&args.log, &e))?;
    let mut out = io::stdout().lock();
    for event in events {
        let receipt = log
            .append(event)
            .map_err(|e| append_failure(&args.log, &e))?;
        writeln!(out, "{}", receipt.seq).map_err(|e| Failure::io("writing", &e))?;
    }
    // End every append with a signed checkpoint (which first seals any epoch that ended), so
    // the records just written are covered by a signature as well as by MACs.
    log.checkpoint()
        .map(drop)
        .map_err(|e| append_failure(&args.log, &e))?;
    out.flush().map_err(|e| Failure::io("writing", &e))
}

fn verify(args: &AuditArgs) -> CmdResult {
    let keys = keys(&args.key_file)?;
    let report = Verifier::new()
        .public_key(keys.signing.verifying_key())
        .mac_key(keys.mac)
        .verify_dir(&args.log)
        .map_err(|e| verify_failure(&args.log, &e))?;
    let mut out = io::stdout().lock();
    if report.is_intact() {
        writeln!(
            out,
            "intact: {} record(s) in {} file(s)",
            report.records(),
            report.files()
        )
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing", &e))?;
        return Ok(());
    }
    let (line, summary) = match report.first_tampering() {
        Some(first) => {
            let place = match &first.position.file {
                Some(file) => format!("{}:{}", in_log(&args.log, file), first.position.line),
                None => format!("line {}", first.position.line),
            };
            let seq = first
                .position
                .seq
                .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
            (
                format!("tampered: record {seq} ({place}): {}", first.kind),
                format!("audit log tampered at record {seq}: {}", first.kind),
            )
        }
        None => (
            "tampered: more findings than a report keeps".to_owned(),
            "audit log tampered".to_owned(),
        ),
    };
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing", &e))?;
    Err(Failure::negative(summary))
}

// The messages below name a file by its place in the log directory, never by the path typed
// on the command line (palisade-audit's own messages carry the full path).

/// `FILE` for the log directory itself, the relative name for a file in it.
fn in_log(log: &Path, path: &Path) -> String {
    match path.strip_prefix(log) {
        Ok(rel) if rel.as_os_str().is_empty() => "FILE".to_owned(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => "a file outside FILE".to_owned(),
    }
}

fn open_failure(log: &Path, e: &OpenError) -> Failure {
    let what = match e {
        OpenError::Io { path, source } => format!("{}: {source}", in_log(log, path)),
        OpenError::Exists(_) => "an audit log already exists in FILE".to_owned(),
        OpenError::NotFound(_) => "no audit log in FILE".to_owned(),
        OpenError::Damaged { file, line, reason } => format!(
            "{}: line {line}: {reason}; the log was left untouched, verify it",
            in_log(log, file)
        ),
        OpenError::KeyFile { path, reason } => format!("{}: {reason}", in_log(log, path)),
        other => other.to_string(),
    };
    Failure::usage(format!("audit log: {what}"))
}

fn append_failure(log: &Path, e: &AppendError) -> Failure {
    let what = match e {
        AppendError::Io { path, source } => format!("{}: {source}", in_log(log, path)),
        other => other.to_string(),
    };
    Failure::usage(format!("audit log: {what}"))
}

fn verify_failure(log: &Path, e: &VerifyError) -> Failure {
    let what = match e {
        VerifyError::Io { path, source } => format!("{}: {source}", in_log(log, path)),
        VerifyError::NotFound(_) => "no audit log files in FILE".to_owned(),
        VerifyError::Malformed { file, line, reason } => {
            format!("{}: line {line}: {reason}", in_log(log, file))
        }
        other => other.to_string(),
    };
    Failure::usage(format!("audit log: {what}"))
}
