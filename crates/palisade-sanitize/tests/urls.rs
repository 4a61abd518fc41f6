//! `UrlPolicy` against the SSRF vectors in `vectors/ssrf.txt`, escaping, uploads and text.

mod common;

use common::records;
use palisade_sanitize::{
    escape,
    text::{TextError, TextPolicy},
    upload::{FileKind, UploadError, UploadPolicy, sniff},
    url::{UrlError, UrlPolicy},
};

#[test]
fn ssrf_vectors() {
    // No DNS in tests: names that are not local resolve through a resolver that fails.
    let policy = UrlPolicy::new()
        .schemes(["http", "https"])
        .unwrap()
        .deny_private_addresses(true)
        .resolver(|_: &str, _: u16| Err(std::io::Error::other("no DNS in tests")));
    let lenient = UrlPolicy::new().schemes(["http", "https"]).unwrap();
    for (line, record) in records("ssrf.txt") {
        let (expected, url) = record.split_once('\t').unwrap();
        let got = policy.check(url);
        let name = match &got {
            Ok(_) => "public",
            Err(UrlError::ForbiddenAddress { class }) => class.as_str(),
            Err(e) => e.as_str(),
        };
        assert_eq!(name, expected, "ssrf.txt:{line}: {url:?} gave {got:?}");
        if expected == "public" {
            assert!(!got.unwrap().checked_addrs().is_empty());
        }
        // Without SSRF mode, addresses pass but the other rules still hold.
        let plain = lenient.check(url);
        if matches!(
            expected,
            "scheme_not_allowed" | "credentials" | "forbidden_character" | "malformed"
        ) {
            assert!(plain.is_err(), "ssrf.txt:{line}");
        } else {
            assert!(plain.is_ok(), "ssrf.txt:{line}: {plain:?}");
        }
    }
}

#[test]
fn url_policy_rules() {
    let p = UrlPolicy::new();
    assert_eq!(
        p.check("https://EXAMPLE.com/a b"),
        Err(UrlError::ForbiddenCharacter)
    );
    assert_eq!(
        p.check("https://EXAMPLE.com/%20").unwrap().as_str(),
        "https://example.com/%20"
    );
    assert_eq!(p.check("/relative"), Err(UrlError::Malformed));
    assert_eq!(p.check("https:///x").unwrap().host(), Some("x"));
    assert!(p.check("mailto:someone@example.com").is_ok());
    assert_eq!(
        p.check("https://\u{200B}example.com/"),
        Err(UrlError::ForbiddenCharacter)
    );
    let long = format!("https://example.com/{}", "a".repeat(3000));
    assert_eq!(p.check(&long), Err(UrlError::TooLong { max: 2048 }));
    let hosts = UrlPolicy::new()
        .allow_hosts(["example.com", "*.cdn.example"])
        .unwrap();
    assert!(hosts.check("https://example.com/").is_ok());
    assert!(hosts.check("https://a.cdn.example/").is_ok());
    assert_eq!(
        hosts.check("https://cdn.example/"),
        Err(UrlError::HostNotAllowed)
    );
    assert_eq!(
        hosts.check("https://example.com.evil.test/"),
        Err(UrlError::HostNotAllowed)
    );
    let ports = UrlPolicy::new().allow_ports([443]);
    assert!(ports.check("https://example.com/").is_ok());
    assert_eq!(
        ports.check("https://example.com:8443/"),
        Err(UrlError::PortNotAllowed { port: 8443 })
    );
    assert!(UrlPolicy::new().schemes(["JavaScript"]).is_err());
    assert!(UrlPolicy::new().schemes(["ht tp"]).is_err());
    assert!(
        UrlPolicy::new()
            .insecure_allow_credentials(true)
            .check("https://u:p@example.com/")
            .is_ok()
    );
    let early = UrlPolicy::new()
        .deny_private_addresses(true)
        .resolve_names(false);
    assert!(early.check("https://example.com/").is_ok());
    assert!(early.check("https://localhost/").is_err());
    assert!(!format!("{:?}", p.check("https://secret-token@example.com/")).contains("secret"));
}

