//! `palisade keyring new|rotate|status|list|disable|destroy|census|generation` and `palisade
//! encrypt|decrypt|rewrap`, on palisade-crypt's keyrings and field encryption. Every command
//! that opens an existing keyring file takes `--min-generation` (rollback pinning).

use std::{collections::BTreeMap, fmt::Write as _, io::Write, path::Path, time::Duration};

use palisade_crypt::{
    Ciphertext, Context, ContextError, Crypter, DecryptErrorKind, KekError, KeyEncryptionKey,
    KeyId, KeyPurpose, KeyState, Keyring, KeyringError, MASTER_KEY_ENV, MasterKey, RotationPolicy,
};
use palisade_secrets::KekAddress;

use crate::{
    args::{CryptArgs, KeyringCommand, MasterKeyArgs, PinArgs},
    error::{CmdResult, Failure},
    input,
};

/// The most plaintext `encrypt` reads; field encryption is for values, not files.
const MAX_PLAINTEXT: usize = 16 * 1024 * 1024;
/// The most ciphertext text `decrypt` and `rewrap` read (the plaintext bound, in base64, plus
/// the header).
const MAX_CIPHERTEXT_TEXT: usize = MAX_PLAINTEXT / 3 * 4 + 4096;

/// The key-encryption key of the keyring file `keyring`: `--kek ADDRESS`, else the local
/// master key (`--master-key-file`, else `PALISADE_MASTER_KEY`).
fn master_key(args: &MasterKeyArgs, keyring: &Path) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    match &args.kek {
        Some(text) => kek(text, args.keyring_name.as_deref(), keyring),
        None => Ok(Box::new(local_master_key(args)?)),
    }
}

/// Opens the key-encryption key at `text`. Each form of [`KekAddress`] has its arm here; a new
/// form (AWS KMS) is one more arm, behind its own feature.
fn kek(
    text: &str,
    keyring_name: Option<&str>,
    keyring: &Path,
) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    let address: KekAddress = text
        .parse()
        .map_err(|e| Failure::usage(format!("--kek: {e}")))?;
    // What a remote key binds the keyring to: its file name unless --keyring-name says.
    let name = || {
        keyring_name
            .map(str::to_owned)
            .or_else(|| {
                keyring
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_default()
    };
    match address {
        KekAddress::File(path) => MasterKey::from_file(path)
            .map(|k| Box::new(k) as Box<dyn KeyEncryptionKey>)
            .map_err(|e| Failure::usage(format!("--kek: {}", kek_message(&e)))),
        KekAddress::VaultTransit { mount, key } => vault_transit(&mount, &key, &name()),
        KekAddress::AwsKms { key } => aws_kms(&key, &name()),
        _ => Err(Failure::usage(
            "--kek: this key-encryption key form is not supported by this build",
        )),
    }
}

#[cfg(feature = "vault")]
fn vault_transit(mount: &str, key: &str, name: &str) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    let config = palisade_secrets::VaultConfig::from_env()
        .map_err(|e| Failure::usage(format!("--kek: Vault: {e}")))?;
    palisade_secrets::VaultTransitKek::new(&config, mount, key, name)
        .map(|k| Box::new(k) as Box<dyn KeyEncryptionKey>)
        .map_err(|e| Failure::usage(format!("--kek: Vault: {e}")))
}

#[cfg(not(feature = "vault"))]
fn vault_transit(
    _mount: &str,
    _key: &str,
    _name: &str,
) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    Err(Failure::usage(
        "--kek: vault-transit: needs palisade built with the `vault` feature",
    ))
}

/// An AWS KMS key-encryption key, with the SDK's usual configuration (credentials, region and
/// endpoint from the environment, the profile or the instance role).
#[cfg(feature = "aws")]
fn aws_kms(key: &str, name: &str) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("--kek: AWS: {e}")))?;
    let config = runtime.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    palisade_secrets::AwsKmsKek::new(&config, key, name)
        .map(|k| Box::new(k) as Box<dyn KeyEncryptionKey>)
        .map_err(|e| Failure::usage(format!("--kek: AWS KMS: {e}")))
}

#[cfg(not(feature = "aws"))]
fn aws_kms(_key: &str, _name: &str) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    Err(Failure::usage(
        "--kek: aws-kms: needs palisade built with the `aws` feature",
    ))
}

