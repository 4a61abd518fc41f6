//! Rotation that never loses a value: the rewrap job is killed at random points (injected
//! failures in the source and the checkpoint store, and a child process killed mid-run), resumed,
//! and every value must still decrypt to what was written.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use palisade_crypt::{
    Checkpoint, CheckpointStore, Ciphertext, Context, Crypter, DecryptErrorKind, FileCheckpoint,
    JobError, KeyPurpose, Keyring, KeyringError, MasterKey, Record, RecordSource, RewrapJob,
};

/// A tiny deterministic generator (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("injected crash")]
struct Crash;

/// A table in memory that "crashes" (errors) at a chosen operation. A replace may crash
/// before or after it is applied, as a process killed around a database commit would.
struct Table {
    rows: BTreeMap<String, (Context, Ciphertext)>,
    ops: u64,
    crash_at: Option<u64>,
    crash_after_apply: bool,
}

impl Table {
    fn tick(&mut self) -> bool {
        self.ops += 1;
        self.crash_at == Some(self.ops)
    }
}

impl RecordSource for Table {
    type Error = Crash;

    fn scan(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<Record>, Crash> {
        if self.tick() {
            return Err(Crash);
        }
        let range = match after {
            Some(a) => self
                .rows
                .range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            None => self.rows.range::<str, _>(..),
        };
        Ok(range
            .take(limit)
            .map(|(id, (context, ciphertext))| Record {
                id: id.clone(),
                context: context.clone(),
                ciphertext: ciphertext.clone(),
            })
            .collect())
    }

    fn replace(
        &mut self,
        id: &str,
        expected: &Ciphertext,
        new: &Ciphertext,
    ) -> Result<bool, Crash> {
        let crash = self.tick();
        if crash && !self.crash_after_apply {
            return Err(Crash);
        }
        let row = self.rows.get_mut(id).ok_or(Crash)?;
        let replaced = row.1 == *expected;
        if replaced {
            row.1 = new.clone();
        }
        if crash { Err(Crash) } else { Ok(replaced) }
    }
}

/// A file checkpoint that can crash before or after the atomic write.
struct CrashingCheckpoint {
    inner: FileCheckpoint,
    saves: u64,
    crash_at: Option<u64>,
    after_write: bool,
}

impl CheckpointStore for CrashingCheckpoint {
    fn load(&mut self) -> Result<Option<Checkpoint>, std::io::Error> {
        self.inner.load()
    }

    fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), std::io::Error> {
        self.saves += 1;
        let crash = self.crash_at == Some(self.saves);
        if crash && !self.after_write {
            return Err(std::io::Error::other("injected crash"));
        }
        self.inner.save(checkpoint)?;
        if crash {
            Err(std::io::Error::other("injected crash"))
        } else {
            Ok(())
        }
    }

