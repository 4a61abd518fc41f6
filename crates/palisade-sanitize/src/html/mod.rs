//! HTML sanitization: policies on ammonia, a removal report, an escape mode, a stability check
//! and a nesting limit.
//!
//! Every call goes through the same steps:
//!
//! 1. The input's size is checked against [`Limits::max_input_bytes`].
//! 2. palisade parses the input with html5ever's tree builder, in chunks, and stops as soon as
//!    an element is nested deeper than [`Limits::max_depth`]. ammonia never sees such input.
//!    Ordinary markup skips this parse when a cheap, conservative scan of its tags proves it
//!    shallow enough (see `prescan`) and no report or escaping is asked for.
//! 3. In escape mode, elements the policy does not allow are turned into text.
//! 4. ammonia sanitizes with the policy's allow-lists; palisade's attribute filter adds
//!    per-element URL schemes, a host allow-list and URL checks on every URL attribute.
//! 5. The output is checked for stability. A single scan of ammonia's output first tries to
//!    prove that parsing it again would rebuild the same tree and that the policy would keep
//!    all of it (only plain flow and phrasing elements, nested as the HTML parser nests them:
//!    no table parts, no misnested formatting, no nested links or paragraphs, ...; see
//!    `stable`). Ordinary rich text passes. Otherwise the output is sanitized again; if that
//!    changes it, the new output is sanitized once more, and if it still changes the call
//!    fails with [`HtmlError::Unstable`]. What is returned is therefore always a fixed point:
//!    sanitizing it again changes nothing.

mod dom;
mod prescan;
mod removals;
mod report;
mod stable;
#[cfg(feature = "metrics")]
mod telemetry;
mod vocab;

use core::fmt;
use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
};

use crate::{ConfigError, SafeHtml, host::HostPattern};

pub use report::{MAX_REPORT_ENTRIES, Reason, Removal, Report};

/// A known-dangerous capability that a policy must opt into by name with
/// [`PolicyBuilder::dangerous_allow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Danger {
    /// Raw-text and RCDATA elements (`script`, `style`, `xmp`, `iframe`, `noembed`,
    /// `noframes`, `noscript`, `plaintext`, `title`, `textarea`) and `template`. Their content
    /// is parsed as text in one context and as markup in another: the root of namespace
    /// confusion and mutation-XSS.
    RawTextElements,
    /// SVG and `MathML` (`svg`, `math` and their elements): foreign content, parsed by different
    /// rules, the second ingredient of namespace confusion.
    ForeignContent,
    /// SVG animation elements (`animate`, `set`, ...), which can change attributes, such as an
    /// `href`, after sanitization.
    SvgAnimation,
    /// Event handler attributes (`onclick`, `onerror`, ...): script by definition.
    EventHandlers,
    /// A `style` attribute without a list of allowed CSS properties
    /// ([`PolicyBuilder::style_properties`]): CSS can exfiltrate data and overlay the page.
    UnfilteredStyle,
    /// Elements and attributes that load or embed documents, or change how the page is read:
    /// `base`, `link`, `meta`, `object`, `embed`, `frame`, `srcdoc`, `http-equiv`, ...
    Embedding,
    /// Forms and form controls: phishing for passwords, submissions to other sites.
    Forms,
    /// `id`, `name` and `form` attributes, which can shadow the page's own variables and
    /// elements (DOM clobbering).
    DomClobbering,
    /// `data-*` attributes (allowed with [`PolicyBuilder::allow_data_attributes`]), which
    /// front-end frameworks read as instructions (script gadgets).
    ScriptGadgets,
    /// `data:`, `blob:`, `filesystem:` and `file:` URL schemes.
    ResourceSchemes,
}

impl Danger {
    const fn variant(self) -> &'static str {
        match self {
            Self::RawTextElements => "RawTextElements",
            Self::ForeignContent => "ForeignContent",
            Self::SvgAnimation => "SvgAnimation",
            Self::EventHandlers => "EventHandlers",
            Self::UnfilteredStyle => "UnfilteredStyle",
            Self::Embedding => "Embedding",
            Self::Forms => "Forms",
            Self::DomClobbering => "DomClobbering",
            Self::ScriptGadgets => "ScriptGadgets",
            Self::ResourceSchemes => "ResourceSchemes",
        }
    }

    const fn why(self) -> &'static str {
        match self {
            Self::RawTextElements => "a raw-text element, the root of namespace confusion",
            Self::ForeignContent => "SVG or `MathML` foreign content",
            Self::SvgAnimation => "an SVG animation element that can rewrite attributes",
            Self::EventHandlers => "an event handler runs script",
            Self::UnfilteredStyle => "style without a CSS property allow-list",
            Self::Embedding => "it loads or embeds other documents",
            Self::Forms => "forms can phish and submit data elsewhere",
            Self::DomClobbering => "it can clobber the page's DOM names",
            Self::ScriptGadgets => "front-end frameworks execute data attributes",
            Self::ResourceSchemes => "the scheme can carry a whole document",
        }
    }
}

