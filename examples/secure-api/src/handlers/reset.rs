//! Password reset: `POST /auth/password-reset` and `POST /auth/password-reset/confirm`.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use axum::{
    Extension,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use palisade_audit::{Event, Outcome};
use palisade_http::ClientIp;
use palisade_ratelimit::{Limiter as _, Policy, redis::AnyLimiter};
use palisade_token::{ExposeSecret as _, opaque::Purpose};
use serde::Deserialize;
use serde_json::json;

use super::{
    account::{new_password_hash, normalize_email},
    password::end_sessions,
};
use crate::{
    app::{AppState, Shared, client_key, event, json_response, now_i64, parse},
    problem::{ApiError, audited},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

/// The mails an unauthenticated request can make the service send: reset requests per
/// address (known or not) and per client, and registrations per address (each mails the
/// address, welcome or "account exists"), with the limiter they share with the other rate
/// limits.
pub(crate) struct ResetLimits {
    limiter: Arc<AnyLimiter>,
    per_account: Policy,
    per_client: Policy,
    registrations: Policy,
}

impl std::fmt::Debug for ResetLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetLimits")
            .field("per_account", &self.per_account)
            .field("per_client", &self.per_client)
            .finish_non_exhaustive()
    }
}

/// Reset mails one address can be sent in an hour.
pub(crate) const RESETS_PER_ACCOUNT_PER_HOUR: u32 = 3;
/// Reset requests one client (address or network) can make in an hour.
pub(crate) const RESETS_PER_CLIENT_PER_HOUR: u32 = 20;
/// Registrations (so mails) for one address in an hour, taken or not.
pub(crate) const REGISTRATIONS_PER_ADDRESS_PER_HOUR: u32 = 3;

impl ResetLimits {
    /// The limits, over `limiter`.
    ///
    /// # Errors
    /// The policy error, if a limit is invalid.
    pub(crate) fn new(limiter: Arc<AnyLimiter>) -> Result<Self, palisade_ratelimit::PolicyError> {
        let hour = Duration::from_secs(3600);
        Ok(Self {
            limiter,
            per_account: Policy::new("reset-account", RESETS_PER_ACCOUNT_PER_HOUR, hour)?,
            per_client: Policy::new("reset-client", RESETS_PER_CLIENT_PER_HOUR, hour)?,
            registrations: Policy::new(
                "register-address",
                REGISTRATIONS_PER_ADDRESS_PER_HOUR,
                hour,
            )?,
        })
    }

    /// The refusal when `email` was registered too often this hour (whether or not it has an
    /// account, so the limit tells nothing).
    pub(crate) async fn check_registration(&self, email: &str) -> Result<(), ApiError> {
        let decision = self
            .limiter
            .decide(email, &self.registrations, NonZeroU32::MIN)
            .await;
        if decision.allowed {
            return Ok(());
        }
        let retry = decision.retry_after.map_or(1, |d| d.as_secs().max(1));
        Err(ApiError::TooMany(retry)
            .audited(event("auth.register", Outcome::Denied).reason("address_limit")))
    }

    /// The refusal when `client` or `email` is over its limit. The client is counted first,
    /// so one client cannot use up an address's allowance beyond its own.
    async fn check(&self, client: &str, email: &str) -> Result<(), ApiError> {
        let one = NonZeroU32::MIN;
        for (key, policy, reason) in [
            (client, &self.per_client, "client_limit"),
            (email, &self.per_account, "account_limit"),
        ] {
            let decision = self.limiter.decide(key, policy, one).await;
            if !decision.allowed {
                let retry = decision.retry_after.map_or(1, |d| d.as_secs().max(1));
                return Err(ApiError::TooMany(retry).audited(
                    event("auth.password_reset_requested", Outcome::Denied).reason(reason),
                ));
            }
        }
        Ok(())
    }
}

/// Queues a reset for the address and answers 202, doing the same work whether or not an
/// account has it: the limits, one queue row, a wake-up of the worker. The worker
/// ([`drain_queue`]) looks the account up and mails the token, off the request path.
pub(crate) async fn reset_request(
    State(state): Shared,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ResetRequest = parse(&body)?;
    let accepted = || {
        json_response(
            StatusCode::ACCEPTED,
            &json!({ "status": "if the account exists, a reset message was sent" }),
        )
    };
    let Ok(email) = normalize_email(&input.email) else {
        return Ok(audited(
            accepted(),
            event("auth.password_reset_requested", Outcome::Failure).reason("bad_email"),
        ));
    };
    let client = client_key(&state, client.as_deref()).to_string();
    state.reset_limits.check(&client, &email).await?;
    state.db.queue_reset(email, now_i64()).await?;
    state.reset_wakeup.notify_one();
    Ok(audited(
        accepted(),
        event("auth.password_reset_requested", Outcome::Success),
    ))
}