    fn clear(&mut self) -> Result<(), std::io::Error> {
        self.inner.clear()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-crypt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn ctx(i: usize) -> Context {
    Context::new(if i.is_multiple_of(3) {
        "users.email"
    } else {
        "users.phone"
    })
    .and_then(|c| c.with("row", i))
    .expect("context")
}

/// A table of `n` values on two old keys, and a keyring whose primary is a third key.
fn seeded_table(
    seed: u64,
    n: usize,
) -> (
    Keyring,
    palisade_crypt::KeyId,
    palisade_crypt::KeyId,
    Table,
    BTreeMap<String, String>,
) {
    let mut keyring = Keyring::generate().expect("keyring");
    let v1 = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    let old = Crypter::new(&keyring).expect("c");
    let mut expected = BTreeMap::new();
    let mut rows = BTreeMap::new();
    for i in 0..n {
        let value = format!("value-{seed}-{i}");
        let id = format!("{i:06}");
        rows.insert(
            id.clone(),
            (ctx(i), old.encrypt(&ctx(i), value.as_bytes()).expect("e")),
        );
        expected.insert(id, value);
    }
    // Rotate twice, so values start on two old keys; some already on the middle one.
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let middle = Crypter::new(&keyring).expect("c");
    for i in (0..n).step_by(4) {
        let id = format!("{i:06}");
        rows.insert(
            id.clone(),
            (
                ctx(i),
                middle
                    .encrypt(&ctx(i), expected[&id].as_bytes())
                    .expect("e"),
            ),
        );
    }
    let target = keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let table = Table {
        rows,
        ops: 0,
        crash_at: None,
        crash_after_apply: false,
    };

    (keyring, v1, target, table, expected)
}

#[test]
fn job_killed_at_random_points_then_resumed_loses_nothing() {
    let dir = temp_dir("rotation");
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let n = 20 + rng.below(60) as usize;
        let (mut keyring, v1, target, mut table, expected) = seeded_table(seed, n);

        let cp_path = dir.join(format!("checkpoint-{seed}"));
        let mut crashes = 0;
        let report = loop {
            // Each attempt is a fresh "process": a new crypter and job from the saved keyring.
            let crypter = Crypter::new(&keyring).expect("c");
            let job = RewrapJob::new(&crypter).batch_size(1 + rng.below(7) as usize);
            table.ops = 0;
            table.crash_at = (crashes < 12).then(|| 1 + rng.below(3 * n as u64 / 2));
            table.crash_after_apply = rng.below(2) == 0;
            let mut store = CrashingCheckpoint {
                inner: FileCheckpoint::new(&cp_path),
                saves: 0,
                crash_at: (crashes < 12 && rng.below(3) == 0).then(|| 1 + rng.below(8)),
                after_write: rng.below(2) == 0,
            };
            match job.run(&mut table, &mut store) {
                Ok(report) => break report,
                Err(JobError::Source(Crash) | JobError::Checkpoint(_)) => crashes += 1,
                Err(other) => panic!("seed {seed}: {other}"),
            }
            // Every value is readable at every crash point.
            let reader = Crypter::new(&keyring).expect("c");
            for (id, (context, ct)) in &table.rows {
                let pt = reader
                    .decrypt(context, ct)
                    .unwrap_or_else(|e| panic!("seed {seed} {id}: {e}"));
                assert_eq!(
                    pt.expose_str(),
                    Some(expected[id].as_str()),
                    "seed {seed} {id}"
                );
            }
        };
        assert!(
            crashes > 0 || seed > 30,
            "seed {seed}: the crash injection did not trigger"
        );

        let reader = Crypter::new(&keyring).expect("c");
        for (id, (context, ct)) in &table.rows {
            assert_eq!(ct.key_id(), target, "seed {seed} {id} not moved");
            let pt = reader.decrypt(context, ct).expect("decrypt");
            assert_eq!(
                pt.expose_str(),
                Some(expected[id].as_str()),
                "seed {seed} {id}"
            );
        }
        assert_eq!(report.census.remaining(target), n as u64);
        assert_eq!(report.census.remaining(v1), 0);
        assert!(report.failures.is_empty());
        assert!(!cp_path.exists(), "a finished job clears its checkpoint");
        keyring
            .disable_checked(v1, &report.census)
            .expect("old key may go");

        // Idempotent: a rerun changes nothing.
        let before = table.rows.clone();
        table.crash_at = None;
        let again = RewrapJob::new(&reader)
            .run(&mut table, &mut FileCheckpoint::new(&cp_path))
            .expect("rerun");
        assert_eq!(again.totals.rewrapped, 0);
        assert_eq!(again.totals.current, n as u64);
        assert!(
            before.iter().eq(table.rows.iter()),
            "seed {seed}: a rerun rewrote values"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn undecryptable_and_racing_records_are_left_alone_and_block_disabling() {
    let mut keyring = Keyring::generate().expect("keyring");
    let v1 = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    let old = Crypter::new(&keyring).expect("c");
    let mut rows = BTreeMap::new();
    for i in 0..10 {
        rows.insert(
            format!("{i:03}"),
            (ctx(i), old.encrypt(&ctx(i), b"v").expect("e")),
        );
    }
    // Row 3 was copied from row 4 (a swap attack): it must not be "repaired" by the job.
    let stolen = rows["004"].1.clone();
    rows.get_mut("003").expect("row").1 = stolen.clone();
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let crypter = Crypter::new(&keyring).expect("c");
    // Row 5 is written by the application between the job's scan and its replace.
    let app_write = crypter.encrypt(&ctx(5), b"new value").expect("e");
    let mut table = Racing {
        table: Table {
            rows,
            ops: 0,
            crash_at: None,
            crash_after_apply: false,
        },
        write: Some(("005".to_owned(), app_write.clone())),
    };
    let report = RewrapJob::new(&crypter)
        .batch_size(3)
        .run(&mut table, &mut palisade_crypt::MemoryCheckpoint::default())
        .expect("run");
    let table = table.table;
    assert_eq!(
        report.failures,
        vec![("003".to_owned(), DecryptErrorKind::WrongContext)]
    );
    assert_eq!(report.totals.rewrapped, 8);
    assert_eq!(report.totals.raced, 1);
    assert_eq!(
        table.rows["005"].1, app_write,
        "the application's write wins"
    );
    assert_eq!(
        table.rows["003"].1, stolen,
        "a failed record is left unchanged"
    );
    assert_eq!(report.census.remaining(v1), 1);
    assert!(matches!(
        keyring.disable_checked(v1, &report.census),
        Err(KeyringError::StillInUse { remaining: 1, .. })
    ));
}

/// A table where the application overwrites one record just before the job replaces it.
struct Racing {
    table: Table,
    write: Option<(String, Ciphertext)>,
}

impl RecordSource for Racing {
    type Error = Crash;

    fn scan(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<Record>, Crash> {
        self.table.scan(after, limit)
    }

    fn replace(
        &mut self,
        id: &str,
        expected: &Ciphertext,
        new: &Ciphertext,
    ) -> Result<bool, Crash> {
        if self.write.as_ref().is_some_and(|(w, _)| w == id)
            && let Some((w, value)) = self.write.take()
        {
            self.table.rows.get_mut(&w).ok_or(Crash)?.1 = value;
        }
        self.table.replace(id, expected, new)
    }
}

#[test]
fn a_source_out_of_order_is_refused() {
    struct Backwards;
    impl RecordSource for Backwards {
        type Error = Crash;
        fn scan(&mut self, _: Option<&str>, _: usize) -> Result<Vec<Record>, Crash> {
            let c = Crypter::new(&Keyring::generate().expect("k")).expect("c");
            let ct = c.encrypt(&ctx(0), b"v").expect("e");
            Ok(vec![
                Record {
                    id: "b".into(),
                    context: ctx(0),
                    ciphertext: ct.clone(),
                },
                Record {
                    id: "a".into(),
                    context: ctx(0),
                    ciphertext: ct,
                },
            ])
        }
        fn replace(&mut self, _: &str, _: &Ciphertext, _: &Ciphertext) -> Result<bool, Crash> {
            Ok(true)
        }
    }
    let crypter = Crypter::new(&Keyring::generate().expect("k")).expect("c");
    let r = RewrapJob::new(&crypter).run(
        &mut Backwards,
        &mut palisade_crypt::MemoryCheckpoint::default(),
    );
    assert!(matches!(r, Err(JobError::SourceOrder { .. })));
}

/// A table stored as one file per record (`context\nciphertext`), replaced by rename.
struct DirTable(PathBuf);

impl RecordSource for DirTable {
    type Error = std::io::Error;

    fn scan(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<Record>, std::io::Error> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.0)?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("row-"))
            .filter(|n| after.is_none_or(|a| n.as_str() > a))
            .collect();
        ids.sort();
        ids.truncate(limit);
        ids.into_iter()
            .map(|id| {
                let text = std::fs::read_to_string(self.0.join(&id))?;
                let (context, ct) = text
                    .split_once('\n')
                    .ok_or_else(|| std::io::Error::other("bad row"))?;
                Ok(Record {
                    id,
                    context: context.parse().map_err(std::io::Error::other)?,
                    ciphertext: Ciphertext::from_text(ct).map_err(std::io::Error::other)?,
                })
            })
            .collect()
    }

    fn replace(
        &mut self,
        id: &str,
        expected: &Ciphertext,
        new: &Ciphertext,
    ) -> Result<bool, std::io::Error> {
        let path = self.0.join(id);
        let text = std::fs::read_to_string(&path)?;
        let (context, ct) = text
            .split_once('\n')
            .ok_or_else(|| std::io::Error::other("bad row"))?;
        if ct != expected.to_text() {
            return Ok(false);
        }
        let tmp = self.0.join(format!("tmp-{id}"));
        std::fs::write(&tmp, format!("{context}\n{}", new.to_text()))?;
        std::fs::rename(&tmp, &path)?;
        Ok(true)
    }
}

fn run_dir_job(dir: &Path) -> Result<palisade_crypt::JobReport, String> {
    let master = MasterKey::from_file(dir.join("master.key")).map_err(|e| e.to_string())?;
    let keyring = Keyring::load(dir.join("keyring.pck"), &master).map_err(|e| e.to_string())?;
    let crypter = Crypter::new(&keyring).map_err(|e| e.to_string())?;
    RewrapJob::new(&crypter)
        .batch_size(7)
        .run(
            &mut DirTable(dir.join("table")),
            &mut FileCheckpoint::new(dir.join("checkpoint")),
        )
        .map_err(|e| e.to_string())
}

/// As a child of `child_process_killed_mid_run_loses_nothing`: runs the job on the directory it
/// is given. Run directly: runs the job on a small directory of its own.
#[test]
#[allow(
    clippy::print_stdout,
    reason = "the parent process reads the child's report"
)]
fn rewrap_worker() {
    if let Ok(dir) = std::env::var("PALISADE_CRYPT_WORKER_DIR") {
        run_dir_job(Path::new(&dir)).expect("job");
        println!("worker done");
        return;
    }
    let dir = temp_dir("worker-direct");
    let expected = setup_dir_table(&dir, 30);
    let report = run_dir_job(&dir).expect("job");
    assert_eq!(report.totals.rewrapped, 30);
    check_dir_table(&dir, &expected);
    let _ = std::fs::remove_dir_all(&dir);
}

fn setup_dir_table(dir: &Path, n: usize) -> BTreeMap<String, String> {
    let master = MasterKey::generate().expect("master");
    std::fs::write(dir.join("master.key"), [0u8; 0]).expect("write");
    let b64 = secrecy::ExposeSecret::expose_secret(&master.to_base64()).to_owned();
    std::fs::write(dir.join("master.key"), b64).expect("write");
    let mut keyring = Keyring::generate().expect("keyring");
    let old = Crypter::new(&keyring).expect("c");
    std::fs::create_dir_all(dir.join("table")).expect("dir");
    let mut expected = BTreeMap::new();
    for i in 0..n {
        let id = format!("row-{i:06}");
        let value = format!("secret number {i}");
        let ct = old.encrypt(&ctx(i), value.as_bytes()).expect("e");
        std::fs::write(
            dir.join("table").join(&id),
            format!("{}\n{}", ctx(i), ct.to_text()),
        )
        .expect("write");
        expected.insert(id, value);
    }
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    keyring
        .save_new(dir.join("keyring.pck"), &master)
        .expect("save");
    expected
}

fn check_dir_table(dir: &Path, expected: &BTreeMap<String, String>) {
    let master = MasterKey::from_file(dir.join("master.key")).expect("master");
    let keyring = Keyring::load(dir.join("keyring.pck"), &master).expect("keyring");
    let crypter = Crypter::new(&keyring).expect("c");
    let records = DirTable(dir.join("table"))
        .scan(None, usize::MAX)
        .expect("scan");
    assert_eq!(records.len(), expected.len(), "a record was lost");
    for r in records {
        let pt = crypter
            .decrypt(&r.context, &r.ciphertext)
            .unwrap_or_else(|e| panic!("{}: {e}", r.id));
        assert_eq!(pt.expose_str(), Some(expected[&r.id].as_str()), "{}", r.id);
    }
}

#[test]
fn child_process_killed_mid_run_loses_nothing() {
    let dir = temp_dir("killed");
    let expected = setup_dir_table(&dir, 1500);
    let exe = std::env::current_exe().expect("exe");
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..60 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "rewrap_worker",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("PALISADE_CRYPT_WORKER_DIR", &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Let it run for a random time, then kill it (SIGKILL on Unix): no cleanup runs.
        std::thread::sleep(Duration::from_millis(5 + rng.below(60)));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("kill");
            kills += 1;
        }
        let out = child.wait_with_output().expect("wait");
        // Between kills every value decrypts (old or new key).
        check_dir_table(&dir, &expected);
        if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("worker done") {
            finished = true;
            break;
        }
    }
    if !finished {
        // Finish in this process; the kills above still exercised resumption.
        run_dir_job(&dir).expect("job");
    }
    assert!(kills > 0, "the child was never killed mid-run");
    check_dir_table(&dir, &expected);
    let master = MasterKey::from_file(dir.join("master.key")).expect("master");
    let keyring = Keyring::load(dir.join("keyring.pck"), &master).expect("keyring");
    let primary = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    let census = palisade_crypt::census(&mut DirTable(dir.join("table")), 100).expect("census");
    assert_eq!(
        census.remaining(primary),
        1500,
        "every record moved to the new key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
