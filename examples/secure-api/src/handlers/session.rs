//! Sessions: `POST /auth/login`, `POST /auth/refresh` and `POST /auth/logout`.

use axum::{
    Extension,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use palisade_audit::{Event, Outcome};
use palisade_http::ClientIp;
use palisade_password::{Password, VerifyErrorKind};
use palisade_ratelimit::{
    client_ip::ClientKey,
    login::{Admission, LoginAttempt, Scope},
    redis::AnyLoginStore,
};
use palisade_token::{ErrorKind, jwt::Claims};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    account::{Credentials, normalize_email},
    password::{login_mark, now_secs},
};
use crate::{
    app::{AppState, Shared, SharedClaims, client_key, event, now_i64, ok_json, parse, user_id},
    db::User,
    metrics::Metrics,
    problem::{ApiError, audited},
};

fn cookie(name: &str, value: &str, path: &str, http_only: bool, max_age: u64) -> HeaderValue {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure; SameSite=Strict{http_only}"
    ))
    .unwrap_or(HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Expires the `refresh` and `csrf` cookies.
pub(crate) fn clear_session_cookies(h: &mut HeaderMap) {
    h.append(header::SET_COOKIE, cookie("refresh", "", "/auth", true, 0));
    h.append(header::SET_COOKIE, cookie("csrf", "", "/", false, 0));
}

/// The login answer: an access token, a refresh token (body and `HttpOnly` cookie) and a CSRF
/// token bound to the refresh token for cookie-based refreshes. The access token's `iat` is
/// `issued_at` (see [`end_sessions`](super::password::end_sessions) for why it is chosen by
/// the caller).
fn session_response(
    state: &AppState,
    user: i64,
    role: &str,
    (family, refresh): (&str, &str),
    issued_at: u64,
) -> Result<Response, ApiError> {
    let mut custom = Map::new();
    custom.insert("fam".into(), Value::String(family.to_owned()));
    let mut claims = Claims::new(custom)
        .subject(user.to_string())
        .role(role.to_owned());
    claims.iat = Some(issued_at);
    let access = state
        .jwt
        .issuer()
        .issue(claims)
        .map_err(|e| ApiError::Internal(format!("issue: {e}")))?;
    let csrf = state.csrf.issue(refresh);
    let mut response = ok_json(&json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.config.access_ttl_secs,
        "refresh_token": refresh,
        "csrf_token": csrf,
    }));
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie("refresh", refresh, "/auth", true, 30 * 24 * 3600),
    );
    h.append(
        header::SET_COOKIE,
        cookie("csrf", &csrf, "/", false, 30 * 24 * 3600),
    );
    Ok(response)
}

/// The device cookie: sent only to the login route, never readable by scripts.
const DEVICE_COOKIE: &str = "device";

/// 503 with `Retry-After: 1`: the password could not be checked now (the hasher's memory
/// budget is exhausted, or its task failed). Not a failure: the attempt is taken back.
fn not_checked_response(reason: &'static str) -> Response {
    let mut response = ApiError::Unavailable.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    audited(
        response,
        event("auth.login", Outcome::Denied).reason(reason),
    )
}

/// Reserves a login attempt: 429 when a hard limit refuses it, 503 when the throttle's store
/// cannot count it (no password is then checked: fail closed).
async fn begin<'a>(
    state: &'a AppState,
    email: &str,
    key: &ClientKey,
    device: Option<&str>,
) -> Result<LoginAttempt<'a, AnyLoginStore>, ApiError> {
    match state.login_throttle.begin(email, key, device).await {
        Ok(Admission::Admitted(attempt)) => Ok(attempt),
        Ok(Admission::Refused(refusal)) => {
            Metrics::inc(&state.metrics.login_locked);
            let reason = match refusal.scope {
                Scope::Client => "client_locked",
                _ => "locked",
            };
            let secs =
                u64::try_from(refusal.retry_after.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
            Err(ApiError::TooMany(secs.max(1))
                .audited(event("auth.login", Outcome::Denied).reason(reason)))
        }
        Err(_) => Err(ApiError::Unavailable
            .audited(event("auth.login", Outcome::Denied).reason("throttle_unavailable"))),
    }
}

