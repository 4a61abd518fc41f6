//! Ending sessions: `POST /auth/logout-all` and `POST /auth/password` (change password), and
//! the "sign out everywhere" step a password reset shares with them.

use axum::{
    Extension,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use palisade_audit::Outcome;
use palisade_http::ClientIp;
use palisade_password::{Password, VerifyErrorKind};
use palisade_ratelimit::login::Admission;
use serde::Deserialize;

use super::{account::new_password_hash, session::clear_session_cookies};
use crate::{
    app::{AppState, Shared, SharedClaims, client_key, event, now_i64, parse, user_id},
    metrics::Metrics,
    problem::{ApiError, audited},
};

/// Now, in Unix seconds.
pub(crate) fn now_secs() -> u64 {
    u64::try_from(now_i64()).unwrap_or(0)
}

/// Sets the account's not-before mark to the next second: every access token issued up to
/// and including this one is refused.
async fn mark(state: &AppState, subject: &str) -> Result<(), ApiError> {
    state
        .revocation
        .revoke_subject_before(subject, now_secs().saturating_add(1))
        .await
        .map_err(|_| ApiError::Unavailable)
}

/// Ends every session of account `id`, after its password changed (or at its request): a
/// not-before mark, every refresh family, then the mark again. Returns how many families were
/// live.
///
/// The two marks close the races with a login or refresh in flight. A login reads the mark
/// before checking the password and again after starting its family, and gives up if it moved
/// ([`login_mark`]); a login that read the first mark already sees the new password. A
/// refresh stamps its token with the time before its rotation; a rotation that beat the
/// family revocation therefore stamps a time before the second mark.
pub(crate) async fn end_sessions(state: &AppState, id: i64) -> Result<u64, ApiError> {
    let subject = id.to_string();
    mark(state, &subject).await?;
    let revoked = state
        .refresh
        .revoke_subject(&subject)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    mark(state, &subject).await?;
    Ok(revoked)
}

/// The account's not-before mark as it stands (a login reads it before and after).
pub(crate) async fn login_mark(state: &AppState, id: i64) -> Result<Option<u64>, ApiError> {
    state
        .revocation
        .not_before(&id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable)
}

fn signed_out(action: &'static str, id: i64, revoked: u64) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session_cookies(response.headers_mut());
    audited(
        response,
        event(action, Outcome::Success)
            .actor(id.to_string())
            .field("sessions_revoked", revoked.to_string()),
    )
}

/// Signs the account out everywhere: every access token issued so far is refused and every
/// refresh family ends, this one included.
pub(crate) async fn logout_all(
    State(state): Shared,
    Extension(claims): Extension<SharedClaims>,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let revoked = end_sessions(&state, id).await?;
    Ok(signed_out("auth.logout_all", id, revoked))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Changes the password of the token's account. The current password is checked first, under
/// the same login limits as a login (a stolen access token is not a free password oracle);
/// then the new one against the policy; then every session ends (this one too: the answer
/// is 204 and the client logs in again) and every outstanding reset token is void.
pub(crate) async fn change_password(
    State(state): Shared,
    Extension(claims): Extension<SharedClaims>,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let input: ChangePassword = parse(&body)?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    let key = client_key(&state, client.as_deref());
    let refused = |reason: &'static str| {
        event("auth.password_changed", Outcome::Denied)
            .actor(id.to_string())
            .reason(reason)
    };
    let attempt = match state.login_throttle.begin(&user.email, &key, None).await {
        Ok(Admission::Admitted(attempt)) => attempt,
        Ok(Admission::Refused(refusal)) => {
            Metrics::inc(&state.metrics.login_locked);
            let secs =
                u64::try_from(refusal.retry_after.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
            return Err(ApiError::TooMany(secs.max(1)).audited(refused("throttled")));
        }
        // The attempt cannot be counted: no password is checked (fail closed).
        Err(_) => return Err(ApiError::Unavailable.audited(refused("throttle_unavailable"))),
    };
    let verified = state
        .hasher
        .get()
        .verify_account_async(
            Password::from(input.current_password),
            Some(user.password_hash.clone()),
        )
        .await;
    if let Err(e) = verified {
        if matches!(
            e.kind(),
            VerifyErrorKind::Busy | VerifyErrorKind::TaskFailed
        ) {
            // Not a wrong password: the hasher could not answer, so the attempt is taken back
            // (if that fails it stays counted: the safe side).
            let _ = attempt.not_checked().await;
            return Err(ApiError::Unavailable);
        }
        let _ = attempt.fail();
        return Err(ApiError::BadCredentials.audited(
            event("auth.password_changed", Outcome::Failure)
                .actor(id.to_string())
                .reason(e.kind().as_str()),
        ));
    }
    // The current password was right: the attempt is settled before the new password is
    // judged, so a refused new password is not counted as a guess.
    let _ = attempt.succeed().await;
    let hash = new_password_hash(&state, input.new_password, &user.email).await?;
    if !state
        .db
        .change_password(id, hash.as_str().to_owned(), None, now_i64())
        .await?
    {
        return Err(ApiError::Unauthorized);
    }
    let revoked = end_sessions(&state, id).await?;
    Ok(signed_out("auth.password_changed", id, revoked))
}
