//! Names the policy builder knows to be dangerous, and the attributes that hold URLs.

use super::Danger;

/// Elements whose content the HTML parser reads as raw text or RCDATA, or whose content is a
/// separate document fragment. Allowing one is the precondition of every published ammonia
/// bypass that involved namespace confusion.
pub(super) const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "title",
    "textarea",
    "template",
];

/// Elements that switch the parser into foreign content, and SVG or `MathML` elements.
const FOREIGN: &[&str] = &[
    "svg",
    "math",
    "foreignobject",
    "annotation-xml",
    "desc",
    "use",
    "image",
    "feimage",
    "g",
    "path",
    "circle",
    "rect",
    "line",
    "polyline",
    "polygon",
    "ellipse",
    "text",
    "tspan",
    "textpath",
    "defs",
    "symbol",
    "marker",
    "pattern",
    "mask",
    "clippath",
    "filter",
    "lineargradient",
    "radialgradient",
    "stop",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "mglyph",
    "malignmark",
    "mrow",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "merror",
    "mpadded",
    "mphantom",
    "mtable",
    "mtr",
    "mtd",
    "semantics",
    "annotation",
    "maction",
];

/// SVG animation elements, which can set attributes (an `href` to `javascript:`) after
/// sanitization.
const ANIMATION: &[&str] = &[
    "animate",
    "animatemotion",
    "animatetransform",
    "set",
    "discard",
];

/// Elements that load other documents or resources, or change how the page is interpreted.
const EMBEDDING: &[&str] = &[
    "base", "link", "meta", "object", "embed", "applet", "frame", "frameset", "portal", "param",
    "html", "head", "body",
];

/// Elements that submit data or take input: phishing forms and CSRF-like submissions.
const FORMS: &[&str] = &[
    "form", "input", "button", "select", "option", "optgroup", "datalist", "output", "keygen",
    "isindex",
];

/// Whether `element` (lowercase) needs `Danger`, and which.
pub(crate) fn element_danger(element: &str) -> Option<Danger> {
    let lower = element.to_ascii_lowercase();
    let element = lower.as_str();
    if RAW_TEXT.contains(&element) {
        Some(Danger::RawTextElements)
    } else if ANIMATION.contains(&element) {
        Some(Danger::SvgAnimation)
    } else if FOREIGN.contains(&element) {
        Some(Danger::ForeignContent)
    } else if EMBEDDING.contains(&element) {
        Some(Danger::Embedding)
    } else if FORMS.contains(&element) {
        Some(Danger::Forms)
    } else {
        None
    }
}

/// Whether `attribute` (lowercase) needs `Danger`, and which. `style` is handled by the builder,
/// because it is safe with CSS filtering.
pub(crate) fn attribute_danger(attribute: &str) -> Option<Danger> {
    if attribute.starts_with("on") {
        Some(Danger::EventHandlers)
    } else if matches!(attribute, "id" | "name" | "form") {
        Some(Danger::DomClobbering)
    } else if attribute.starts_with("data-") {
        Some(Danger::ScriptGadgets)
    } else if matches!(
        attribute,
        "srcdoc" | "formaction" | "action" | "http-equiv" | "xmlns" | "xlink:href" | "is"
    ) {
        Some(Danger::Embedding)
    } else {
        None
    }
}

/// URL schemes that run script when followed. They can never be allowed.
pub(crate) use crate::SCRIPT_SCHEMES;

/// Schemes that are dangerous in some contexts: `data:` holds whole documents (HTML, SVG),
/// `blob:` and `filesystem:` point at content made by script, `file:` at the user's disk.
pub(crate) fn scheme_danger(scheme: &str) -> Option<Danger> {
    matches!(scheme, "data" | "blob" | "filesystem" | "file").then_some(Danger::ResourceSchemes)
}

/// Attributes whose value is a URL (or, for `srcset`, a list of URLs). Checked by palisade for
/// every element, beyond the narrower list ammonia checks.
pub(crate) fn is_url_attribute(element: &str, attribute: &str) -> bool {
    matches!(
        attribute,
        "href"
            | "src"
            | "xlink:href"
            | "action"
            | "formaction"
            | "poster"
            | "cite"
            | "longdesc"
            | "background"
            | "ping"
            | "srcset"
            | "manifest"
            | "codebase"
            | "usemap"
            | "lowsrc"
            | "dynsrc"
            | "icon"
            | "profile"
            | "classid"
            | "archive"
    ) || (element == "object" && attribute == "data")
}

/// Elements that are dropped together with their content when they are not allowed: their
/// text is code or metadata, not prose.
pub(crate) const CLEAN_CONTENT: &[&str] = &[
    "script",
    "style",
    "template",
    "noscript",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
    "title",
    "textarea",
    "svg",
    "math",
    "object",
    "embed",
    "applet",
];

/// Elements with no end tag.
pub(crate) const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr", "basefont", "bgsound", "frame",
];

/// ASCII letters, digits and hyphens, starting with a lowercase letter: HTML names are
/// lowercase, SVG keeps its camel case (`foreignObject`), custom elements have a hyphen.
pub(crate) fn valid_element_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && name.len() <= 64
}

/// Lowercase ASCII letters, digits, `-`, `_`, `:`, starting with a letter.
pub(crate) fn valid_attribute_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b':')
        })
        && name.len() <= 64
}

/// RFC 3986 scheme syntax, lowercase.
pub(crate) fn valid_scheme(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')
        })
        && name.len() <= 32
}
