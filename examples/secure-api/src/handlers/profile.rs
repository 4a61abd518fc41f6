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
    app::{AppState, SharedClaims, now_i64, ok_json, parse, user_id},
    problem::{ApiError, audited},
};

use crate::limits::{
    ADDRESS_MAX_CHARS, BIO_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, PHONE_MAX_CHARS, is_address_char,
    is_phone_char,
};

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
    Extension(claims): Extension<SharedClaims>,
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

/// The profile fields to change. A field left out is unchanged; `null` is refused (it would
/// read as "clear it", which an empty string says).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileInput {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    bio: Option<String>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    address: Option<String>,
}

/// A member that is there must be a string: `null` fails to parse (400).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// A display name: one line of at most [`DISPLAY_NAME_MAX_CHARS`] characters as sent, stored
/// trimmed and in NFC. Control, invisible and bidirectional formatting characters (a
/// right-to-left override that makes `admin\u{202E}gnp.exe` display as `adminexe.png`) are
/// refused, not quietly removed: what the user sent is not what others would see.
fn display_name(value: &str) -> Result<String, ApiError> {
    const REFUSED: ApiError = ApiError::BadRequest(
        "display_name is too long or has control, invisible or bidirectional characters",
    );
    if value.chars().count() > DISPLAY_NAME_MAX_CHARS || value.chars().any(char::is_control) {
        return Err(REFUSED);
    }
    let value = value.trim();
    let policy = TextPolicy::single_line()
        .max_graphemes(DISPLAY_NAME_MAX_CHARS)
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
    Extension(claims): Extension<SharedClaims>,
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
        if bio.chars().count() > BIO_MAX_CHARS {
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
        if phone.chars().count() > PHONE_MAX_CHARS {
            return Err(ApiError::BadRequest("phone is too long"));
        }
        if !phone.chars().all(is_phone_char) {
            return Err(ApiError::BadRequest(
                "phone may hold digits, spaces and + - ( ) . only",
            ));
        }
        let phone = phone.trim();
        user.phone = if phone.is_empty() {
            None
        } else {
            Some(
                state
                    .crypto
                    .encrypt("phone", id, phone)
                    .map_err(ApiError::Internal)?,
            )
        };
        changed.push("phone");
    }
    if let Some(address) = input.address {
        if address.chars().count() > ADDRESS_MAX_CHARS || !address.chars().all(is_address_char) {
            return Err(ApiError::BadRequest(
                "address is too long or has control characters",
            ));
        }
        let address = address.trim();
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
