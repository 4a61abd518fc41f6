//! One GET of a JWKS document: hyper's HTTP/1.1 client over rustls with AWS-LC, under one
//! timeout for the whole exchange and a cap on the body.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Empty, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::remote::FetchError;

/// Where the document is, parsed once when the client is built.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The host to connect to: a name, or an IP address without brackets.
    host: String,
    port: u16,
    /// The name the server's certificate must carry.
    server_name: ServerName<'static>,
    /// The `Host` header: the host as written in the URL, with a port that is not the default.
    host_header: String,
    /// The request target (origin form).
    target: Uri,
    tls: bool,
}

impl Endpoint {
    /// Parses `url`; `Err` says what is wrong, in words that do not repeat the URL.
    pub(crate) fn parse(url: &str, allow_http: bool) -> Result<Self, &'static str> {
        let uri: Uri = url
            .parse()
            .map_err(|_| "the JWKS URL is not a valid absolute URL")?;
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => {
                if !allow_http {
                    return Err(
                        "the JWKS URL must be https (plain http only with insecure_allow_http)",
                    );
                }
                false
            }
            _ => return Err("the JWKS URL must be https"),
        };
        let authority = uri.authority().ok_or("the JWKS URL has no host")?.as_str();
        if authority.contains('@') {
            return Err("the JWKS URL must not carry credentials");
        }
        let written = uri.host().ok_or("the JWKS URL has no host")?;
        if written.is_empty() {
            return Err("the JWKS URL has no host");
        }
        let host = written
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(written)
            .to_owned();
        let default_port = if tls { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| "the JWKS URL's host is not a valid DNS name or IP address")?;
        let host_header = if port == default_port {
            written.to_owned()
        } else {
            format!("{written}:{port}")
        };
        let target = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
            .parse()
            .map_err(|_| "the JWKS URL's path is not valid")?;
        Ok(Self {
            host,
            port,
            server_name,
            host_header,
            target,
            tls,
        })
    }
}

/// A successful response: the body and how long the server lets it be cached.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    /// Seconds from `Cache-Control: max-age` less `Age`; `Some(0)` for `no-cache`/`no-store`.
    pub(crate) max_age: Option<u64>,
}

/// GETs the document, all of it within `timeout`, refusing a body over `max_bytes`.
pub(crate) async fn get(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    tokio::time::timeout(timeout, connect_and_get(endpoint, tls, max_bytes))
        .await
        .unwrap_or(Err(FetchError::Timeout(timeout)))
}

async fn connect_and_get(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    if endpoint.tls {
        let stream = tls
            .connect(endpoint.server_name.clone(), tcp)
            .await
            .map_err(|e| FetchError::Tls(e.to_string()))?;
        exchange(TokioIo::new(stream), endpoint, max_bytes).await
    } else {
        exchange(TokioIo::new(tcp), endpoint, max_bytes).await
    }
}

fn http_error(e: &hyper::Error) -> FetchError {
    FetchError::Http(e.to_string())
}

/// One request on a fresh connection. The connection is driven here, not spawned, so nothing
/// outlives the call (or its timeout).
async fn exchange<IO>(io: IO, endpoint: &Endpoint, max_bytes: usize) -> Result<Fetched, FetchError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(|e| http_error(&e))?;
    let request = Request::get(endpoint.target.clone())
        .header(header::HOST, endpoint.host_header.as_str())
        .header(header::ACCEPT, "application/jwk-set+json, application/json")
        .header(
            header::USER_AGENT,
            concat!("palisade-token/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let work = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| http_error(&e))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let max_age = max_age(response.headers());
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    FetchError::TooLarge(max_bytes)
                } else {
                    FetchError::Http(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Fetched { body, max_age })
    };
    let mut conn = pin!(conn);
    let mut work = pin!(work);
    let mut conn_done = false;
    poll_fn(|cx| {
        if !conn_done && let Poll::Ready(done) = conn.as_mut().poll(cx) {
            conn_done = true;
            if let Err(e) = done {
                return Poll::Ready(Err(http_error(&e)));
            }
        }
        work.as_mut().poll(cx)
    })
    .await
}

