//! [`AuditWriter`]: the service front end, a writer thread behind a bounded queue.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
    },
    thread::JoinHandle,
    time::Duration,
};

use crate::{
    error::{AppendError, ConfigError, OpenError},
    event::{Event, Outcome},
    log::{AuditLog, AuditLogBuilder, DEFAULT_GROUP},
    telemetry::WriterMeters,
};

/// What [`AuditWriter::record`] does when the queue is full. There is no unbounded choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Wait for room: no event is lost, and a writer that cannot keep up slows its callers.
    Block,
    /// Drop the event and count it; the writer appends an `audit.dropped` record with the
    /// count before its next record (or at its next tick), so the log says what it lost.
    DropAndCount,
}

/// Whether [`AuditWriter::record`] queued the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Queued {
    /// Queued for appending.
    Accepted,
    /// Dropped under [`Overflow::DropAndCount`] (or the writer has stopped); counted.
    Dropped,
}

enum Command {
    Append(Box<Event>),
    Flush(SyncSender<Result<(), String>>),
}

/// An audit log owned by a writer thread, fed through a bounded in-memory queue: the request
/// path only queues an event, and the thread appends, group-commits ([`DEFAULT_GROUP`] unless
/// the builder says otherwise) and ticks (every `tick` interval, so epochs are sealed while
/// idle).
///
/// Framework-agnostic: any thread may call [`record`](Self::record) (share it in an `Arc`).
///
/// ```
/// # use std::time::Duration;
/// # use palisade_audit::{AuditLog, AuditWriter, Event, Overflow};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-writer-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # drop(AuditLog::builder(&dir).create_with(|_| Ok(())).unwrap());
/// let writer = AuditWriter::open(AuditLog::builder(&dir), 1024, Overflow::Block).unwrap();
/// let _ = writer.record(Event::new("auth.login"));
/// writer.flush().unwrap(); // everything queued so far is appended and synced
/// assert_eq!(writer.dropped(), 0);
/// writer.close().unwrap();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct AuditWriter {
    tx: Option<SyncSender<Command>>,
    overflow: Overflow,
    durability: crate::log::Durability,
    dropped: Arc<AtomicU64>,
    /// Events queued (or waiting for room) and not yet taken by the writer thread.
    queued: Arc<AtomicU64>,
    /// The queue's depth and the drops, registered with the recorder installed when the writer
    /// started.
    meters: WriterMeters,
    failure: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<Result<(), AppendError>>>,
}

impl fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditWriter")
            .field("overflow", &self.overflow)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// How often the writer thread ticks when no event arrives.
const TICK: Duration = Duration::from_secs(1);

impl AuditWriter {
    /// Opens the log (see [`AuditLogBuilder::open`]) and starts its writer thread behind a
    /// queue of `capacity` events.
    ///
    /// # Errors
    ///
    /// As [`AuditLogBuilder::open`], and [`ConfigError::EmptyQueue`] for a capacity of 0.
    pub fn open(
        builder: AuditLogBuilder,
        capacity: usize,
        overflow: Overflow,
    ) -> Result<Self, OpenError> {
        if capacity == 0 {
            return Err(ConfigError::EmptyQueue.into());
        }
        let builder = match builder.durability {
            Some(_) => builder,
            None => builder.durability(DEFAULT_GROUP),
        };
        let log = builder.open()?;
        let durability = log.durability();
        let (tx, rx) = mpsc::sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let queued = Arc::new(AtomicU64::new(0));
        let meters = WriterMeters::new();
        let failure = Arc::new(Mutex::new(None));
        let thread = {
            let dropped = dropped.clone();
            let queued = queued.clone();
            let meters = meters.clone();
            let failure = failure.clone();
            std::thread::Builder::new()
                .name("palisade-audit-writer".to_owned())
                .spawn(move || run(log, &rx, &dropped, &queued, &meters, &failure))
                .map_err(|source| OpenError::Io {
                    path: "palisade-audit-writer thread".into(),
                    source,
                })?
        };
        Ok(Self {
            tx: Some(tx),
            overflow,
            durability,
            dropped,
            queued,
            meters,
            failure,
            thread: Some(thread),
        })
    }

