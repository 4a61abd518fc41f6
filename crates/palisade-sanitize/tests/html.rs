//! The HTML policies against the XSS corpus in `vectors/xss.txt` (invariants, not exact
//! output), benign markup in `vectors/benign.txt`, the report, escape mode and the limits.

#![cfg(feature = "html")]

mod common;

use common::{records, scan, scheme};
use palisade_sanitize::html::{
    Danger, Disallowed, HtmlError, Limits, Policy, Preset, Reason, Report,
};

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "cite",
    "longdesc",
    "background",
    "ping",
    "srcset",
    "manifest",
    "codebase",
    "usemap",
    "lowsrc",
    "dynsrc",
    "icon",
    "profile",
    "classid",
    "archive",
    "data",
    "xlink:href",
];

/// Elements that can run script or change how what follows is parsed.
const SCRIPT_CAPABLE: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "template",
    "xmp",
    "noscript",
    "noembed",
    "noframes",
    "plaintext",
    "title",
    "textarea",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "frame",
    "frameset",
    "animate",
    "set",
    "foreignobject",
];

fn policies() -> Vec<(&'static str, Policy)> {
    vec![
        ("strict", Policy::strict()),
        ("basic", Policy::basic()),
        ("rich", Policy::rich()),
        (
            "rich+escape",
            Policy::builder()
                .preset(Preset::Rich)
                .disallowed(Disallowed::Escape)
                .build()
                .unwrap(),
        ),
        (
            "rich+hosts",
            Policy::builder()
                .preset(Preset::Rich)
                .allow_hosts(["ok.example", "*.example.com"])
                .unwrap()
                .build()
                .unwrap(),
        ),
    ]
}

/// The invariants every output must satisfy.
fn check_output(at: &str, policy: &Policy, out: &str) {
    assert!(!out.contains('\0'), "{at}: NUL in output {out:?}");
    for tag in scan(out) {
        assert!(
            policy.allows_element(&tag.name),
            "{at}: element <{}> survived in {out:?}",
            tag.name
        );
        assert!(
            !SCRIPT_CAPABLE.contains(&tag.name.as_str()),
            "{at}: script-capable <{}> in {out:?}",
            tag.name
        );
        for (name, value) in &tag.attrs {
            assert!(
                !name.starts_with("on"),
                "{at}: event handler {name} in {out:?}"
            );
            assert!(
                !matches!(
                    name.as_str(),
                    "style" | "srcdoc" | "id" | "name" | "is" | "form"
                ) && !name.starts_with("data-"),
                "{at}: attribute {name} in {out:?}"
            );
            assert!(
                policy.allows_attribute(&tag.name, name, value),
                "{at}: attribute {name}={value:?} on <{}> in {out:?}",
                tag.name
            );
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                let scheme = scheme(value);
                assert!(
                    matches!(scheme.as_deref(), None | Some("http" | "https" | "mailto")),
                    "{at}: URL scheme {scheme:?} in {name}={value:?}"
                );
            }
        }
    }
}

#[test]
fn xss_corpus_keeps_invariants() {
    let vectors = records("xss.txt");
    assert!(vectors.len() >= 150, "corpus shrank to {}", vectors.len());
    for (name, policy) in policies() {
        for (line, input) in &vectors {
            let at = format!("xss.txt:{line} [{name}]");
            let out = match policy.clean(input) {
                Ok(out) => out,
                Err(HtmlError::Unstable) => continue, // refusing is also safe
                Err(e) => panic!("{at}: {e}"),
            };
            check_output(&at, &policy, out.as_str());
            // Stable: sanitizing the output again changes nothing, and removes nothing.
            let (again, report) = policy.clean_with_report(out.as_str()).unwrap();
            assert_eq!(again, out, "{at}: not idempotent");
            assert!(report.is_empty(), "{at}: re-sanitizing removed {report:?}");
            if name == "strict" {
                assert!(!out.as_str().contains('<'), "{at}: markup in strict output");
            }
        }
    }
}

#[test]
fn benign_markup_is_kept() {
    for (line, record) in records("benign.txt") {
        let (policy_name, input) = record.split_once('\t').expect("policy<TAB>html");
        let policy = match policy_name {
            "basic" => Policy::basic(),
            "rich" => Policy::rich(),
            other => panic!("benign.txt:{line}: unknown policy {other}"),
        };
        let (out, report) = policy.clean_with_report(input).unwrap();
        assert!(
            report.is_empty(),
            "benign.txt:{line}: removed {:?}",
            report.removals()
        );
        let before: Vec<String> = scan(input).into_iter().map(|t| t.name).collect();
        let after: Vec<String> = scan(out.as_str()).into_iter().map(|t| t.name).collect();
        assert_eq!(before, after, "benign.txt:{line}: {out:?}");
        for tag in scan(out.as_str()).iter().filter(|t| t.name == "a") {
            assert!(
                tag.attrs
                    .iter()
                    .any(|(n, v)| n == "rel" && v == "noopener noreferrer nofollow"),
                "benign.txt:{line}: link without rel"
            );
        }
        assert_eq!(
            policy.clean(out.as_str()).unwrap(),
            out,
            "benign.txt:{line}"
        );
    }
}

