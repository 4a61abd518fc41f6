//! The documents promise that every comparison of a secret value is constant time. This check
//! backs the promise for the whole workspace, in two halves:
//!
//! - every comparison the documents name is found at its site and goes through `subtle`
//!   (`ct_eq`) or a MAC's own constant-time check (`verify_slice`, which is `subtle` inside the
//!   `hmac` crate);
//! - no other line of library code compares a value named like a secret (a MAC, tag, digest,
//!   verifier, commitment, check value, signature or secret) with `==` or `!=`.
//!
//! palisade-password has its own, finer test (`digests_are_compared_only_in_constant_time`).

use std::{fs, path::Path};

/// A comparison of secrets the documents promise: the file, the function it sits in, and the
/// constant-time call that function must make.
struct Site {
    file: &'static str,
    function: &'static str,
    call: &'static str,
    /// How many such calls the function makes at least.
    calls: usize,
}

const SITES: [Site; 9] = [
    Site {
        file: "crates/palisade-audit/src/keys.rs",
        function: "fn check",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-crypt/src/cipher.rs",
        function: "fn commitment_matches",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-crypt/src/crypter.rs",
        // `decrypt` counts the outcome (feature `metrics`) around this one.
        function: "fn decrypt_unmetered",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-crypt/src/storage.rs",
        function: "fn open",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-crypt/src/blind_index.rs",
        function: "fn eq",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-token/src/opaque.rs",
        function: "fn matches",
        call: ".ct_eq(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-token/src/csrf.rs",
        // `verify` counts the outcome (feature `metrics`) around this one.
        function: "fn check_pair",
        call: ".ct_eq(",
        // The cookie against the submitted token, then the MAC against the session's.
        calls: 2,
    },
    Site {
        file: "crates/palisade-ratelimit/src/login/device.rs",
        function: "fn verify_at",
        call: ".verify_slice(",
        calls: 1,
    },
    Site {
        file: "crates/palisade-password/src/ct.rs",
        function: "fn digests_match",
        call: ".ct_eq(",
        calls: 1,
    },
];

/// Names that hold secret bytes wherever they appear in this workspace's library code.
const SECRET_NAMES: [&str; 11] = [
    "mac",
    "tag",
    "digest",
    "verifier",
    "stored_verifier",
    "commitment",
    "key_check",
    "context_check",
    "submitted",
    "secret",
    "signature",
];

pub(crate) fn check(root: &Path, problems: &mut Vec<String>) {
    for site in &SITES {
        match fs::read_to_string(root.join(site.file)) {
            Ok(text) => {
                if let Some(problem) = site_problem(&text, site) {
                    problems.push(format!("{}: {problem}", site.file));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", site.file)),
        }
    }
    let mut files = Vec::new();
    crate::tidy::rust_files(&root.join("crates"), &mut files);
    crate::tidy::rust_files(&root.join("examples"), &mut files);
    for file in files {
        let rel = file.strip_prefix(root).unwrap_or(&file).to_string_lossy();
        // Library and service code only: tests, benches and fuzz targets compare freely.
        if !rel.contains("/src/") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for (line, found) in variable_time_comparisons(&text) {
            problems.push(format!(
                "{rel}:{line}: `{found}` compares a secret with `==`/`!=`; use subtle's `ct_eq`"
            ));
        }
    }
}

/// Why `site` does not hold in `text`, if it does not.
fn site_problem(text: &str, site: &Site) -> Option<String> {
    let Some(start) = text
        .find(&format!("{}(", site.function))
        .or_else(|| text.find(&format!("{}<", site.function)))
    else {
        return Some(format!(
            "`{}` is gone: the constant-time check lists it (xtask/src/constant_time.rs)",
            site.function
        ));
    };
    // The function's body: up to the next item at the same or a lower indentation.
    let rest = &text[start..];
    let indent = text[..start]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.len() - l.trim_start().len());
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let line = &rest[i..];
            let next = line.lines().next().unwrap_or("");
            let depth = next.len() - next.trim_start().len();
            next.trim_start().starts_with('}') && depth == indent
        })
        .unwrap_or(rest.len());
    let body = &rest[..end];
    (body.matches(site.call).count() < site.calls).then(|| {
        format!(
            "`{}` calls `{}` fewer than {} time(s): its comparisons must stay constant time",
            site.function, site.call, site.calls
        )
    })
}

