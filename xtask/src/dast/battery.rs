//! The hostile-request battery: requests a client library would never send, written byte by
//! byte, each with the answer the service must give. Every answer must be one of the statuses
//! the case allows (4xx, or the 2xx a request gets when the service rightly ignores the
//! hostile part), never a 5xx, never two answers to one request (a smuggled second request
//! served), and never the admin listener's metrics on the public one.

use std::{fmt::Write as _, time::Duration};

use super::{
    http::{Observed, Piece, exchange},
    service::{BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT},
};

/// Findings: the case (`group: name`) and what was wrong.
pub(crate) type Findings = Vec<(String, String)>;

/// What a case accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    /// The statuses the one answer may have.
    pub(crate) statuses: &'static [u16],
    /// The server may close the connection without answering (hyper does for framing it
    /// cannot read past, such as an invalid chunk size after the response was committed).
    pub(crate) silent_close: bool,
    /// The server must close the connection before the case's deadline (slow clients).
    pub(crate) must_close: bool,
}

impl Expect {
    const fn answer(statuses: &'static [u16]) -> Self {
        Self {
            statuses,
            silent_close: false,
            must_close: false,
        }
    }

    const fn answer_or_close(statuses: &'static [u16]) -> Self {
        Self {
            statuses,
            silent_close: true,
            must_close: false,
        }
    }

    const fn cut_off() -> Self {
        Self {
            statuses: &[408],
            silent_close: true,
            must_close: true,
        }
    }
}

/// One hostile request.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The summary row it counts toward.
    pub(crate) group: &'static str,
    pub(crate) name: String,
    pub(crate) pieces: Vec<Piece>,
    pub(crate) expect: Expect,
    /// Text no answer may contain (the metrics exposition's marker, a header to be echoed).
    pub(crate) never: &'static [&'static str],
    pub(crate) deadline: Duration,
}

/// Text only the metrics exposition has.
const METRICS_MARKERS: &[&str] = &["# TYPE", "# HELP", "secure_api_"];

/// What the service's answer to `observed` says about `expect`: `None` when it is right,
/// or the finding.
pub(crate) fn judge(case: &Case, observed: &Observed) -> Option<String> {
    let deadline = case.deadline.as_secs_f64();
    let mut problems = Vec::new();
    for (status, body) in &observed.responses {
        if *status >= 500 {
            problems.push(format!("server error {status}"));
        }
        for text in case.never {
            if body.contains(text) {
                problems.push(format!("the answer contains {text:?}"));
            }
        }
    }
    match observed.responses.as_slice() {
        [] if observed.closed && case.expect.silent_close => {}
        [] if observed.closed => problems.push("closed without an answer".into()),
        [] => problems.push(format!("no answer within {deadline:.0} s")),
        [(status, _)] => {
            if !case.expect.statuses.contains(status) && *status < 500 {
                problems.push(format!(
                    "answered {status}, expected {}",
                    show_statuses(case.expect)
                ));
            }
        }
        more => problems.push(format!(
            "{} answers to one request (a second, smuggled request was served): {:?}",
            more.len(),
            more.iter().map(|(s, _)| *s).collect::<Vec<_>>()
        )),
    }
    if observed.garbage {
        problems.push("bytes that are not an HTTP response".into());
    }
    if case.expect.must_close && !observed.closed {
        problems.push(format!(
            "the connection was still open after {deadline:.0} s"
        ));
    }
    if problems.is_empty() {
        None
    } else {
        Some(problems.join("; "))
    }
}

fn show_statuses(expect: Expect) -> String {
    let mut out = expect
        .statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    if expect.silent_close {
        out.push_str(" (or a close)");
    }
    out
}

