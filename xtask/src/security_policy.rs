//! `SECURITY.md` against the files it describes: its dependency policy lists exactly the
//! allowed licences, licence exceptions, duplicate-version skips and ignored advisories of
//! `deny.toml`, its MSRV is the workspace's `rust-version`, and it names every crate.
//!
//! `deny.toml` is read by a small parser for the part of TOML it uses (tables, arrays of
//! tables, `key = value` with strings, arrays, inline tables and bare words, `#` comments),
//! so xtask keeps its single dependency.

use std::{collections::BTreeSet, path::Path};

/// The `deny.toml` lists that `SECURITY.md` repeats.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DenyLists {
    /// `[licenses] allow`.
    pub(crate) licences: BTreeSet<String>,
    /// `[[licenses.exceptions]]`, as (crate, licence) pairs.
    pub(crate) exceptions: BTreeSet<(String, String)>,
    /// `[bans] skip` and `skip-tree`, as `name` or `name@version`.
    pub(crate) skips: BTreeSet<String>,
    /// `[advisories] ignore`, as advisory ids.
    pub(crate) ignored: BTreeSet<String>,
}

/// The sections of `SECURITY.md`'s "Dependency policy" that hold the lists.
const LICENCES: &str = "Licences allowed";
const EXCEPTIONS: &str = "Licence exceptions";
const SKIPS: &str = "Duplicate versions allowed";
const IGNORED: &str = "Advisories ignored";

/// Adds to `problems` every difference between `SECURITY.md` and the files it describes.
pub(crate) fn check(root: &Path, crates: &[String], problems: &mut Vec<String>) {
    let read = |name: &str| std::fs::read_to_string(root.join(name));
    let (Ok(security), Ok(deny), Ok(manifest)) =
        (read("SECURITY.md"), read("deny.toml"), read("Cargo.toml"))
    else {
        problems.push("SECURITY.md, deny.toml or Cargo.toml cannot be read".to_owned());
        return;
    };
    match deny_lists(&deny) {
        Ok(lists) => compare(&security, &lists, problems),
        Err(e) => problems.push(format!("deny.toml: {e}")),
    }
    match rust_version(&manifest) {
        Some(msrv) if security.contains(&format!("The MSRV is {msrv},")) => {}
        Some(msrv) => problems.push(format!(
            "SECURITY.md must say \"The MSRV is {msrv},\" (the workspace's rust-version)"
        )),
        None => problems.push("Cargo.toml: no rust-version in [workspace.package]".to_owned()),
    }
    for name in crates {
        if !security.contains(&format!("`{name}`")) {
            problems.push(format!("SECURITY.md does not name `{name}`"));
        }
    }
}

