//! `palisade sanitize [--policy strict|basic|rich]`, on palisade-sanitize's HTML policies.

use std::io::Write;

use palisade_sanitize::html::Policy;

use crate::{
    args::{PolicyName, SanitizeArgs},
    error::{CmdResult, Failure},
    input,
};

pub(crate) fn run(args: &SanitizeArgs) -> CmdResult {
    let policy = match args.policy {
        PolicyName::Strict => Policy::strict(),
        PolicyName::Basic => Policy::basic(),
        PolicyName::Rich => Policy::rich(),
    };
    // The policy refuses input over its limit; read one byte more so the refusal names it.
    let max = policy.limits().max_input_bytes;
    let html = input::stdin_bounded(max.saturating_add(1), "the HTML on standard input")?;
    let clean = policy.clean_bytes(&html).map_err(Failure::usage)?;
    let mut out = std::io::stdout().lock();
    out.write_all(clean.as_str().as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing the sanitized HTML", &e))
}