fn local_master_key(args: &MasterKeyArgs) -> Result<MasterKey, Failure> {
    match &args.master_key_file {
        Some(path) => MasterKey::from_file(path)
            .map_err(|e| Failure::usage(format!("--master-key-file: {}", kek_message(&e)))),
        None => MasterKey::from_env().map_err(|e| {
            Failure::usage(format!(
                "no master key: set {MASTER_KEY_ENV} (base64 of 32 bytes) or give \
                 --master-key-file ({})",
                kek_message(&e)
            ))
        }),
    }
}

// The messages below say what is wrong without the path, key id or context typed on the
// command line: palisade-crypt's own messages name them, which a terminal must not show.

fn kek_message(e: &KekError) -> String {
    match e {
        KekError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn keyring_message(e: &KeyringError) -> String {
    match e {
        KeyringError::Io { source, .. } => source.to_string(),
        KeyringError::AlreadyExists(_) => {
            "the file already exists (a new keyring never overwrites one)".to_owned()
        }
        KeyringError::Kek(e) => format!("key-encryption key: {}", kek_message(e)),
        KeyringError::UnknownKey(_) => "no key with that id in the keyring".to_owned(),
        KeyringError::IsPrimary(_) => {
            "that key is the primary key; rotate first so another key is primary".to_owned()
        }
        KeyringError::WrongState { state, needed, .. } => format!("that key is {state}; {needed}"),
        KeyringError::StillInUse { remaining, .. } => {
            format!("{remaining} ciphertext(s) still use that key; rewrap them first")
        }
        other => other.to_string(),
    }
}

fn context_failure(e: &ContextError) -> Failure {
    let what = match e {
        ContextError::InvalidName { .. } => {
            "a field or attribute name is not 1 to 64 characters from a-z, 0-9, '_', '-' and '.'"
        }
        ContextError::InvalidValue { .. } => {
            "an attribute value is longer than 1024 bytes or contains ';'"
        }
        ContextError::DuplicateAttribute { .. } => "an attribute is given twice",
        ContextError::TooManyAttributes => "more than 32 attributes",
        _ => "it must read `field` or `field;name=value;...`",
    };
    Failure::usage(format!("--context: {what}"))
}

fn keyring_failure(e: &KeyringError) -> Failure {
    Failure::usage(format!("keyring file: {}", keyring_message(e)))
}

/// Opens the keyring file, refusing one below `--min-generation`. An older generation is a
/// negative answer (exit 1), as for other tampered data: an older copy of the file may have
/// been put in its place, bringing back a key since disabled. The message gives the file's
/// generation but not the minimum typed.
fn load(path: &Path, master: &dyn KeyEncryptionKey, pin: &PinArgs) -> Result<Keyring, Failure> {
    Keyring::load_at_least(path, master, pin.min_generation.unwrap_or(0)).map_err(|e| match e {
        KeyringError::RolledBack { generation, .. } => Failure::negative(format!(
            "keyring file: its generation, {generation}, is below --min-generation: an older \
             copy of the file may have replaced it"
        )),
        other => keyring_failure(&other),
    })
}

fn print(text: &str) -> CmdResult {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing", &e))
}

pub(crate) fn run_keyring(cmd: KeyringCommand) -> CmdResult {
    match cmd {
        KeyringCommand::New { file, master } => {
            let master = master_key(&master, &file)?;
            let mut keyring = Keyring::generate().map_err(|e| keyring_failure(&e))?;
            let primary = primary_id(&keyring)?;
            keyring
                .save_new(&file, master.as_ref())
                .map_err(|e| keyring_failure(&e))?;
            print(&format!("{primary}\n"))
        }
        KeyringCommand::Rotate {
            file,
            if_older_than: Some(age),
            master,
            pin,
        } => rotate_if_older(&file, &age, &master, &pin),
        KeyringCommand::Rotate {
            file,
            if_older_than: None,
            master,
            pin,
        } => {
            let master = master_key(&master, &file)?;
            let mut keyring = load(&file, master.as_ref(), &pin)?;
            let id = keyring
                .rotate(KeyPurpose::Encryption)
                .map_err(|e| keyring_failure(&e))?;
            save(&mut keyring, &file, master.as_ref())?;
            print(&format!("{id}\n"))
        }
        KeyringCommand::List { file, master, pin } => {
            let master = master_key(&master, &file)?;
            let keyring = load(&file, master.as_ref(), &pin)?;
            let mut keys: Vec<_> = keyring.keys().collect();
            keys.sort_by_key(|k| (k.version, k.id));
            let mut text = String::new();
            for k in keys {
                let _ = writeln!(
                    text,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    k.id,
                    k.version,
                    k.purpose,
                    k.state,
                    rfc3339(k.created_at),
                    rfc3339(k.changed_at)
                );
            }
            print(&text)
        }
        KeyringCommand::Disable {
            file,
            key_id,
            master,
            pin,
        } => {
            let master = master_key(&master, &file)?;
            let id = key_id_arg(&key_id)?;
            let mut keyring = load(&file, master.as_ref(), &pin)?;
            keyring.disable(id).map_err(|e| keyring_failure(&e))?;
            save(&mut keyring, &file, master.as_ref())
        }
        KeyringCommand::Status {
            file,
            rotate_after,
            retire_after,
            master,
            pin,
        } => status(&file, &rotate_after, &retire_after, &master, &pin),
        KeyringCommand::Destroy {
            file,
            key_id,
            master,
            pin,
        } => {
            let master = master_key(&master, &file)?;
            let id = key_id_arg(&key_id)?;
            let mut keyring = load(&file, master.as_ref(), &pin)?;
            keyring.destroy(id).map_err(|e| keyring_failure(&e))?;
            save(&mut keyring, &file, master.as_ref())
        }
        KeyringCommand::Census { key } => census(key.as_deref()),
        KeyringCommand::Generation { file, master, pin } => {
            let master = master_key(&master, &file)?;
            let keyring = load(&file, master.as_ref(), &pin)?;
            print(&format!("{}\n", keyring.generation()))
        }
    }
}

fn key_id_arg(text: &str) -> Result<KeyId, Failure> {
    KeyId::parse(text).ok_or_else(|| {
        Failure::usage("KEY_ID must be a key id as `keyring list` prints it (8 hex digits)")
    })
}

/// Parses an age such as `90d`, `12h` or `30m`: a whole number without leading zeros, above
/// zero, and one unit. Anything else (`1.5d`, `90`, `90D`, `1d12h`, spaces, signs) is refused.
pub(crate) fn parse_age(text: &str) -> Option<Duration> {
    let unit = text.chars().next_back()?;
    let number = &text[..text.len() - unit.len_utf8()];
    let unit_secs: u64 = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        _ => return None,
    };
    if number.is_empty() || number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = number.parse().ok()?;
    n.checked_mul(unit_secs).map(Duration::from_secs)
}

fn age_arg(option: &str, text: &str) -> Result<Duration, Failure> {
    parse_age(text).ok_or_else(|| {
        Failure::usage(format!(
            "{option}: an age is a whole number above zero and a unit, d (days), h (hours) or m \
             (minutes), such as 90d"
        ))
    })
}

/// An age for people: whole days from one day up, else hours, else minutes.
pub(crate) fn show_age(age: Duration) -> String {
    let secs = age.as_secs();
    let (n, unit) = if secs >= 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 3_600 {
        (secs / 3_600, "hour")
    } else {
        (secs / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn policy(rotate_after: Duration, retire_after: Duration) -> Result<RotationPolicy, Failure> {
    RotationPolicy::new(rotate_after, retire_after)
        .map_err(|e| Failure::usage(format!("rotation policy: {e}")))
}

/// `keyring rotate --if-older-than AGE`: rotates only when the primary key is due; exits 0
/// either way.
fn rotate_if_older(file: &Path, age: &str, master: &MasterKeyArgs, pin: &PinArgs) -> CmdResult {
    let period = age_arg("--if-older-than", age)?;
    let master = master_key(master, file)?;
    let mut keyring = load(file, master.as_ref(), pin)?;
    let status = policy(period, period)?
        .status(&keyring)
        .map_err(|e| keyring_failure(&e))?;
    let old = status.primary();
    if !status.rotate_due() {
        return print(&format!(
            "not due: primary key {} is {} old, under {age}; nothing changed\n",
            old.id,
            show_age(status.primary_age())
        ));
    }
    let new = keyring
        .rotate(KeyPurpose::Encryption)
        .map_err(|e| keyring_failure(&e))?;
    save(&mut keyring, file, master.as_ref())?;
    print(&format!(
        "rotated: {new} is the primary key; {} ({} old) is decrypt-only\n",
        old.id,
        show_age(status.primary_age())
    ))
}

/// `keyring status`: what is due under the policy given.
fn status(
    file: &Path,
    rotate_after: &str,
    retire_after: &str,
    master: &MasterKeyArgs,
    pin: &PinArgs,
) -> CmdResult {
    let policy = policy(
        age_arg("--rotate-after", rotate_after)?,
        age_arg("--retire-after", retire_after)?,
    )?;
    let master = master_key(master, file)?;
    let keyring = load(file, master.as_ref(), pin)?;
    let status = policy.status(&keyring).map_err(|e| keyring_failure(&e))?;
    let primary = status.primary();
    let mut text = format!(
        "primary key: {}, version {}, {} old\n",
        primary.id,
        primary.version,
        show_age(status.primary_age())
    );
    if status.rotate_due() {
        let _ = writeln!(text, "rotation: due (older than {rotate_after})");
    } else {
        let _ = writeln!(text, "rotation: not due (rotate at {rotate_after})");
    }
    if status.retire_due().is_empty() {
        let _ = writeln!(text, "retirement: none due (retire after {retire_after})");
    }
    let now = keyring_now();
    for k in status.retire_due() {
        let _ = writeln!(
            text,
            "retirement: due for {}, decrypt-only for {} (over {retire_after}): rewrap, then \
             disable it",
            k.id,
            show_age(Duration::from_secs(now.saturating_sub(k.changed_at)))
        );
    }
    let _ = writeln!(
        text,
        "keys: {} primary, {} decrypt-only, {} disabled, {} destroyed",
        status.keys_in(KeyState::Primary),
        status.keys_in(KeyState::DecryptOnly),
        status.keys_in(KeyState::Disabled),
        status.keys_in(KeyState::Destroyed)
    );
    print(&text)
}

fn keyring_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The most census input read: a million ciphertexts of a few hundred bytes.
const MAX_CENSUS_INPUT: usize = 1 << 30;

/// `keyring census [--key KEY_ID]`: ciphertexts per key, from their headers.
fn census(key: Option<&str>) -> CmdResult {
    let key = key.map(key_id_arg).transpose()?;
    let raw = input::stdin_bounded(MAX_CENSUS_INPUT, "the ciphertexts on standard input")?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| Failure::negative("census: the input is not text"))?;
    let mut counts: BTreeMap<KeyId, u64> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let ciphertext = Ciphertext::from_text(line).map_err(|e| {
            Failure::negative(format!(
                "census: line {} is not a ciphertext ({})",
                n + 1,
                e.kind().as_str()
            ))
        })?;
        *counts.entry(ciphertext.key_id()).or_default() += 1;
    }
    let Some(id) = key else {
        let mut out = String::new();
        for (id, n) in counts {
            let _ = writeln!(out, "{id}\t{n}");
        }
        return print(&out);
    };
    let remaining = counts.get(&id).copied().unwrap_or(0);
    print(&format!("{remaining}\n"))?;
    if remaining > 0 {
        return Err(Failure::negative(format!(
            "{remaining} ciphertext(s) still use that key; rewrap them first"
        )));
    }
    Ok(())
}

fn primary_id(keyring: &Keyring) -> Result<KeyId, Failure> {
    keyring
        .primary(KeyPurpose::Encryption)
        .map(|k| k.id)
        .map_err(|e| keyring_failure(&e))
}

fn save(keyring: &mut Keyring, file: &Path, master: &dyn KeyEncryptionKey) -> CmdResult {
    keyring.save(file, master).map_err(|e| keyring_failure(&e))
}

fn crypter(args: &CryptArgs) -> Result<(Crypter, Context), Failure> {
    let context: Context = args.context.parse().map_err(|e| context_failure(&e))?;
    let master = master_key(&args.master, &args.keyring)?;
    let keyring = load(&args.keyring, master.as_ref(), &args.pin)?;
    let crypter = Crypter::new(&keyring).map_err(|e| keyring_failure(&e))?;
    Ok((crypter, context))
}

/// Reads a ciphertext in text form from standard input; text that is not one is altered data
/// (exit 1), like any other authentication failure.
fn read_ciphertext() -> Result<Ciphertext, Failure> {
    let raw = input::stdin_bounded(MAX_CIPHERTEXT_TEXT, "the ciphertext on standard input")?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| Failure::negative("decryption failed: malformed"))?
        .trim();
    if text.is_empty() {
        return Err(Failure::usage("no ciphertext on standard input"));
    }
    Ciphertext::from_text(text).map_err(|e| decrypt_failure(e.kind()))
}

fn decrypt_failure(kind: DecryptErrorKind) -> Failure {
    Failure::negative(format!("decryption failed: {}", kind.as_str()))
}

pub(crate) fn encrypt(args: &CryptArgs) -> CmdResult {
    let (crypter, context) = crypter(args)?;
    let plaintext = input::stdin_bounded(MAX_PLAINTEXT, "the plaintext on standard input")?;
    let ciphertext = crypter
        .encrypt(&context, &plaintext)
        .map_err(|e| Failure::usage(format!("encryption failed: {e}")))?;
    print(&format!("{}\n", ciphertext.to_text()))
}

pub(crate) fn decrypt(args: &CryptArgs) -> CmdResult {
    let (crypter, context) = crypter(args)?;
    let ciphertext = read_ciphertext()?;
    let plaintext = crypter
        .decrypt(&context, &ciphertext)
        .map_err(|e| decrypt_failure(e.kind()))?;
    input::write_secret(plaintext.expose_secret())
        .map_err(|e| Failure::io("writing the plaintext", &e))
}

pub(crate) fn rewrap(args: &CryptArgs) -> CmdResult {
    let (crypter, context) = crypter(args)?;
    let ciphertext = read_ciphertext()?;
    let rewrapped = crypter.rewrap(&context, &ciphertext).map_err(|e| {
        e.decrypt_kind().map_or_else(
            || Failure::usage(format!("re-encryption failed: {e}")),
            decrypt_failure,
        )
    })?;
    print(&format!("{}\n", rewrapped.to_text()))
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC): palisade-audit's
/// RFC 3339 `Timestamp` text without its milliseconds (always `.000` here).
pub(crate) fn rfc3339(secs: u64) -> String {
    let text = palisade_audit::Timestamp::from_unix_millis(secs.saturating_mul(1000)).to_string();
    format!("{}Z", &text[..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_parsed_strictly() {
        assert_eq!(parse_age("90d"), Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_age("12h"), Some(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_age("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_age("10m"), Some(Duration::from_secs(600)));
        for bad in [
            "",
            "d",
            "0d",
            "00d",
            "090d",
            "90",
            "90D",
            "90s",
            "90w",
            " 90d",
            "90d ",
            "+90d",
            "-1d",
            "1.5d",
            "9 0d",
            "90dd",
            "1d12h",
            "d90",
            "\u{0669}d",
            "90\u{0434}",
            "18446744073709551615d",
            "99999999999999999999m",
        ] {
            assert_eq!(parse_age(bad), None, "{bad:?}");
        }
        // The largest day count that fits in seconds, and one more.
        let max_days = u64::MAX / 86_400;
        assert!(parse_age(&format!("{max_days}d")).is_some());
        assert_eq!(parse_age(&format!("{}d", max_days + 1)), None);
    }

    #[test]
    fn ages_are_shown_in_the_largest_whole_unit() {
        assert_eq!(show_age(Duration::from_secs(0)), "0 minutes");
        assert_eq!(show_age(Duration::from_secs(60)), "1 minute");
        assert_eq!(show_age(Duration::from_secs(3_599)), "59 minutes");
        assert_eq!(show_age(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(show_age(Duration::from_secs(86_399)), "23 hours");
        assert_eq!(show_age(Duration::from_secs(86_400)), "1 day");
        assert_eq!(show_age(Duration::from_secs(100 * 86_400 + 5)), "100 days");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
