//! The `palisade` command; everything it does is in the library, `palisade_cli`.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::panic)]

fn main() -> std::process::ExitCode {
    palisade_cli::run()
}
