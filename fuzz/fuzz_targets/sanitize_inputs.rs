//! Arbitrary strings through the URL policy (SSRF mode, no DNS), file names, `safe_join`,
//! text hygiene and upload sniffing: no input may panic, and each result keeps its promise.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use palisade_sanitize::{
    safe_join, sanitize_file_name,
    text::TextPolicy,
    upload::{FileKind, UploadPolicy},
    url::{AddressClass, UrlPolicy, classify_ip},
};

fuzz_target!(|data: &[u8]| {
    let images = UploadPolicy::new(FileKind::IMAGES).max_bytes(4096);
    let _ = images.check(data, Some("image/png"));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let ssrf = UrlPolicy::new()
        .deny_private_addresses(true)
        .resolver(|_: &str, _: u16| Err(std::io::Error::other("no DNS while fuzzing")));
    if let Ok(url) = ssrf.check(text) {
        for &ip in url.checked_addrs() {
            assert_eq!(classify_ip(ip), AddressClass::Public);
        }
        assert!(!url.as_str().contains(char::is_whitespace));
    }

    if let Ok(name) = sanitize_file_name(text) {
        assert!(!name.is_empty() && name.len() <= 255);
        assert!(!name.contains(['/', '\\', ':', '\0']));
        assert_eq!(sanitize_file_name(&name).as_deref(), Ok(name.as_str()));
    }

    let base = Path::new("/base");
    if let Ok(joined) = safe_join(base, text) {
        assert!(joined.starts_with(base));
        assert!(
            joined
                .components()
                .all(|c| !matches!(c, std::path::Component::ParentDir))
        );
    }

    let policy = TextPolicy::new();
    if let Ok(clean) = policy.clean(text) {
        assert_eq!(policy.clean(&clean).as_deref(), Ok(clean.as_str()));
    }
});