#[test]
fn report_names_elements_attributes_and_reasons() {
    let input = r#"<p onclick="x()" class="c">a<script>s()</script><blink>b</blink><a href="javascript:y()" title="t">c</a><img src="data:x" alt="d"><!-- c --></p>"#;
    let (out, report) = Policy::rich().clean_with_report(input).unwrap();
    assert_eq!(
        out.as_str(),
        r#"<p>ab<a title="t" rel="noopener noreferrer nofollow">c</a><img alt="d"></p>"#
    );
    let got: Vec<(String, Option<String>, Reason)> = report
        .removals()
        .iter()
        .map(|r| {
            (
                r.element().to_owned(),
                r.attribute().map(str::to_owned),
                r.reason(),
            )
        })
        .collect();
    let want = vec![
        (
            "p".to_owned(),
            Some("onclick".to_owned()),
            Reason::EventHandler,
        ),
        (
            "p".to_owned(),
            Some("class".to_owned()),
            Reason::AttributeNotAllowed,
        ),
        ("script".to_owned(), None, Reason::ContentRemoved),
        ("blink".to_owned(), None, Reason::ElementNotAllowed),
        (
            "a".to_owned(),
            Some("href".to_owned()),
            Reason::UrlSchemeNotAllowed,
        ),
        (
            "img".to_owned(),
            Some("src".to_owned()),
            Reason::UrlSchemeNotAllowed,
        ),
        ("#comment".to_owned(), None, Reason::Comment),
    ];
    assert_eq!(got, want);
    assert_eq!(report.total(), 7);
    assert_eq!(report.count(Reason::EventHandler), 1);
    assert!(
        !format!("{report:?}").contains("javascript"),
        "values leaked into the report"
    );
    assert_eq!(
        report.removals()[0].to_string(),
        "<p> attribute onclick: event_handler"
    );
}

/// A report's removals as (element, reason) pairs, in its order.
fn elements_and_reasons(report: &Report) -> Vec<(&str, Reason)> {
    report
        .removals()
        .iter()
        .map(|r| (r.element(), r.reason()))
        .collect()
}

