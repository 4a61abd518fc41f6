//! Rules in gitleaks' TOML format, loaded at run time: `id`, `regex`, `secretGroup`,
//! `entropy`, `keywords`, per-rule allow-lists (`[[rules.allowlists]]`, or the older
//! `[rules.allowlist]`) and global ones (`[[allowlists]]`, `[allowlist]`), each with `regexes`,
//! `regexTarget` (`secret`, `match` or `line`), `stopwords` and `condition` (`OR`, `AND`).
//!
//! Logs have no paths or commits: a rule with only a `path` is skipped, and an allow-list's
//! `paths` and `commits` never match (under `AND` such an allow-list never applies).

use regex::bytes::Regex;

use crate::{checks, error::ConfigError};

/// What an allow-list regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Secret,
    Match,
    Line,
}

/// One allow-list: a finding it matches is not reported.
#[derive(Debug, Clone)]
pub(crate) struct Allowlist {
    regexes: Vec<Regex>,
    target: Target,
    /// Lower case.
    stopwords: Vec<Vec<u8>>,
    /// `condition = "AND"`: every kind of check present must match.
    all: bool,
    /// Paths or commits under `AND`: never satisfiable in a log.
    never: bool,
}

impl Allowlist {
    /// Whether the finding (its secret, whole match and line) is allowed.
    pub(crate) fn allows(&self, secret: &[u8], matched: &[u8], line: &[u8]) -> bool {
        if self.never {
            return false;
        }
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => matched,
            Target::Line => line,
        };
        let regex =
            (!self.regexes.is_empty()).then(|| self.regexes.iter().any(|r| r.is_match(target)));
        let folded = secret.to_ascii_lowercase();
        let stop = (!self.stopwords.is_empty()).then(|| {
            self.stopwords
                .iter()
                .any(|w| memchr::memmem::find(&folded, w).is_some())
        });
        let checks = [regex, stop];
        if self.all {
            checks.iter().any(Option::is_some) && checks.iter().flatten().all(|c| *c)
        } else {
            checks.iter().flatten().any(|c| *c)
        }
    }
}

/// A rule from a gitleaks file.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: String,
    pub(crate) regex: String,
    pub(crate) secret_group: Option<usize>,
    pub(crate) entropy: Option<f64>,
    pub(crate) keywords: Vec<String>,
    pub(crate) allowlists: Vec<Allowlist>,
}

/// What a rule file holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleFile {
    pub(crate) rules: Vec<Rule>,
    pub(crate) allowlists: Vec<Allowlist>,
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidRule {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn strings(table: &toml::Table, key: &str, name: &str) -> Result<Vec<String>, ConfigError> {
    match table.get(key) {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(name, format!("`{key}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(invalid(name, format!("`{key}` must be a list of strings"))),
    }
}

fn allowlist(table: &toml::Table, name: &str) -> Result<Allowlist, ConfigError> {
    let regexes = strings(table, "regexes", name)?
        .iter()
        .map(|r| Regex::new(r).map_err(|e| invalid(name, format!("allow-list regex: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let target = match table.get("regexTarget").and_then(toml::Value::as_str) {
        None | Some("secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => return Err(invalid(name, format!("unknown regexTarget `{other}`"))),
    };
    let all = match table.get("condition").and_then(toml::Value::as_str) {
        None => false,
        Some(c) if c.eq_ignore_ascii_case("or") => false,
        Some(c) if c.eq_ignore_ascii_case("and") => true,
        Some(other) => return Err(invalid(name, format!("unknown condition `{other}`"))),
    };
    let elsewhere =
        !strings(table, "paths", name)?.is_empty() || !strings(table, "commits", name)?.is_empty();
    Ok(Allowlist {
        regexes,
        target,
        stopwords: strings(table, "stopwords", name)?
            .into_iter()
            .map(|w| w.to_ascii_lowercase().into_bytes())
            .collect(),
        all,
        never: all && elsewhere,
    })
}

/// The allow-lists under `plural` (an array of tables) and `singular` (one table).
fn allowlists(
    table: &toml::Table,
    plural: &str,
    singular: &str,
    name: &str,
) -> Result<Vec<Allowlist>, ConfigError> {
    let mut out = Vec::new();
    match table.get(plural) {
        None => {}
        Some(toml::Value::Array(items)) => {
            for item in items {
                let t = item
                    .as_table()
                    .ok_or_else(|| invalid(name, format!("`{plural}` must be tables")))?;
                out.push(allowlist(t, name)?);
            }
        }
        Some(_) => return Err(invalid(name, format!("`{plural}` must be tables"))),
    }
    if let Some(t) = table.get(singular) {
        let t = t
            .as_table()
            .ok_or_else(|| invalid(name, format!("`{singular}` must be a table")))?;
        out.push(allowlist(t, name)?);
    }
    Ok(out)
}

/// Parses a gitleaks configuration.
pub(crate) fn parse(text: &str) -> Result<RuleFile, ConfigError> {
    let doc: toml::Table =
        toml::from_str(text).map_err(|e| invalid("gitleaks config", e.message().to_owned()))?;
    let mut file = RuleFile {
        rules: Vec::new(),
        allowlists: allowlists(&doc, "allowlists", "allowlist", "global allow-list")?,
    };
    let rules = match doc.get("rules") {
        None => return Ok(file),
        Some(toml::Value::Array(rules)) => rules,
        Some(_) => {
            return Err(invalid(
                "gitleaks config",
                "`rules` must be an array of tables",
            ));
        }
    };
    for (n, rule) in rules.iter().enumerate() {
        let t = rule
            .as_table()
            .ok_or_else(|| invalid("gitleaks config", "`rules` must be an array of tables"))?;
        let id = t
            .get("id")
            .and_then(toml::Value::as_str)
            .map_or_else(|| format!("rule {}", n + 1), str::to_owned);
        let Some(regex) = t.get("regex").and_then(toml::Value::as_str) else {
            // A path-only rule finds files, not text.
            continue;
        };
        let secret_group = match t.get("secretGroup") {
            None => None,
            Some(v) => Some(
                v.as_integer()
                    .and_then(|g| usize::try_from(g).ok())
                    .ok_or_else(|| invalid(&id, "`secretGroup` must be a non-negative integer"))?,
            )
            .filter(|g| *g > 0),
        };
        let entropy = match t.get("entropy") {
            None => None,
            Some(v) => Some(
                v.as_float()
                    .or_else(|| {
                        v.as_integer()
                            .and_then(|i| i32::try_from(i).ok())
                            .map(f64::from)
                    })
                    .ok_or_else(|| invalid(&id, "`entropy` must be a number"))?,
            ),
        };
        file.rules.push(Rule {
            regex: regex.to_owned(),
            secret_group,
            entropy,
            keywords: strings(t, "keywords", &id)?,
            allowlists: allowlists(t, "allowlists", "allowlist", &id)?,
            id,
        });
    }
    Ok(file)
}

/// Whether a finding passes a rule's entropy bar.
pub(crate) fn entropy_ok(secret: &[u8], bar: Option<f64>) -> bool {
    bar.is_none_or(|bar| checks::shannon(secret) >= bar)
}