/// Compares the lists in `SECURITY.md`'s "Dependency policy" with `deny.toml`'s.
pub(crate) fn compare(security: &str, deny: &DenyLists, problems: &mut Vec<String>) {
    let Some(policy) = section(security, "## Dependency policy") else {
        problems.push("SECURITY.md has no \"## Dependency policy\" section".to_owned());
        return;
    };
    let mut rows = |heading: &str| {
        let Some(text) = section(policy, &format!("### {heading}")) else {
            problems.push(format!(
                "SECURITY.md's dependency policy has no \"### {heading}\" section"
            ));
            return Vec::new();
        };
        table_rows(text)
    };
    let licences: BTreeSet<String> = rows(LICENCES).into_iter().map(|(c, _)| c).collect();
    let exceptions: BTreeSet<(String, String)> = rows(EXCEPTIONS)
        .into_iter()
        .flat_map(|(krate, licences)| {
            licences
                .split(',')
                .map(|l| (krate.clone(), l.trim().trim_matches('`').to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let skips: BTreeSet<String> = rows(SKIPS).into_iter().map(|(c, _)| c).collect();
    let ignored: BTreeSet<String> = rows(IGNORED).into_iter().map(|(c, _)| c).collect();
    differences(LICENCES, &licences, &deny.licences, problems);
    differences(EXCEPTIONS, &exceptions, &deny.exceptions, problems);
    differences(SKIPS, &skips, &deny.skips, problems);
    differences(IGNORED, &ignored, &deny.ignored, problems);
}

fn differences<T: Ord + std::fmt::Debug>(
    heading: &str,
    documented: &BTreeSet<T>,
    denied: &BTreeSet<T>,
    problems: &mut Vec<String>,
) {
    for item in denied.difference(documented) {
        problems.push(format!(
            "deny.toml has {item:?}, which SECURITY.md's \"{heading}\" does not list"
        ));
    }
    for item in documented.difference(denied) {
        problems.push(format!(
            "SECURITY.md's \"{heading}\" lists {item:?}, which deny.toml does not have"
        ));
    }
}

/// The text under `heading` (a whole line), up to the next heading of the same or a higher
/// level.
fn section<'t>(text: &'t str, heading: &str) -> Option<&'t str> {
    let level = heading.bytes().take_while(|&b| b == b'#').count();
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let hashes = trimmed.bytes().take_while(|&b| b == b'#').count();
        let is_heading = hashes > 0 && trimmed.as_bytes().get(hashes) == Some(&b' ');
        match start {
            None if trimmed == heading => start = Some(offset + line.len()),
            Some(from) if is_heading && hashes <= level => return Some(&text[from..offset]),
            _ => {}
        }
        offset += line.len();
    }
    start.map(|from| &text[from..])
}

/// Table rows whose first cell is a code span: (that code, the second cell as written).
fn table_rows(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
            let first = cells.next()?;
            let code = first.strip_prefix('`')?.strip_suffix('`')?;
            Some((code.to_owned(), cells.next().unwrap_or("").to_owned()))
        })
        .collect()
}

/// `rust-version = "..."` in `[workspace.package]`.
fn rust_version(manifest: &str) -> Option<String> {
    let package = section_of_toml(manifest, "[workspace.package]")?;
    package.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "rust-version").then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn section_of_toml<'t>(text: &'t str, header: &str) -> Option<&'t str> {
    let start = text.find(&format!("\n{header}\n"))? + header.len() + 2;
    let rest = &text[start..];
    Some(rest.find("\n[").map_or(rest, |end| &rest[..end]))
}

/// A TOML value, as far as `deny.toml` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    Array(Vec<Value>),
    Table(Vec<(String, Value)>),
    /// A bare word: a boolean, a number.
    Bare(String),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn items(&self) -> &[Value] {
        match self {
            Value::Array(items) => items,
            _ => &[],
        }
    }
}

/// Reads the lists out of `deny.toml`'s text.
pub(crate) fn deny_lists(text: &str) -> Result<DenyLists, String> {
    let mut lists = DenyLists::default();
    // The `[[licenses.exceptions]]` entry being read: its crate and its licences.
    let mut exception: Option<(Option<String>, Vec<String>)> = None;
    let flush = |exception: &mut Option<(Option<String>, Vec<String>)>,
                 lists: &mut DenyLists|
     -> Result<(), String> {
        if let Some((krate, licences)) = exception.take() {
            let krate = krate.ok_or("a [[licenses.exceptions]] entry has no crate")?;
            for licence in licences {
                lists.exceptions.insert((krate.clone(), licence));
            }
        }
        Ok(())
    };
    let mut table = String::new();
    for (key, value) in statements(text)? {
        if key.starts_with('[') {
            flush(&mut exception, &mut lists)?;
            key.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .clone_into(&mut table);
            if key.starts_with("[[") && table == "licenses.exceptions" {
                exception = Some((None, Vec::new()));
            }
            continue;
        }
        let value = parse_value(&value)?;
        match (table.as_str(), key.as_str()) {
            ("licenses", "allow") => {
                lists.licences.extend(strings(&value, "[licenses] allow")?);
            }
            ("licenses.exceptions", "allow") => {
                if let Some((_, licences)) = &mut exception {
                    licences.extend(strings(&value, "an exception's allow")?);
                }
            }
            ("licenses.exceptions", "crate" | "name") => {
                if let Some((krate, _)) = &mut exception {
                    *krate = value.as_str().map(str::to_owned);
                }
            }
            ("bans", "skip" | "skip-tree") => {
                for item in value.items() {
                    lists.skips.insert(package_spec(item)?);
                }
            }
            ("advisories", "ignore") => {
                for item in value.items() {
                    let id = item
                        .as_str()
                        .or_else(|| item.get("id").and_then(Value::as_str))
                        .ok_or("an [advisories] ignore entry has no id")?;
                    lists.ignored.insert(id.to_owned());
                }
            }
            _ => {}
        }
    }
    flush(&mut exception, &mut lists)?;
    Ok(lists)
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    value
        .items()
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{what} must be an array of strings"))
}

