//! Redacts log lines from standard input (or a built-in sample) to standard output:
//! `cargo run -p palisade-redact --example redact_logs < app.log`.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::io::{self, IsTerminal, Read, Write};

use palisade_redact::{Kind, RedactingWriter, Redactor, Style};

const SAMPLE: &str = "\
2026-11-22T10:00:00Z INFO login user=alice password=hunter2 from 10.0.0.7
2026-11-22T10:00:01Z DEBUG upstream Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl
2026-11-22T10:00:02Z INFO connecting to postgres://app:s3cr3t@db.internal:5432/main
2026-11-22T10:00:03Z WARN static credentials AKIAIOSFODNN7EXAMPLE in use
2026-11-22T10:00:04Z INFO payment card 4111 1111 1111 1111 declined
2026-11-22T10:00:05Z INFO password reset requested for user_id=42 (nothing to redact)
";

fn main() -> io::Result<()> {
    let redactor = Redactor::builder()
        .style_for(
            Kind::CardNumber,
            Style::Partial {
                prefix: 0,
                suffix: 4,
            },
        )
        .build()
        .map_err(io::Error::other)?;
    let mut input = Vec::new();
    if io::stdin().is_terminal() {
        input.extend_from_slice(SAMPLE.as_bytes());
    } else {
        io::stdin().read_to_end(&mut input)?;
    }
    let mut out = RedactingWriter::new(io::stdout().lock(), redactor);
    out.write_all(&input)?;
    out.finish()?.flush()
}
