//! The OAuth 2.0 token endpoint (RFC 6749) and revocation (RFC 7009).
//!
//! Errors here are RFC 6749 bodies (`{"error":"invalid_grant","error_description":…}`), not the
//! API's envelope: OAuth clients expect them.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{format_scopes, new_secret, parse_scopes, password, secret_hash, Scopes};
use crate::app::AppState;
use crate::storage::{ClientRecord, TokenKind, TokenRecord};

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    pub(crate) fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = match code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "token endpoint failed");
        Self::new("server_error", "an internal error occurred")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"practice-studio\""),
            );
        }
        response
    }
}

/// The body of an OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    pub error: String,
    pub error_description: String,
}

/// The token response, exactly as the reference shows it (plus `refresh_token` for user grants).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

type Params = HashMap<String, String>;

/// The form body both endpoints take (RFC 6749 §3.2), or `invalid_request`.
fn form_params(
    form: Result<Form<Params>, axum::extract::rejection::FormRejection>,
) -> Result<Params, OAuthError> {
    form.map(|Form(params)| params).map_err(|_| {
        OAuthError::new(
            "invalid_request",
            "send the parameters as application/x-www-form-urlencoded",
        )
    })
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    param(params, name)
        .ok_or_else(|| OAuthError::new("invalid_request", format!("{name} is required")))
}

/// Client id and secret from HTTP Basic or the form body.
fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, Option<String>), OAuthError> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| OAuthError::new("invalid_client", "malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::new("invalid_client", "malformed Basic credentials"))?;
            return Ok((id.to_owned(), Some(secret.to_owned())));
        }
    }
    let id = param(params, "client_id")
        .ok_or_else(|| OAuthError::new("invalid_client", "client authentication is required"))?;
    Ok((
        id.to_owned(),
        param(params, "client_secret").map(str::to_owned),
    ))
}

async fn authenticate_client(
    app: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientRecord, OAuthError> {
    let (id, secret) = client_credentials(headers, params)?;
    let unknown = || OAuthError::new("invalid_client", "unknown client or wrong secret");
    let client = app
        .storage
        .client(&id)
        .await
        .map_err(OAuthError::internal)?
        .filter(|c| c.active)
        .ok_or_else(unknown)?;
    match (&client.secret_hash, secret) {
        // A public client (the desk) has no secret and must not send one.
        (None, None) => Ok(client),
        (Some(stored), Some(secret)) if password::verify(&secret, stored) => Ok(client),
        _ => Err(unknown()),
    }
}

pub(crate) fn granted_scopes(
    requested: Option<&str>,
    allowed: &Scopes,
) -> Result<Scopes, OAuthError> {
    match requested {
        None => Ok(allowed.clone()),
        Some(text) => {
            let requested = parse_scopes(text).map_err(|e| OAuthError::new("invalid_scope", e))?;
            if let Some(extra) = requested.iter().find(|s| !allowed.contains(s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("the scope {extra} is not available to this client or user"),
                ));
            }
            Ok(requested)
        }
    }
}

/// `POST /oauth/token`.
#[utoipa::path(post, path = "/oauth/token", tag = "OAuth", summary = "Obtain access tokens",
    description = "grant_type client_credentials (confidential clients), password (trusted applications), authorization_code (with PKCE code_verifier; required for public clients) or refresh_token (rotating: a reused refresh token ends its sign-in). Client authentication by HTTP Basic or client_id/client_secret in the body; the public desk client `frontdesk` has no secret.",
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "RFC 6749 error", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
    ),
    security(()))]
pub async fn token(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Params>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let params = form_params(form)?;
    let grant = required(&params, "grant_type")?.to_owned();
    let client = authenticate_client(&app, &headers, &params).await?;
    if !client.grants.contains(&grant) {
        let known = [
            "client_credentials",
            "password",
            "authorization_code",
            "refresh_token",
        ];
        return Err(if known.contains(&grant.as_str()) {
            OAuthError::new(
                "unauthorized_client",
                format!("client {} may not use the {grant} grant", client.id),
            )
        } else {
            OAuthError::new(
                "unsupported_grant_type",
                format!("unknown grant type {grant:?}"),
            )
        });
    }
    let response = match grant.as_str() {
        "client_credentials" => {
            let scopes = granted_scopes(param(&params, "scope"), &client.scopes)?;
            issue(&app, &client, None, scopes, None, false).await?
        }
        "password" => password_grant(&app, &client, &params).await?,
        "authorization_code" => code_grant(&app, &client, &params).await?,
        "refresh_token" => refresh_grant(&app, &client, &params).await?,
        other => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("unknown grant type {other:?}"),
            ))
        }
    };
    let mut response = Json(response).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn password_grant(
    app: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let username = required(params, "username")?;
    let password_text = required(params, "password")?;
    let user = match super::signin::check_password(app, username, password_text).await {
        Ok(user) => user,
        Err(super::signin::SignInError::Wrong) => {
            return Err(OAuthError::new(
                "invalid_grant",
                "wrong username or password",
            ))
        }
        Err(super::signin::SignInError::Locked) => {
            return Err(OAuthError::new(
                "invalid_grant",
                "this account is locked after repeated wrong passwords; try again later",
            ))
        }
        Err(super::signin::SignInError::Internal(error)) => {
            return Err(OAuthError::internal(error))
        }
    };
    let allowed: Scopes = user
        .role
        .scopes()
        .intersection(&client.scopes)
        .copied()
        .collect();
    let scopes = granted_scopes(param(params, "scope"), &allowed)?;
    issue(app, client, Some(&user.id), scopes, None, true).await
}