/// What happens to elements the policy does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Disallowed {
    /// Remove them; keep their text, except for code-like elements (`script`, `style`, `svg`,
    /// `iframe`, ...) whose content is removed too.
    #[default]
    Drop,
    /// Show them as text (`&lt;script&gt;…`), with their content, as sanitize-html's escape mode
    /// does. Useful where users type markup they expect to see.
    Escape,
}

/// The built-in policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Text only: every element is removed.
    Strict,
    /// Inline formatting, paragraphs, lists, quotes and code: `p br b strong i em u s del ins
    /// mark small sub sup code kbd samp var pre blockquote q ul ol li dl dt dd hr abbr cite
    /// span`.
    Basic,
    /// `Basic` plus headings, tables, `figure`, `details`, links (`http`, `https`, `mailto`;
    /// `rel="noopener noreferrer nofollow"` is set) and images (`http`, `https`).
    Rich,
}

/// Limits that bound the time and memory one call can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest input accepted, in bytes. Default 1 MiB.
    pub max_input_bytes: usize,
    /// Deepest element nesting accepted. Default 256, below the 512 levels at which browsers
    /// start to flatten the tree (a mutation-XSS source).
    pub max_depth: u32,
}

impl Limits {
    /// The defaults.
    pub const DEFAULT: Self = Self {
        max_input_bytes: 1 << 20,
        max_depth: 256,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Input a policy refused. Never contains the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HtmlError {
    /// The input is longer than [`Limits::max_input_bytes`].
    #[error("HTML input of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Elements are nested deeper than [`Limits::max_depth`].
    #[error("HTML is nested deeper than the limit of {max_depth} levels")]
    TooDeep {
        /// The limit.
        max_depth: u32,
    },
    /// The bytes given to [`Policy::clean_bytes`] are not UTF-8.
    #[error("HTML input is not valid UTF-8 (first invalid byte at offset {valid_up_to})")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// Sanitizing the output again kept changing it: the input would be parsed differently
    /// after sanitization (the signature of mutation-XSS). Nothing is returned.
    #[error("sanitized HTML is not stable under re-sanitization; refused")]
    Unstable,
}

/// A set of names a policy allows, looked up for every tag and attribute of every document,
/// so hashed with `foldhash` (randomly seeded) rather than `SipHash`. The sets are built from
/// the policy, never from input: input only looks names up in them, so a keyed hash would buy
/// nothing against flooding.
type Names = HashSet<&'static str, foldhash::fast::RandomState>;
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Names collected into a [`Names`].
fn names<'a>(set: impl IntoIterator<Item = &'a &'static str>) -> Names {
    set.into_iter().copied().collect()
}

/// Each element's names collected into a [`Names`].
fn names_by_element(
    map: &HashMap<&'static str, HashSet<&'static str>>,
) -> FastMap<&'static str, Names> {
    map.iter()
        .map(|(element, set)| (*element, names(set)))
        .collect()
}

/// The policy's rules, shared with ammonia's attribute filter.
pub(crate) struct Rules {
    tags: Names,
    clean_content: Names,
    generic: Names,
    per_tag: FastMap<&'static str, Names>,
    prefixes: Vec<&'static str>,
    schemes: Names,
    element_schemes: FastMap<&'static str, Names>,
    hosts: Option<Vec<HostPattern>>,
    relative: bool,
    keep_comments: bool,
    link_rel: Option<&'static str>,
}

impl Rules {
    fn attribute_allowed(&self, element: &str, attribute: &str) -> bool {
        self.generic.contains(attribute)
            || self.prefixes.iter().any(|p| attribute.starts_with(p))
            || self
                .per_tag
                .get(element)
                .is_some_and(|set| set.contains(attribute))
    }