/// A login: the attempt is reserved with the throttle before the password is checked (so
/// concurrent guesses cannot pass its limits), waits the throttle's capped account-wide delay
/// unless the browser has a valid device cookie for the account, then is settled.
pub(crate) async fn login(
    State(state): Shared,
    client: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let key = client_key(&state, client.as_deref());
    let email = normalize_email(&input.email).map_err(|_| ApiError::BadCredentials)?;
    let device = cookie_value(&headers, DEVICE_COOKIE);
    let attempt = begin(&state, &email, &key, device).await?;
    if attempt.second_factor_advised() {
        tracing::warn!(target: "secure_api::login", "many failed logins for one account from several networks");
    }
    tokio::time::sleep(attempt.delay()).await;
    let user = state.db.user_by_email(email.clone()).await?;
    let mark_before = match &user {
        Some(user) => login_mark(&state, user.id).await?,
        None => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = Password::from(input.password);
    let verified = state
        .hasher
        .get()
        .verify_account_async(Password::from(password.expose_secret()), stored)
        .await;
    let (user, verified) = match (user, verified) {
        (Some(user), Ok(verified)) => (user, verified),
        (_, Err(e))
            if matches!(
                e.kind(),
                VerifyErrorKind::Busy | VerifyErrorKind::TaskFailed
            ) =>
        {
            // If the reservation cannot be taken back it stays counted: the safe side.
            if attempt.not_checked().await.is_err() {
                tracing::warn!(target: "secure_api::login", "an unchecked login attempt stays counted");
            }
            return Ok(not_checked_response(e.kind().as_str()));
        }
        (user, verified) => {
            Metrics::inc(&state.metrics.login_failures);
            let failure = attempt.fail();
            let reason = verified
                .err()
                .map_or("unknown_account", |e| e.kind().as_str());
            let mut record = event("auth.login", Outcome::Failure).reason(reason);
            if let Some(user) = user {
                record = record.actor(user.id.to_string());
            }
            if failure.limit_reached {
                record = record.field("lockout", "started".to_owned());
            }
            return Err(ApiError::BadCredentials.audited(record));
        }
    };
    if verified.needs_rehash()
        && let Ok(upgraded) = state.hasher.get().hash_async(password).await
    {
        state
            .db
            .set_password_hash(user.id, upgraded.as_str().to_owned(), now_i64())
            .await?;
        // A second record beside the login's own, so written directly.
        state.audit(
            Event::new("auth.password_rehashed")
                .actor(user.id.to_string())
                .outcome(Outcome::Success),
        );
    }
    // The password was right; if the throttle cannot clear the attempt it stays counted (the
    // safe side) and the login goes ahead without a new device cookie.
    let device_cookie = attempt.succeed().await.map_or_else(
        |_| {
            tracing::warn!(target: "secure_api::login", "a successful login stays counted as a failure");
            None
        },
        |success| success.device_cookie,
    );
    start_session(&state, &user, mark_before, device_cookie).await
}

/// The end of a successful login: a new refresh family, unless every session of the account
/// ended while the login ran; the session answer with the device cookie when one was issued.
async fn start_session(
    state: &AppState,
    user: &User,
    mark_before: Option<u64>,
    device_cookie: Option<String>,
) -> Result<Response, ApiError> {
    let grant = state
        .refresh
        .issue(&user.id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable)?;
    // Every session of the account ended while this login ran: the password it checked may
    // be the old one, so the family it started ends too.
    let issued_at = now_secs();
    if login_mark(state, user.id).await? != mark_before {
        let _ = state.refresh.revoke_family(grant.family()).await;
        return Err(ApiError::Conflict(
            "the account's sessions were ended during this login; log in again",
        )
        .audited(
            event("auth.login", Outcome::Denied)
                .actor(user.id.to_string())
                .reason("signed_out_during_login"),
        ));
    }
    // A login right after a sign-out, in the same second, is stamped at the mark.
    let issued_at = mark_before.map_or(issued_at, |mark| mark.max(issued_at));
    Metrics::inc(&state.metrics.login_successes);
    let mut response = session_response(
        state,
        user.id,
        &user.role,
        (grant.family(), grant.token()),
        issued_at,
    )?;
    if let (Some(value), Some(devices)) = (device_cookie, state.login_throttle.device_cookies()) {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie(
                DEVICE_COOKIE,
                &value,
                "/auth/login",
                true,
                devices.ttl().as_secs(),
            ),
        );
    }
    Ok(audited(
        response,
        event("auth.login", Outcome::Success).actor(user.id.to_string()),
    ))
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: Option<String>,
}

/// The refresh token from the body, or from the `refresh` cookie (the CSRF layer on this
/// route has checked the origin and the double-submit token whenever that cookie is sent).
pub(crate) async fn refresh(
    State(state): Shared,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: RefreshInput = if body.is_empty() {
        RefreshInput::default()
    } else {
        parse(&body)?
    };
    let presented = match (input.refresh_token, cookie_value(&headers, "refresh")) {
        (Some(token), _) => token,
        (None, Some(token)) => token.to_owned(),
        // No credential at all: 401, as for a refresh token that is not valid.
        (None, None) => return Err(ApiError::Unauthorized),
    };
    // Stamped with the time before the rotation: a rotation that beat a sign-out's family
    // revocation is then older than the sign-out's second mark.
    let issued_at = now_secs();
    let grant = match state.refresh.refresh(&presented).await {
        Ok(grant) => grant,
        Err(e) => {
            let Some(kind) = e.kind() else {
                return Err(ApiError::Unavailable);
            };
            let reason = if kind == ErrorKind::Reused {
                "reused"
            } else {
                kind.as_str()
            };
            return Err(ApiError::Unauthorized
                .audited(event("auth.refresh", Outcome::Denied).reason(reason)));
        }
    };
    let id: i64 = grant
        .subject()
        .parse()
        .map_err(|_| ApiError::Unauthorized)?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    Ok(audited(
        session_response(
            &state,
            id,
            &user.role,
            (grant.family(), grant.token()),
            issued_at,
        )?,
        event("auth.refresh", Outcome::Success).actor(id.to_string()),
    ))
}

pub(crate) async fn logout(
    State(state): Shared,
    Extension(claims): Extension<SharedClaims>,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    state
        .revocation
        .revoke_claims(&claims)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    if let Some(Value::String(family)) = claims.custom.get("fam") {
        state
            .refresh
            .revoke_family(family)
            .await
            .map_err(|_| ApiError::Unavailable)?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session_cookies(response.headers_mut());
    Ok(audited(
        response,
        event("auth.logout", Outcome::Success).actor(id.to_string()),
    ))
}
