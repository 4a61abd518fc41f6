//! `openapi.yaml` describes exactly the routes the router serves.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;

#[test]
fn openapi_lists_exactly_the_served_routes() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(text.starts_with("openapi: 3.1."), "OpenAPI 3.1");
    let mut documented = BTreeSet::new();
    let mut in_paths = false;
    let mut path = String::new();
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
                documented.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = secure_api::routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(documented, served);
}
