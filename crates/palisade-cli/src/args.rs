//! The command line, as clap parses it. Every secret comes from standard input, a file or the
//! environment: no option takes a secret value.
//!
//! The doc comments below are the `--help` text users read, so names such as `EdDSA` and
//! `PALISADE_MASTER_KEY` stay unquoted there.
#![allow(clippy::doc_markdown)]

use std::{io::Write, path::PathBuf};

use clap::{
    Args, Parser, Subcommand, ValueEnum,
    error::{ContextKind, ContextValue, ErrorKind},
};

use crate::{EXIT_OK, EXIT_USAGE};

/// Security operations for operators, from the palisade crates.
///
/// Exit status: 0 success; 1 a negative answer (mismatch, invalid token, tampered or
/// unauthenticated data); 2 a usage, configuration or input error, with one line on standard
/// error. Secrets are read from standard input, files or environment variables, never from
/// arguments.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Hash a password, or check one against a stored hash.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Sign or verify a JWT.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create, rotate, list, disable and destroy the keys of a keyring file; show what is due;
    /// count ciphertexts per key; print its generation.
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Encrypt standard input under the keyring's primary key; prints the ciphertext in text
    /// form on one line.
    Encrypt(CryptArgs),
    /// Decrypt a ciphertext read from standard input and write the plaintext bytes. Exits 1
    /// on any authentication failure: altered data, wrong context, wrong or disabled key.
    Decrypt(CryptArgs),
    /// Re-encrypt a ciphertext read from standard input under the keyring's primary key,
    /// without printing the plaintext; prints the new ciphertext. Exits 1 as decrypt does.
    Rewrap(CryptArgs),
    /// Copy standard input to standard output with every detected secret replaced.
    Redact(RedactArgs),
    /// Sanitize HTML read from standard input.
    Sanitize(SanitizeArgs),
    /// Create, append to, verify, anchor and prune a tamper-evident audit log.
    #[command(subcommand)]
    Audit(crate::audit::AuditCommand),
    /// Check secret addresses (env:NAME, file:/path, systemd:NAME).
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Say whether each address resolves, with its size and version, never its value. One
    /// line per address, named by its position: `address 1: ok, 32 bytes`, or why it does
    /// not resolve (not found, readable by group or others, not a regular file, too large,
    /// empty). Exits 1 when any does not resolve, 2 when one is malformed.
    Check {
        /// env:NAME, file:/absolute/path or systemd:NAME (a systemd credential).
        #[arg(value_name = "ADDRESS", required = true)]
        addresses: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PasswordCommand {
    /// Read one password from standard input (one trailing newline removed) and print its
    /// PHC string (Argon2id).
    Hash {
        /// Parameter preset: owasp (the default), owasp-m47104-t1, owasp-m12288-t3,
        /// owasp-m9216-t4, owasp-m7168-t5, rfc9106-first, rfc9106-second.
        #[arg(long, value_name = "NAME", default_value = "owasp")]
        preset: String,
    },
    /// Read a password from standard input and check it against a stored hash.
    ///
    /// Prints `ok`, or `ok needs-rehash` when the hash is weaker than the default policy or in
    /// a legacy format; prints `mismatch` and exits 1 for a wrong password; exits 2 for a
    /// malformed or unsupported hash. Reads Argon2 PHC strings from any implementation,
    /// bcrypt, PBKDF2-SHA256 (PHC, passlib and Django) and scrypt PHC.
    Verify {
        /// The stored hash (not a secret in the way the password is; quote it for the shell).
        #[arg(long, value_name = "HASH")]
        hash: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Sign a JWT and print it in compact form. `iat`, `exp` (now + TTL) and a random `jti`
    /// are added unless --claims sets them.
    Sign(SignArgs),
    /// Verify a JWT read from standard input (surrounding whitespace trimmed) under
    /// palisade-token's strict defaults. Valid: prints the claims as one JSON object and exits
    /// 0. Otherwise: prints the reason on standard error and exits 1.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The algorithm: HS256, HS384, HS512 (with --secret-file), RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384, ES512 or EdDSA (with --private-key).
    #[arg(long, value_name = "ALG")]
    pub(crate) alg: String,
    #[command(flatten)]
    pub(crate) key: SignKey,
    /// The key id written in the header.
    #[arg(long, value_name = "KID")]
    pub(crate) kid: Option<String>,
    /// The issuer (`iss`).
    #[arg(long, value_name = "ISS")]
    pub(crate) iss: Option<String>,
    /// The audience (`aud`).
    #[arg(long, value_name = "AUD")]
    pub(crate) aud: Option<String>,
    /// The subject (`sub`).
    #[arg(long, value_name = "SUB")]
    pub(crate) sub: Option<String>,
    /// Lifetime in seconds (default 900; 1 to 31 622 400).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) ttl: Option<u64>,
    /// More claims, as a JSON object; --iss, --aud and --sub override the same claims here.
    #[arg(long, value_name = "JSON")]
    pub(crate) claims: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct SignKey {
    /// A file holding the raw HMAC secret (at least as long as the hash: 32, 48 or 64 bytes).
    #[arg(long, value_name = "F")]
    pub(crate) secret_file: Option<PathBuf>,
    /// A PEM file holding the private key (RSA PKCS#1 or PKCS#8, P-256 PKCS#8 or SEC1,
    /// Ed25519 PKCS#8).
    #[arg(long, value_name = "PEM")]
    pub(crate) private_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The algorithm the token must use: HS256, HS384, HS512, RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384, ES512 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub(crate) alg: String,
    #[command(flatten)]
    pub(crate) key: VerifyKey,
    /// The issuer `iss` must equal.
    #[arg(long, value_name = "ISS")]
    pub(crate) iss: Option<String>,
    /// The audience `aud` must contain. A token with an `aud` is refused without it.
    #[arg(long, value_name = "AUD")]
    pub(crate) aud: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct VerifyKey {
    /// A file holding the raw HMAC secret.
    #[arg(long, value_name = "F")]
    pub(crate) secret_file: Option<PathBuf>,
    /// A PEM file holding the public key (SPKI, or PKCS#1 for RSA).
    #[arg(long, value_name = "PEM")]
    pub(crate) public_key: Option<PathBuf>,
    /// A JWKS file; the token's `kid` selects the key.
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct MasterKeyArgs {
    /// A file holding the master key (base64 of 32 bytes, or the 32 raw bytes). Without it,
    /// the environment variable PALISADE_MASTER_KEY (base64 of 32 bytes) is used.
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "kek")]
    pub(crate) master_key_file: Option<PathBuf>,
    /// The key-encryption key sealing the keyring, instead of the local master key:
    /// `file:/path` (a master key file, as --master-key-file) or `vault-transit:MOUNT/KEY` (a
    /// Vault Transit key; Vault's address and token from VAULT_ADDR and VAULT_TOKEN, with
    /// VAULT_NAMESPACE and VAULT_CACERT when set; needs the `vault` feature).
    #[arg(long, value_name = "ADDRESS", global = true)]
    pub(crate) kek: Option<String>,
    /// The name a remote key-encryption key binds the keyring to (sent with every Transit
    /// request as associated data; opening needs the same name). Default: the keyring file's
    /// name, so a sealed file keeps opening wherever it is copied, under the same name.
    #[arg(long, value_name = "NAME", global = true, requires = "kek")]
    pub(crate) keyring_name: Option<String>,
}

/// Rollback pinning for commands that open an existing keyring file.
#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// Refuse the keyring file (exit 1) if its generation is below N. Every save adds one to
    /// the generation; keep the one `keyring generation` prints after each change outside the
    /// file, so an older copy put in its place is refused.
    #[arg(long, value_name = "N")]
    pub(crate) min_generation: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyringCommand {
    /// Create a keyring file with a new primary key (refuses to overwrite); prints its id.
    New {
        /// The keyring file to create.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        master: MasterKeyArgs,
    },
    /// Add a new primary encryption key; the old primary stays, decrypt-only. Prints the new
    /// key's id.
    ///
    /// With --if-older-than AGE, only when the primary key is at least AGE old: prints
    /// `rotated: ...` after rotating, or `not due: ...` and leaves the file untouched. Exits 0
    /// either way, so it can run from cron or a Kubernetes CronJob.
    Rotate {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Rotate only if the primary key is at least this old: a whole number and a unit, d
        /// (days), h (hours) or m (minutes), such as 90d.
        #[arg(long, value_name = "AGE")]
        if_older_than: Option<String>,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Show what is due: the primary encryption key and its age, whether rotation is due,
    /// which replaced keys are due for retirement (decrypt-only for longer than
    /// --retire-after: rewrap, then disable them), and how many keys are in each state.
    Status {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// How old the primary key may get (d, h or m; default 90d).
        #[arg(long, value_name = "AGE", default_value = "90d")]
        rotate_after: String,
        /// How long a replaced key may stay decrypt-only (d, h or m; default 30d).
        #[arg(long, value_name = "AGE", default_value = "30d")]
        retire_after: String,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Print one line per key, tab-separated: id, version, purpose, state, created, changed
    /// (UTC). Never key material.
    List {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Disable a key: it no longer decrypts. Refused while it is the primary.
    Disable {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The key's id, as `list` prints it.
        #[arg(value_name = "KEY_ID")]
        key_id: String,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Erase a disabled key's material for good. Its id stays, so values still on it fail
    /// as `key_destroyed`. Refused unless the key is disabled.
    Destroy {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The key's id, as `list` prints it.
        #[arg(value_name = "KEY_ID")]
        key_id: String,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Count the ciphertexts read from standard input (text form, one per line; blank lines
    /// skipped) per key id, from their headers, without decrypting: one line per key, `ID
    /// COUNT`, tab-separated. With --key, prints only that key's count and exits 1 when it
    /// is not zero. A line that is not a ciphertext exits 1.
    Census {
        /// The key whose count to check.
        #[arg(long, value_name = "KEY_ID")]
        key: Option<String>,
    },
    /// Print the keyring file's generation, after checking it opens under the master key:
    /// the number to pin with --min-generation. Each save (new, rotate, disable) adds one.
    Generation {
        /// The keyring file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        master: MasterKeyArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CryptArgs {
    /// The keyring file.
    #[arg(long, value_name = "FILE")]
    pub(crate) keyring: PathBuf,
    /// The encryption context: a field name, optionally followed by `;name=value` attributes
    /// (`users.email;row=42;tenant=acme`). Decryption needs the same context.
    #[arg(long, value_name = "CONTEXT")]
    pub(crate) context: String,
    #[command(flatten)]
    pub(crate) master: MasterKeyArgs,
    #[command(flatten)]
    pub(crate) pin: PinArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RedactArgs {
    /// Treat the input as JSON values (a document, JSON Lines, or values one after another):
    /// replace the value of every sensitive key whatever its type, and every secret found in
    /// a string after decoding its escapes. Every other byte is copied unchanged; input that
    /// is not JSON stops the copy with exit 2.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also apply the rules of a gitleaks configuration file (TOML): each rule's regex,
    /// secret group, entropy, keywords, path and allow-lists, and the base it extends
    /// (`[extend] path`), beside the built-in detectors.
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// Files to redact, one after another, to standard output; standard input when none is
    /// given. Each file's path is what the rules' `path` and allow-list `paths` are matched
    /// against; standard input has no path, so those never match it.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SanitizeArgs {
    /// The policy: strict (text only), basic (inline formatting, lists, quotes, code) or rich
    /// (adds headings, tables, links and images).
    #[arg(long, value_enum, default_value_t = PolicyName::Basic)]
    pub(crate) policy: PolicyName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyName {
    Strict,
    Basic,
    Rich,
}

/// Prints a clap error as palisade prints every error (one line on standard error, exit 2),
/// or help and version on standard output (exit 0).
pub(crate) fn report_clap_error(e: &clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(std::io::stdout().lock(), "{}", e.render());
            EXIT_OK
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "palisade: a subcommand is required; see --help"
            );
            EXIT_USAGE
        }
        _ => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "palisade: {} (see --help)",
                clap_message(e)
            );
            EXIT_USAGE
        }
    }
}

/// A one-line description of a usage error that never repeats what the user typed: a
/// password pasted as an argument by mistake must not reach the terminal or a log. Only names
/// palisade defines (options, subcommands, accepted values) are shown.
fn clap_message(e: &clap::Error) -> String {
    let ours = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    let arg = ours(ContextKind::InvalidArg);
    match e.kind() {
        ErrorKind::UnknownArgument => {
            "unexpected argument (not shown: secrets are read from standard input or files, \
             never from arguments)"
                .to_owned()
        }
        ErrorKind::InvalidSubcommand => "unknown subcommand".to_owned(),
        ErrorKind::MissingRequiredArgument => format!(
            "missing required argument {}",
            arg.unwrap_or_else(|| "(see usage)".to_owned())
        ),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let valid = ours(ContextKind::ValidValue)
                .map(|v| format!("; expected one of {v}"))
                .unwrap_or_default();
            format!(
                "invalid value for {}{valid}",
                arg.unwrap_or_else(|| "an argument".to_owned())
            )
        }
        ErrorKind::ArgumentConflict => format!(
            "{} cannot be used with {}",
            arg.unwrap_or_else(|| "an argument".to_owned()),
            ours(ContextKind::PriorArg).unwrap_or_else(|| "another argument".to_owned())
        ),
        ErrorKind::TooManyValues => format!(
            "{} given more than once",
            arg.unwrap_or_else(|| "an argument".to_owned())
        ),
        ErrorKind::MissingSubcommand => "a subcommand is required".to_owned(),
        other => other.as_str().unwrap_or("invalid arguments").to_owned(),
    }
}