#[test]
fn escaping_round_trips() {
    let hostile = r#"<script>"'&`"#;
    assert_eq!(
        escape::html_text(hostile),
        "&lt;script&gt;&quot;&#39;&amp;`"
    );
    assert_eq!(
        escape::html_attribute(hostile),
        "&lt;script&gt;&quot;&#39;&amp;&#96;"
    );
    assert_eq!(escape::url_component("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
}

#[test]
fn uploads_by_signature() {
    let images = UploadPolicy::new(FileKind::IMAGES).max_bytes(1024);
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
    assert_eq!(images.check(jpeg, Some("text/html")), Ok(FileKind::Jpeg));
    assert_eq!(images.check(b"", None), Err(UploadError::Empty));
    assert_eq!(
        images.check(&[0xFF; 2000], None),
        Err(UploadError::TooLarge { max: 1024 })
    );
    for (bytes, kind) in [
        (
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"[..],
            FileKind::Svg,
        ),
        (&b"\xEF\xBB\xBF  <HTML><body>"[..], FileKind::Html),
        (
            &b"plain text with <script>alert(1)</script>"[..],
            FileKind::Html,
        ),
        (&b"MZ\x90\0"[..], FileKind::Executable),
        (&b"#!/bin/sh\nrm -rf /"[..], FileKind::Executable),
        (&b"%PDF-1.7\n"[..], FileKind::Pdf),
    ] {
        assert_eq!(
            images.check(bytes, Some("image/png")),
            Err(UploadError::TypeNotAllowed {
                detected: Some(kind)
            })
        );
        assert!(kind.is_active_content() || kind == FileKind::Executable || kind == FileKind::Html);
    }
    assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(FileKind::Webp));
    assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Some(FileKind::Avif));
    assert_eq!(sniff(b"\0\0\0\x18ftypisom"), Some(FileKind::Mp4));
    assert_eq!(sniff(b"hello, world\n"), Some(FileKind::Text));
    assert_eq!(sniff(b"\0\x01\x02binary"), None);
    let strict = UploadPolicy::new(&[FileKind::Png]).require_matching_claim(true);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert!(strict.check(png, Some("image/png; charset=binary")).is_ok());
    assert_eq!(
        strict.check(png, Some("image/gif")),
        Err(UploadError::ClaimMismatch {
            detected: FileKind::Png
        })
    );
    assert!(strict.check(png, None).is_err());
}

#[test]
fn upload_stream_stops_at_the_limit() {
    let policy = UploadPolicy::new(&[FileKind::Gif]).max_bytes(10_000);
    let mut out = Vec::new();
    let (kind, size) = policy
        .check_stream(&b"GIF89a\x01\0\x01\0"[..], &mut out, None)
        .unwrap();
    assert_eq!((kind, size), (FileKind::Gif, 10));
    assert_eq!(out.len(), 10);
    let endless = std::io::repeat(b'G');
    let mut sink = Vec::new();
    assert_eq!(
        policy.check_stream(endless, &mut sink, None),
        Err(UploadError::TooLarge { max: 10_000 })
    );
    assert!(sink.len() <= 10_000);
}

#[test]
fn text_hygiene() {
    let p = TextPolicy::new();
    // Trojan Source (CVE-2021-42574): an isolate and an override hide code.
    let trojan = "access_level != \"user\u{202E} \u{2066}// Check if admin\u{2069} \u{2066}\"";
    let cleaned = p.clean(trojan).unwrap();
    assert!(
        !cleaned
            .chars()
            .any(palisade_sanitize::text::is_bidi_control)
    );
    assert_eq!(p.check(&cleaned), Ok(()));
    assert_eq!(p.check(trojan), Err(TextError::NotClean));
    assert_eq!(
        p.clean("\u{E0041}\u{E0042}hidden tags").unwrap(),
        "hidden tags"
    );
    assert_eq!(p.clean("ab\u{7f}\u{85}c").unwrap(), "abc");
    let short = TextPolicy::new().max_graphemes(2).unwrap();
    assert!(short.clean("🇫🇷🇩🇪").is_ok()); // two flags, four code points
    assert_eq!(short.clean("🇫🇷🇩🇪x"), Err(TextError::TooLong { max: 2 }));
    assert!(TextPolicy::new().max_graphemes(0).is_err());
}