/// A `[bans]` entry as `name` or `name@version`: a string, or an inline table with `crate`
/// (or the older `name` and `version`).
fn package_spec(item: &Value) -> Result<String, String> {
    if let Some(spec) = item
        .as_str()
        .or_else(|| item.get("crate").and_then(Value::as_str))
    {
        return Ok(spec.to_owned());
    }
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a [bans] entry has no crate or name")?;
    Ok(match item.get("version").and_then(Value::as_str) {
        Some(version) => format!("{name}@{}", version.trim_start_matches('=')),
        None => name.to_owned(),
    })
}

/// The file as a list of (key, value text) statements, with table headers as (header, "").
/// Comments are removed; a value spans lines until its brackets and braces close.
fn statements(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut pending: Option<(String, String)> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = without_comment(raw);
        if let Some((key, mut value)) = pending.take() {
            value.push(' ');
            value.push_str(line.trim());
            if open_brackets(&value)? > 0 {
                pending = Some((key, value));
            } else {
                out.push((key, value));
            }
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            out.push((line.to_owned(), String::new()));
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = value`", number + 1))?;
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        if open_brackets(&value)? > 0 {
            pending = Some((key, value));
        } else {
            out.push((key, value));
        }
    }
    match pending {
        Some((key, _)) => Err(format!("`{key}`: an array or table is never closed")),
        None => Ok(out),
    }
}

/// The line without a `#` comment (a `#` inside a string is kept).
fn without_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// How many brackets and braces are open at the end of `text`, outside strings.
fn open_brackets(text: &str) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '[' | '{' if !in_string => depth += 1,
            ']' | '}' if !in_string => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced brackets in `{text}`"))?;
            }
            _ => {}
        }
    }
    Ok(depth)
}

