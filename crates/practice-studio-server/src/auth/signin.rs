//! Checking a user's password, with the lockout after repeated failures. Shared by the password
//! grant and the sign-in page.

use crate::app::AppState;
use crate::storage::UserRecord;

use super::password;

pub(crate) enum SignInError {
    Wrong,
    Locked,
    Internal(String),
}

/// A valid Argon2id hash of nothing anyone knows: checking against it when the user does not
/// exist spends the same time as a real check, so timing does not reveal who has an account.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

pub(crate) async fn check_password(
    app: &AppState,
    email: &str,
    password_text: &str,
) -> Result<UserRecord, SignInError> {
    let now = app.clock.now();
    let internal = |e: crate::storage::StorageError| SignInError::Internal(e.to_string());
    let Some(user) = app
        .storage
        .user_by_email(email.trim())
        .await
        .map_err(internal)?
        .filter(|u| u.active)
    else {
        let _ = password::verify(password_text, DUMMY_HASH);
        return Err(SignInError::Wrong);
    };
    if user.locked_until.is_some_and(|until| until > now) {
        return Err(SignInError::Locked);
    }
    if !password::verify(password_text, &user.password_hash) {
        app.storage
            .record_login_failure(
                &user.id,
                app.settings.max_failed_logins,
                now + app.settings.lockout,
            )
            .await
            .map_err(internal)?;
        return Err(SignInError::Wrong);
    }
    app.storage
        .record_login_success(&user.id)
        .await
        .map_err(internal)?;
    Ok(user)
}
