//! Upload checks: a size limit, and the content type decided by the file's first bytes, never
//! by the name or the `Content-Type` the client sent.

use core::fmt;
use std::io::{Read, Write};

/// A file type recognised by its signature (magic bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (87a or 89a).
    Gif,
    /// WebP.
    Webp,
    /// AVIF.
    Avif,
    /// HEIC / HEIF.
    Heic,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
    /// Windows icon.
    Ico,
    /// PDF. Can carry JavaScript and forms; serve it as a download.
    Pdf,
    /// ZIP, and formats built on it (DOCX, XLSX, ODT, JAR, APK, EPUB).
    Zip,
    /// gzip.
    Gzip,
    /// MP4 / `QuickTime` family (ISO base media).
    Mp4,
    /// `WebM` / Matroska.
    Webm,
    /// Ogg.
    Ogg,
    /// WAVE.
    Wav,
    /// MP3.
    Mp3,
    /// FLAC.
    Flac,
    /// UTF-8 text with no markup signature and no NUL.
    Text,
    /// HTML: runs script if served inline from your origin.
    Html,
    /// SVG: an image format that runs script if served inline from your origin.
    Svg,
    /// Other XML.
    Xml,
    /// Executables and scripts: ELF, PE (`MZ`), Mach-O, `#!`.
    Executable,
}

impl FileKind {
    /// The media type to serve the file with.
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Heic => "image/heic",
            Self::Bmp => "image/bmp",
            Self::Tiff => "image/tiff",
            Self::Ico => "image/vnd.microsoft.icon",
            Self::Pdf => "application/pdf",
            Self::Zip => "application/zip",
            Self::Gzip => "application/gzip",
            Self::Mp4 => "video/mp4",
            Self::Webm => "video/webm",
            Self::Ogg => "application/ogg",
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Flac => "audio/flac",
            Self::Text => "text/plain; charset=utf-8",
            Self::Html => "text/html",
            Self::Svg => "image/svg+xml",
            Self::Xml => "application/xml",
            Self::Executable => "application/octet-stream",
        }
    }

    /// Whether a browser runs script in this file when it is served inline from your origin.
    pub const fn is_active_content(self) -> bool {
        matches!(self, Self::Html | Self::Svg | Self::Xml | Self::Pdf)
    }

    /// The common raster image formats: JPEG, PNG, GIF, WebP, AVIF.
    pub const IMAGES: &'static [FileKind] =
        &[Self::Jpeg, Self::Png, Self::Gif, Self::Webp, Self::Avif];
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Bytes read to decide the type.
pub const SNIFF_LEN: usize = 512;

/// Identifies `head` (the first bytes of a file; [`SNIFF_LEN`] are enough) by its signature.
/// Returns `None` for binary data of no known type.
///
/// ```
/// use palisade_sanitize::upload::{FileKind, sniff};
/// assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileKind::Png));
/// assert_eq!(sniff(b"  <!DOCTYPE html><script>"), Some(FileKind::Html));
/// assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg xmlns="), Some(FileKind::Svg));
/// ```
pub fn sniff(head: &[u8]) -> Option<FileKind> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    let starts = |sig: &[u8]| head.starts_with(sig);
    let at = |offset: usize, sig: &[u8]| head.get(offset..offset + sig.len()) == Some(sig);
    let kind = if starts(b"\xFF\xD8\xFF") {
        FileKind::Jpeg
    } else if starts(b"\x89PNG\r\n\x1A\n") {
        FileKind::Png
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        FileKind::Gif
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        FileKind::Webp
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        FileKind::Wav
    } else if at(4, b"ftyp") {
        match head.get(8..12) {
            Some(b"avif" | b"avis") => FileKind::Avif,
            Some(b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis") => FileKind::Heic,
            _ => FileKind::Mp4,
        }
    } else if starts(b"BM") && head.len() >= 14 {
        FileKind::Bmp
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        FileKind::Tiff
    } else if starts(b"\0\0\x01\0") {
        FileKind::Ico
    } else if starts(b"%PDF-") {
        FileKind::Pdf
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        FileKind::Zip
    } else if starts(b"\x1F\x8B") {
        FileKind::Gzip
    } else if starts(b"\x1A\x45\xDF\xA3") {
        FileKind::Webm
    } else if starts(b"OggS") {
        FileKind::Ogg
    } else if starts(b"fLaC") {
        FileKind::Flac
    } else if starts(b"ID3") || starts(b"\xFF\xFB") || starts(b"\xFF\xF3") || starts(b"\xFF\xF2") {
        FileKind::Mp3
    } else if starts(b"\x7FELF")
        || starts(b"MZ")
        || starts(b"#!")
        || starts(b"\xCF\xFA\xED\xFE")
        || starts(b"\xCE\xFA\xED\xFE")
        || starts(b"\xCA\xFE\xBA\xBE")
    {
        FileKind::Executable
    } else {
        return sniff_text(head);
    };
    Some(kind)
}

