#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod audit;
mod auth;
mod body;
mod client;
mod client_layer;
mod content_type;
mod cookie;
mod csrf;
mod errors;
mod facts;
pub mod future;
mod headers;
mod log;
mod problem;
mod rate;
mod ratelimit;
mod redirect;
mod request_id;
mod request_id_layer;
mod request_uuid;
mod service;
mod telemetry;
mod token;

pub use crate::{
    audit::{Audit, AuditHook, AuditLayer, AuditSink, MAX_REFUSAL_KINDS, SecurityEvent},
    auth::{
        AUTH_TARGET, Authorized, Bearer, BearerLayer, Rejection, Require, RequireLayer,
        TokenVerifier,
    },
    body::ResponseBody,
    client::{ClientIp, ClientKey, PeerAddr, Principal, TrustedProxy, client_addr},
    client_layer::{ClientIpLayer, ClientIpService, PeerOnly, ResolveClient},
    content_type::{CONTENT_TYPE_TARGET, ContentType, ContentTypeLayer},
    cookie::{CookieValue, cookie},
    csrf::{CSRF_TARGET, Csrf, CsrfCheck, CsrfLayer},
    errors::{ERROR_TARGET, PanicToDetail, SanitizeErrors, SanitizeErrorsLayer, catch_panic},
    headers::{Hsts, Https, SecurityHeaders, SecurityHeadersLayer, SecurityHeadersService},
    log::{LogLine, REQUEST_TARGET, RequestLog, RequestLogLayer},
    problem::{PROBLEM_JSON, Problem},
    rate::{KeyBy, RATE_TARGET, RateLimit, RateLimitLayer, RateLimiter, Verdict},
    ratelimit::PolicyLimiter,
    redirect::{HttpsRedirect, HttpsRedirectLayer},
    request_id::{
        ClientRequestId, ClientRequestIdLayer, ClientRequestIdService, REQUEST_ID_HEADER,
        client_request_id, request_id,
    },
    request_id_layer::{RequestIdLayer, RequestIdService},
    request_uuid::RequestUuids,
    token::{JwtVerifier, NoRevocation, Revocation, SharedClaimsVerifier, TokenCsrf},
};

/// tower-http, re-exported at the version these layers are built and tested with: use its
/// `cors`, `limit`, `request_id` and `catch_panic` modules beside palisade's layers (see the
/// crate documentation for the order).
pub use tower_http;
