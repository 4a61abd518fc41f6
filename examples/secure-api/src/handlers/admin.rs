//! `GET /admin/users`, behind the admin role.

use axum::{Extension, extract::State, response::Response};
use palisade_audit::Outcome;
use serde_json::{Value, json};

use crate::{
    app::{Shared, SharedClaims, event, ok_json, user_id},
    problem::{ApiError, audited},
};

/// Behind the admin role check.
pub(crate) async fn admin_users(
    State(state): Shared,
    Extension(claims): Extension<SharedClaims>,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let users = state.db.list_users().await?;
    let users: Vec<Value> = users
        .into_iter()
        .map(|(id, email, role)| json!({ "id": id, "email": email, "role": role }))
        .collect();
    Ok(audited(
        ok_json(&json!({ "users": users })),
        event("admin.users_listed", Outcome::Success).actor(id.to_string()),
    ))
}
