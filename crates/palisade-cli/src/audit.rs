//! `palisade audit init|append|verify|checkpoint|prune`, on palisade-audit.
//!
//! Key custody: `init` writes the verifier bundle (the epoch-0 MAC key and the checkpoint
//! public key) once, to a file the operator moves off the writer's machine; the log's directory
//! keeps only the current epoch's MAC key and the checkpoint signing key (or, with
//! `--signing-key`, that key lives in a file of its own). `append`, `checkpoint` and `prune`
//! never need the bundle, and nothing they read can re-derive an earlier epoch's key.

use std::{
    fmt::Write as _,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use clap::{Args, Subcommand};
use metrics_exporter_prometheus::PrometheusBuilder;
use palisade_audit::{
    AuditLog, AuditLogBuilder, Checkpoint, CheckpointSigner, Event, FindingKind, Outcome,
    SigningKey, Timestamp, Verifier, VerifierBundle, read_records,
};
use serde_json::{Map, Value};

use crate::{
    error::{CmdResult, Failure},
    input,
};

/// The most JSON read from standard input by one `append`, which checks every object before
/// writing any.
const MAX_APPEND_INPUT: usize = 64 * 1024 * 1024;
/// Where `checkpoint` records the note it printed, for `prune`.
const EXPORTED: &str = "exported.note";

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Create a log in DIR with fresh keys. The verifier bundle (the epoch-0 MAC key and the
    /// checkpoint public key) goes to --verifier-out, a new file (mode 0600; never
    /// overwritten): move it off this machine. Prints the checkpoint key as a signed-note
    /// verifier key (public), the line a witness is configured with.
    Init(InitArgs),
    /// Append one record per JSON object read from standard input (JSON Lines, or objects
    /// one after another). Prints each new record's sequence number; ends with a signed
    /// checkpoint.
    ///
    /// Each object needs an `action` string; `actor`, `client`, `target`, `outcome`
    /// (success, failure, denied, unknown) and `request_id` are optional strings; `fields`
    /// (an object) and every other member become the record's extra fields. Every value is
    /// redacted before it is written.
    Append(WriterArgs),
    /// Verify every record's chain link, MAC and checkpoint signature with the verifier bundle,
    /// and that the log extends every --checkpoint note (by consistency proof). Exits 0 when
    /// intact; otherwise prints the first problem and exits 1. Always says which records no
    /// external checkpoint covers: those could have been cut off undetected.
    Verify(VerifyArgs),
    /// Print the log's latest signed checkpoint as a C2SP tlog-checkpoint note, for a witness
    /// or any store away from this machine; `prune` never removes records after it.
    Checkpoint(DirArgs),
    /// Remove whole sealed segment files whose records are all older than --before and
    /// covered by the latest exported checkpoint; leaves a signed record of the cut from which
    /// the rest of the log still verifies.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// The log's directory.
    #[arg(value_name = "DIR")]
    pub(crate) log: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The log's directory (made if missing; must hold no log).
    #[arg(value_name = "DIR")]
    pub(crate) log: PathBuf,
    /// Where to write the verifier bundle: a new file.
    #[arg(long, value_name = "FILE")]
    pub(crate) verifier_out: PathBuf,
    /// Keep the checkpoint signing key in FILE instead of DIR (made, mode 0600, when missing;
    /// used when it exists). Give it again to append, checkpoint and prune.
    #[arg(long, value_name = "FILE")]
    pub(crate) signing_key: Option<PathBuf>,
    /// The log's name, the first line of its checkpoint notes (default
    /// palisade-audit/<log id>); a schema-less URL such as audit.example.com/billing.
    #[arg(long, value_name = "NAME")]
    pub(crate) origin: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct WriterArgs {
    /// The log's directory.
    #[arg(value_name = "DIR")]
    pub(crate) log: PathBuf,
    /// The checkpoint signing key's file, when `init` was given one.
    #[arg(long, value_name = "FILE")]
    pub(crate) signing_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log's directory.
    #[arg(value_name = "DIR")]
    pub(crate) log: PathBuf,
    /// The verifier bundle `init` wrote.
    #[arg(long, value_name = "FILE")]
    pub(crate) verifier: PathBuf,
    /// A checkpoint note kept outside (by a witness): the log must still contain and extend
    /// it. May be given several times.
    #[arg(long = "checkpoint", value_name = "NOTE")]
    pub(crate) checkpoints: Vec<PathBuf>,
    /// Also write what the verification found to FILE in Prometheus' text format
    /// (`palisade_audit_verification_failures_total{kind}` per finding; empty when intact),
    /// through a temporary file renamed over it: for the node exporter's textfile collector, so a
    /// scheduled verification raises the `PalisadeAuditVerificationFailed` alert.
    #[arg(long, value_name = "FILE")]
    pub(crate) prometheus_textfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// The log's directory.
    #[arg(value_name = "DIR")]
    pub(crate) log: PathBuf,
    /// Remove only segments whose records are all older than this UTC date or time
    /// (2026-01-31 or 2026-01-31T12:00:00Z).
    #[arg(long, value_name = "DATE")]
    pub(crate) before: String,
    /// A further exported checkpoint note (besides the one `checkpoint` last printed).
    #[arg(long = "checkpoint", value_name = "NOTE")]
    pub(crate) checkpoints: Vec<PathBuf>,
    /// The checkpoint signing key's file, when `init` was given one.
    #[arg(long, value_name = "FILE")]
    pub(crate) signing_key: Option<PathBuf>,
}

pub(crate) fn run(cmd: AuditCommand) -> CmdResult {
    match cmd {
        AuditCommand::Init(args) => init(&args),
        AuditCommand::Append(args) => append(&args),
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::Checkpoint(args) => checkpoint(&args.log),
        AuditCommand::Prune(args) => prune(&args),
    }
}

// No message repeats a path typed on the command line: palisade-audit's errors begin with the
// path they concern, which is replaced by the option's name, or for a file in the log
// directory by its name there (which the log chose).

/// An error about the log in `log`.
fn log_failure(log: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("audit log: {}", in_log(log, &e.to_string())))
}

/// An error about the file given to `option`.
fn file_failure(option: &str, path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("{option}: {}", named(path, "FILE", &e.to_string())))
}

