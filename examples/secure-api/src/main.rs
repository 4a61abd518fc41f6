//! `secure-api`: see the crate documentation and README.md.

#[tokio::main]
async fn main() {
    secure_api::init_logging();
    let args = std::env::args().skip(1).collect();
    // Settings are read from `PALISADE_*` only; a secret's address may name any variable
    // (`env:NAME`) or systemd's `CREDENTIALS_DIRECTORY` (`systemd:NAME`).
    let env = std::env::vars().collect();
    std::process::exit(secure_api::run(args, env).await);
}
