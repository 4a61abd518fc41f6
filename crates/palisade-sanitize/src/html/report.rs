//! What a sanitization removed, for audit logs and moderation screens.

use core::fmt;
use std::collections::HashMap;

use super::{
    Disallowed, Rules,
    dom::{Data, Dom, Id},
};

/// The most entries a report keeps; the rest are only counted.
pub const MAX_REPORT_ENTRIES: usize = 1000;

/// Names in a report are cut to this many bytes: they come from the input.
const MAX_NAME_BYTES: usize = 64;

/// Why something was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The element is not allowed; its content was kept.
    ElementNotAllowed,
    /// The element is not allowed and its content is code or metadata (`script`, `style`,
    /// `svg`, `iframe`, ...): both were removed.
    ContentRemoved,
    /// The element is not allowed and was shown as text (escape mode).
    Escaped,
    /// The element was removed by the sanitizer's namespace and structure checks: an SVG or
    /// `MathML` element outside its namespace, or an element inside one that was removed that way.
    UnexpectedNamespace,
    /// The attribute is not allowed on this element.
    AttributeNotAllowed,
    /// An event handler attribute (`on…`).
    EventHandler,
    /// A URL whose scheme is not allowed for this element (`javascript:`, `data:`, ...).
    UrlSchemeNotAllowed,
    /// A URL whose host is not on the policy's host allow-list.
    UrlHostNotAllowed,
    /// A relative URL, and the policy allows only absolute ones.
    RelativeUrlNotAllowed,
    /// A URL that does not parse.
    MalformedUrl,
    /// A comment.
    Comment,
}

impl Reason {
    /// Every reason, in declaration order (the index of `counts` in [`Report`]).
    pub(crate) const ALL: [Self; 11] = [
        Self::ElementNotAllowed,
        Self::ContentRemoved,
        Self::Escaped,
        Self::UnexpectedNamespace,
        Self::AttributeNotAllowed,
        Self::EventHandler,
        Self::UrlSchemeNotAllowed,
        Self::UrlHostNotAllowed,
        Self::RelativeUrlNotAllowed,
        Self::MalformedUrl,
        Self::Comment,
    ];

    /// A short stable name, for log fields and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ElementNotAllowed => "element_not_allowed",
            Self::ContentRemoved => "content_removed",
            Self::Escaped => "escaped",
            Self::UnexpectedNamespace => "unexpected_namespace",
            Self::AttributeNotAllowed => "attribute_not_allowed",
            Self::EventHandler => "event_handler",
            Self::UrlSchemeNotAllowed => "url_scheme_not_allowed",
            Self::UrlHostNotAllowed => "url_host_not_allowed",
            Self::RelativeUrlNotAllowed => "relative_url_not_allowed",
            Self::MalformedUrl => "malformed_url",
            Self::Comment => "comment",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that was removed. Attribute values and text are never recorded: they are the
/// attacker's payload, and reports end up in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    element: String,
    attribute: Option<String>,
    reason: Reason,
}

impl Removal {
    /// The element's local name (lowercase for HTML), cut to 64 bytes. For a comment, `#comment`.
    pub fn element(&self) -> &str {
        &self.element
    }

    /// The attribute's name when an attribute was removed, cut to 64 bytes.
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }

    /// Why it was removed.
    pub fn reason(&self) -> Reason {
        self.reason
    }
}

impl fmt::Display for Removal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.attribute {
            Some(a) => write!(f, "<{}> attribute {a}: {}", self.element, self.reason),
            None => write!(f, "<{}>: {}", self.element, self.reason),
        }
    }
}

/// What one sanitization removed, in document order, then anything found only by comparing
/// the input with the output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    removals: Vec<Removal>,
    total: usize,
    /// Removals per reason, past [`MAX_REPORT_ENTRIES`] too; indexed as [`Reason::ALL`].
    by_reason: [usize; Reason::ALL.len()],
    restructured: bool,
}

impl Report {
    /// The removals recorded, at most [`MAX_REPORT_ENTRIES`].
    pub fn removals(&self) -> &[Removal] {
        &self.removals
    }

    /// How many removals there were, including those past [`MAX_REPORT_ENTRIES`].
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether sanitizing the first output again changed it, so a further pass was needed to
    /// reach a stable result. Harmless markup can do this (HTML's parser moves some misnested
    /// elements); so does mutation-XSS.
    pub fn restructured(&self) -> bool {
        self.restructured
    }