/// PKCE S256: BASE64URL(SHA256(verifier)) == challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

async fn code_grant(
    app: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let invalid = || {
        OAuthError::new(
            "invalid_grant",
            "the code is invalid, expired or already used",
        )
    };
    let record = app
        .storage
        .take_auth_code(&secret_hash(code))
        .await
        .map_err(OAuthError::internal)?
        .ok_or_else(invalid)?;
    if record.client_id != client.id
        || record.redirect_uri != redirect_uri
        || record.expires_at <= app.clock.now()
    {
        return Err(invalid());
    }
    match (&record.code_challenge, param(params, "code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(OAuthError::new(
                "invalid_grant",
                "code_verifier is missing or does not match the code_challenge",
            ))
        }
        (None, _) if client.secret_hash.is_none() => return Err(invalid()),
        (None, _) => {}
    }
    issue(
        app,
        client,
        Some(&record.user_id),
        record.scopes,
        None,
        true,
    )
    .await
}

async fn refresh_grant(
    app: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let refresh = required(params, "refresh_token")?;
    let hash = secret_hash(refresh);
    let invalid = || {
        OAuthError::new(
            "invalid_grant",
            "the refresh token is invalid, expired or revoked",
        )
    };
    let record = app
        .storage
        .token(&hash)
        .await
        .map_err(OAuthError::internal)?
        .filter(|t| t.kind == TokenKind::Refresh && t.client_id == client.id)
        .ok_or_else(invalid)?;
    if record.revoked {
        // A rotated refresh token used again means it leaked: end the whole sign-in.
        tracing::warn!(client = %client.id, "refresh token reuse; revoking its family");
        app.storage
            .revoke_family(&record.family)
            .await
            .map_err(OAuthError::internal)?;
        return Err(invalid());
    }
    if record.expires_at <= app.clock.now() {
        return Err(invalid());
    }
    let scopes = granted_scopes(param(params, "scope"), &record.scopes)?;
    app.storage
        .revoke_token(&hash)
        .await
        .map_err(OAuthError::internal)?;
    issue(
        app,
        client,
        record.user_id.as_deref(),
        scopes,
        Some(record.family),
        true,
    )
    .await
}

pub(crate) async fn issue(
    app: &AppState,
    client: &ClientRecord,
    user_id: Option<&str>,
    scopes: Scopes,
    family: Option<String>,
    with_refresh: bool,
) -> Result<TokenResponse, OAuthError> {
    let now = app.clock.now();
    let family = family.unwrap_or_else(|| new_secret("fam_"));
    let access = new_secret("ps_at_");
    app.storage
        .insert_token(
            &secret_hash(&access),
            &TokenRecord {
                kind: TokenKind::Access,
                client_id: client.id.clone(),
                user_id: user_id.map(str::to_owned),
                scopes: scopes.clone(),
                family: family.clone(),
                expires_at: now + app.settings.token_ttl,
                revoked: false,
            },
        )
        .await
        .map_err(OAuthError::internal)?;
    let refresh_token = if with_refresh && client.grants.iter().any(|g| g == "refresh_token") {
        let refresh = new_secret("ps_rt_");
        app.storage
            .insert_token(
                &secret_hash(&refresh),
                &TokenRecord {
                    kind: TokenKind::Refresh,
                    client_id: client.id.clone(),
                    user_id: user_id.map(str::to_owned),
                    scopes: scopes.clone(),
                    family,
                    expires_at: now + app.settings.refresh_ttl,
                    revoked: false,
                },
            )
            .await
            .map_err(OAuthError::internal)?;
        Some(refresh)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: app.settings.token_ttl.num_seconds(),
        scope: format_scopes(&scopes),
        refresh_token,
    })
}

/// `POST /oauth/revoke` (RFC 7009): always 200 for an authenticated client, whether or not the
/// token was known, so the answer reveals nothing.
#[utoipa::path(post, path = "/oauth/revoke", tag = "OAuth", summary = "Revoke a token (RFC 7009)",
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or unknown: the answer reveals nothing)"),
        (status = 400, description = "RFC 6749 error", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
    ),
    security(()))]
pub async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Params>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let params = form_params(form)?;
    let client = authenticate_client(&app, &headers, &params).await?;
    let token = required(&params, "token")?;
    let hash = secret_hash(token);
    if let Some(record) = app
        .storage
        .token(&hash)
        .await
        .map_err(OAuthError::internal)?
    {
        if record.client_id == client.id {
            // Revoking a refresh token ends the sign-in it belongs to (RFC 7009 §2.1).
            if record.kind == TokenKind::Refresh {
                app.storage
                    .revoke_family(&record.family)
                    .await
                    .map_err(OAuthError::internal)?;
            } else {
                app.storage
                    .revoke_token(&hash)
                    .await
                    .map_err(OAuthError::internal)?;
            }
        }
    }
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636, Appendix B.
        assert!(super::pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!super::pkce_matches(
            "other",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
