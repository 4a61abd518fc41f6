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
