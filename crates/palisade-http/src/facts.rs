//! What several layers record about one request, worked out once and shared through one
//! request extension.

use std::{net::IpAddr, sync::Arc};

use http::{HeaderValue, Request};

use crate::{
    client::{ClientKey, client_addr, ip_arc},
    request_id::{checked_value, raw_request_id},
};

/// The request id as checked and the client address as text, for the log, audit and error
/// layers. Kept in the request's extensions behind an `Arc`, so each layer gets it with one
/// lookup and one reference count instead of formatting its own copies.
#[derive(Debug)]
pub(crate) struct Facts {
    /// The id it was worked out from (tower-http's `RequestId`, or the header), to tell
    /// whether a layer inside changed it.
    raw_id: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
    client: Option<IpAddr>,
    client_text: Option<Arc<str>>,
}

impl Facts {
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

/// The request's [`Facts`]: the copy in its extensions if its inputs are unchanged, else
/// worked out now and stored there.
pub(crate) fn facts<B>(request: &mut Request<B>) -> Arc<Facts> {
    let extensions = request.extensions();
    let client = client_addr(extensions);
    let raw = raw_request_id(extensions, request.headers());
    if let Some(Shared(known)) = extensions.get::<Shared>()
        && known.client == client
        && known.raw_id.as_ref() == raw
    {
        return Arc::clone(known);
    }
    // The client's text is usually its rate-limit key already (a whole address): shared.
    let key = extensions.get::<ClientKey>().map(|k| &k.0);
    let client_text = client.map(|ip| ip_arc(ip, key));
    let raw = raw.cloned();
    let facts = Arc::new(Facts {
        request_id: raw.as_ref().and_then(checked_value).cloned(),
        raw_id: raw,
        client,
        client_text,
    });
    request.extensions_mut().insert(Shared(Arc::clone(&facts)));
    facts
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
    fn a_hostile_id_is_not_kept() {
        let mut request = request();
        request
            .extensions_mut()
            .insert(RequestId::new(HeaderValue::from_static("a b")));
        assert_eq!(facts(&mut request).request_id(), None);
    }
}