/// `text` with a leading `log/` dropped and a leading `log` itself shown as `DIR`.
fn in_log(log: &Path, text: &str) -> String {
    let shown = log.display().to_string();
    match text.strip_prefix(&shown) {
        Some(rest) if !shown.is_empty() => match rest.strip_prefix('/') {
            Some(inner) => inner.to_owned(),
            None => format!("DIR{rest}"),
        },
        _ => text.to_owned(),
    }
}

/// `text` with a leading `path` shown as `name`.
fn named(path: &Path, name: &str, text: &str) -> String {
    let shown = path.display().to_string();
    match text.strip_prefix(&shown) {
        Some(rest) if !shown.is_empty() => format!("{name}{rest}"),
        _ => text.to_owned(),
    }
}

fn write_out(text: &str) -> CmdResult {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing", &e))
}

/// The signer a writer command was given, if any.
fn signer(path: Option<&Path>) -> Result<Option<Arc<dyn CheckpointSigner>>, Failure> {
    path.map(|p| {
        SigningKey::read_file(p)
            .map(|k| Arc::new(k) as Arc<dyn CheckpointSigner>)
            .map_err(|e| file_failure("--signing-key", p, e))
    })
    .transpose()
}

fn builder(log: &Path, signing_key: Option<&Path>) -> Result<AuditLogBuilder, Failure> {
    let builder = AuditLog::builder(log);
    Ok(match signer(signing_key)? {
        Some(s) => builder.signer(s),
        None => builder,
    })
}

fn init(args: &InitArgs) -> CmdResult {
    if args.verifier_out.exists() {
        return Err(Failure::usage(
            "--verifier-out: the file exists; it is never overwritten",
        ));
    }
    let mut builder = AuditLog::builder(&args.log);
    if let Some(path) = &args.signing_key {
        if !path.exists() {
            SigningKey::generate()
                .map_err(|e| Failure::usage(format!("--signing-key: {e}")))?
                .write_new_file(path)
                .map_err(|e| file_failure("--signing-key", path, e))?;
        }
        builder = builder.signer(
            signer(Some(path))?.ok_or_else(|| Failure::usage("--signing-key: no key was read"))?,
        );
    }
    if let Some(origin) = &args.origin {
        builder = builder.origin(origin.clone());
    }
    let log = builder.create(&args.verifier_out).map_err(|e| {
        let text = named(&args.verifier_out, "--verifier-out", &e.to_string());
        log_failure(&args.log, text)
    })?;
    let line = log.verifying_key().note_verifier_key(log.origin());
    write_out(&format!("{line}\n"))
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

fn append(args: &WriterArgs) -> CmdResult {
    let builder = builder(&args.log, args.signing_key.as_deref())?;
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
    let mut log = builder.open().map_err(|e| log_failure(&args.log, e))?;
    let mut out = io::stdout().lock();
    for event in events {
        let receipt = log.append(event).map_err(|e| log_failure(&args.log, e))?;
        writeln!(out, "{}", receipt.seq).map_err(|e| Failure::io("writing", &e))?;
    }
    // End every append with a signed checkpoint (which first seals any epoch that ended), so
    // the records just written are covered by a signature as well as by MACs.
    log.checkpoint()
        .map(drop)
        .map_err(|e| log_failure(&args.log, e))?;
    out.flush().map_err(|e| Failure::io("writing", &e))
}

fn read_note(path: &Path, option: &str) -> Result<Checkpoint, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| file_failure(option, path, e))?;
    Checkpoint::from_note(&text).map_err(|e| {
        Failure::usage(format!(
            "{option}: {e} (expected a C2SP tlog-checkpoint note)"
        ))
    })
}

