//! The workload `benches/audit.rs` and `examples/append_cost.rs` share: one login event per
//! record, and the same event as a plain JSON line (the baseline without integrity).

use palisade_audit::{Event, Outcome};

/// The `i`-th event.
pub(crate) fn event(i: u64) -> Event {
    Event::new("auth.login")
        .actor(format!("user:{}", i % 1000))
        .client("203.0.113.9")
        .target("session")
        .outcome(Outcome::Success)
        .request_id(format!("req-{i:08x}"))
        .field("method", "password")
        .field("attempt", 1)
}

/// The `i`-th event as a plain JSON line, about as long as palisade's record body.
pub(crate) fn json_line(i: u64) -> String {
    format!(
        "{{\"seq\":{i},\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":{{\"action\":\"auth.login\",\
         \"outcome\":\"success\",\"actor\":\"user:{}\",\"client\":\"203.0.113.9\",\
         \"target\":\"session\",\"request_id\":\"req-{i:08x}\",\"fields\":{{\"method\":\
         \"password\",\"attempt\":1}}}}}}\n",
        i % 1000
    )
}
