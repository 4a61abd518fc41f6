//! The log's directory: segment files named by their first sequence number, and the epoch key
//! file.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

use zeroize::Zeroizing;

use crate::{error::OpenError, hex, keys::MacKey};

const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";
pub(crate) const KEY_FILE: &str = "epoch.key";
const KEY_HEADER: &str = "palisade-audit epoch key v1";

/// `audit-<first seq, 20 digits>.jsonl`.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{PREFIX}{first_seq:020}{SUFFIX}")
}

/// The segment files in `dir`, with the sequence number their names give, in order.
pub(crate) fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix(PREFIX)
            .and_then(|n| n.strip_suffix(SUFFIX))
        else {
            continue;
        };
        if num.len() == 20
            && let Ok(seq) = num.parse::<u64>()
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a directory entry (a new or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Replaces the key file atomically: a new file, synced, renamed over the old, directory
/// synced. The old key's bytes are gone from the file system's view once the rename is
/// durable (the storage below may keep old blocks; see the threat model).
pub(crate) fn save_key(dir: &Path, log_id: &[u8; 16], key: &MacKey) -> Result<(), OpenError> {
    use secrecy::ExposeSecret;
    let path = dir.join(KEY_FILE);
    let tmp = dir.join(format!("{KEY_FILE}.tmp"));
    let text = Zeroizing::new(format!(
        "{KEY_HEADER}\n{}\n{}\n{}\n",
        hex::encode(log_id),
        key.epoch(),
        Zeroizing::new(hex::encode(key.expose_secret())).as_str()
    ));
    let mut file = private_file(&tmp).map_err(io_err(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir).map_err(io_err(dir))
}

/// Reads the key file: the log id and the current epoch's key.
pub(crate) fn load_key(dir: &Path) -> Result<([u8; 16], MacKey), OpenError> {
    let path = dir.join(KEY_FILE);
    let bad = |reason| OpenError::KeyFile {
        path: path.clone(),
        reason,
    };
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            bad("the epoch key file is missing")
        } else {
            bad("the epoch key file cannot be read")
        }
    })?);
    let mut lines = text.lines();
    if lines.next() != Some(KEY_HEADER) {
        return Err(bad("not a palisade-audit epoch key file"));
    }
    let log_id = lines
        .next()
        .and_then(hex::decode::<16>)
        .ok_or_else(|| bad("no valid log id"))?;
    let epoch = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| bad("no valid epoch"))?;
    let bytes = Zeroizing::new(
        lines
            .next()
            .and_then(hex::decode::<32>)
            .ok_or_else(|| bad("no valid key"))?,
    );
    Ok((log_id, MacKey::at_epoch(epoch, *bytes)))
}