/// Runs every case against the public listener on `port`; the findings, by case name, and
/// the number of requests per group, in order.
pub(crate) fn run(
    port: u16,
    admin_port: u16,
    token: &str,
) -> (Vec<(&'static str, usize)>, Findings) {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    let mut findings = Vec::new();
    let mut count =
        |group: &'static str, n: usize| match counts.iter_mut().find(|(g, _)| *g == group) {
            Some((_, total)) => *total += n,
            None => counts.push((group, n)),
        };
    for case in cases(port, admin_port, token) {
        count(case.group, 1);
        match exchange(port, &case.pieces, case.deadline) {
            Ok(observed) => {
                if let Some(finding) = judge(&case, &observed) {
                    findings.push((format!("{}: {}", case.group, case.name), finding));
                }
            }
            Err(e) => findings.push((format!("{}: {}", case.group, case.name), e)),
        }
    }
    // Many slow clients at once: every one is cut off, and the service still answers.
    let slowloris = slowloris_cases(port, 24);
    count("slow clients", slowloris.len() + 1);
    let handles: Vec<_> = slowloris
        .into_iter()
        .map(|case| {
            std::thread::spawn(move || {
                let verdict = match exchange(port, &case.pieces, case.deadline) {
                    Ok(observed) => judge(&case, &observed),
                    Err(e) => Some(e),
                };
                (case.name, verdict)
            })
        })
        .collect();
    for handle in handles {
        match handle.join() {
            Ok((name, Some(finding))) => findings.push((format!("slow clients: {name}"), finding)),
            Ok((_, None)) => {}
            Err(_) => findings.push(("slow clients".into(), "a client thread panicked".into())),
        }
    }
    let health = request_bytes("GET", "/health/live", port, &[], b"");
    let probe = Case {
        group: "slow clients",
        name: "a probe after the slow clients".into(),
        pieces: vec![Piece::now(health)],
        expect: Expect::answer(&[200]),
        never: &[],
        deadline: Duration::from_secs(10),
    };
    match exchange(port, &probe.pieces, probe.deadline) {
        Ok(observed) => {
            if let Some(finding) = judge(&probe, &observed) {
                findings.push((format!("slow clients: {}", probe.name), finding));
            }
        }
        Err(e) => findings.push((format!("slow clients: {}", probe.name), e)),
    }
    (counts, findings)
}

