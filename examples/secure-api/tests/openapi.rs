//! `openapi.yaml` describes exactly the routes the router serves, and marks exactly those
//! behind the bearer layer as needing a token.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;

use secure_api::Access;

#[test]
fn openapi_lists_exactly_the_served_routes() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(text.starts_with("openapi: 3.1."), "OpenAPI 3.1");
    let mut documented = BTreeSet::new();
    let mut in_paths = false;
    let mut path = String::new();
    let mut operation: Option<(String, String)> = None;
    let mut bearer = BTreeSet::new();
    for line in text.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.is_empty() {
            in_paths = false;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = format!("/{}", p.trim_end_matches(':'));
        } else if let Some(m) = line.strip_prefix("    ") {
            let m = m.trim_end_matches(':');
            if ["get", "put", "post", "delete", "patch"].contains(&m) {
                let op = (m.to_uppercase(), path.clone());
                documented.insert(op.clone());
                operation = Some(op);
            } else if m.trim() == "security: [{ bearer: [] }]"
                && let Some(op) = &operation
            {
                bearer.insert(op.clone());
            }
        }
    }
    let routes = secure_api::routes();
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, served);
    let protected: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|(_, _, access)| matches!(access, Access::User | Access::Admin))
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        bearer, protected,
        "security: [{{ bearer: [] }}] on exactly these"
    );
}

/// Schema tools read `openapi.yaml` with a YAML parser: a plain (unquoted) value must not hold
/// `: ` or ` #`, which YAML reads as a nested mapping or a comment. (The description of the
/// readiness 503 once did, and every YAML parser refused the whole document.)
#[test]
fn openapi_plain_values_are_valid_yaml_scalars() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let item = line.trim_start().trim_start_matches("- ");
        let Some((key, value)) = item.split_once(": ") else {
            continue;
        };
        if key.contains(['{', '[', '"', '\'']) {
            continue;
        }
        let value = value.trim();
        let plain = !value.starts_with(['"', '\'', '{', '[', '>', '|', '&', '*', '!']);
        if plain && (value.contains(": ") || value.contains(" #")) {
            bad.push(format!("{}: {line}", n + 1));
        }
    }
    assert!(bad.is_empty(), "plain values YAML cannot read: {bad:#?}");
}

/// Every request body the service parses refuses unknown members (`deny_unknown_fields`), so
/// every inline request schema says `additionalProperties: false`, as the component schemas
/// used for requests (`Credentials`, `ProfileUpdate`) do.
#[test]
fn openapi_request_bodies_refuse_unknown_members() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let mut in_request = false;
    let mut open_object: Option<usize> = None;
    let mut missing = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("requestBody:") {
            in_request = true;
        } else if trimmed.starts_with("responses:") {
            in_request = false;
        }
        if !in_request {
            continue;
        }
        if trimmed == "type: object" {
            open_object = Some(n + 1);
        } else if trimmed == "additionalProperties: false" {
            open_object = None;
        } else if trimmed == "properties:"
            && let Some(at) = open_object.take()
        {
            missing.push(at);
        }
    }
    assert!(
        missing.is_empty(),
        "request schemas without additionalProperties: false at lines {missing:?}"
    );
    for name in ["Credentials", "ProfileUpdate"] {
        let at = text.find(&format!("    {name}:\n")).unwrap();
        let block: String = text[at..].lines().skip(1).take(4).collect();
        assert!(block.contains("additionalProperties: false"), "{name}");
    }
}

/// The lines under the first line equal to `header` that are indented deeper than it.
fn block<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let indent = header.len() - header.trim_start().len();
    let mut lines = text.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no line {header:?}");
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .collect()
}

/// The value of `key` in `lines` (the first `key: value` line), YAML single quotes removed.
fn value(lines: &[&str], key: &str) -> String {
    let prefix = format!("{key}: ");
    let raw = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {lines:#?}"));
    match raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(quoted) => quoted.replace("''", "'"),
        None => raw.to_owned(),
    }
}

fn number(lines: &[&str], key: &str) -> usize {
    value(lines, key).parse().unwrap()
}

/// The declared limits and character sets are the validators' own constants
/// (`secure_api::limits`, the password policy, `Config::default().max_body_bytes`), so the
/// document cannot drift from the code again (it once said 64 for a 256-character maximum).
#[test]
fn openapi_limits_are_the_services_constants() {
    use secure_api::limits::*;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();

    let password = block(&text, "    NewPassword:");
    assert_eq!(number(&password, "minLength"), PASSWORD_MIN_CHARS);
    assert_eq!(number(&password, "maxLength"), PASSWORD_MAX_CHARS);
    let policy = palisade_password::PasswordPolicy::single_factor();
    assert_eq!(
        (policy.min_chars(), policy.max_chars()),
        (PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS),
        "the service's policy"
    );

    let email = block(&text, "    Email:");
    assert_eq!(number(&email, "maxLength"), EMAIL_MAX_CHARS);
    assert_eq!(value(&email, "pattern"), EMAIL_PATTERN);

    let profile = block(&text, "    ProfileUpdate:").join("\n");
    let name = block(&profile, "        display_name:");
    assert_eq!(number(&name, "maxLength"), DISPLAY_NAME_MAX_CHARS);
    assert_eq!(value(&name, "pattern"), DISPLAY_NAME_PATTERN);
    let phone = block(&profile, "        phone:");
    assert_eq!(number(&phone, "maxLength"), PHONE_MAX_CHARS);
    assert_eq!(value(&phone, "pattern"), PHONE_PATTERN);
    let address = block(&profile, "        address:");
    assert_eq!(number(&address, "maxLength"), ADDRESS_MAX_CHARS);
    assert_eq!(value(&address, "pattern"), ADDRESS_PATTERN);
    let bio = block(&profile, "        bio:");
    assert_eq!(number(&bio, "maxLength"), BIO_MAX_CHARS);

    // Every new password (register, reset, change) takes the one declaration.
    assert_eq!(
        text.matches("$ref: \"#/components/schemas/NewPassword\"")
            .count(),
        3
    );

    let body = secure_api::Config::default().max_body_bytes;
    let info = block(&text, "info:")
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        info.contains(&format!("at most {body} bytes")),
        "info names the body limit {body}"
    );
    let too_large = block(&text, "    PayloadTooLarge:");
    assert_eq!(
        value(&too_large, "description"),
        format!("The body is larger than `max_body_bytes` ({body} by default).")
    );
}

/// Problem documents are declared once: every error response is a reference to a shared
/// response in `components/responses`, and each of those to the one `Problem` schema.
#[test]
fn openapi_problems_are_declared_once_and_referenced() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let paths = block(&text, "paths:");
    let mut inline = Vec::new();
    for line in &paths {
        let trimmed = line.trim();
        let Some(status) = trimmed
            .strip_prefix('"')
            .and_then(|t| t.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
        else {
            continue;
        };
        if (400..600).contains(&status)
            && !trimmed.contains("$ref: \"#/components/responses/")
            && status != 503
        {
            inline.push(trimmed.to_owned());
        }
    }
    assert!(inline.is_empty(), "inline error responses: {inline:#?}");
    let schema_refs = text
        .matches("schema: { $ref: \"#/components/schemas/Problem\" }")
        .count();
    let responses = block(&text, "  responses:");
    let with_body = responses
        .iter()
        .filter(|l| l.trim() == "application/problem+json:")
        .count();
    assert!(with_body >= 8, "{with_body}");
    assert!(schema_refs >= with_body);
    assert_eq!(
        text.matches("    Problem:").count(),
        1,
        "one Problem schema"
    );
}