    /// How many removals have `reason`, among those recorded.
    pub fn count(&self, reason: Reason) -> usize {
        self.removals.iter().filter(|r| r.reason == reason).count()
    }

    /// Every reason with its number of removals, past [`MAX_REPORT_ENTRIES`] too.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn by_reason(&self) -> impl Iterator<Item = (Reason, usize)> + '_ {
        Reason::ALL.into_iter().zip(self.by_reason.iter().copied())
    }

    pub(crate) fn set_restructured(&mut self) {
        self.restructured = true;
    }

    fn push(&mut self, element: &str, attribute: Option<&str>, reason: Reason) {
        self.total += 1;
        self.by_reason[reason as usize] += 1;
        if self.removals.len() < MAX_REPORT_ENTRIES {
            self.removals.push(Removal {
                element: cut(element),
                attribute: attribute.map(cut),
                reason,
            });
        }
    }
}

fn cut(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// The number of elements of each name in a parsed output (`found` for [`build`]): those of
/// the fragment only, not the parser's root and context elements or anything it detached.
pub(crate) fn element_counts(output: &Dom) -> HashMap<&str, usize> {
    let mut found: HashMap<&str, usize> = HashMap::new();
    let mut stack: Vec<Id> = output.roots().to_vec();
    while let Some(id) = stack.pop() {
        if let Some(node) = output.node(id)
            && let Data::Element { name, .. } = &node.data
        {
            *found.entry(&name.local).or_default() += 1;
            stack.extend(output.children_of(id));
        }
    }
    found
}

/// Builds the report for `input`, whose sanitized form has `found` elements of each name.
///
/// Elements and attributes are judged by the same rules the policy gave ammonia. Then every
/// element name is counted in both trees: an element the rules kept but the output lacks was
/// removed by ammonia's own namespace checks and is reported as `UnexpectedNamespace`. So every
/// element of the input that is missing from the output is in the report.
pub(crate) fn build(
    input: &Dom,
    found: &HashMap<&str, usize>,
    rules: &Rules,
    mode: Disallowed,
) -> Report {
    let mut report = Report::default();
    let mut expected: HashMap<&str, usize> = HashMap::new();
    let mut stack: Vec<Id> = input.roots().iter().rev().copied().collect();
    while let Some(id) = stack.pop() {
        let Some(node) = input.node(id) else { continue };
        match &node.data {
            Data::Comment(_) if !rules.keep_comments => {
                report.push("#comment", None, Reason::Comment);
            }
            Data::Element { name, attrs, .. } => {
                let local: &str = &name.local;
                let allowed = rules.tags.contains(local);
                let descend = if allowed {
                    *expected.entry(local).or_default() += 1;
                    for attr in attrs {
                        let attr_name = attribute_name(attr);
                        if let Err(reason) = rules.attribute_verdict(local, &attr_name, &attr.value)
                        {
                            report.push(local, Some(&attr_name), reason);
                        }
                    }
                    true
                } else if mode == Disallowed::Escape {
                    report.push(local, None, Reason::Escaped);
                    true
                } else if rules.clean_content.contains(local) {
                    report.push(local, None, Reason::ContentRemoved);
                    false
                } else {
                    report.push(local, None, Reason::ElementNotAllowed);
                    true
                };
                if descend {
                    stack.extend(input.children_of(id).iter().rev());
                }
            }
            _ => {}
        }
    }
    let mut missing: Vec<(&str, usize)> = expected
        .into_iter()
        .filter_map(|(name, n)| {
            let have = found.get(name).copied().unwrap_or(0);
            (n > have).then(|| (name, n - have))
        })
        .collect();
    missing.sort_unstable();
    for (name, n) in missing {
        for _ in 0..n {
            report.push(name, None, Reason::UnexpectedNamespace);
        }
    }
    report
}

/// The attribute's name as ammonia matches it: the local name (`xlink:href` is `href`).
pub(crate) fn attribute_name(attr: &html5ever::Attribute) -> String {
    attr.name.local.to_string()
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn reason_all_is_in_declaration_order() {
        for (i, reason) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, i, "{reason}");
        }
    }
}
