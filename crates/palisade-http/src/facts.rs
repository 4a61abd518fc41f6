//! What several layers record about one request, worked out once and shared through one
//! request extension.

use std::{net::IpAddr, sync::Arc};

use http::{HeaderValue, Method, Request, Uri};

use crate::{
    client::{ClientKey, client_addr, ip_arc},
    request_id::{ClientRequestId, checked_value, raw_request_id},
};

/// The request's method and URI, its id as checked, the client's own id and the client address
/// as text, for the log, audit and error layers. Kept in the request's extensions behind an
/// `Arc`, so each layer's hook holds one reference count instead of its own copies of the
/// request line (which would also make each layer's future larger by the size of a `Uri`).
#[derive(Debug)]
pub(crate) struct Facts {
    method: Method,
    uri: Uri,
    /// The id it was worked out from (tower-http's `RequestId`, or the header), to tell
    /// whether a layer inside changed it.
    raw_id: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
    client_request_id: Option<Arc<str>>,
    client: Option<IpAddr>,
    client_text: Option<Arc<str>>,
}

impl Facts {
    /// The request's method.
    pub(crate) fn method(&self) -> &Method {
        &self.method
    }

    /// The request's path and query, as the request has them (`/` if it has none).
    pub(crate) fn path_and_query(&self) -> &str {
        self.uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
    }

    /// The request's path, without the query.
    pub(crate) fn path(&self) -> &str {
        self.uri.path()
    }

    /// The client's own request id, sanitized ([`ClientRequestId`]).
    pub(crate) fn client_request_id(&self) -> Option<&Arc<str>> {
        self.client_request_id.as_ref()
    }

    /// The request id, if it passed the checks of [`request_id`](crate::request_id).
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(|id| id.to_str().ok())
    }

    /// The best known client address, as text.
    pub(crate) fn client(&self) -> Option<&str> {
        self.client_text.as_deref()
    }
}

#[derive(Debug, Clone)]
struct Shared(Arc<Facts>);

/// The request's [`Facts`]: the copy in its extensions if its inputs are unchanged (a layer
/// between two readers may rewrite the URI, say), else worked out now and stored there.
pub(crate) fn facts<B>(request: &mut Request<B>) -> Arc<Facts> {
    let extensions = request.extensions();
    let client = client_addr(extensions);
    let raw = raw_request_id(extensions, request.headers());
    let client_request_id = extensions.get::<ClientRequestId>().map(|id| &id.0);
    if let Some(Shared(known)) = extensions.get::<Shared>()
        && known.client == client
        && known.raw_id.as_ref() == raw
        && same_arc(known.client_request_id.as_ref(), client_request_id)
        && known.method == *request.method()
        && known.uri == *request.uri()
    {
        return Arc::clone(known);
    }
    let client_request_id = client_request_id.map(Arc::clone);
    // The client's text is usually its rate-limit key already (a whole address): shared.
    let key = extensions.get::<ClientKey>().map(|k| &k.0);
    let client_text = client.map(|ip| ip_arc(ip, key));
    let raw = raw.cloned();
    let facts = Arc::new(Facts {
        method: request.method().clone(),
        uri: request.uri().clone(),
        request_id: raw.as_ref().and_then(checked_value).cloned(),
        raw_id: raw,
        client_request_id,
        client,
        client_text,
    });
    request.extensions_mut().insert(Shared(Arc::clone(&facts)));
    facts
}

/// Whether `a` and `b` are the same shared value (or both absent).
fn same_arc(a: Option<&Arc<str>>, b: Option<&Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tower_http::request_id::RequestId;

    use super::*;
    use crate::client::{ClientIp, PeerAddr};

    fn request() -> Request<()> {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(PeerAddr("192.0.2.7:4000".parse::<SocketAddr>().unwrap()));
        request
            .extensions_mut()
            .insert(RequestId::new(HeaderValue::from_static("id-1")));
        request
    }

    #[test]
    fn worked_out_once_and_shared() {
        let mut request = request();
        let first = facts(&mut request);
        assert_eq!(first.request_id(), Some("id-1"));
        assert_eq!(first.client(), Some("192.0.2.7"));
        let second = facts(&mut request);
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second layer reads the first's"
        );
    }

    #[test]
    fn a_changed_id_or_client_is_worked_out_again() {
        let mut request = request();
        let first = facts(&mut request);
        request
            .extensions_mut()
            .insert(RequestId::new(HeaderValue::from_static("id-2")));
        let second = facts(&mut request);
        assert_eq!(second.request_id(), Some("id-2"));
        assert!(!Arc::ptr_eq(&first, &second));
        request
            .extensions_mut()
            .insert(ClientIp("198.51.100.1".parse().unwrap()));
        assert_eq!(facts(&mut request).client(), Some("198.51.100.1"));
    }

    #[test]
    fn a_rewritten_request_line_or_client_id_is_worked_out_again() {
        let mut request = request();
        *request.uri_mut() = "/orders?page=2".parse().unwrap();
        let first = facts(&mut request);
        assert_eq!(first.path_and_query(), "/orders?page=2");
        assert_eq!(first.path(), "/orders");
        assert!(Arc::ptr_eq(&first, &facts(&mut request)));

        // A layer between two readers rewrites the path (tower-http's `NormalizePath`, say).
        *request.uri_mut() = "/orders/?page=2".parse().unwrap();
        let second = facts(&mut request);
        assert_eq!(second.path(), "/orders/");
        assert!(!Arc::ptr_eq(&first, &second));

        *request.method_mut() = Method::HEAD;
        let third = facts(&mut request);
        assert_eq!(third.method(), Method::HEAD);
        assert!(!Arc::ptr_eq(&second, &third));

        let id: Arc<str> = Arc::from("client-1");
        request
            .extensions_mut()
            .insert(ClientRequestId(Arc::clone(&id)));
        let fourth = facts(&mut request);
        assert!(Arc::ptr_eq(fourth.client_request_id().unwrap(), &id));
        assert!(Arc::ptr_eq(&fourth, &facts(&mut request)));
        // Another value, even an equal one, is another client id.
        request
            .extensions_mut()
            .insert(ClientRequestId(Arc::from("client-1")));
        assert!(!Arc::ptr_eq(&fourth, &facts(&mut request)));
    }

    /// An asterisk-form request line keeps its `*`; an absolute URI without a path is the root.
    #[test]
    fn the_logged_path_is_the_root_only_when_the_uri_has_none() {
        let mut request = request();
        *request.uri_mut() = "*".parse().unwrap();
        assert_eq!(facts(&mut request).path_and_query(), "*");
        let mut request = Request::new(());
        *request.uri_mut() = "https://example.com".parse().unwrap();
        assert_eq!(facts(&mut request).path_and_query(), "/");
    }

    #[test]
    fn a_hostile_id_is_not_kept() {
        let mut request = request();
        request
            .extensions_mut()
            .insert(RequestId::new(HeaderValue::from_static("a b")));
        assert_eq!(facts(&mut request).request_id(), None);
    }
}