/// Lines (1-based) of `text`'s non-test code that compare a secret-named value with `==` or
/// `!=`, with the line's text.
fn variable_time_comparisons(text: &str) -> Vec<(usize, String)> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.trim();
        if line.starts_with("//") {
            continue;
        }
        let line = without_strings(line);
        let bytes = line.as_bytes();
        let compares_secret = (0..bytes.len().saturating_sub(1))
            .filter(|&i| matches!(&bytes[i..i + 2], b"==" | b"!="))
            .filter(|&i| i == 0 || !matches!(bytes[i - 1], b'=' | b'!' | b'<' | b'>'))
            .filter(|&i| bytes.get(i + 2) != Some(&b'='))
            .any(|i| {
                let operands = [left_operand(&line[..i]), right_operand(&line[i + 2..])];
                operands.iter().any(|operand| {
                    // A length is not secret.
                    !operand.contains("len")
                        && operand
                            .split(|c: char| !c.is_alphanumeric() && c != '_')
                            .any(|token| SECRET_NAMES.contains(&token))
                })
            });
        if compares_secret {
            found.push((n + 1, line.trim().to_owned()));
        }
    }
    found
}

/// The expression just before a comparison: back to an unmatched `(`, `[` or `{`, or to a
/// `,`, `;`, `|` (a closure's parameters, `||`), `&&` or a lone `=` outside brackets.
fn left_operand(before: &str) -> &str {
    let bytes = before.as_bytes();
    let mut depth = 0i32;
    let mut i = bytes.len();
    while i > 0 {
        let c = bytes[i - 1];
        if depth > 0 {
            match c {
                b')' | b']' => depth += 1,
                b'(' | b'[' => depth -= 1,
                _ => {}
            }
            i -= 1;
            continue;
        }
        let stop = match c {
            b')' | b']' => {
                depth += 1;
                false
            }
            b'(' | b'[' | b'{' | b'}' | b',' | b';' | b'|' => true,
            b'&' => i >= 2 && bytes[i - 2] == b'&',
            // A lone `=` (an assignment), not part of `==`, `!=`, `<=`, `>=` or `=>`.
            b'=' => {
                let after = matches!(bytes.get(i), Some(b'=' | b'>'));
                let before = i >= 2 && matches!(bytes[i - 2], b'=' | b'!' | b'<' | b'>');
                !(after || before)
            }
            _ => false,
        };
        if stop {
            break;
        }
        i -= 1;
    }
    &before[i..]
}

/// The expression just after a comparison: up to an unmatched `)`, `]` or `}`, or to a `{`,
/// `,`, `;`, `|` or `&&` outside brackets.
fn right_operand(after: &str) -> &str {
    let bytes = after.as_bytes();
    let mut depth = 0i32;
    let mut end = bytes.len();
    for (i, &c) in bytes.iter().enumerate() {
        if depth > 0 {
            match c {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                _ => {}
            }
            continue;
        }
        let stop = match c {
            b'(' | b'[' => {
                depth += 1;
                false
            }
            b')' | b']' | b'}' | b'{' | b',' | b';' | b'|' => true,
            b'&' => bytes.get(i + 1) == Some(&b'&'),
            _ => false,
        };
        if stop {
            end = i;
            break;
        }
    }
    &after[..end]
}

/// `line` with the contents of its string literals blanked, so a field name in a format (`"mac"`)
/// is not read as a variable.
fn without_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace's secret comparisons all go through `subtle` (or `hmac`'s `verify_slice`),
    /// and no library line compares a secret-named value with `==`.
    #[test]
    fn secret_comparisons_are_constant_time() {
        let mut problems = Vec::new();
        check(&crate::workspace_root(), &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// The check fails when a listed comparison stops using `subtle`.
    #[test]
    fn a_site_without_ct_eq_is_reported() {
        let site = Site {
            file: "x.rs",
            function: "fn verify",
            call: ".ct_eq(",
            calls: 1,
        };
        let good = "impl X {\n    fn verify(&self, t: &[u8]) -> bool {\n        self.mac.ct_eq(t).into()\n    }\n}\n";
        let bad = "impl X {\n    fn verify(&self, t: &[u8]) -> bool {\n        self.mac == t\n    }\n    fn other() { a.ct_eq(b) }\n}\n";
        assert_eq!(site_problem(good, &site), None);
        assert!(site_problem(bad, &site).is_some());
        assert!(site_problem("fn other() {}", &site).is_some());
    }

    /// The check fails on a variable-time comparison of a secret-named value, and not on
    /// lengths, string literals or test code.
    #[test]
    fn a_variable_time_secret_comparison_is_reported() {
        let text = "fn f() {\n    if tag == expected_tag {}\n    if mac.len() == 32 {}\n    if &line[..8] != b\",\\\"mac\\\":\" {}\n    let ok = submitted != cookie;\n    let secret = text.rsplit(|b| *b == b'/').next();\n    if expected.as_slice() == mac.as_slice() {}\n    let n = stored_verifier.len() == 16 && ok;\n}\n#[cfg(test)]\nmod tests {\n    fn g() { assert!(mac == mac); }\n}\n";
        let found: Vec<usize> = variable_time_comparisons(text)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found, vec![2, 5, 7]);
    }
}