#[test]
fn report_finds_namespace_removals() {
    // `a` is allowed, but inside `math` it is a MathML `a`, which ammonia drops by namespace.
    let policy = Policy::builder()
        .preset(Preset::Rich)
        .allow_elements(["math"])
        .dangerous_allow(Danger::ForeignContent)
        .build()
        .unwrap();
    let (out, report) = policy
        .clean_with_report(r#"<math><a href="https://ok.example">x</a></math>"#)
        .unwrap();
    assert_eq!(out.as_str(), "<math></math>");
    let got = elements_and_reasons(&report);
    assert_eq!(got, [("a", Reason::UnexpectedNamespace)]);
    // Without the opt-in, `svg` and `math` go with their content.
    let (_, report) = Policy::rich()
        .clean_with_report(r#"<svg><a href="https://ok.example">x</a></svg>"#)
        .unwrap();
    assert_eq!(report.count(Reason::ContentRemoved), 1);
}

/// "Every element of the input that is missing from the output is in the report", `div` too:
/// the output's elements are counted in the sanitized fragment only, not among the elements
/// the parser makes for itself (its root and its `div` context).
#[test]
fn report_finds_a_removed_div_though_the_parser_has_one_of_its_own() {
    let policy = Policy::builder()
        .preset(Preset::Rich)
        .allow_elements(["svg", "div"])
        .dangerous_allow(Danger::ForeignContent)
        .build()
        .unwrap();
    // `desc` is not allowed and its content is kept; in its place the `div` would be an HTML
    // element directly inside `svg`, which ammonia drops by namespace.
    let (out, report) = policy
        .clean_with_report("<svg><desc><div>x</div></desc></svg>")
        .unwrap();
    assert_eq!(out.as_str(), "<svg></svg>");
    let got = elements_and_reasons(&report);
    assert_eq!(
        got,
        [
            ("desc", Reason::ElementNotAllowed),
            ("div", Reason::UnexpectedNamespace)
        ]
    );
}

#[test]
fn unstable_ammonia_output_is_driven_to_a_fixed_point() {
    // Nested links around a table: ammonia's first output parses into a different tree, so a
    // single ammonia pass is not idempotent here. palisade sanitizes again and returns the
    // stable result, and the report says so.
    let input =
        r#"<a href="https://ok.example/"><table><a href="javascript:alert(1)">z</a></table></a>"#;
    let policy = Policy::rich();
    let (out, report) = policy.clean_with_report(input).unwrap();
    assert!(report.restructured());
    assert_eq!(policy.clean(out.as_str()).unwrap(), out);
    check_output("restructured", &policy, out.as_str());
}

#[test]
fn attributes_of_disallowed_elements_do_not_keep_their_content() {
    let policy = Policy::builder()
        .preset(Preset::Basic)
        .allow_attributes("script", ["src"])
        .build()
        .unwrap();
    assert_eq!(
        policy.clean("<script>steal()</script>ok").unwrap().as_str(),
        "ok"
    );
}

#[test]
fn policies_are_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Policy>();
    send_sync::<palisade_sanitize::url::UrlPolicy>();
    send_sync::<palisade_sanitize::SafeHtml>();
}

#[test]
fn report_is_bounded() {
    let input = "<blink>x</blink>".repeat(3000);
    let (_, report) = Policy::basic().clean_with_report(&input).unwrap();
    assert_eq!(report.total(), 3000);
    assert_eq!(
        report.removals().len(),
        palisade_sanitize::html::MAX_REPORT_ENTRIES
    );
}

#[test]
fn escape_mode_shows_markup_as_text() {
    let policy = Policy::builder()
        .preset(Preset::Basic)
        .disallowed(Disallowed::Escape)
        .build()
        .unwrap();
    let (out, report) = policy
        .clean_with_report(r#"<b>ok</b><script>alert("x")</script><img src=x onerror=y()>"#)
        .unwrap();
    assert_eq!(
        out.as_str(),
        "<b>ok</b>&lt;script&gt;alert(\"x\")&lt;/script&gt;&lt;img src=\"x\" onerror=\"y()\"&gt;"
    );
    assert_eq!(report.count(Reason::Escaped), 2);
    assert_eq!(policy.clean(out.as_str()).unwrap(), out);
}

#[test]
fn host_allow_list_covers_protocol_relative_urls() {
    let policy = Policy::builder()
        .preset(Preset::Rich)
        .allow_hosts(["example.com"])
        .unwrap()
        .build()
        .unwrap();
    for (url, ok) in [
        ("https://example.com/a", true),
        ("//example.com/a", true),
        ("/local/path", true),
        ("https://evil.test/", false),
        ("//evil.test/x", false),
        ("\\\\evil.test/x", false),
        ("/\\evil.test/x", false),
        ("https://example.com.evil.test/", false),
    ] {
        assert_eq!(policy.allows_attribute("a", "href", url), ok, "{url}");
    }
    let no_relative = Policy::builder()
        .preset(Preset::Rich)
        .relative_urls(false)
        .build()
        .unwrap();
    assert!(!no_relative.allows_attribute("a", "href", "/x"));
    assert!(Policy::rich().allows_attribute("a", "href", "mailto:a@example.com"));
    assert!(!Policy::rich().allows_attribute("img", "src", "mailto:a@example.com"));
}

#[test]
fn dangerous_combinations_need_their_name() {
    let cases: Vec<(Result<Policy, _>, Danger)> = vec![
        (
            Policy::builder().allow_elements(["script"]).build(),
            Danger::RawTextElements,
        ),
        (
            Policy::builder().allow_elements(["textarea"]).build(),
            Danger::RawTextElements,
        ),
        (
            Policy::builder().allow_elements(["math"]).build(),
            Danger::ForeignContent,
        ),
        (
            Policy::builder().allow_elements(["animate"]).build(),
            Danger::SvgAnimation,
        ),
        (
            Policy::builder().allow_elements(["object"]).build(),
            Danger::Embedding,
        ),
        (
            Policy::builder().allow_elements(["form"]).build(),
            Danger::Forms,
        ),
        (
            Policy::builder()
                .allow_elements(["p"])
                .allow_generic_attributes(["onclick"])
                .build(),
            Danger::EventHandlers,
        ),
        (
            Policy::builder()
                .allow_elements(["p"])
                .allow_generic_attributes(["style"])
                .build(),
            Danger::UnfilteredStyle,
        ),
        (
            Policy::builder()
                .allow_elements(["p"])
                .allow_generic_attributes(["id"])
                .build(),
            Danger::DomClobbering,
        ),
        (
            Policy::builder().allow_data_attributes().build(),
            Danger::ScriptGadgets,
        ),
        (
            Policy::builder().url_schemes(["https", "data"]).build(),
            Danger::ResourceSchemes,
        ),
    ];
    for (result, danger) in cases {
        let err = result.expect_err("dangerous policy was built");
        let text = err.to_string();
        assert!(text.contains(&format!("{danger:?}")), "{text}");
    }
}

#[test]
fn dangerous_settings_build_when_named() {
    // Named, they build.
    Policy::builder()
        .allow_elements(["p"])
        .allow_generic_attributes(["style"])
        .style_properties(["color"])
        .build()
        .unwrap();
    Policy::builder()
        .allow_elements(["svg", "animate"])
        .dangerous_allow(Danger::ForeignContent)
        .dangerous_allow(Danger::SvgAnimation)
        .build()
        .unwrap();
    // Never.
    assert!(
        Policy::builder()
            .url_schemes(["javascript"])
            .build()
            .is_err()
    );
    assert!(Policy::builder().allow_elements(["<b>"]).build().is_err());
    assert!(
        Policy::builder()
            .allow_elements(["a"])
            .allow_attributes("a", ["rel"])
            .build()
            .is_err()
    );
    assert!(
        Policy::builder()
            .allow_elements(["a"])
            .allow_attributes("a", ["rel"])
            .link_rel(None)
            .build()
            .is_ok()
    );
    assert!(
        Policy::builder()
            .allow_elements(["style"])
            .dangerous_allow(Danger::RawTextElements)
            .style_properties(["color"])
            .build()
            .is_err()
    );
}

#[test]
fn style_is_filtered_by_property() {
    let policy = Policy::builder()
        .allow_elements(["p"])
        .allow_generic_attributes(["style"])
        .style_properties(["color"])
        .build()
        .unwrap();
    let out = policy
        .clean(
            r#"<p style="color: red; background: url(javascript:alert(1)); position: fixed">x</p>"#,
        )
        .unwrap();
    assert_eq!(out.as_str(), r#"<p style="color:red">x</p>"#);
}

#[test]
fn limits_bound_the_work() {
    let policy = Policy::basic();
    for deep in [
        "<div>".repeat(100_000),
        "<b>".repeat(100_000),
        "<span>".repeat(300),
        "<table><tr><td>".repeat(200),
        "<template>".repeat(1000),
        "<svg><foreignObject>".repeat(1000),
        "<ul><li>".repeat(200),
    ] {
        assert_eq!(
            policy.clean(&deep),
            Err(HtmlError::TooDeep { max_depth: 256 }),
            "{}",
            &deep[..20]
        );
    }
    // Siblings are not depth, and elements the parser closes itself do not nest.
    assert!(policy.clean(&"<p>x".repeat(50_000)).is_ok());
    assert!(policy.clean(&"<a>x".repeat(50_000)).is_ok());
    assert!(policy.clean(&"<i>x</i>".repeat(50_000)).is_ok());
    assert!(policy.clean(&"<span>".repeat(250)).is_ok());

    let big = "a".repeat((1 << 20) + 1);
    assert!(matches!(
        policy.clean(&big),
        Err(HtmlError::TooLarge { .. })
    ));
    let small = Policy::builder()
        .preset(Preset::Basic)
        .limits(Limits {
            max_input_bytes: 100,
            max_depth: 3,
        })
        .build()
        .unwrap();
    assert!(matches!(
        small.clean(&"x".repeat(101)),
        Err(HtmlError::TooLarge { len: 101, max: 100 })
    ));
    assert!(small.clean("<b><i><u>ok</u></i></b>").is_ok());
    assert_eq!(
        small.clean("<b><i><u><s>no</s></u></i></b>"),
        Err(HtmlError::TooDeep { max_depth: 3 })
    );
    assert!(
        Policy::builder()
            .limits(Limits {
                max_input_bytes: 0,
                max_depth: 3
            })
            .build()
            .is_err()
    );
}

#[test]
fn bytes_api_refuses_invalid_utf8_and_handles_nul() {
    let policy = Policy::basic();
    assert_eq!(
        policy.clean_bytes(b"<b>ok</b>\xff\xfe"),
        Err(HtmlError::InvalidUtf8 { valid_up_to: 9 })
    );
    assert_eq!(
        policy.clean_bytes(b"<b>ok</b>").unwrap().as_str(),
        "<b>ok</b>"
    );
    let out = policy.clean("a\0b<b\0>c</b>").unwrap();
    assert!(!out.as_str().contains('\0'));
    let out = policy.clean_bytes("é".as_bytes()).unwrap();
    assert_eq!(out.as_str(), "é");
}

#[test]
fn presets_build_and_facade_works() {
    for preset in [Preset::Strict, Preset::Basic, Preset::Rich] {
        let policy = Policy::preset(preset);
        assert_eq!(policy.limits(), Limits::DEFAULT);
    }
    assert_eq!(
        palisade_sanitize::html::clean("<b>x</b><script>y</script>")
            .unwrap()
            .as_str(),
        "<b>x</b>"
    );
    assert_eq!(
        Policy::strict()
            .clean("<b>x</b> &amp; <i>y</i>")
            .unwrap()
            .as_str(),
        "x &amp; y"
    );
    assert!(format!("{:?}", Policy::basic()).contains("\"blockquote\""));
}