    /// Whether an attribute of an allowed element survives, and why not.
    pub(crate) fn attribute_verdict(
        &self,
        element: &str,
        attribute: &str,
        value: &str,
    ) -> Result<(), Reason> {
        // ammonia sets link_rel on links before calling the filter; the builder refuses a
        // user-allowed `rel` whenever link_rel is set, so this value is the policy's own.
        if attribute == "rel" && self.link_rel.is_some_and(|rel| rel == value) {
            return Ok(());
        }
        if !self.attribute_allowed(element, attribute) {
            return Err(if attribute.starts_with("on") {
                Reason::EventHandler
            } else {
                Reason::AttributeNotAllowed
            });
        }
        if vocab::is_url_attribute(element, attribute) {
            if attribute == "srcset" {
                for candidate in value.split(',') {
                    let url = candidate.split_ascii_whitespace().next().unwrap_or("");
                    self.url_verdict(element, url)?;
                }
                return Ok(());
            }
            return self.url_verdict(element, value);
        }
        Ok(())
    }

    fn url_verdict(&self, element: &str, value: &str) -> Result<(), Reason> {
        let schemes = self.element_schemes.get(element).unwrap_or(&self.schemes);
        match url::Url::parse(value) {
            Ok(url) => {
                if !schemes.contains(url.scheme()) {
                    return Err(Reason::UrlSchemeNotAllowed);
                }
                match url.host_str() {
                    Some(host) if !self.host_allowed(host) => Err(Reason::UrlHostNotAllowed),
                    _ => Ok(()),
                }
            }
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                if !self.relative {
                    return Err(Reason::RelativeUrlNotAllowed);
                }
                // `//host/path` (or `\\host`, which browsers read the same) names a host.
                let base = relative_base();
                match base.join(value) {
                    Ok(joined) => match joined.host_str() {
                        Some(host) if host != base.host_str().unwrap_or_default() => {
                            if self.host_allowed(host) {
                                Ok(())
                            } else {
                                Err(Reason::UrlHostNotAllowed)
                            }
                        }
                        _ => Ok(()),
                    },
                    Err(_) => Err(Reason::MalformedUrl),
                }
            }
            Err(_) => Err(Reason::MalformedUrl),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hosts
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p.matches(host)))
    }
}

fn relative_base() -> &'static url::Url {
    static BASE: OnceLock<url::Url> = OnceLock::new();
    BASE.get_or_init(|| {
        url::Url::parse("https://relative.palisade.invalid/")
            .expect("a constant absolute URL parses")
    })
}

