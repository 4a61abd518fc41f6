//! A tour of palisade-sanitize: `cargo run -p palisade-sanitize --example sanitize_tour`.

#![allow(clippy::print_stdout, reason = "an example shows its results")]
use std::path::Path;

use palisade_sanitize::{
    escape,
    html::{Danger, Disallowed, Policy, Preset},
    safe_join, sanitize_file_name,
    text::TextPolicy,
    upload::{FileKind, UploadPolicy},
    url::UrlPolicy,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let comment = r#"<p>Nice post! <img src=x onerror=alert(1)><a href="java&#x09;script:alert(2)">click</a>
        <svg><animate attributeName=href values=javascript:alert(3) /></svg></p>"#;

    let policy = Policy::rich();
    let (html, report) = policy.clean_with_report(comment)?;
    println!("sanitized: {html}");
    for removal in report.removals() {
        println!("  removed {removal}");
    }

    let escaping = Policy::builder()
        .preset(Preset::Basic)
        .disallowed(Disallowed::Escape)
        .build()?;
    println!(
        "escaped:   {}",
        escaping.clean("<b>bold</b> <blink>old</blink>")?
    );

    match Policy::builder().allow_elements(["style"]).build() {
        Err(e) => println!("refused:   {e}"),
        Ok(_) => println!("unexpectedly built"),
    }
    let _explicit = Policy::builder()
        .allow_elements(["svg"])
        .dangerous_allow(Danger::ForeignContent)
        .build()?;

    println!(
        "attribute: title=\"{}\"",
        escape::html_attribute("\" autofocus onfocus=\"x")
    );
    println!("query:     ?q={}", escape::url_component("a&b=c"));

    let fetch = UrlPolicy::new().https_only().deny_private_addresses(true);
    for url in [
        "https://0x7f.1/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://user@host/",
    ] {
        println!(
            "url {url}: {:?}",
            fetch
                .check(url)
                .map(palisade_sanitize::url::SafeUrl::into_string)
        );
    }

    println!(
        "file name: {}",
        sanitize_file_name("..\\CON.txt\u{202E}gpj.exe")?
    );
    println!(
        "join:      {:?}",
        safe_join(Path::new("/srv/up"), "a/../../etc")
    );

    let images = UploadPolicy::new(FileKind::IMAGES);
    println!(
        "upload:    {:?}",
        images.check(b"GIF89a<script>alert(1)</script>", Some("text/html"))
    );

    let text = TextPolicy::single_line().clean("user\u{202E}nimda\u{200B}\n")?;
    println!("text:      {text}");
    Ok(())
}
