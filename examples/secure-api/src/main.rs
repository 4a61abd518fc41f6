//! `secure-api`: see the crate documentation and README.md.

#[tokio::main]
async fn main() {
    secure_api::init_logging();
    let args = std::env::args().skip(1).collect();
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with("PALISADE_"))
        .collect();
    std::process::exit(secure_api::run(args, env).await);
}