/// An HTML sanitization policy. Build one with [`Policy::builder`] or take a preset
/// ([`Policy::strict`], [`Policy::basic`], [`Policy::rich`]); build it once and share it: it is
/// `Send + Sync` and every method takes `&self`.
///
/// ```
/// use palisade_sanitize::html::Policy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = Policy::rich();
/// let (html, report) = policy.clean_with_report(
///     r#"<p onclick="steal()">Hi <a href="javascript:alert(1)">there</a><script>x()</script></p>"#,
/// )?;
/// assert_eq!(html.as_str(), "<p>Hi <a rel=\"noopener noreferrer nofollow\">there</a></p>");
/// for removal in report.removals() {
///     println!("{removal}"); // <p> attribute onclick: event_handler, ...
/// }
/// assert_eq!(report.total(), 3);
/// # Ok(()) }
/// ```
pub struct Policy {
    ammonia: ammonia::Builder<'static>,
    rules: Arc<Rules>,
    limits: Limits,
    disallowed: Disallowed,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tags: Vec<&str> = self.rules.tags.iter().copied().collect();
        tags.sort_unstable();
        f.debug_struct("Policy")
            .field("elements", &tags)
            .field("limits", &self.limits)
            .field("disallowed", &self.disallowed)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// A builder starting from nothing allowed (like [`Preset::Strict`]).
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::new()
    }

    /// Text only.
    pub fn strict() -> Self {
        Self::preset(Preset::Strict)
    }

    /// Inline formatting, lists, quotes and code.
    pub fn basic() -> Self {
        Self::preset(Preset::Basic)
    }

    /// `basic` plus headings, tables, links and images.
    pub fn rich() -> Self {
        Self::preset(Preset::Rich)
    }

    /// A preset with default limits.
    ///
    /// # Panics
    /// Never: presets allow nothing dangerous, and a test builds each one.
    pub fn preset(preset: Preset) -> Self {
        PolicyBuilder::from_preset(preset)
            .build()
            .expect("presets allow nothing dangerous; the tests build every preset")
    }

    /// Sanitizes `input`.
    ///
    /// # Errors
    /// [`HtmlError::TooLarge`], [`HtmlError::TooDeep`] or [`HtmlError::Unstable`].
    pub fn clean(&self, input: &str) -> Result<SafeHtml, HtmlError> {
        self.run(input, false).map(|(html, _)| html)
    }

    /// Sanitizes UTF-8 bytes.
    ///
    /// # Errors
    /// [`HtmlError::InvalidUtf8`] for bytes that are not UTF-8, or any error of
    /// [`Policy::clean`].
    pub fn clean_bytes(&self, input: &[u8]) -> Result<SafeHtml, HtmlError> {
        if input.len() > self.limits.max_input_bytes {
            #[cfg(feature = "metrics")]
            telemetry::refused();
            return Err(HtmlError::TooLarge {
                len: input.len(),
                max: self.limits.max_input_bytes,
            });
        }
        let text = std::str::from_utf8(input).map_err(|e| {
            #[cfg(feature = "metrics")]
            telemetry::refused();
            HtmlError::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            }
        })?;
        self.clean(text)
    }

    /// Sanitizes `input` and reports what was removed. Costs one or two more parses than
    /// [`Policy::clean`]: one of the input, and one of the output unless the stability scan
    /// (which proves ordinary output stable) also counts its elements.
    ///
    /// # Errors
    /// As [`Policy::clean`].
    pub fn clean_with_report(&self, input: &str) -> Result<(SafeHtml, Report), HtmlError> {
        let (html, report) = self.run(input, true)?;
        Ok((html, report.unwrap_or_default()))
    }

    /// The policy's limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether `element` (a local name, as written in the builder) is allowed.
    pub fn allows_element(&self, element: &str) -> bool {
        self.rules.tags.contains(element)
    }

    /// Whether `attribute` with `value` would survive on an allowed `element`: the attribute is
    /// allowed there and, for a URL attribute, the URL passes the scheme, host and relative-URL
    /// rules.
    pub fn allows_attribute(&self, element: &str, attribute: &str, value: &str) -> bool {
        self.rules.tags.contains(element)
            && self
                .rules
                .attribute_verdict(element, attribute, value)
                .is_ok()
    }

    /// With the `metrics` feature, every path counts removals by reason: a document that came
    /// out changed is reported even when the caller asked for no report (an unchanged one
    /// lost nothing), so [`Policy::clean`] pays for the report's parses only on markup it
    /// changed.
    #[cfg(feature = "metrics")]
    fn run(&self, input: &str, want_report: bool) -> Result<(SafeHtml, Option<Report>), HtmlError> {
        let result = self.run_unmetered(input, want_report, true);
        telemetry::document(input, &result);
        result.map(|(html, report)| (html, report.filter(|_| want_report)))
    }

    #[cfg(not(feature = "metrics"))]
    fn run(&self, input: &str, want_report: bool) -> Result<(SafeHtml, Option<Report>), HtmlError> {
        self.run_unmetered(input, want_report, false)
    }

    /// Sanitizes `input`; builds a report when `want_report`, or when `report_if_changed` and
    /// the output differs from the input.
    fn run_unmetered(
        &self,
        input: &str,
        want_report: bool,
        report_if_changed: bool,
    ) -> Result<(SafeHtml, Option<Report>), HtmlError> {
        if input.len() > self.limits.max_input_bytes {
            return Err(HtmlError::TooLarge {
                len: input.len(),
                max: self.limits.max_input_bytes,
            });
        }
        let escape = self.disallowed == Disallowed::Escape;
        let keep_content = want_report || escape;
        let too_deep = HtmlError::TooDeep {
            max_depth: self.limits.max_depth,
        };
        // Ordinary markup gets a cheap upper bound on its depth (see `prescan`); when that is
        // within the limit, the exact bounded parse is skipped unless its tree is needed.
        let shallow = !keep_content
            && prescan::depth_bound(input, self.limits.max_depth as usize)
                .is_some_and(|bound| bound <= self.limits.max_depth as usize);
        // A document that must be parsed for its depth anyway keeps its content whenever a
        // report of it may be built (asked for, or to count removals): one parse instead of a
        // second one for the report.
        let parse_content = keep_content || report_if_changed;
        let parsed = if shallow {
            None
        } else {
            Some(
                dom::parse(input, self.limits.max_depth, parse_content)
                    .map_err(|dom::ParseFailure::TooDeep| too_deep.clone())?,
            )
        };
        let escaped;
        let source: &str = if let (true, Some(parsed)) = (escape, &parsed) {
            let rules = &self.rules;
            escaped = dom::to_html(&dom::Escaped {
                dom: parsed,
                render: |name: &html5ever::QualName| {
                    if rules.tags.contains(&*name.local) {
                        dom::Render::Keep
                    } else {
                        dom::Render::Escape
                    }
                },
                keep_comments: rules.keep_comments,
            });
            &escaped
        } else {
            input
        };
        let mut out = self.ammonia.clean(source).to_string();
        let mut restructured = false;
        // Ammonia's output holds only allowed elements: counted under the policy's own copy of
        // each name, the counts do not borrow the output, which a re-check may replace.
        let policy_name = |name: &str| self.rules.tags.get(name).copied();
        // When a report will be built, the scan that proves the output stable also counts its
        // elements, so the report need not scan it again.
        let (proved_stable, found_early) = if want_report {
            match stable::element_counts(&out, self.rules.link_rel, policy_name) {
                stable::Scan::Stable(counts) => (true, counts),
                stable::Scan::Unproved => (false, None),
            }
        } else {
            (stable::proved_stable(&out, self.rules.link_rel), None)
        };
        if !proved_stable {
            self.recheck(&mut out, &mut restructured)?;
        }
        // Counting removals needs a report only when something may have been removed: a
        // changed document can also be one ammonia only normalized (quotes, entities, a
        // link's `rel`), which a scan of the input proves without building the report.
        let report_wanted = want_report
            || (report_if_changed
                && out != input
                && !(proved_stable && !escape && removals::proved_none(input, &self.rules)));
        let report = if report_wanted {
            // The report needs the input's tree with its content: the one parsed above (which
            // kept it, `parse_content` holding whenever a report is built), else, for markup
            // the prescan bounded, a parse now (within the depth limit the prescan checked).
            debug_assert!(
                parse_content,
                "a tree parsed above lacks the report's content"
            );
            let parsed = match parsed {
                Some(parsed) => parsed,
                None => dom::parse(input, self.limits.max_depth, true)
                    .map_err(|dom::ParseFailure::TooDeep| too_deep.clone())?,
            };
            // The output's elements: counted by the stability scan when it accepts the output
            // (the tree the output parses to is the one the scan rebuilt), else from a parse.
            let output;
            let counted = found_early.or_else(|| {
                stable::element_counts(&out, self.rules.link_rel, policy_name).into_counts()
            });
            let found = if let Some(found) = counted {
                found
            } else {
                output = dom::parse(&out, u32::MAX, false).map_err(|_| too_deep)?;
                report::element_counts(&output)
            };
            let mut report = report::build(&parsed, &found, &self.rules, self.disallowed);
            if restructured {
                report.set_restructured();
            }
            Some(report)
        } else {
            None
        };
        Ok((SafeHtml::from_sanitized(out), report))
    }

    /// The full stability check: sanitizes `out` again; if that changes it, takes the new
    /// output and sanitizes it once more, which must change nothing.
    fn recheck(&self, out: &mut String, restructured: &mut bool) -> Result<(), HtmlError> {
        let again = self.ammonia.clean(out).to_string();
        if again != *out {
            *restructured = true;
            let third = self.ammonia.clean(&again).to_string();
            if third != again {
                return Err(HtmlError::Unstable);
            }
            *out = again;
        }
        Ok(())
    }
}

