//! A fixed number of appends, for counting instructions with `perf stat` (load-independent,
//! unlike the criterion bench's times): the same event and the same plain JSON Lines baseline
//! as `benches/audit.rs`.
//!
//! ```text
//! cargo build --profile bench -p palisade-audit --example append_cost
//! perf stat -e instructions:u target/release/examples/append_cost palisade group64 120000
//! perf stat -e instructions:u target/release/examples/append_cost plain group64 120000
//! ```
//!
//! Arguments: `palisade` or `plain`; `group64` (sync every 64 records, as
//! `audit/append_group_commit_64`) or `nosync` (as `audit/append_no_sync_pressure`); the number
//! of appends. Run each twice with different counts and divide the difference in instructions
//! by the difference in counts to leave out the set-up (key generation, file creation).

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{
    fs::{self, OpenOptions},
    hint::black_box,
    io::Write as _,
    sync::Arc,
    time::Duration,
};

use palisade_audit::{AuditLog, Durability, MacKey, SecretBox, SigningKey};

#[path = "../benches/support/workload.rs"]
mod workload;
use workload::{event, json_line};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: append_cost palisade|plain group64|nosync COUNT";
    let [_, mode, policy, count] = args.as_slice() else {
        return Err(usage.into());
    };
    let n: u64 = count.parse()?;
    let every: u64 = match policy.as_str() {
        "group64" => 64,
        "nosync" => u64::MAX,
        _ => return Err(usage.into()),
    };
    let dir = std::env::temp_dir().join(format!(
        "palisade-audit-append-cost-{}-{mode}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    match mode.as_str() {
        "palisade" => {
            let durability = if every == 64 {
                Durability::Group {
                    records: 64,
                    interval: Duration::from_millis(10),
                }
            } else {
                Durability::Group {
                    records: u32::MAX,
                    interval: Duration::from_secs(3600),
                }
            };
            let mut log = AuditLog::builder(dir.join("log"))
                .durability(durability)
                .signer(Arc::new(SigningKey::from_secret(&SecretBox::new(
                    Box::new([9; 32]),
                ))))
                .epoch0_key(MacKey::from_bytes([7; 32]))
                .create_with(|_| Ok(()))?;
            for i in 1..=n {
                let _ = black_box(log.append(event(i))?);
            }
        }
        "plain" => {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("plain.jsonl"))?;
            let mut pending = 0u64;
            for i in 1..=n {
                file.write_all(json_line(i).as_bytes())?;
                pending += 1;
                if pending >= every {
                    file.sync_data()?;
                    pending = 0;
                }
            }
        }
        _ => return Err(usage.into()),
    }
    fs::remove_dir_all(&dir)?;
    println!("{mode} {policy}: {n} appends");
    Ok(())
}
