//! The `validator` integration: custom validators, `Sensitive` and serde-named error paths.
#![cfg(feature = "validator")]

use palisade_sanitize::validate::{self, FieldNames, RenameRule, Sensitive};
use serde::Deserialize;
use validator::Validate;

#[derive(Debug, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[validate(custom(function = "validate::single_line_text"))]
    display_name: String,
    #[validate(custom(function = "validate::url"))]
    home_page: Option<String>,
    #[validate(custom(function = "validate::public_url"))]
    webhook_url: Option<String>,
    #[validate(custom(function = "validate::file_name"))]
    avatar_name: String,
    #[validate(custom(function = "validate::relative_path"))]
    folder: String,
    #[validate(custom(function = "validate::html_basic"))]
    bio: String,
    #[validate(length(min = 15), custom(function = "validate::text"))]
    password: Sensitive<String>,
    #[validate(email)]
    #[serde(rename = "mail")]
    email_address: Sensitive<String>,
    #[validate(nested)]
    address: Address,
    #[validate(nested)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
struct Address {
    #[validate(custom(function = "validate::single_line_text"))]
    post_code: String,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
struct Link {
    #[validate(custom(function = "validate::url"))]
    target_url: String,
}

const SECRET: &str = "hunter2-secret";

fn hostile() -> Profile {
    serde_json::from_value(serde_json::json!({
        "displayName": "eve\u{202e}nimda",
        "homePage": "javascript:alert(1)",
        "webhookUrl": "http://169.254.169.254/latest/meta-data",
        "avatarName": "../../etc/passwd",
        "folder": "a/../../b",
        "bio": "<img src=x onerror=alert(1)>",
        "password": SECRET,
        "mail": format!("{SECRET}-not-an-email"),
        "address": { "postCode": "line\nbreak" },
        "links": [ { "targetUrl": "https://ok.example/" }, { "targetUrl": "vbscript:x" } ],
    }))
    .unwrap()
}

#[test]
fn every_validator_fires_and_paths_use_serde_names() {
    let errors = hostile().validate().unwrap_err();
    let names = FieldNames::new(RenameRule::CamelCase).rename("email_address", "mail");
    let fields = validate::field_errors(&errors, &names);
    let got: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| (f.path.as_str(), f.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("address.postCode", "unsafe_text"),
            ("avatarName", "unsafe_file_name"),
            ("bio", "unsafe_html"),
            ("displayName", "unsafe_text"),
            ("folder", "unsafe_path"),
            ("homePage", "unsafe_url"),
            ("links[1].targetUrl", "unsafe_url"),
            ("mail", "email"),
            ("password", "length"),
            ("webhookUrl", "unsafe_url"),
        ]
    );
    let webhook = fields.iter().find(|f| f.path == "webhookUrl").unwrap();
    assert_eq!(webhook.params["reason"], "\"forbidden_address\"");
    assert!(fields.iter().all(|f| !f.params.contains_key("value")));
    assert_eq!(fields[2].params["removed"], "1");
}

#[test]
fn sensitive_values_never_appear() {
    let profile = hostile();
    let errors = profile.validate().unwrap_err();
    let debug = format!("{errors:?}");
    let display = errors.to_string();
    let json = serde_json::to_string(&errors).unwrap();
    for text in [&debug, &display, &json] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert!(json.contains("[REDACTED]"));
    assert!(!format!("{profile:?}").contains("hunter2"));
    assert_eq!(profile.password.expose(), SECRET);
    let fields = validate::field_errors(&errors, &FieldNames::default());
    let json = serde_json::to_string(&fields).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("javascript"),
        "{json}"
    );
    assert!(!json.contains("169.254"), "{json}");
}

#[test]
fn clean_input_validates() {
    let ok: Profile = serde_json::from_value(serde_json::json!({
        "displayName": "Zoë 👩‍💻",
        "homePage": "https://example.com/~zoe",
        "webhookUrl": "https://hooks.example.com/x",
        "avatarName": "zoe.png",
        "folder": "photos/2024",
        "bio": "<p>I <b>like</b> <code>rust</code>.</p>",
        "password": "correct horse battery staple",
        "mail": "zoe@example.com",
        "address": { "postCode": "SW1A 1AA" },
        "links": [],
    }))
    .unwrap();
    ok.validate().unwrap();
}

#[test]
fn rename_rules_match_serde() {
    let cases = [
        (RenameRule::None, "user_name"),
        (RenameRule::LowerCase, "user_name"),
        (RenameRule::UpperCase, "USER_NAME"),
        (RenameRule::PascalCase, "UserName"),
        (RenameRule::CamelCase, "userName"),
        (RenameRule::SnakeCase, "user_name"),
        (RenameRule::ScreamingSnakeCase, "USER_NAME"),
        (RenameRule::KebabCase, "user-name"),
        (RenameRule::ScreamingKebabCase, "USER-NAME"),
    ];
    for (rule, want) in cases {
        assert_eq!(rule.apply("user_name"), want, "{rule:?}");
    }
}

#[test]
fn standalone_validators() {
    assert!(validate::html_strict("plain &amp; text").is_ok());
    assert!(validate::html_strict("<b>x</b>").is_err());
    assert!(
        validate::html_rich(
            "<a href=\"https://example.com\" rel=\"noopener noreferrer nofollow\">x</a>"
        )
        .is_ok()
    );
    assert!(validate::image_upload(b"GIF89a\x01\0\x01\0".as_slice()).is_ok());
    assert!(validate::image_upload(b"<svg onload=alert(1)>".as_slice()).is_err());
    let sensitive = Sensitive::new(String::from("x"));
    assert_eq!(format!("{sensitive:?}"), "Sensitive([REDACTED])");
}
