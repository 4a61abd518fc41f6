//! Writes a small audit log, lets an "intruder" edit, delete and truncate it, and prints what
//! the verifier reports each time: `cargo run -p palisade-audit --example tamper_and_verify`.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{fs, sync::Arc, time::Duration};

use palisade_audit::{
    AuditLog, Checkpoint, Event, ManualClock, Outcome, Timestamp, Verifier, VerifierBundle,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::temp_dir().join(format!("palisade-audit-example-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base)?;
    let dir = base.join("log");
    // The verifier bundle (epoch-0 MAC key, public key) is written once; an operator moves it
    // off the writer's machine.
    let bundle_path = base.join("verifier.bundle");

    let clock = ManualClock::new(Timestamp::from_unix_millis(1_767_225_600_000));
    let mut log = AuditLog::builder(&dir)
        .epoch_length(Duration::from_secs(900))
        .clock(Arc::new(clock.clone()))
        .create(&bundle_path)?;
    for (i, user) in ["alice", "bob", "carol", "dave"].iter().enumerate() {
        let _receipt = log.append(
            Event::new("auth.login")
                .actor(format!("user:{user}"))
                .client(format!("203.0.113.{i}"))
                .outcome(if i == 2 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                })
                .field("password", "hunter2"), // redacted before it is hashed or written
        )?;
        clock.advance(Duration::from_secs(400));
        log.tick()?; // seals ended epochs, erasing their keys
    }
    let witnessed: Checkpoint = log.checkpoint()?; // kept by a witness, off this machine
    drop(log);

    let bundle = VerifierBundle::read_file(&bundle_path)?;
    let verifier = || {
        Verifier::new()
            .bundle(&bundle)
            .clock(Arc::new(clock.clone()))
            .trusted_checkpoint(witnessed.clone())
    };
    println!("== untouched\n{}", verifier().verify_dir(&dir)?);

    let file = dir.join("audit-00000000000000000000.jsonl");
    let original = fs::read_to_string(&file)?;
    assert!(
        !original.contains("hunter2"),
        "secrets never reach the file"
    );

    // 1. Edit a record.
    fs::write(&file, original.replace("user:bob", "user:mallory"))?;
    println!("== edited\n{}", verifier().verify_dir(&dir)?);

    // 2. Delete a record.
    let lines: Vec<&str> = original.lines().collect();
    let without_third: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| *l)
        .collect();
    fs::write(&file, without_third.join("\n") + "\n")?;
    println!("== deleted\n{}", verifier().verify_dir(&dir)?);

    // 3. Truncate the tail: only the witnessed checkpoint can tell.
    fs::write(&file, lines[..lines.len() / 2].join("\n") + "\n")?;
    println!("== truncated\n{}", verifier().verify_dir(&dir)?);

    fs::remove_dir_all(&base)?;
    Ok(())
}