const BASIC_TAGS: &[&str] = &[
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "ins",
    "mark",
    "small",
    "sub",
    "sup",
    "code",
    "kbd",
    "samp",
    "var",
    "pre",
    "blockquote",
    "q",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "hr",
    "abbr",
    "cite",
    "span",
];

const RICH_EXTRA_TAGS: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "figure",
    "figcaption",
    "details",
    "summary",
];

/// Builds a [`Policy`]. Names are `&'static str` because ammonia keeps them by reference for
/// the policy's lifetime; write them as literals.
///
/// ```
/// use palisade_sanitize::html::{Danger, Policy, Preset};
///
/// # fn main() -> Result<(), palisade_sanitize::ConfigError> {
/// let policy = Policy::builder()
///     .preset(Preset::Rich)
///     .allow_hosts(["example.com", "*.example.org"])?
///     .build()?;
/// assert!(policy.allows_attribute("a", "href", "https://docs.example.org/x"));
/// assert!(!policy.allows_attribute("a", "href", "https://evil.test/"));
///
/// // Known-dangerous combinations are refused unless named.
/// assert!(Policy::builder().allow_elements(["svg"]).build().is_err());
/// let _risky = Policy::builder()
///     .allow_elements(["svg"])
///     .dangerous_allow(Danger::ForeignContent)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    tags: HashSet<&'static str>,
    generic: HashSet<&'static str>,
    per_tag: HashMap<&'static str, HashSet<&'static str>>,
    prefixes: Vec<&'static str>,
    schemes: HashSet<&'static str>,
    element_schemes: HashMap<&'static str, HashSet<&'static str>>,
    hosts: Option<Vec<HostPattern>>,
    relative: bool,
    keep_comments: bool,
    link_rel: Option<&'static str>,
    style_properties: Option<HashSet<&'static str>>,
    dangers: HashSet<Danger>,
    limits: Limits,
    disallowed: Disallowed,
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyBuilder {
    /// Nothing allowed; URL schemes `http`, `https`, `mailto`; relative URLs allowed; comments
    /// removed; `rel="noopener noreferrer nofollow"` on links.
    pub fn new() -> Self {
        Self {
            tags: HashSet::new(),
            generic: HashSet::new(),
            per_tag: HashMap::new(),
            prefixes: Vec::new(),
            schemes: ["http", "https", "mailto"].into_iter().collect(),
            element_schemes: HashMap::new(),
            hosts: None,
            relative: true,
            keep_comments: false,
            link_rel: Some("noopener noreferrer nofollow"),
            style_properties: None,
            dangers: HashSet::new(),
            limits: Limits::DEFAULT,
            disallowed: Disallowed::Drop,
        }
    }

    /// Starts from a preset.
    pub fn from_preset(preset: Preset) -> Self {
        Self::new().preset(preset)
    }

    /// Adds a preset's elements, attributes and schemes to this builder.
    #[must_use]
    pub fn preset(mut self, preset: Preset) -> Self {
        if matches!(preset, Preset::Basic | Preset::Rich) {
            self.tags.extend(BASIC_TAGS);
            self.add_attrs("abbr", &["title"]);
            self.add_attrs("ol", &["start", "reversed", "type"]);
            self.add_attrs("li", &["value"]);
        }
        if preset == Preset::Rich {
            self.tags.extend(RICH_EXTRA_TAGS);
            self.add_attrs("a", &["href", "title"]);
            self.add_attrs("img", &["src", "alt", "title", "width", "height"]);
            self.add_attrs("th", &["colspan", "rowspan", "scope"]);
            self.add_attrs("td", &["colspan", "rowspan"]);
            self.add_attrs("details", &["open"]);
            self.element_schemes
                .insert("img", ["http", "https"].into_iter().collect());
        }
        self
    }

    fn add_attrs(&mut self, element: &'static str, attrs: &[&'static str]) {
        self.per_tag
            .entry(element)
            .or_default()
            .extend(attrs.iter().copied());
    }

    /// Allows elements (local names, lowercase for HTML).
    #[must_use]
    pub fn allow_elements<I: IntoIterator<Item = &'static str>>(mut self, elements: I) -> Self {
        self.tags.extend(elements);
        self
    }

    /// Removes elements from the allowed set.
    #[must_use]
    pub fn remove_elements<'b, I: IntoIterator<Item = &'b str>>(mut self, elements: I) -> Self {
        for element in elements {
            self.tags.remove(element);
            self.per_tag.remove(element);
        }
        self
    }

    /// Allows attributes on one element.
    #[must_use]
    pub fn allow_attributes<I: IntoIterator<Item = &'static str>>(
        mut self,
        element: &'static str,
        attributes: I,
    ) -> Self {
        self.per_tag.entry(element).or_default().extend(attributes);
        self
    }

    /// Allows attributes on every allowed element.
    #[must_use]
    pub fn allow_generic_attributes<I: IntoIterator<Item = &'static str>>(
        mut self,
        attributes: I,
    ) -> Self {
        self.generic.extend(attributes);
        self
    }

    /// Allows `aria-*` attributes on every allowed element.
    #[must_use]
    pub fn allow_aria_attributes(mut self) -> Self {
        if !self.prefixes.contains(&"aria-") {
            self.prefixes.push("aria-");
        }
        self
    }

    /// Allows `data-*` attributes on every allowed element; needs
    /// [`Danger::ScriptGadgets`].
    #[must_use]
    pub fn allow_data_attributes(mut self) -> Self {
        if !self.prefixes.contains(&"data-") {
            self.prefixes.push("data-");
        }
        self
    }

    /// Replaces the URL schemes allowed in URL attributes (default `http`, `https`, `mailto`).
    #[must_use]
    pub fn url_schemes<I: IntoIterator<Item = &'static str>>(mut self, schemes: I) -> Self {
        self.schemes = schemes.into_iter().collect();
        self
    }

    /// Sets the URL schemes allowed on one element, instead of the general list (the `rich`
    /// preset allows only `http` and `https` on `img`).
    #[must_use]
    pub fn element_url_schemes<I: IntoIterator<Item = &'static str>>(
        mut self,
        element: &'static str,
        schemes: I,
    ) -> Self {
        self.element_schemes
            .insert(element, schemes.into_iter().collect());
        self
    }

    /// Allows absolute URLs only to these hosts (`example.com`, or `*.example.com` for its
    /// subdomains). Protocol-relative URLs (`//host/...`) are checked too.
    ///
    /// # Errors
    /// [`ConfigError::InvalidName`] for a pattern that is not a host name.
    pub fn allow_hosts<'b, I: IntoIterator<Item = &'b str>>(
        mut self,
        hosts: I,
    ) -> Result<Self, ConfigError> {
        let parsed = HostPattern::parse_all(hosts)?;
        self.hosts.get_or_insert_with(Vec::new).extend(parsed);
        Ok(self)
    }

    /// Whether relative URLs (`/page`, `#top`, `page.html`) are kept. Default true.
    #[must_use]
    pub fn relative_urls(mut self, allow: bool) -> Self {
        self.relative = allow;
        self
    }

    /// Whether comments are kept. Default false.
    #[must_use]
    pub fn keep_comments(mut self, keep: bool) -> Self {
        self.keep_comments = keep;
        self
    }

    /// The `rel` value set on every link (default `noopener noreferrer nofollow`); `None` sets
    /// none.
    #[must_use]
    pub fn link_rel(mut self, rel: Option<&'static str>) -> Self {
        self.link_rel = rel;
        self
    }

    /// Allows the `style` attribute, keeping only these CSS properties (for example `color`,
    /// `text-align`), parsed by ammonia's CSS filter.
    #[must_use]
    pub fn style_properties<I: IntoIterator<Item = &'static str>>(mut self, properties: I) -> Self {
        self.style_properties = Some(properties.into_iter().collect());
        self
    }

    /// What happens to disallowed elements (default [`Disallowed::Drop`]).
    #[must_use]
    pub fn disallowed(mut self, mode: Disallowed) -> Self {
        self.disallowed = mode;
        self
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Opts into one known-dangerous capability. Each call is a line a reviewer will see.
    #[must_use]
    pub fn dangerous_allow(mut self, danger: Danger) -> Self {
        self.dangers.insert(danger);
        self
    }

    fn require(&self, danger: Danger, item: impl Into<String>) -> Result<(), ConfigError> {
        if self.dangers.contains(&danger) {
            Ok(())
        } else {
            Err(ConfigError::Dangerous {
                item: item.into(),
                danger: danger.why(),
                variant: danger.variant(),
            })
        }
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError::Dangerous`] for a dangerous element, attribute or scheme without its
    /// [`Danger`]; [`ConfigError::ScriptScheme`] for `javascript:` and its kind;
    /// [`ConfigError::InvalidName`] for malformed names; [`ConfigError::Conflict`] for
    /// contradictory settings; [`ConfigError::LimitOutOfRange`] for limits outside 1..=4096
    /// levels or 1 byte..=64 MiB.
    pub fn build(self) -> Result<Policy, ConfigError> {
        ConfigError::limit("max_depth", u64::from(self.limits.max_depth), 1, 4096)?;
        ConfigError::limit(
            "max_input_bytes",
            self.limits.max_input_bytes as u64,
            1,
            64 << 20,
        )?;
        for &tag in &self.tags {
            if !vocab::valid_element_name(tag) {
                return Err(ConfigError::InvalidName {
                    what: "element",
                    name: tag.to_owned(),
                    expected: "ASCII letters, digits and '-', starting with a lowercase letter",
                });
            }
            if let Some(danger) = vocab::element_danger(tag) {
                self.require(danger, format!("element <{tag}>"))?;
            }
        }
        let all_attrs = self.generic.iter().map(|a| ("*", *a)).chain(
            self.per_tag
                .iter()
                .flat_map(|(t, set)| set.iter().map(move |a| (*t, *a))),
        );
        for (element, attr) in all_attrs {
            if !vocab::valid_attribute_name(attr) {
                return Err(ConfigError::InvalidName {
                    what: "attribute",
                    name: attr.to_owned(),
                    expected: "lowercase ASCII letters, digits, '-', '_' or ':'",
                });
            }
            if let Some(danger) = vocab::attribute_danger(attr) {
                self.require(danger, format!("attribute {attr} on <{element}>"))?;
            }
            if attr == "style" && self.style_properties.is_none() {
                self.require(
                    Danger::UnfilteredStyle,
                    format!("attribute style on <{element}>"),
                )?;
            }
            if attr == "rel" && self.link_rel.is_some() {
                return Err(ConfigError::Conflict {
                    reason: "the rel attribute is allowed while link_rel sets it; \
                             call link_rel(None) to let users set rel",
                });
            }
        }
        if self.prefixes.contains(&"data-") {
            self.require(Danger::ScriptGadgets, "data-* attributes")?;
        }
        if self.style_properties.is_some() && self.tags.contains("style") {
            return Err(ConfigError::Conflict {
                reason: "style_properties filters style attributes and cannot filter a <style> \
                         element; do not allow <style> with it",
            });
        }
        let schemes = self
            .schemes
            .iter()
            .chain(self.element_schemes.values().flatten());
        for &scheme in schemes {
            if !vocab::valid_scheme(scheme) {
                return Err(ConfigError::InvalidName {
                    what: "URL scheme",
                    name: scheme.to_owned(),
                    expected: "lowercase, as in RFC 3986: a letter then letters, digits, +, - or .",
                });
            }
            if vocab::SCRIPT_SCHEMES.contains(&scheme) {
                return Err(ConfigError::ScriptScheme {
                    scheme: scheme.to_owned(),
                });
            }
            if let Some(danger) = vocab::scheme_danger(scheme) {
                self.require(danger, format!("URL scheme {scheme}:"))?;
            }
        }
        Ok(self.into_policy())
    }

    fn into_policy(mut self) -> Policy {
        // Attributes of elements that are not allowed do nothing, and ammonia refuses a
        // content-cleaned element that has attributes.
        let tags = self.tags.clone();
        self.per_tag.retain(|element, _| tags.contains(element));
        let clean_content: HashSet<&'static str> = vocab::CLEAN_CONTENT
            .iter()
            .copied()
            .filter(|t| !self.tags.contains(t) && !self.per_tag.contains_key(t))
            .collect();
        let mut all_schemes = self.schemes.clone();
        all_schemes.extend(self.element_schemes.values().flatten().copied());
        let rules = Arc::new(Rules {
            tags: names(&self.tags),
            clean_content: names(&clean_content),
            generic: names(&self.generic),
            per_tag: names_by_element(&self.per_tag),
            prefixes: self.prefixes.clone(),
            schemes: names(&self.schemes),
            element_schemes: names_by_element(&self.element_schemes),
            hosts: self.hosts,
            relative: self.relative,
            keep_comments: self.keep_comments,
            link_rel: self.link_rel,
        });
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(self.tags)
            .clean_content_tags(clean_content)
            .tag_attributes(self.per_tag)
            .tag_attribute_values(HashMap::new())
            .set_tag_attribute_values(HashMap::new())
            .generic_attributes(self.generic)
            .generic_attribute_prefixes(self.prefixes.into_iter().collect())
            .url_schemes(all_schemes)
            .url_relative(if self.relative {
                ammonia::UrlRelative::PassThrough
            } else {
                ammonia::UrlRelative::Deny
            })
            .link_rel(self.link_rel)
            .allowed_classes(HashMap::new())
            .strip_comments(!self.keep_comments)
            .id_prefix(None);
        if let Some(properties) = self.style_properties {
            builder.filter_style_properties(properties);
        }
        let filter_rules = Arc::clone(&rules);
        builder.attribute_filter(move |element, attribute, value| {
            filter_rules
                .attribute_verdict(element, attribute, value)
                .ok()
                .map(|()| Cow::Borrowed(value))
        });
        Policy {
            ammonia: builder,
            rules,
            limits: self.limits,
            disallowed: self.disallowed,
        }
    }
}

/// Sanitizes `input` with the [`Preset::Basic`] policy and default limits.
///
/// ```
/// let html = palisade_sanitize::html::clean("<b>bold</b><img src=x onerror=alert(1)>")?;
/// assert_eq!(html.as_str(), "<b>bold</b>");
/// # Ok::<(), palisade_sanitize::html::HtmlError>(())
/// ```
///
/// # Errors
/// As [`Policy::clean`].
pub fn clean(input: &str) -> Result<SafeHtml, HtmlError> {
    static BASIC: OnceLock<Policy> = OnceLock::new();
    BASIC.get_or_init(Policy::basic).clean(input)
}
