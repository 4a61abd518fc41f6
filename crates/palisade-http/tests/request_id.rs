//! `RequestIdLayer` against the three layers whose work it does: `ClientRequestIdLayer`,
//! tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer`.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use http::{HeaderValue, Request, Response, StatusCode};
use palisade_http::{
    ClientRequestId, ClientRequestIdLayer, RequestIdLayer, client_request_id, request_id,
    tower_http::request_id::{
        MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
    },
};
use proptest::prelude::*;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn, util::BoxService};

/// Ids `id-1`, `id-2`, …: the same sequence from both stacks, so their answers can be compared.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        HeaderValue::from_str(&format!("id-{n}"))
            .ok()
            .map(RequestId::new)
    }
}

/// A maker that never makes an id.
#[derive(Clone)]
struct NoIds;

impl MakeRequestId for NoIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        None
    }
}

/// What a stack showed the handler and answered: the request's `x-request-id` values, its
/// `RequestId` extension and `ClientRequestId`, then the response's `x-request-id` values and
/// `RequestId` extension.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    request_headers: Vec<HeaderValue>,
    request_id: Option<HeaderValue>,
    client_id: Option<ClientRequestId>,
    response_headers: Vec<HeaderValue>,
    response_id: Option<HeaderValue>,
}

/// The handler: it answers with its own id if `own` is set, and puts what it saw in the
/// response's extensions.
type Handler = BoxService<Request<()>, Response<()>, Infallible>;

/// What the handler saw: the request's `x-request-id` values, `RequestId` and
/// `ClientRequestId`.
type HandlerSaw = (
    Vec<HeaderValue>,
    Option<HeaderValue>,
    Option<ClientRequestId>,
);

fn handler(own: Option<HeaderValue>) -> Handler {
    BoxService::new(service_fn(move |request: Request<()>| {
        let mut response = Response::new(());
        if let Some(own) = &own {
            response.headers_mut().insert("x-request-id", own.clone());
        }
        let saw: HandlerSaw = (
            request
                .headers()
                .get_all("x-request-id")
                .iter()
                .cloned()
                .collect(),
            request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.header_value().clone()),
            request.extensions().get::<ClientRequestId>().cloned(),
        );
        response.extensions_mut().insert(Arc::new(saw));
        std::future::ready(Ok::<_, Infallible>(response))
    }))
}

/// Sends one request carrying `sent` through `layer` around the handler.
async fn through<L>(layer: L, sent: &[HeaderValue], own: Option<&HeaderValue>) -> Seen
where
    L: Layer<Handler>,
    L::Service: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    let mut request = Request::new(());
    for value in sent {
        request.headers_mut().append("x-request-id", value.clone());
    }
    let response = layer
        .layer(handler(own.cloned()))
        .oneshot(request)
        .await
        .unwrap();
    let saw = response.extensions().get::<Arc<HandlerSaw>>().unwrap();
    Seen {
        request_headers: saw.0.clone(),
        request_id: saw.1.clone(),
        client_id: saw.2.clone(),
        response_headers: response
            .headers()
            .get_all("x-request-id")
            .iter()
            .cloned()
            .collect(),
        response_id: response
            .extensions()
            .get::<RequestId>()
            .map(|id| id.header_value().clone()),
    }
}

async fn three_layers(sent: &[HeaderValue], own: Option<&HeaderValue>) -> Seen {
    let stack = ServiceBuilder::new()
        .layer(ClientRequestIdLayer::new())
        .layer(SetRequestIdLayer::x_request_id(Counter::default()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .into_inner();
    through(stack, sent, own).await
}

async fn one_layer(sent: &[HeaderValue], own: Option<&HeaderValue>) -> Seen {
    through(RequestIdLayer::with_ids(Counter::default()), sent, own).await
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        "[A-Za-z0-9._:-]{1,80}",
        "[ -~]{0,80}",
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|bytes| {
            bytes
                .into_iter()
                .filter(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
                .map(char::from)
                .filter(char::is_ascii)
                .collect::<String>()
        }),
    ]
    .prop_filter_map("a header value", |text| HeaderValue::from_str(&text).ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever ids the client sends (none, one, several, hostile) and whether or not the
    /// handler answers with its own, the one layer shows the handler and answers exactly what
    /// the three layers do.
    #[test]
    fn one_layer_does_what_the_three_layers_do(
        sent in proptest::collection::vec(header_value(), 0..3),
        own in proptest::option::of(header_value()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (three, one) = runtime.block_on(async {
            (three_layers(&sent, own.as_ref()).await, one_layer(&sent, own.as_ref()).await)
        });
        prop_assert_eq!(three, one);
    }
}

/// The server's id, never the client's, is the one the handler sees and the client gets back;
/// the client's is kept apart, sanitized.
#[tokio::test]
async fn the_server_chooses_the_id_and_keeps_the_clients_apart() {
    let seen = one_layer(&[HeaderValue::from_static("client's id <7>")], None).await;
    assert_eq!(seen.request_headers, ["id-1"]);
    assert_eq!(seen.request_id.unwrap(), "id-1");
    assert_eq!(seen.response_headers, ["id-1"]);
    assert_eq!(seen.response_id.unwrap(), "id-1");
    assert_eq!(seen.client_id, Some(ClientRequestId("clientsid7".into())));
}

/// A handler's own `x-request-id` is what the client gets back.
#[tokio::test]
async fn a_handlers_own_id_stands() {
    let own = HeaderValue::from_static("from-handler");
    let seen = one_layer(&[], Some(&own)).await;
    assert_eq!(seen.request_id.unwrap(), "id-1");
    assert_eq!(seen.response_headers, ["from-handler"]);
    assert_eq!(seen.response_id, Some(own));
}

/// When the maker makes no id, the request goes on without one, and the client's is still
/// kept apart rather than used.
#[tokio::test]
async fn without_an_id_the_request_goes_on_without_one() {
    let seen = through(
        RequestIdLayer::with_ids(NoIds),
        &[HeaderValue::from_static("client-1")],
        None,
    )
    .await;
    assert_eq!(seen.request_headers, Vec::<HeaderValue>::new());
    assert_eq!(seen.request_id, None);
    assert_eq!(seen.response_headers, Vec::<HeaderValue>::new());
    assert_eq!(seen.response_id, None);
    assert_eq!(seen.client_id, Some(ClientRequestId("client-1".into())));
}

/// The default maker is `RequestUuids`: each request gets a fresh version 4 UUID, which
/// `request_id` and `client_request_id` read back, under axum.
#[tokio::test]
async fn default_ids_are_fresh_uuids_under_axum() {
    use axum::{Router, body::Body, routing::get};

    let app = Router::new()
        .route(
            "/",
            get(|request: Request<Body>| async move {
                let id = request_id(request.extensions(), request.headers()).unwrap();
                let client = client_request_id(request.extensions()).unwrap_or("-");
                format!("{id} {client}")
            }),
        )
        .layer(RequestIdLayer::new());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let request = Request::get("/")
            .header("x-request-id", "mine")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 128)
            .await
            .unwrap();
        assert_eq!(body, format!("{id} mine").as_bytes());
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
}
