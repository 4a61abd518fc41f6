//! `POST /auth/register`, and the email and new-password checks the other flows share.

use axum::{body::Bytes, extract::State, http::StatusCode, response::Response};
use palisade_audit::Outcome;
use palisade_password::Password;
use serde::Deserialize;
use serde_json::json;

use crate::{
    app::{AppState, Shared, event, json_response, now_i64, parse},
    problem::{ApiError, audited},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Credentials {
    pub(super) email: String,
    pub(super) password: String,
}

/// An address as [`limits::EMAIL_PATTERN`](crate::limits::EMAIL_PATTERN) and
/// [`limits::EMAIL_MAX_CHARS`](crate::limits::EMAIL_MAX_CHARS) describe it (checked as sent:
/// surrounding spaces are refused, not trimmed), in lower case.
pub(super) fn normalize_email(email: &str) -> Result<String, ApiError> {
    if crate::limits::is_email(email) {
        Ok(email.to_lowercase())
    } else {
        Err(ApiError::BadRequest("email must be an email address"))
    }
}

/// A new password for the account `email`: checked against the policy (with the account's
/// words as context), then hashed off the async threads.
pub(super) async fn new_password_hash(
    state: &AppState,
    password: String,
    email: &str,
) -> Result<palisade_password::PasswordHash, ApiError> {
    let password = Password::from(password);
    let context = palisade_password::Context::new()
        .email(email)
        .service_name("secure-api");
    if let Err(violation) = state.policy.check(&password, &context) {
        return Err(ApiError::WeakPassword(violation.to_string()));
    }
    state
        .hasher
        .get()
        .hash_async(password)
        .await
        .map_err(|e| ApiError::Internal(format!("hash: {e}")))
}

/// Registration that does not tell whether the address has an account: the password is
/// checked and hashed either way, then one transaction inserts the account (and a welcome
/// mail) or, for a taken address, mails its owner; the answer is the same 201. At most
/// three registrations per address an hour, so nobody floods an owner with mails.
pub(crate) async fn register(State(state): Shared, body: Bytes) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let email = normalize_email(&input.email)?;
    state.reset_limits.check_registration(&email).await?;
    let hash = new_password_hash(&state, input.password, &email).await?;
    let id = state
        .db
        .register_or_notify(email, hash.as_str().to_owned(), now_i64())
        .await?;
    let record = match id {
        Some(id) => event("auth.register", Outcome::Success).actor(id.to_string()),
        None => event("auth.register", Outcome::Failure).reason("email_taken"),
    };
    Ok(audited(
        json_response(
            StatusCode::CREATED,
            &json!({ "status": "a message was sent to the address" }),
        ),
        record,
    ))
}