/// The reset worker's step: every queued request is resolved; a known address is sent a
/// token (bound to the account's current reset epoch), an unknown one nothing. A request
/// older than the token lifetime is dropped. Stops at the first store failure, leaving the
/// rest queued for the next run.
pub(crate) async fn drain_queue(state: &AppState) -> Result<(), ApiError> {
    let ttl = Duration::from_secs(state.config.reset_ttl_secs);
    loop {
        let batch = state.db.queued_resets(100).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for (row, email, queued_at) in batch {
            let expired_request = now_i64().saturating_sub(queued_at)
                > i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
            if !expired_request && let Some(user) = state.db.user_by_email(email.clone()).await? {
                let token = state
                    .onetime
                    .issue(
                        Purpose::PasswordReset,
                        &reset_subject(user.id, user.reset_epoch),
                        ttl,
                    )
                    .await
                    .map_err(|_| ApiError::Unavailable)?;
                let body = json!({ "token": token.expose_secret(), "expires_in": ttl.as_secs() })
                    .to_string();
                state
                    .db
                    .push_outbox(email, "password_reset", body, now_i64())
                    .await?;
                state.audit(
                    Event::new("auth.password_reset_mailed")
                        .actor(user.id.to_string())
                        .outcome(Outcome::Success),
                );
            }
            state.db.unqueue_reset(row).await?;
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    new_password: String,
}

/// A reset token's subject: the account id and the reset epoch it was issued in.
fn reset_subject(id: i64, epoch: i64) -> String {
    format!("{id}.{epoch}")
}

fn parse_reset_subject(subject: &str) -> Option<(i64, i64)> {
    let (id, epoch) = subject.split_once('.')?;
    Some((id.parse().ok()?, epoch.parse().ok()?))
}

/// A refused token, audited with its reason.
/// 403: the request is well formed, but its reset token (unknown, expired, used or
/// superseded) grants nothing.
fn refused(reason: &'static str) -> ApiError {
    ApiError::Forbidden("invalid or expired reset token")
        .audited(event("auth.password_reset", Outcome::Denied).reason(reason))
}

fn token_error(e: &palisade_token::TokenError) -> ApiError {
    match e.kind() {
        Some(kind) => refused(kind.as_str()),
        None => ApiError::Unavailable,
    }
}

/// Sets the new password and signs the account out everywhere.
///
/// In order: the token's subject is read without spending it; the account must still be at
/// the reset epoch the token names (any password change since ends the token); the new
/// password is checked against the policy, so a weak one leaves the token usable; the token is
/// redeemed (once, atomically); the password is set only if the epoch is still unchanged
/// (of two tokens racing, one wins), which ends every other reset token of the account; then
/// every access token issued before and every refresh family end, and a login lockout lifts.
pub(crate) async fn reset_confirm(
    State(state): Shared,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ResetConfirm = parse(&body)?;
    let subject = state
        .onetime
        .peek(Purpose::PasswordReset, &input.token)
        .await
        .map_err(|e| token_error(&e))?;
    let (id, epoch) = parse_reset_subject(&subject).ok_or_else(|| refused("bad_subject"))?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(refused("unknown_account"));
    };
    if user.reset_epoch != epoch {
        return Err(refused("superseded"));
    }
    let hash = new_password_hash(&state, input.new_password, &user.email).await?;
    state
        .onetime
        .redeem(Purpose::PasswordReset, &input.token)
        .await
        .map_err(|e| token_error(&e))?;
    if !state
        .db
        .change_password(id, hash.as_str().to_owned(), Some(epoch), now_i64())
        .await?
    {
        return Err(refused("superseded"));
    }
    let revoked = end_sessions(&state, id).await?;
    // The owner proved control of the mailbox: lift a login lockout.
    let key = client_key(&state, client.as_deref());
    if state
        .login_throttle
        .unlock(&user.email, &key)
        .await
        .is_err()
    {
        tracing::warn!(target: "secure_api::login", "the login lockout could not be lifted");
    }
    Ok(audited(
        StatusCode::NO_CONTENT.into_response(),
        event("auth.password_reset", Outcome::Success)
            .actor(id.to_string())
            .field("sessions_revoked", revoked.to_string()),
    ))
}