/// Markup and text: after an optional BOM and whitespace, what browsers sniff as HTML (the
/// WHATWG MIME Sniffing patterns), SVG or XML; otherwise UTF-8 text without NUL.
fn sniff_text(head: &[u8]) -> Option<FileKind> {
    const HTML: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let trimmed = body.trim_ascii_start();
    let lower: Vec<u8> = trimmed
        .iter()
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect();
    let tag_end = |len: usize| {
        matches!(
            lower.get(len),
            Some(b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'\x0c') | None
        )
    };
    if HTML
        .iter()
        .any(|p| lower.starts_with(p) && (p == b"<!--" || tag_end(p.len())))
    {
        return Some(FileKind::Html);
    }
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if lower.starts_with(b"<svg") || (lower.starts_with(b"<?xml") && contains(b"<svg")) {
        return Some(FileKind::Svg);
    }
    if lower.starts_with(b"<?xml") {
        return Some(FileKind::Xml);
    }
    // Markup anywhere in the head can still be sniffed by old browsers: call it HTML.
    if contains(b"<script") || contains(b"<html") || contains(b"<svg") || contains(b"<iframe") {
        return Some(FileKind::Html);
    }
    let valid = match std::str::from_utf8(body) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the head is fine.
        Err(e) => e.error_len().is_none(),
    };
    (valid && !body.contains(&0)).then_some(FileKind::Text)
}

/// An upload refused by an [`UploadPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Empty.
    #[error("upload is empty")]
    Empty,
    /// Larger than the limit.
    #[error("upload is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Not of an allowed type; `detected` is what the bytes are, if recognised.
    #[error("upload type is not allowed")]
    TypeNotAllowed {
        /// The type the signature says.
        detected: Option<FileKind>,
    },
    /// The client's claimed type differs from the detected one (only with
    /// [`UploadPolicy::require_matching_claim`]).
    #[error("upload content does not match its declared type")]
    ClaimMismatch {
        /// The type the signature says.
        detected: FileKind,
    },
    /// Reading or writing the stream failed.
    #[error("upload stream failed: {0}")]
    Io(std::io::ErrorKind),
}

/// Which uploads are accepted.
///
/// ```
/// use palisade_sanitize::upload::{FileKind, UploadError, UploadPolicy};
///
/// let avatars = UploadPolicy::new(FileKind::IMAGES).max_bytes(2 << 20);
/// let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR...";
/// assert_eq!(avatars.check(png, Some("image/jpeg")).unwrap(), FileKind::Png); // claim ignored
/// let html = b"<html><script>alert(document.cookie)</script>";
/// assert!(matches!(avatars.check(html, Some("image/png")), Err(UploadError::TypeNotAllowed { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    allowed: Vec<FileKind>,
    max_bytes: u64,
    strict_claim: bool,
}

impl UploadPolicy {
    /// Accepts `allowed` types, up to 10 MiB.
    pub fn new(allowed: &[FileKind]) -> Self {
        Self {
            allowed: allowed.to_vec(),
            max_bytes: 10 << 20,
            strict_claim: false,
        }
    }

    /// The largest upload accepted, in bytes.
    #[must_use]
    pub fn max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = max;
        self
    }

    /// Also refuse an upload whose claimed media type is not the detected one. The claim never
    /// makes a type acceptable; this only adds a refusal.
    #[must_use]
    pub fn require_matching_claim(mut self, require: bool) -> Self {
        self.strict_claim = require;
        self
    }

    /// Checks an upload held in memory. Returns the detected type: serve the file with
    /// [`FileKind::mime`], `X-Content-Type-Options: nosniff`, and preferably from another
    /// origin or as `Content-Disposition: attachment`.
    ///
    /// # Errors
    /// [`UploadError::Empty`], [`UploadError::TooLarge`], [`UploadError::TypeNotAllowed`] or
    /// [`UploadError::ClaimMismatch`].
    pub fn check(&self, bytes: &[u8], claimed: Option<&str>) -> Result<FileKind, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if bytes.len() as u64 > self.max_bytes {
            return Err(UploadError::TooLarge {
                max: self.max_bytes,
            });
        }
        self.judge(bytes, claimed)
    }

    /// Copies an upload from `reader` to `writer`, stopping as soon as it passes the size limit
    /// (so an endless stream costs at most the limit), and checks its type from the first
    /// bytes. Returns the type and the size. On error, discard what was written.
    ///
    /// # Errors
    /// As [`UploadPolicy::check`], or [`UploadError::Io`].
    pub fn check_stream<R: Read, W: Write>(
        &self,
        mut reader: R,
        mut writer: W,
        claimed: Option<&str>,
    ) -> Result<(FileKind, u64), UploadError> {
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut total: u64 = 0;
        let mut buf = [0u8; 8192];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(UploadError::Io(e.kind())),
            };
            total += n as u64;
            if total > self.max_bytes {
                return Err(UploadError::TooLarge {
                    max: self.max_bytes,
                });
            }
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(n);
                head.extend_from_slice(&buf[..take]);
            }
            writer
                .write_all(&buf[..n])
                .map_err(|e| UploadError::Io(e.kind()))?;
        }
        if total == 0 {
            return Err(UploadError::Empty);
        }
        let kind = self.judge(&head, claimed)?;
        Ok((kind, total))
    }

    fn judge(&self, head: &[u8], claimed: Option<&str>) -> Result<FileKind, UploadError> {
        let detected = sniff(head);
        let Some(kind) = detected.filter(|k| self.allowed.contains(k)) else {
            return Err(UploadError::TypeNotAllowed { detected });
        };
        if self.strict_claim {
            let claim = claimed
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let expected = kind.mime().split(';').next().unwrap_or("");
            let jpeg_alias = kind == FileKind::Jpeg && claim == "image/jpg";
            if claim != expected && !jpeg_alias {
                return Err(UploadError::ClaimMismatch { detected: kind });
            }
        }
        Ok(kind)
    }
}