fn verify(args: &VerifyArgs) -> CmdResult {
    let bundle = VerifierBundle::read_file(&args.verifier)
        .map_err(|e| file_failure("--verifier", &args.verifier, e))?;
    let mut verifier = Verifier::new().bundle(&bundle);
    for path in &args.checkpoints {
        verifier = verifier.trusted_checkpoint(read_note(path, "--checkpoint")?);
    }
    // The verifier counts its findings through the `metrics` facade; a recorder local to this
    // call renders them in Prometheus' text format.
    let recorder = PrometheusBuilder::new().build_recorder();
    let exported = recorder.handle();
    let report = metrics::with_local_recorder(&recorder, || verifier.verify_dir(&args.log))
        .map_err(|e| log_failure(&args.log, e))?;
    if let Some(path) = &args.prometheus_textfile {
        write_textfile(path, &exported.render())?;
    }
    let mut out = String::new();
    if report.is_intact() {
        let _ = writeln!(
            out,
            "intact: {} record(s) in {} file(s)",
            report.records(),
            report.files()
        );
    }
    for f in report.findings() {
        match &f.kind {
            FindingKind::Pruned { first, last } => {
                let _ = writeln!(
                    out,
                    "note: records {first} to {last} were removed by a retention prune"
                );
            }
            FindingKind::NotAnchored { from, records } => {
                let _ = match report.anchored_size() {
                    Some(size) => writeln!(
                        out,
                        "note: the log extends the given checkpoint(s) up to record {}; \
                         the {records} record(s) after it could have been cut undetected",
                        size - 1
                    ),
                    None => writeln!(
                        out,
                        "note: no external checkpoint was given: the {records} record(s) from \
                         record {from} on could have been cut undetected (give --checkpoint NOTE)"
                    ),
                };
            }
            _ => {}
        }
    }
    if report.is_intact() {
        return write_out(&out);
    }
    let (line, summary) = match report.first_tampering() {
        Some(first) => {
            let place = match &first.position.file {
                Some(file) => format!(
                    "{}:{}",
                    in_log(&args.log, &file.display().to_string()),
                    first.position.line
                ),
                None => format!("line {}", first.position.line),
            };
            match first.position.seq {
                Some(seq) => (
                    format!("tampered: record {seq} ({place}): {}", first.kind),
                    format!("audit log tampered at record {seq}: {}", first.kind),
                ),
                None => (
                    format!("tampered: {place}: {}", first.kind),
                    format!("audit log tampered: {}", first.kind),
                ),
            }
        }
        None => (
            "tampered: more findings than a report keeps".to_owned(),
            "audit log tampered".to_owned(),
        ),
    };
    write_out(&format!("{line}\n{out}"))?;
    Err(Failure::negative(summary))
}

/// Writes `text` to `path` through a temporary file beside it (`FILE.tmp`, which the textfile
/// collector ignores: it reads only `*.prom`) renamed over it, so a scrape never reads half a
/// file.
fn write_textfile(path: &Path, text: &str) -> CmdResult {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| file_failure("--prometheus-textfile", path, e))
}

fn checkpoint(log: &Path) -> CmdResult {
    let records = read_records(log).map_err(|e| log_failure(log, e))?;
    let latest = records
        .iter()
        .rev()
        .find_map(|r| r.checkpoint())
        .ok_or_else(|| log_failure(log, "no checkpoint yet; append first"))?;
    let note = latest.to_note();
    let tmp = log.join(format!("{EXPORTED}.tmp"));
    std::fs::write(&tmp, &note)
        .and_then(|()| std::fs::rename(&tmp, log.join(EXPORTED)))
        .map_err(|e| log_failure(log, e))?;
    write_out(&note)
}

/// `2026-01-31`, `2026-01-31T12:00:00Z` or palisade-audit's own millisecond form.
fn parse_date(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if t.len() == 10 {
        return Timestamp::parse(&format!("{t}T00:00:00.000Z"));
    }
    if t.len() == 20 && t.ends_with('Z') {
        return Timestamp::parse(&format!("{}.000Z", &t[..19]));
    }
    Timestamp::parse(t)
}

fn prune(args: &PruneArgs) -> CmdResult {
    let before = parse_date(&args.before).ok_or_else(|| {
        Failure::usage("--before: expected a UTC date such as 2026-01-31 or 2026-01-31T12:00:00Z")
    })?;
    let mut exported = Vec::new();
    let marker = args.log.join(EXPORTED);
    if marker.exists() {
        exported.push(read_note(&marker, "the exported checkpoint")?);
    }
    for path in &args.checkpoints {
        exported.push(read_note(path, "--checkpoint")?);
    }
    let signer = signer(args.signing_key.as_deref())?;
    let pruned = palisade_audit::prune(&args.log, before, &exported, signer)
        .map_err(|e| log_failure(&args.log, e))?;
    let mut out = match pruned.removed {
        Some((first, last)) => format!(
            "pruned: records {first} to {last} ({} file(s))\n",
            pruned.files_removed
        ),
        None => "pruned: nothing\n".to_owned(),
    };
    if let Some(why) = pruned.kept_because {
        let _ = writeln!(out, "kept the next segment: {why}");
    }
    write_out(&out)
}
