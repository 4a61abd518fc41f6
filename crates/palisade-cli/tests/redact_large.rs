//! 200 MB through `palisade redact` in bounded memory: the child's peak resident set size is
//! read from `/proc/<pid>/status` (`VmHWM`) while the input streams through a pipe.

mod common;

use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    time::Duration,
};

const TOTAL: usize = 200 * 1024 * 1024;
/// Far below the input's size; the process holds at most a few chunks and one line.
const MAX_PEAK_KIB: u64 = 64 * 1024;

fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A log line; every seventh carries a secret that must not come out.
fn line(i: usize, out: &mut Vec<u8>) {
    match i % 7 {
        0 => writeln!(out, "2026-11-22T20:00:{:02}Z WARN login user=u{i} password=hunter2-{i} from 203.0.113.9", i % 60),
        3 => writeln!(out, "2026-11-22T20:00:{:02}Z INFO key AKIAIOSFODNN7EXAMPLE used by job {i}", i % 60),
        _ => writeln!(out, "2026-11-22T20:00:{:02}Z INFO request id={i} path=/api/v1/items?page={} status=200 bytes=5120", i % 60, i % 97),
    }
    .expect("write to Vec");
}

#[test]
fn two_hundred_megabytes_in_bounded_memory() {
    let mut child = Command::new(common::BIN)
        .arg("redact")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn palisade");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");

    let writer = std::thread::spawn(move || {
        let mut written = 0;
        let mut i = 0;
        let mut buf = Vec::with_capacity(1 << 20);
        while written < TOTAL {
            buf.clear();
            while buf.len() < (1 << 20) {
                line(i, &mut buf);
                i += 1;
            }
            stdin.write_all(&buf).expect("feed palisade");
            written += buf.len();
        }
        (written, i)
    });
    let reader = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut lines = 0usize;
        let mut redacted = 0usize;
        let mut leaked = false;
        let mut carry = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let n = stdout.read(&mut chunk).expect("read palisade");
            if n == 0 {
                break;
            }
            total += n;
            carry.extend_from_slice(&chunk[..n]);
            // Look at complete lines only, so nothing is split.
            let end = carry.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            for l in carry[..end]
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
            {
                lines += 1;
                let text = String::from_utf8_lossy(l);
                leaked |= text.contains("hunter2") || text.contains("AKIAIOSFODNN7EXAMPLE");
                redacted += usize::from(text.contains("[REDACTED]"));
            }
            carry.drain(..end);
        }
        (total, lines, redacted, leaked)
    });

    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait().expect("poll palisade").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().expect("wait");
    let (written, input_lines) = writer.join().expect("writer");
    let (total, lines, redacted, leaked) = reader.join().expect("reader");

    assert!(status.success(), "{status}");
    assert!(written >= TOTAL);
    assert_eq!(lines, input_lines, "every line comes out");
    assert!(!leaked, "a secret came through");
    // Lines 0 and 3 of every seven carry a secret.
    let expected = (input_lines / 7) * 2 + [0, 1, 1, 1, 2, 2, 2][input_lines % 7];
    assert_eq!(redacted, expected);
    assert!(total > TOTAL / 2);
    assert!(peak > 0, "VmHWM was read");
    assert!(
        peak < MAX_PEAK_KIB,
        "peak resident set {peak} KiB for {written} bytes of input"
    );
    eprintln!("redact: {written} bytes in, {total} out, peak RSS {peak} KiB");
}