/// A request with `Host` and `Connection: close`, `extra` headers as given (raw bytes), and
/// `Content-Length` when `body` is not empty.
fn request_bytes(method: &str, target: &str, port: u16, extra: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n")
            .into_bytes();
    for header in extra {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

const JSON: &[u8] = b"Content-Type: application/json";
const LOGIN: &[u8] = br#"{"email":"nobody@example.com","password":"not the password at all"}"#;

/// Every case but the concurrent slow clients.
#[allow(clippy::too_many_lines, reason = "one table of cases")]
/// `token` is a valid access token of an account.
pub(crate) fn cases(port: u16, admin_port: u16, token: &str) -> Vec<Case> {
    let quick = Duration::from_secs(10);
    let mut cases = Vec::new();
    // Cases `add` cannot express (their own deadline or forbidden text), appended at the end.
    let mut special = Vec::new();
    let mut add = |group: &'static str, name: &str, bytes: Vec<u8>, expect: Expect| {
        cases.push(Case {
            group,
            name: name.to_owned(),
            pieces: vec![Piece::now(bytes)],
            expect,
            never: METRICS_MARKERS,
            deadline: quick,
        });
    };
    let head = |method: &str, target: &str| -> String {
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n")
    };

    // Bodies. The limit is 64 KiB (`max_body_bytes`): 413 whether the length is declared or
    // the chunks run past it; broken framing is 400 or a close.
    let mut big = format!(
        "{}Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n",
        head("POST", "/auth/login")
    )
    .into_bytes();
    big.extend(std::iter::repeat_n(b'x', 4096));
    add(
        "bodies",
        "Content-Length of 10 MiB",
        big,
        Expect::answer_or_close(&[413]),
    );
    let mut padded = br#"{"email":"nobody@example.com","password":""#.to_vec();
    padded.extend(std::iter::repeat_n(b'a', 70 * 1024));
    padded.extend_from_slice(br#""}"#);
    add(
        "bodies",
        "a 70 KiB body",
        request_bytes("POST", "/auth/login", port, &[JSON], &padded),
        Expect::answer_or_close(&[413]),
    );
    let mut chunked = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        head("POST", "/auth/register")
    )
    .into_bytes();
    for _ in 0..80 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend(std::iter::repeat_n(b' ', 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    add(
        "bodies",
        "80 KiB in chunks",
        chunked,
        Expect::answer_or_close(&[413]),
    );
    let mut small = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        head("POST", "/auth/login")
    )
    .into_bytes();
    small.extend_from_slice(format!("{:x}\r\n", LOGIN.len()).as_bytes());
    small.extend_from_slice(LOGIN);
    small.extend_from_slice(b"\r\n0\r\n\r\n");
    add(
        "bodies",
        // 429 once schemathesis's failed logins locked this address out.
        "a well-formed chunked login (unknown account)",
        small,
        Expect::answer(&[401, 429]),
    );
    let mut bad_size = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        head("POST", "/auth/login")
    )
    .into_bytes();
    bad_size.extend_from_slice(b"zz\r\n{}\r\n0\r\n\r\n");
    add(
        "bodies",
        "a chunk size that is not hex",
        bad_size,
        Expect::answer_or_close(&[400]),
    );
    let mut huge_size = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        head("POST", "/auth/login")
    )
    .into_bytes();
    huge_size.extend_from_slice(b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n");
    add(
        "bodies",
        "a chunk size past 2^64",
        huge_size,
        Expect::answer_or_close(&[400, 413]),
    );
    let deep_array = format!(
        "{{\"email\":{}1{},\"password\":\"x\"}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    add(
        "bodies",
        "JSON nested 5000 arrays deep",
        request_bytes("POST", "/auth/login", port, &[JSON], deep_array.as_bytes()),
        Expect::answer(&[400]),
    );
    let deep_object = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    add(
        "bodies",
        "JSON nested 5000 objects deep",
        request_bytes(
            "PUT",
            "/me",
            port,
            &[JSON, b"Authorization: Bearer x"],
            deep_object.as_bytes(),
        ),
        Expect::answer(&[400, 401]),
    );
    add(
        "bodies",
        "invalid UTF-8 in a JSON body",
        request_bytes(
            "POST",
            "/auth/register",
            port,
            &[JSON],
            b"{\"email\":\"\xff\xfe@example.com\",\"password\":\"a long enough password\"}",
        ),
        Expect::answer(&[400]),
    );
    add(
        "bodies",
        "a NUL in a JSON string",
        request_bytes(
            "POST",
            "/auth/register",
            port,
            &[JSON],
            br#"{"email":"a\u0000b@example.com","password":"a long enough password"}"#,
        ),
        Expect::answer(&[400]),
    );
    add("bodies", "a duplicated JSON member", request_bytes("POST", "/auth/login", port, &[JSON], br#"{"email":"a@example.com","email":"b@example.com","password":"a long enough password"}"#), Expect::answer(&[400]));
    add(
        "bodies",
        "a form body",
        request_bytes(
            "POST",
            "/auth/login",
            port,
            &[b"Content-Type: application/x-www-form-urlencoded"],
            b"email=a%40example.com&password=x",
        ),
        Expect::answer(&[415]),
    );
    add(
        "bodies",
        "JSON without a Content-Type",
        request_bytes("POST", "/auth/login", port, &[], LOGIN),
        Expect::answer(&[415]),
    );

    // Invalid UTF-8 in the request line and headers.
    add(
        "invalid UTF-8",
        "raw 0xFF 0xFE in the path",
        [
            b"GET /me/\xff\xfe HTTP/1.1\r\n".as_slice(),
            format!("Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
        ]
        .concat(),
        Expect::answer_or_close(&[400, 404]),
    );
    add(
        "invalid UTF-8",
        "percent-encoded 0xFF in the path",
        request_bytes("GET", "/health/live%ff", port, &[], b""),
        Expect::answer(&[404]),
    );
    add(
        "invalid UTF-8",
        "a bearer token of 0xFF 0xFE",
        request_bytes(
            "GET",
            "/me",
            port,
            &[b"Authorization: Bearer \xff\xfe"],
            b"",
        ),
        Expect::answer(&[400, 401]),
    );
    add(
        "invalid UTF-8",
        "0xFF in a header name",
        request_bytes("GET", "/health/live", port, &[b"X-\xff: 1"], b""),
        Expect::answer_or_close(&[400]),
    );
    add(
        "invalid UTF-8",
        "0xFF in the refresh cookie",
        request_bytes(
            "POST",
            "/auth/refresh",
            port,
            &[b"Cookie: refresh=\xff\xfe", JSON],
            b"",
        ),
        Expect::answer(&[400, 401, 403]),
    );
    add(
        "invalid UTF-8",
        "0xFF in the Content-Type",
        request_bytes(
            "POST",
            "/auth/login",
            port,
            &[b"Content-Type: application/json\xff"],
            LOGIN,
        ),
        Expect::answer(&[400, 415]),
    );

    // CR, LF and NUL inside header values, and header-line shapes RFC 9112 forbids.
    add(
        "header values",
        "a bare CR in a value",
        request_bytes("GET", "/health/live", port, &[b"X-Test: a\rb"], b""),
        Expect::answer_or_close(&[400]),
    );
    add(
        "header values",
        "a NUL in a value",
        request_bytes("GET", "/health/live", port, &[b"X-Test: a\0b"], b""),
        Expect::answer_or_close(&[400]),
    );
    add(
        "header values",
        "a NUL in the bearer token",
        request_bytes("GET", "/me", port, &[b"Authorization: Bearer a\0b"], b""),
        Expect::answer_or_close(&[400]),
    );
    // A bare LF ends a header line (RFC 9112 section 2.2 lets a recipient accept it): the
    // "injected" header is just another header, and the probe answers.
    add(
        "header values",
        "a bare LF splitting a value",
        request_bytes(
            "GET",
            "/health/live",
            port,
            &[b"X-Test: a\nX-Injected: b"],
            b"",
        ),
        Expect::answer_or_close(&[200, 400]),
    );
    add(
        "header values",
        "an obsolete line fold",
        request_bytes("GET", "/health/live", port, &[b"X-Test: a\r\n folded"], b""),
        Expect::answer_or_close(&[400]),
    );
    add(
        "header values",
        "a header line without a colon",
        request_bytes("GET", "/health/live", port, &[b"X-Test"], b""),
        Expect::answer_or_close(&[400]),
    );
    add(
        "header values",
        "whitespace before the colon",
        request_bytes("GET", "/health/live", port, &[b"Content-Length : 0"], b""),
        Expect::answer_or_close(&[400]),
    );

    // Request smuggling: the body framing must be read one way only, and a request hidden in a
    // body never answered.
    let smuggled = format!("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let cl_te = format!(
        "{}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
        head("POST", "/auth/login")
    );
    add(
        "smuggling",
        "Content-Length and Transfer-Encoding (CL.TE)",
        cl_te.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    let te_cl = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n{smuggled}",
        head("POST", "/auth/login")
    );
    add(
        "smuggling",
        "Transfer-Encoding and Content-Length (TE.CL)",
        te_cl.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    let two_lengths = format!(
        "{}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: {}\r\n\r\n{{}}{smuggled}",
        head("POST", "/auth/login"),
        2 + smuggled.len()
    );
    add(
        "smuggling",
        "two different Content-Lengths",
        two_lengths.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    let list_length = format!(
        "{}Content-Type: application/json\r\nContent-Length: 2, 40\r\n\r\n{{}}{smuggled}",
        head("POST", "/auth/login")
    );
    add(
        "smuggling",
        "a Content-Length list",
        list_length.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    let signed = format!(
        "{}Content-Type: application/json\r\nContent-Length: +2\r\n\r\n{{}}",
        head("POST", "/auth/login")
    );
    add(
        "smuggling",
        "a signed Content-Length",
        signed.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    for (name, te) in [
        ("Transfer-Encoding: chunked, identity", "chunked, identity"),
        ("Transfer-Encoding: xchunked", "xchunked"),
        ("Transfer-Encoding: chunked twice", "chunked, chunked"),
        ("Transfer-Encoding: gzip, chunked", "gzip, chunked"),
    ] {
        let text = format!(
            "{}Content-Type: application/json\r\nTransfer-Encoding: {te}\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n{smuggled}",
            head("POST", "/auth/login")
        );
        add(
            "smuggling",
            name,
            text.into_bytes(),
            Expect::answer_or_close(&[400, 501]),
        );
    }
    let tab_te = format!(
        "{}Content-Type: application/json\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n{smuggled}",
        head("POST", "/auth/login")
    );
    add(
        "smuggling",
        "a tab before chunked, with Content-Length",
        tab_te.into_bytes(),
        Expect::answer_or_close(&[400]),
    );
    let http10 = format!(
        "POST /auth/login HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
    );
    add(
        "smuggling",
        "Transfer-Encoding in HTTP/1.0",
        http10.into_bytes(),
        Expect::answer_or_close(&[400]),
    );

    // Header floods: hyper's limits (100 headers, a bounded head) answer 431 or close.
    let mut many = head("GET", "/health/live").into_bytes();
    for i in 0..5000 {
        many.extend_from_slice(format!("X-Flood-{i}: {i}\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    add(
        "header floods",
        "5000 headers",
        many,
        Expect::answer_or_close(&[400, 431]),
    );
    // The service caps a request head at 64 KiB (hyper's `max_header_size`; without it only
    // the read buffer of about 400 KiB bounds it): a 100 KiB header and a 1 MiB one are both refused with 431, so what one
    // connection can make the service hold is bounded.
    let long_value = format!(
        "{}X-Long: {}\r\n\r\n",
        head("GET", "/health/live"),
        "v".repeat(100 * 1024)
    );
    add(
        "header floods",
        "a 100 KiB header value (over the 64 KiB head cap)",
        long_value.into_bytes(),
        Expect::answer_or_close(&[431]),
    );
    let longer_value = format!(
        "{}X-Long: {}\r\n\r\n",
        head("GET", "/health/live"),
        "v".repeat(1024 * 1024)
    );
    add(
        "header floods",
        "a 1 MiB header value",
        longer_value.into_bytes(),
        Expect::answer_or_close(&[400, 431]),
    );
    let long_target = format!("/health/live?{}", "q".repeat(100 * 1024));
    add(
        "header floods",
        "a 100 KiB request target",
        request_bytes("GET", &long_target, port, &[], b""),
        Expect::answer_or_close(&[400, 414, 431]),
    );
    let cookies = format!(
        "{}Cookie: {}\r\n\r\n",
        head("POST", "/auth/refresh"),
        (0..3000)
            .map(|i| format!("c{i}=v"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    add(
        "header floods",
        "3000 cookies in one header",
        cookies.into_bytes(),
        Expect::answer_or_close(&[400, 401, 403, 431]),
    );

    // The admin route: `/metrics` lives on the admin listener only; no spelling of it, and
    // no header that proxies use to rewrite a path, reaches it on the public one.
    for target in [
        "/metrics",
        "/metrics/",
        "//metrics",
        "/./metrics",
        "/health/../metrics",
        "/health/live/../../metrics",
        "/%6Detrics",
        "/%2Fmetrics",
        "/%2e/metrics",
        "/METRICS",
        "/metrics%00",
        "/metrics;.json",
        "/metrics?format=prometheus",
        "/metrics#",
        "/admin/../metrics",
    ] {
        add(
            "admin route",
            &format!("GET {target}"),
            request_bytes("GET", target, port, &[], b""),
            Expect::answer_or_close(&[400, 404]),
        );
    }
    add(
        "admin route",
        "GET \\metrics",
        request_bytes("GET", "/\\metrics", port, &[], b""),
        Expect::answer_or_close(&[400, 404]),
    );
    add(
        "admin route",
        "absolute-form target naming the admin port",
        request_bytes(
            "GET",
            &format!("http://127.0.0.1:{admin_port}/metrics"),
            port,
            &[],
            b"",
        ),
        Expect::answer_or_close(&[400, 404]),
    );
    let admin_host = format!(
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{admin_port}\r\nConnection: close\r\n\r\n"
    );
    add(
        "admin route",
        "Host naming the admin port",
        admin_host.into_bytes(),
        Expect::answer_or_close(&[400, 404]),
    );
    for header in [
        b"X-Original-URL: /metrics".as_slice(),
        b"X-Rewrite-URL: /metrics",
        b"X-Forwarded-Prefix: /metrics",
        b"X-Forwarded-Uri: /metrics",
        b"X-Forwarded-Host: 127.0.0.1:9090",
    ] {
        let name = format!("GET / with {}", String::from_utf8_lossy(header));
        add(
            "admin route",
            &name,
            request_bytes("GET", "/", port, &[header], b""),
            Expect::answer(&[404]),
        );
    }
    // The CORS layer answers every OPTIONS as a preflight: 200, no body, and no
    // Access-Control-Allow-Origin unless the origin is allowed.
    add(
        "admin route",
        "OPTIONS *",
        request_bytes("OPTIONS", "*", port, &[], b""),
        Expect::answer_or_close(&[200, 400, 404, 405]),
    );
    add(
        "admin route",
        "CONNECT to the admin port",
        request_bytes(
            "CONNECT",
            &format!("127.0.0.1:{admin_port}"),
            port,
            &[],
            b"",
        ),
        Expect::answer_or_close(&[400, 404, 405]),
    );

    // Method overrides: never honoured; the request is what its method says. With a valid
    // token (without one the bearer layer answers 401 before the method is looked at), a POST
    // to /me is 405, where an honoured override would update the profile (200), and a GET to
    // /auth/logout is 405 where it would log out (204).
    let auth = format!("Authorization: Bearer {token}");
    for (method, target, header) in [
        ("POST", "/me", b"X-HTTP-Method-Override: PUT".as_slice()),
        ("POST", "/me", b"X-HTTP-Method: PUT"),
        ("POST", "/me", b"X-Method-Override: PUT"),
        ("GET", "/auth/logout", b"X-HTTP-Method-Override: POST"),
        ("POST", "/health/live", b"X-HTTP-Method-Override: GET"),
    ] {
        let name = format!("{method} {target} with {}", String::from_utf8_lossy(header));
        add(
            "method override",
            &name,
            request_bytes(
                method,
                target,
                port,
                &[header, auth.as_bytes(), JSON],
                b"{}",
            ),
            Expect::answer(&[405]),
        );
    }
    add(
        "method override",
        "POST /me?_method=PUT",
        request_bytes(
            "POST",
            "/me?_method=PUT",
            port,
            &[auth.as_bytes(), JSON],
            b"{}",
        ),
        Expect::answer(&[405]),
    );
    add(
        "method override",
        "an unknown method",
        request_bytes("FOO", "/health/live", port, &[], b""),
        Expect::answer_or_close(&[400, 405]),
    );
    add(
        "method override",
        "a lower-case method",
        request_bytes("get", "/health/live", port, &[], b""),
        Expect::answer_or_close(&[400, 405]),
    );
    special.push(Case {
        group: "method override",
        name: "TRACE does not echo the request".into(),
        pieces: vec![Piece::now(request_bytes(
            "TRACE",
            "/health/live",
            port,
            &[b"X-Canary: trace-canary-7f3a"],
            b"",
        ))],
        expect: Expect::answer_or_close(&[400, 405]),
        never: &["trace-canary-7f3a"],
        deadline: quick,
    });

    // Protocol shapes.
    add(
        "protocol",
        "an HTTP/2 preface on the HTTP/1.1 listener",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        Expect::answer_or_close(&[400, 505]),
    );
    add(
        "protocol",
        "an HTTP/0.9 request line",
        b"GET /health/live\r\n\r\n".to_vec(),
        Expect::answer_or_close(&[400]),
    );
    add(
        "protocol",
        "HTTP/3.0 in the request line",
        format!("GET /health/live HTTP/3.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").into_bytes(),
        Expect::answer_or_close(&[400, 505]),
    );
    add(
        "protocol",
        "bytes that are not HTTP",
        vec![
            0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, b'\r', b'\n', b'\r',
            b'\n',
        ],
        Expect::answer_or_close(&[400]),
    );

    // Slow clients, one at a time (many at once: `slowloris_cases`): cut off after the header
    // or body timeout, with a 408 or a plain close.
    let slow = HEADER_READ_TIMEOUT.max(BODY_READ_TIMEOUT) * 3 + Duration::from_secs(4);
    let mut drip = vec![Piece::now(format!(
        "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    ))];
    for i in 0..40 {
        drip.push(Piece {
            pause: Duration::from_millis(250),
            bytes: format!("X-Drip-{i}: 1\r\n").into_bytes(),
        });
    }
    special.push(Case {
        group: "slow clients",
        name: "headers dripped one line every 250 ms".into(),
        pieces: drip,
        expect: Expect::cut_off(),
        never: &[],
        deadline: slow,
    });
    let mut drip = vec![Piece::now(format!(
        "{}Content-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        head("POST", "/auth/login")
    ))];
    for _ in 0..40 {
        drip.push(Piece {
            pause: Duration::from_millis(250),
            bytes: b" ".to_vec(),
        });
    }
    // The body deadline fails the body's read: the handler answers 400 (the body could not be
    // read) and the connection closes.
    special.push(Case {
        group: "slow clients",
        name: "a body dripped one byte every 250 ms".into(),
        pieces: drip,
        expect: Expect {
            statuses: &[400, 408],
            ..Expect::cut_off()
        },
        never: &[],
        deadline: slow,
    });
    special.push(Case {
        group: "slow clients",
        name: "half a request line, then nothing".into(),
        pieces: vec![Piece::now("GET /hea")],
        expect: Expect::cut_off(),
        never: &[],
        deadline: slow,
    });
    cases.extend(special);
    cases
}

/// `count` connections that each send half a request's headers and then nothing.
fn slowloris_cases(port: u16, count: usize) -> Vec<Case> {
    let slow = HEADER_READ_TIMEOUT * 3 + Duration::from_secs(4);
    (0..count)
        .map(|i| {
            let mut text = String::new();
            let _ = write!(
                text,
                "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Client: {i}\r\n"
            );
            Case {
                group: "slow clients",
                name: format!("slow client {i} of {count} at once"),
                pieces: vec![Piece::now(text)],
                expect: Expect::cut_off(),
                never: &[],
                deadline: slow,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expect: Expect) -> Case {
        Case {
            group: "g",
            name: "n".into(),
            pieces: Vec::new(),
            expect,
            never: METRICS_MARKERS,
            deadline: Duration::from_secs(5),
        }
    }

    fn observed(responses: &[(u16, &str)], closed: bool) -> Observed {
        Observed {
            responses: responses
                .iter()
                .map(|(s, b)| (*s, (*b).to_owned()))
                .collect(),
            closed,
            garbage: false,
        }
    }

    #[test]
    fn an_expected_status_passes() {
        assert_eq!(
            judge(
                &case(Expect::answer(&[400])),
                &observed(&[(400, "{}")], true)
            ),
            None
        );
        assert_eq!(
            judge(
                &case(Expect::answer(&[400])),
                &observed(&[(400, "{}")], false)
            ),
            None
        );
    }

    #[test]
    fn another_4xx_is_a_finding() {
        let finding = judge(&case(Expect::answer(&[400])), &observed(&[(404, "")], true)).unwrap();
        assert!(finding.contains("answered 404, expected 400"), "{finding}");
    }

    #[test]
    fn a_5xx_is_a_finding_even_when_listed() {
        let finding = judge(
            &case(Expect::answer(&[400, 501])),
            &observed(&[(501, "")], true),
        )
        .unwrap();
        assert!(finding.contains("server error 501"), "{finding}");
    }

    #[test]
    fn a_second_answer_means_a_smuggled_request_was_served() {
        let finding = judge(
            &case(Expect::answer_or_close(&[400])),
            &observed(&[(400, ""), (200, "")], true),
        )
        .unwrap();
        assert!(finding.contains("smuggled"), "{finding}");
    }

    #[test]
    fn a_silent_close_passes_only_where_allowed() {
        assert_eq!(
            judge(&case(Expect::answer_or_close(&[400])), &observed(&[], true)),
            None
        );
        let finding = judge(&case(Expect::answer(&[400])), &observed(&[], true)).unwrap();
        assert!(finding.contains("closed without an answer"), "{finding}");
    }

    #[test]
    fn silence_on_an_open_connection_is_a_finding() {
        let finding = judge(
            &case(Expect::answer_or_close(&[400])),
            &observed(&[], false),
        )
        .unwrap();
        assert!(finding.contains("no answer within 5 s"), "{finding}");
    }

    #[test]
    fn a_slow_client_must_be_cut_off() {
        assert_eq!(judge(&case(Expect::cut_off()), &observed(&[], true)), None);
        assert_eq!(
            judge(&case(Expect::cut_off()), &observed(&[(408, "")], true)),
            None
        );
        let finding = judge(&case(Expect::cut_off()), &observed(&[(408, "")], false)).unwrap();
        assert!(finding.contains("still open"), "{finding}");
    }

    #[test]
    fn metrics_on_the_public_listener_are_a_finding() {
        let body = "# TYPE secure_api_responses_total counter\n";
        let finding = judge(
            &case(Expect::answer(&[404])),
            &observed(&[(404, body)], true),
        )
        .unwrap();
        assert!(finding.contains("# TYPE"), "{finding}");
    }

    #[test]
    fn bytes_that_are_not_http_are_a_finding() {
        let mut seen = observed(&[(400, "")], true);
        seen.garbage = true;
        assert!(
            judge(&case(Expect::answer(&[400])), &seen)
                .unwrap()
                .contains("not an HTTP response")
        );
    }

    #[test]
    fn every_case_has_a_name_a_group_and_allows_no_5xx() {
        let cases = cases(1, 2, "token");
        assert!(cases.len() > 60, "{}", cases.len());
        for case in &cases {
            assert!(!case.name.is_empty() && !case.group.is_empty());
            assert!(case.deadline >= Duration::from_secs(5));
        }
        let mut names: Vec<_> = cases.iter().map(|c| &c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "names are unique");
    }
}
