//! The shared GCRA vectors (tests/vectors/gcra.txt), read by both backends' tests.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use palisade_ratelimit::{Decision, Policy};

pub struct Step {
    pub at_ms: u64,
    pub cost: u32,
    pub expected: Decision,
    pub line: usize,
}

pub struct Case {
    pub name: String,
    pub policy: Policy,
    pub steps: Vec<Step>,
}

fn field(part: &str, name: &str) -> u64 {
    part.strip_prefix(name)
        .and_then(|v| v.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("expected {name}=N, got {part}"))
}

pub fn cases() -> Vec<Case> {
    let text = include_str!("../vectors/gcra.txt");
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts[0] == "case" {
            let limit = field(parts[2], "limit") as u32;
            let period = Duration::from_millis(field(parts[3], "period_ms"));
            let burst = field(parts[4], "burst") as u32;
            let policy = Policy::new(parts[1], limit, period)
                .and_then(|p| p.with_burst(burst))
                .expect("vector policy");
            cases.push(Case {
                name: parts[1].to_owned(),
                policy,
                steps: Vec::new(),
            });
            continue;
        }
        let case = cases.last_mut().expect("a case line first");
        let num = |s: &str| s.parse::<u64>().expect("number");
        let allowed = match parts[2] {
            "allow" => true,
            "deny" => false,
            other => panic!("line {}: {other}", i + 1),
        };
        case.steps.push(Step {
            at_ms: num(parts[0]),
            cost: num(parts[1]) as u32,
            expected: Decision {
                allowed,
                limit: case.policy.limit(),
                remaining: num(parts[3]) as u32,
                reset: Duration::from_micros(num(parts[4])),
                retry_after: (parts[5] != "-").then(|| Duration::from_micros(num(parts[5]))),
            },
            line: i + 1,
        });
    }
    assert!(cases.len() >= 10, "vectors file truncated");
    cases
}