/// The freshness lifetime a response grants, in seconds: the smallest `max-age` of its
/// `Cache-Control` headers less its `Age` (RFC 9111 §4.2.1, §4.2.3), or 0 for `no-cache` and
/// `no-store`. `None` when it says nothing. A `max-age` too large for a `u64` is `u64::MAX`;
/// one that is not a number is ignored.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<u64> {
    let mut found: Option<u64> = None;
    let mut keep = |seconds: u64| found = Some(found.map_or(seconds, |f| f.min(seconds)));
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let (name, arg) = directive
                .split_once('=')
                .map_or((directive, None), |(n, a)| (n, Some(a)));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                keep(0);
            } else if name.eq_ignore_ascii_case("max-age")
                && let Some(seconds) = arg.and_then(delta_seconds)
            {
                keep(seconds);
            }
        }
    }
    let age = headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(delta_seconds)
        .unwrap_or(0);
    found.map(|f| f.saturating_sub(age))
}

/// RFC 9111 §1.2.2 delta-seconds, quotes tolerated; saturates at `u64::MAX`.
fn delta_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    type Headers<'a> = &'a [(&'a str, &'a str)];

    #[test]
    fn max_age_reads_cache_control_and_subtracts_age() {
        let cases: &[(Headers<'_>, Option<u64>)] = &[
            (&[], None),
            (&[("cache-control", "public, max-age=3600")], Some(3600)),
            (
                &[("cache-control", "Max-Age = 60 , must-revalidate")],
                Some(60),
            ),
            (&[("cache-control", "max-age=\"120\"")], Some(120)),
            (
                &[("cache-control", "max-age=600"), ("age", "100")],
                Some(500),
            ),
            (&[("cache-control", "max-age=60"), ("age", "100")], Some(0)),
            // The smallest of several, in one header or several.
            (&[("cache-control", "max-age=600, max-age=60")], Some(60)),
            (
                &[
                    ("cache-control", "max-age=600"),
                    ("cache-control", "max-age=30"),
                ],
                Some(30),
            ),
            (&[("cache-control", "no-store")], Some(0)),
            (&[("cache-control", "max-age=3600, no-cache")], Some(0)),
            (
                &[("cache-control", "max-age=99999999999999999999999")],
                Some(u64::MAX),
            ),
            // Not numbers: ignored.
            (&[("cache-control", "max-age=-5")], None),
            (&[("cache-control", "max-age=1e3, public")], None),
            (&[("cache-control", "max-age")], None),
            (&[("cache-control", "s-maxage=60")], None),
        ];
        for (pairs, want) in cases {
            assert_eq!(max_age(&headers(pairs)), *want, "{pairs:?}");
        }
    }

    #[test]
    fn endpoints_must_be_https_unless_plain_http_is_asked_for_by_name() {
        assert!(Endpoint::parse("https://idp.example/.well-known/jwks.json", false).is_ok());
        assert!(Endpoint::parse("HTTPS://idp.example", false).is_ok());
        for url in [
            "http://idp.example/jwks",
            "ftp://idp.example/jwks",
            "idp.example/jwks",
            "/jwks",
            "https://user:pass@idp.example/jwks",
            "https:///jwks",
            "not a url",
        ] {
            assert!(Endpoint::parse(url, false).is_err(), "{url}");
        }
        assert!(Endpoint::parse("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(Endpoint::parse("ftp://idp.example/jwks", true).is_err());
    }

    #[test]
    fn endpoints_keep_the_host_header_and_the_target() {
        let e = Endpoint::parse("https://[::1]:8443/keys?v=2", false).unwrap();
        assert_eq!(e.host, "::1");
        assert_eq!(e.port, 8443);
        assert_eq!(e.host_header, "[::1]:8443");
        assert_eq!(e.target, "/keys?v=2");
        let e = Endpoint::parse("https://idp.example", false).unwrap();
        assert_eq!((e.port, e.host_header.as_str()), (443, "idp.example"));
        assert_eq!(e.target, "/");
    }
}