fn parse_value(text: &str) -> Result<Value, String> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    let value = parser.value()?;
    parser.skip_space();
    if parser.at == parser.chars.len() {
        Ok(value)
    } else {
        Err(format!("unexpected text after a value: `{text}`"))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected `{c}` at character {}", self.at))
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        match self.peek() {
            Some('"') => self.string().map(Value::Str),
            Some('[') => self.sequence('[', ']', Self::value).map(Value::Array),
            Some('{') => self
                .sequence('{', '}', |p| {
                    p.skip_space();
                    let start = p.at;
                    while p
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        p.at += 1;
                    }
                    let key: String = p.chars[start..p.at].iter().collect();
                    p.expect('=')?;
                    Ok((key, p.value()?))
                })
                .map(Value::Table),
            Some(_) => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | ']' | '}') && !c.is_whitespace())
                {
                    self.at += 1;
                }
                Ok(Value::Bare(self.chars[start..self.at].iter().collect()))
            }
            None => Err("a value is missing".to_owned()),
        }
    }

    /// `open item, item, ... close`, a trailing comma allowed.
    fn sequence<T>(
        &mut self,
        open: char,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.expect(open)?;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok(items);
            }
            items.push(item(self)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "expected `,` or `{close}` at character {}",
                        self.at
                    ));
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("a string is never closed")?;
            self.at += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = self.peek().ok_or("a string is never closed")?;
                    self.at += 1;
                    out.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                other => out.push(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENY: &str = r#"
[advisories]
unmaintained = "all"
ignore = [
    "RUSTSEC-2023-0071", # a comment
    { id = "RUSTSEC-2024-0001", reason = "why # not a comment" },
]

[licenses]
confidence-threshold = 0.93
allow = ["MIT", "Apache-2.0"]

[[licenses.exceptions]]
# a comment with [brackets]
allow = ["MPL-2.0"]
crate = "cssparser"

[[licenses.exceptions]]
allow = [
    "ISC",
    "OpenSSL",
]
crate = "ring"

[bans]
multiple-versions = "deny"
skip = [
    { crate = "syn@2", reason = "proc macros; build-time only" },
    { name = "base64", version = "=0.22.1" },
    "hashbrown@0.15",
]
skip-tree = [{ crate = "windows-sys@0.52", reason = "a tree", depth = 2 }]
"#;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn deny_toml_lists_are_read() {
        let lists = deny_lists(DENY).expect("parses");
        assert_eq!(lists.licences, set(&["Apache-2.0", "MIT"]));
        assert_eq!(
            lists.exceptions,
            [
                ("cssparser", "MPL-2.0"),
                ("ring", "ISC"),
                ("ring", "OpenSSL")
            ]
            .iter()
            .map(|&(c, l)| (c.to_owned(), l.to_owned()))
            .collect()
        );
        assert_eq!(
            lists.skips,
            set(&[
                "syn@2",
                "base64@0.22.1",
                "hashbrown@0.15",
                "windows-sys@0.52"
            ])
        );
        assert_eq!(
            lists.ignored,
            set(&["RUSTSEC-2023-0071", "RUSTSEC-2024-0001"])
        );
    }

    #[test]
    fn malformed_deny_toml_is_an_error() {
        assert!(deny_lists("[bans]\nskip = [\n  \"a\",\n").is_err());
        assert!(deny_lists("[[licenses.exceptions]]\nallow = [\"ISC\"]\n").is_err());
        assert!(deny_lists("[licenses]\nallow = \"MIT\" x\n").is_err());
    }

    const SECURITY: &str = "
# Security policy

## Dependency policy

### Licences allowed

| Licence |
|---|
| `Apache-2.0` |
| `MIT` |

### Licence exceptions

| Crate | Licence | Why |
|---|---|---|
| `cssparser` | MPL-2.0 | css |
| `ring` | ISC, OpenSSL | crypto |

### Duplicate versions allowed

| Crate | Why |
|---|---|
| `syn@2` | macros |
| `base64@0.22.1` | jwt |
| `hashbrown@0.15` | maps |
| `windows-sys@0.52` | a tree |

### Advisories ignored

| Advisory | Why |
|---|---|
| `RUSTSEC-2023-0071` | rsa |
| `RUSTSEC-2024-0001` | why |

## Supply chain

| `not-a-skip` | outside the section |
";

    #[test]
    fn matching_lists_pass() {
        let mut problems = Vec::new();
        compare(SECURITY, &deny_lists(DENY).expect("parses"), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn every_difference_is_reported() {
        let mut deny = deny_lists(DENY).expect("parses");
        deny.skips.insert("rustls@0.22".to_owned());
        deny.skips.remove("syn@2");
        deny.exceptions
            .insert(("vaultrs".to_owned(), "MIT-0".to_owned()));
        deny.ignored.clear();
        deny.licences.insert("BSD-3-Clause".to_owned());
        let mut problems = Vec::new();
        compare(SECURITY, &deny, &mut problems);
        let text = problems.join("\n");
        for expected in [
            "rustls@0.22",
            "syn@2",
            "vaultrs",
            "RUSTSEC-2023-0071",
            "BSD-3-Clause",
        ] {
            assert!(text.contains(expected), "{expected} not reported:\n{text}");
        }
        assert_eq!(problems.len(), 6, "{text}");
    }

    #[test]
    fn a_missing_section_is_reported() {
        let mut problems = Vec::new();
        let without = SECURITY.replace("### Duplicate versions allowed", "### Duplicates");
        compare(&without, &deny_lists(DENY).expect("parses"), &mut problems);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no \"### Duplicate versions allowed\"")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_msrv_is_read_from_the_workspace_package() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2024\"\nrust-version = \"1.88\"\n\n[workspace.dependencies]\n";
        assert_eq!(rust_version(manifest).as_deref(), Some("1.88"));
    }
}