    /// Queues an event for appending; under [`Overflow::Block`] waits while the queue is full.
    pub fn record(&self, event: Event) -> Queued {
        let Some(tx) = &self.tx else {
            return self.drop_one();
        };
        let command = Command::Append(Box::new(event));
        // Counted before the send, so the writer thread's decrement never comes first.
        self.meters
            .queue_depth(self.queued.fetch_add(1, Ordering::Relaxed) + 1);
        let sent = match self.overflow {
            Overflow::Block => tx.send(command).is_ok(),
            Overflow::DropAndCount => match tx.try_send(command) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        };
        if sent {
            Queued::Accepted
        } else {
            self.meters
                .queue_depth(self.queued.fetch_sub(1, Ordering::Relaxed) - 1);
            self.drop_one()
        }
    }

    /// Counts an event that was not queued, in [`Self::dropped`] and in the metrics.
    fn drop_one(&self) -> Queued {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.meters.dropped();
        Queued::Dropped
    }

    /// When the writer thread syncs ([`DEFAULT_GROUP`] unless the builder said otherwise).
    pub fn durability(&self) -> crate::log::Durability {
        self.durability
    }

    /// Events dropped so far (each also counted in an `audit.dropped` record).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every event queued before this call is appended and synced.
    ///
    /// # Errors
    ///
    /// [`AppendError::Poisoned`] when the writer thread has stopped or an append failed (the
    /// failure is logged in [`last_failure`](Self::last_failure)).
    pub fn flush(&self) -> Result<(), AppendError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let tx = self.tx.as_ref().ok_or(AppendError::Poisoned)?;
        tx.send(Command::Flush(reply))
            .map_err(|_| AppendError::Poisoned)?;
        let result = match answer.recv() {
            Ok(Ok(())) => Ok(()),
            _ => Err(AppendError::Poisoned),
        };
        self.meters.queue_depth(self.queued.load(Ordering::Relaxed));
        result
    }

    /// The last append failure the writer thread met, if any (it keeps running; a log that
    /// failed a write refuses appends until reopened).
    pub fn last_failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Appends everything queued, syncs, and stops the writer thread.
    ///
    /// # Errors
    ///
    /// The last sync's [`AppendError`], or [`AppendError::Poisoned`] if the thread panicked.
    pub fn close(mut self) -> Result<(), AppendError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), AppendError> {
        drop(self.tx.take());
        match self.thread.take() {
            Some(t) => t.join().unwrap_or(Err(AppendError::Poisoned)),
            None => Ok(()),
        }
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Appends the `audit.dropped` record if events were dropped since the last one.
fn note_drops(log: &mut AuditLog, dropped: &AtomicU64, noted: &mut u64) -> Result<(), AppendError> {
    let total = dropped.load(Ordering::Relaxed);
    if total > *noted {
        let _receipt = log.append(
            Event::new("audit.dropped")
                .outcome(Outcome::Failure)
                .field("count", total - *noted)
                .field("total", total),
        )?;
        *noted = total;
    }
    Ok(())
}

fn run(
    mut log: AuditLog,
    rx: &Receiver<Command>,
    dropped: &AtomicU64,
    queued: &AtomicU64,
    meters: &WriterMeters,
    failure: &Mutex<Option<String>>,
) -> Result<(), AppendError> {
    let mut noted = 0u64;
    let fail = |e: &AppendError| {
        if let Ok(mut f) = failure.lock() {
            *f = Some(e.to_string());
        }
    };
    loop {
        let result = match rx.recv_timeout(TICK) {
            Ok(Command::Append(event)) => {
                meters.queue_depth(queued.fetch_sub(1, Ordering::Relaxed).saturating_sub(1));
                note_drops(&mut log, dropped, &mut noted)
                    .and_then(|()| log.append(*event).map(|_| ()))
            }
            Ok(Command::Flush(reply)) => {
                let r = note_drops(&mut log, dropped, &mut noted).and_then(|()| log.flush());
                let _ = reply.send(r.as_ref().map(drop).map_err(ToString::to_string));
                r
            }
            Err(RecvTimeoutError::Timeout) => {
                note_drops(&mut log, dropped, &mut noted).and_then(|()| log.tick())
            }
            Err(RecvTimeoutError::Disconnected) => {
                return note_drops(&mut log, dropped, &mut noted).and_then(|()| log.flush());
            }
        };
        if let Err(e) = result {
            fail(&e);
        }
    }
}
