//! `GET /me` and `PUT /me`: the profile, with the phone number and address encrypted under a
//! row-bound context and the bio sanitized.

use std::sync::Arc;

use axum::{Extension, body::Bytes, extract::State, response::Response};
use palisade_audit::Outcome;
use palisade_http::SecurityEvent;
use palisade_sanitize::text::{Normalization, TextPolicy};
use serde::Deserialize;
use serde_json::json;

use crate::{
    app::{AppState, UserClaims, now_i64, ok_json, parse, user_id},
    problem::{ApiError, audited},
};

/// Longest display name (in graphemes), phone number and address (in characters).
const MAX_NAME: usize = 100;
const MAX_PHONE: usize = 32;
const MAX_ADDRESS: usize = 500;
/// Longest bio before sanitizing, in bytes.
const MAX_BIO: usize = 8 * 1024;

fn decrypt_field(
    state: &AppState,
    column: &str,
    row: i64,
    stored: Option<&str>,
) -> Result<Option<String>, ApiError> {
    stored
        .map(|s| {
            state.crypto.decrypt(column, row, s).map_err(|kind| {
                ApiError::Internal(format!("decrypt users.{column} row {row}: {kind}"))
            })
        })
        .transpose()
}

pub(crate) async fn get_me(
    State(state): State<Arc<AppState>>,
    Extension(claims): Extension<UserClaims>,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    let phone = decrypt_field(&state, "phone", id, user.phone.as_deref())?;
    let address = decrypt_field(&state, "address", id, user.address.as_deref())?;
    Ok(ok_json(&json!({
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "bio": user.bio,
        "phone": phone,
        "address": address,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileInput {
    display_name: Option<String>,
    bio: Option<String>,
    phone: Option<String>,
    address: Option<String>,
}

fn clean_text(value: &str, max: usize, what: &'static str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(what));
    }
    Ok(value.to_owned())
}

/// A display name: one line of at most [`MAX_NAME`] graphemes, stored in NFC. Control,
/// invisible and bidirectional formatting characters (a right-to-left override that makes
/// `admin\u{202E}gnp.exe` display as `adminexe.png`) are refused, not quietly removed: what the
/// user sent is not what others would see.
fn display_name(value: &str) -> Result<String, ApiError> {
    const REFUSED: ApiError = ApiError::BadRequest(
        "display_name is too long or has control, invisible or bidirectional characters",
    );
    let value = value.trim();
    let policy = TextPolicy::single_line()
        .max_graphemes(MAX_NAME)
        .map_err(|e| ApiError::Internal(format!("display name policy: {e}")))?;
    // Without normalization, `check` fails exactly when something would be stripped.
    policy
        .clone()
        .normalization(Normalization::None)
        .check(value)
        .map_err(|_| REFUSED)?;
    policy.clean(value).map_err(|_| REFUSED)
}

pub(crate) async fn put_me(
    State(state): State<Arc<AppState>>,
    Extension(claims): Extension<UserClaims>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let input: ProfileInput = parse(&body)?;
    let Some(mut user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    let mut changed = Vec::new();
    if let Some(name) = input.display_name {
        user.display_name = display_name(&name)?;
        changed.push("display_name");
    }
    if let Some(bio) = input.bio {
        if bio.len() > MAX_BIO {
            return Err(ApiError::BadRequest("bio is too long"));
        }
        user.bio = state
            .html
            .clean(&bio)
            .map_err(|_| ApiError::BadRequest("bio could not be sanitized"))?
            .into_string();
        changed.push("bio");
    }
    if let Some(phone) = input.phone {
        let phone = clean_text(
            &phone,
            MAX_PHONE,
            "phone is too long or has control characters",
        )?;
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(ApiError::BadRequest(
                "phone may hold digits, spaces and + - ( ) . only",
            ));
        }
        user.phone = if phone.is_empty() {
            None
        } else {
            Some(
                state
                    .crypto
                    .encrypt("phone", id, &phone)
                    .map_err(ApiError::Internal)?,
            )
        };
        changed.push("phone");
    }
    if let Some(address) = input.address {
        let address = address.trim();
        if address.chars().count() > MAX_ADDRESS
            || address.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(ApiError::BadRequest(
                "address is too long or has control characters",
            ));
        }
        user.address = if address.is_empty() {
            None
        } else {
            Some(
                state
                    .crypto
                    .encrypt("address", id, address)
                    .map_err(ApiError::Internal)?,
            )
        };
        changed.push("address");
    }
    state.db.update_profile(user, now_i64()).await?;
    let response = get_me(State(state), Extension(claims)).await?;
    Ok(audited(
        response,
        SecurityEvent::new("profile.updated", Outcome::Success)
            .actor(id.to_string())
            .field("fields", changed.join(",")),
    ))
}
