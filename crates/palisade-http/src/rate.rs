//! Rate limiting: one decision per request, keyed by client address or authenticated user,
//! with the IETF `RateLimit` fields on every answer and a problem document on 429.

use std::{
    borrow::Cow,
    fmt,
    future::Future,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use palisade_audit::Outcome;
use tower::Service;

use crate::service::layer_service;
use crate::{
    Problem, ResponseBody, SecurityEvent,
    client::{ClientIp, ClientKey, Principal},
    future::{LayerFuture, OnResult},
    request_id::request_id,
    telemetry,
};

/// The tracing target of rate-limit refusals.
pub const RATE_TARGET: &str = "palisade_http::ratelimit";

/// `RateLimit-Policy`, the first field of palisade-ratelimit's usual answer.
pub(crate) const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`, the second.
pub(crate) const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// A verdict's header fields: palisade-ratelimit's usual answer (`RateLimit-Policy` and
/// `RateLimit`) held inline with its names implied, any other list in a `Vec`. The inline form
/// rides in every allowed request's future, and in every future around it: 80 bytes, where the
/// names too would make it 144.
#[derive(Debug, Clone)]
pub(crate) enum Fields {
    Policy {
        policy: HeaderValue,
        limit: HeaderValue,
    },
    List(Vec<(HeaderName, HeaderValue)>),
}

impl Fields {
    /// The fields with their names, in order.
    pub(crate) fn to_vec(&self) -> Vec<(HeaderName, HeaderValue)> {
        self.clone().into_iter().collect()
    }

    /// Appends every field to `headers`, in order (without an iterator's state to carry).
    pub(crate) fn append_to(self, headers: &mut http::HeaderMap) {
        match self {
            Self::Policy { policy, limit } => {
                headers.append(RATELIMIT_POLICY, policy);
                headers.append(RATELIMIT, limit);
            }
            Self::List(list) => {
                for (name, value) in list {
                    headers.append(name, value);
                }
            }
        }
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.to_vec() == other.to_vec()
    }
}

impl Eq for Fields {}

impl IntoIterator for Fields {
    type Item = (HeaderName, HeaderValue);
    type IntoIter = std::iter::Chain<
        std::iter::Flatten<std::option::IntoIter<std::array::IntoIter<Self::Item, 2>>>,
        std::iter::Flatten<std::option::IntoIter<std::vec::IntoIter<Self::Item>>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        let (pair, list) = match self {
            Self::Policy { policy, limit } => (
                Some([(RATELIMIT_POLICY, policy), (RATELIMIT, limit)].into_iter()),
                None,
            ),
            Self::List(list) => (None, Some(list.into_iter())),
        };
        pair.into_iter().flatten().chain(list.into_iter().flatten())
    }
}

/// A limiter's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    allowed: bool,
    pub(crate) fields: Fields,
    retry_after: Option<Duration>,
}

impl Verdict {
    /// Allowed; `fields` (`RateLimit`, `RateLimit-Policy`, ...) are added to the response.
    pub fn allow(fields: Vec<(HeaderName, HeaderValue)>) -> Self {
        Self {
            allowed: true,
            fields: Fields::List(fields),
            retry_after: None,
        }
    }

    /// [`allow`](Self::allow) with `RateLimit-Policy: policy` and `RateLimit: limit`, without
    /// a `Vec`.
    pub(crate) fn allow_policy(policy: HeaderValue, limit: HeaderValue) -> Self {
        Self {
            allowed: true,
            fields: Fields::Policy { policy, limit },
            retry_after: None,
        }
    }

    /// Refused; the 429 carries `fields` and `Retry-After` (whole seconds, rounded up, at
    /// least 1).
    pub fn deny(fields: Vec<(HeaderName, HeaderValue)>, retry_after: Duration) -> Self {
        Self {
            allowed: false,
            fields: Fields::List(fields),
            retry_after: Some(retry_after),
        }
    }

    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// Appends the verdict's fields (`RateLimit-Policy`, `RateLimit`, ...) to `headers`, in
    /// order, as [`RateLimitLayer`] does to a response. For code that asks a [`RateLimiter`]
    /// itself instead of through the layer.
    pub fn append_fields(self, headers: &mut http::HeaderMap) {
        self.fields.append_to(headers);
    }
}

/// Decides whether the holder of a key may make one more request.
///
/// palisade-ratelimit's limiters implement it; the key is `ip:<address>` or `user:<subject>`.
pub trait RateLimiter: Send + Sync + 'static {
    /// The decision for `key`.
    fn check(&self, key: &str) -> impl Future<Output = Verdict> + Send;

    /// The decision for `key` at once, when it needs no I/O, so that [`RateLimitLayer`]
    /// decides in `call` without a boxed future; `None` (the default) means
    /// [`check`](Self::check) must be awaited. When it returns `Some`, it has counted the
    /// request exactly as `check` would have.
    fn check_now(&self, key: &str) -> Option<Verdict> {
        let _ = key;
        None
    }
}

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyBy {
    /// The client address ([`ClientIp`], set by [`ClientIpLayer`](crate::ClientIpLayer)).
    #[default]
    Client,
    /// The authenticated user ([`Principal`], set by [`BearerLayer`](crate::BearerLayer)),
    /// or the client address for requests without one.
    UserOrClient,
    /// The authenticated user only: requests without a [`Principal`] (public paths) pass
    /// uncounted and get no fields from this layer. Pair it with a [`KeyBy::Client`] layer
    /// outside, which counts everything.
    User,
}

/// Counts each request against a [`RateLimiter`] and refuses those over the limit.
///
/// Allowed responses carry the limiter's fields (`RateLimit`, `RateLimit-Policy`), added beside
/// those of other rate-limit layers; refused
/// requests get `429` with the fields, `Retry-After` and a [`Problem`], and a
/// [`SecurityEvent`] `ratelimit` for the audit layer. A request without a client address
/// ([`ClientIpLayer`](crate::ClientIpLayer) missing, or the server gave no peer) is refused
/// with 500 and logged, since counting it under a shared key would let one client exhaust
/// everyone's budget.
///
/// Put one instance keyed by [`KeyBy::Client`] outside authentication (it also slows token
/// guessing) and one keyed by [`KeyBy::User`] or [`KeyBy::UserOrClient`] inside it.
pub struct RateLimitLayer<L> {
    limiter: Arc<L>,
    key_by: KeyBy,
    name: Cow<'static, str>,
}

impl<L> Clone for RateLimitLayer<L> {
    fn clone(&self) -> Self {
        Self {
            limiter: self.limiter.clone(),
            key_by: self.key_by,
            name: self.name.clone(),
        }
    }
}

impl<L> fmt::Debug for RateLimitLayer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("key_by", &self.key_by)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<L: RateLimiter> RateLimitLayer<L> {
    /// Requests counted by client address against `limiter`.
    pub fn new(limiter: L) -> Self {
        Self::from_arc(Arc::new(limiter))
    }

    /// As [`new`](Self::new), sharing a limiter used elsewhere.
    pub fn from_arc(limiter: Arc<L>) -> Self {
        Self {
            limiter,
            key_by: KeyBy::Client,
            name: Cow::Borrowed("default"),
        }
    }

    /// What requests are counted against.
    #[must_use]
    pub fn key_by(mut self, key_by: KeyBy) -> Self {
        self.key_by = key_by;
        self
    }

    /// A name for logs and audit records (`per-ip`, `per-user`).
    #[must_use]
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }
}

layer_service! {
    /// The service of [`RateLimitLayer`].
    pub struct RateLimit<S, L> of RateLimitLayer<L>;
}

/// What a request is counted under.
enum Key {
    Counted(KeyText),
    /// [`KeyBy::User`] and no principal: not this layer's business.
    Uncounted,
    /// No address to count it under.
    Unknown,
}

/// A rate-limit key: on the stack when short (an address or a usual subject), else on the heap.
enum KeyText {
    Inline { buf: [u8; INLINE_KEY], len: usize },
    Heap(String),
}

/// The longest key kept on the stack.
const INLINE_KEY: usize = 80;

impl std::ops::Deref for KeyText {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            // Copied from two `&str`s whole, so the bytes are UTF-8.
            Self::Inline { buf, len } => std::str::from_utf8(&buf[..*len]).unwrap_or_default(),
            Self::Heap(key) => key,
        }
    }
}

/// `prefix` then `name`, on the stack if it fits.
fn prefixed(prefix: &str, name: &str) -> KeyText {
    let len = prefix.len() + name.len();
    if len > INLINE_KEY {
        let mut key = String::with_capacity(len);
        key.push_str(prefix);
        key.push_str(name);
        return KeyText::Heap(key);
    }
    let mut buf = [0; INLINE_KEY];
    buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
    buf[prefix.len()..len].copy_from_slice(name.as_bytes());
    KeyText::Inline { buf, len }
}

fn key_of(extensions: &http::Extensions, key_by: KeyBy) -> Key {
    if key_by != KeyBy::Client
        && let Some(user) = extensions.get::<Principal>()
    {
        return Key::Counted(prefixed("user:", &user.0));
    }
    if key_by == KeyBy::User {
        return Key::Uncounted;
    }
    extensions
        .get::<ClientKey>()
        .map(|key| prefixed("ip:", &key.0))
        .or_else(|| {
            extensions
                .get::<ClientIp>()
                .map(|ip| KeyText::Heap(format!("ip:{}", ip.0)))
        })
        .map_or(Key::Unknown, Key::Counted)
}

/// Appends an allowed verdict's fields to the inner service's response.
#[derive(Debug)]
pub struct AppendFields(Fields);

impl<B, E> OnResult<Response<B>, E> for AppendFields {
    fn on_result(self, result: &mut Result<Response<B>, E>) {
        if let Ok(response) = result {
            // Appended, not replaced: with a limit per client and one per user, both
            // policies are reported (field lines of one list, RFC 9110 section 5.3).
            self.0.append_to(response.headers_mut());
        }
    }
}

/// The 429 answer to a refused verdict.
fn refused<B, L>(
    layer: &RateLimitLayer<L>,
    key: &str,
    verdict: Verdict,
    id: Option<String>,
) -> Response<ResponseBody<B>> {
    let retry = verdict.retry_after.unwrap_or(Duration::from_secs(1));
    // Whole seconds, rounded up, and at least 1: `Retry-After: 0` invites a retry that is
    // refused again.
    let secs = (retry.as_secs() + u64::from(retry.subsec_nanos() > 0)).max(1);
    telemetry::refusal("rate_limit", "exceeded");
    tracing::warn!(
        target: RATE_TARGET,
        limit = %layer.name,
        key = %key,
        retry_after = secs,
        request_id = id.as_deref().unwrap_or("-"),
        "rate limit exceeded",
    );
    let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS)
        .with_detail("Too many requests. Retry after the time in Retry-After.")
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs));
    for (name, value) in verdict.fields {
        problem = problem.with_header(name, value);
    }
    if let Some(id) = id {
        problem = problem.with_request_id(id);
    }
    let mut response = problem.into_response();
    let mut event = SecurityEvent::new("ratelimit", Outcome::Denied).reason(layer.name.clone());
    if let Some(user) = key.strip_prefix("user:") {
        event = event.actor(user.to_owned());
    }
    response.extensions_mut().insert(event);
    response
}

impl<S, L, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, L>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    L: RateLimiter,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, ResBody, S::Error, AppendFields>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let key = match key_of(request.extensions(), self.layer.key_by) {
            Key::Counted(key) => key,
            Key::Uncounted => {
                return LayerFuture::with_hook(
                    self.inner.call(request),
                    AppendFields(Fields::List(Vec::new())),
                );
            }
            Key::Unknown => {
                let id = request_id(request.extensions(), request.headers());
                telemetry::refusal("rate_limit", "no_client_address");
                tracing::error!(
                    target: RATE_TARGET,
                    limit = %self.layer.name,
                    request_id = id.as_deref().unwrap_or("-"),
                    "no client address for rate limiting: add ClientIpLayer and a peer address",
                );
                let mut problem = Problem::new(StatusCode::INTERNAL_SERVER_ERROR);
                if let Some(id) = id {
                    problem = problem.with_request_id(id);
                }
                return LayerFuture::ready(problem.into_response());
            }
        };
        // A limiter that needs no I/O decides here, without a boxed future.
        if let Some(verdict) = self.layer.limiter.check_now(&key) {
            if verdict.allowed {
                return LayerFuture::with_hook(
                    self.inner.call(request),
                    AppendFields(verdict.fields),
                );
            }
            let id = request_id(request.extensions(), request.headers());
            return LayerFuture::ready(refused(&self.layer, &key, verdict, id));
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let id = request_id(request.extensions(), request.headers());
        let layer = self.layer.clone();
        LayerFuture::boxed(Box::pin(async move {
            let verdict = layer.limiter.check(&key).await;
            if verdict.allowed {
                let mut result = inner.call(request).await;
                AppendFields(verdict.fields).on_result(&mut result);
                return result.map(|r| r.map(ResponseBody::inner));
            }
            Ok(refused(&layer, &key, verdict, id))
        }))
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn a_verdicts_fields_are_appended_in_order_whichever_form_they_take() {
        let policy = HeaderValue::from_static("\"p\";q=10;w=1");
        let limit = HeaderValue::from_static("\"p\";r=9;t=1");
        let expected = [
            (RATELIMIT_POLICY, policy.clone()),
            (RATELIMIT, limit.clone()),
        ];
        for verdict in [
            Verdict::allow_policy(policy.clone(), limit.clone()),
            Verdict::allow(expected.to_vec()),
            Verdict::deny(expected.to_vec(), Duration::from_secs(1)),
        ] {
            let mut headers = http::HeaderMap::new();
            headers.append(RATELIMIT, HeaderValue::from_static("kept"));
            verdict.append_fields(&mut headers);
            let policies: Vec<_> = headers.get_all(RATELIMIT_POLICY).iter().collect();
            let limits: Vec<_> = headers.get_all(RATELIMIT).iter().collect();
            assert_eq!(policies, [&policy]);
            assert_eq!(limits, [&HeaderValue::from_static("kept"), &limit]);
        }
    }

    proptest::proptest! {
        /// A key is the prefix then the name, on the stack or (past 80 bytes) on the heap.
        #[test]
        fn keys_are_the_prefix_then_the_name(name in "\\PC{0,100}") {
            for prefix in ["ip:", "user:"] {
                let key = prefixed(prefix, &name);
                proptest::prop_assert_eq!(&*key, format!("{prefix}{name}"));
                let inline = matches!(key, KeyText::Inline { .. });
                proptest::prop_assert_eq!(inline, prefix.len() + name.len() <= INLINE_KEY);
            }
        }
    }
}
