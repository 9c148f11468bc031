//! `GET/POST /oauth/authorize`: the authorization code flow's sign-in page (RFC 6749 §4.1).
//!
//! The desk opens this page in the system browser with a loopback redirect URI on any port
//! (RFC 8252 §7.3) and a PKCE S256 challenge (required of public clients). The form carries a
//! CSRF token that must match a cookie set with the page (double submit). Problems with the client
//! or the redirect URI are shown on the page and never redirected (§4.1.2.1); every other problem
//! goes back to the client as `error=…&state=…`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use subtle::ConstantTimeEq;

use super::signin::{check_password, SignInError};
use super::{format_scopes, new_secret, parse_scopes, secret_hash, Scopes};
use crate::app::AppState;
use crate::storage::{AuthCodeRecord, ClientRecord};

const CSRF_COOKIE: &str = "ps_csrf";
/// How long an authorization code may wait for its exchange.
const CODE_TTL_SECONDS: i64 = 120;
/// The request parameters the form carries through.
const CARRIED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// A loopback redirect (RFC 8252 §7.3): http, to 127.0.0.1, [::1] or localhost, any port.
fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    let loopback_host = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    url.scheme() == "http" && url.fragment().is_none() && loopback_host
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · Practice Studio</title>\
<style>body{{font:14px/1.4 system-ui,sans-serif;background:#f6f7f9;color:#1c2430;display:grid;place-items:center;min-height:100vh;margin:0}}\
main{{background:#fff;border:1px solid #d9dde3;border-radius:8px;padding:24px 28px;width:340px}}\
h1{{font-size:18px;margin:0 0 4px}}p{{color:#5b6573;margin:0 0 16px}}label{{display:block;font-weight:600;margin:12px 0 4px}}\
input[type=email],input[type=password]{{width:100%;box-sizing:border-box;min-height:36px;padding:6px 10px;font:inherit;border:1px solid #d9dde3;border-radius:6px}}\
.actions{{display:flex;gap:8px;margin-top:16px}}button{{min-height:36px;padding:6px 16px;font:inherit;font-weight:600;border-radius:6px;border:1px solid #1d5fa8;cursor:pointer}}\
.primary{{background:#1d5fa8;color:#fff}}.secondary{{background:#fff;color:#1d5fa8}}.error{{color:#b3261e;font-weight:600}}</style></head>\
<body><main>{body}</main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn refuse(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Cannot sign in",
        &format!(
            "<h1>Cannot sign in</h1><p class=\"error\" role=\"alert\">{}</p>\
             <p>Close this window and try again from the application.</p>",
            escape(message)
        ),
    )
}

/// Sends the browser back to the client with a result.
fn back_to_client(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return refuse("the redirect address is not valid"),
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn oauth_error(params: &Params, redirect_uri: &str, code: &str, description: &str) -> Response {
    let mut pairs = vec![("error", code), ("error_description", description)];
    if let Some(state) = param(params, "state") {
        pairs.push(("state", state));
    }
    back_to_client(redirect_uri, &pairs)
}

/// What a valid authorization request asks for.
struct Request {
    client: ClientRecord,
    redirect_uri: String,
    requested: Option<Scopes>,
    challenge: Option<String>,
}

/// Checks the request; `Err` is the response to give (a page or a redirect with an error).
async fn check_request(app: &AppState, params: &Params) -> Result<Request, Response> {
    let Some(client_id) = param(params, "client_id") else {
        return Err(refuse("the request names no client"));
    };
    let client = match app.storage.client(client_id).await {
        Ok(Some(client))
            if client.active && client.grants.iter().any(|g| g == "authorization_code") =>
        {
            client
        }
        Ok(_) => {
            return Err(refuse(
                "this application may not use sign-in through the browser",
            ))
        }
        Err(error) => {
            tracing::error!(%error, "authorize: reading the client");
            return Err(refuse(
                "the service could not check the application; try again",
            ));
        }
    };
    let Some(redirect_uri) = param(params, "redirect_uri") else {
        return Err(refuse("the request names no redirect address"));
    };
    if !is_loopback_redirect(redirect_uri) {
        return Err(refuse(
            "the redirect address is not one this application may use",
        ));
    }
    let redirect_uri = redirect_uri.to_owned();
    if param(params, "response_type") != Some("code") {
        return Err(oauth_error(
            params,
            &redirect_uri,
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = param(params, "code_challenge").map(str::to_owned);
    match (&challenge, param(params, "code_challenge_method")) {
        (Some(c), Some("S256")) if c.len() == 43 => {}
        (Some(_), _) => {
            return Err(oauth_error(
                params,
                &redirect_uri,
                "invalid_request",
                "code_challenge must be an S256 challenge (code_challenge_method=S256)",
            ));
        }
        (None, _) if client.secret_hash.is_none() => {
            return Err(oauth_error(
                params,
                &redirect_uri,
                "invalid_request",
                "PKCE (code_challenge with S256) is required",
            ));
        }
        (None, _) => {}
    }
    let requested = match param(params, "scope") {
        None => None,
        Some(text) => match parse_scopes(text) {
            Ok(scopes) => Some(scopes),
            Err(e) => return Err(oauth_error(params, &redirect_uri, "invalid_scope", &e)),
        },
    };
    Ok(Request {
        client,
        redirect_uri,
        requested,
        challenge,
    })
}

fn sign_in_form(
    params: &Params,
    client: &ClientRecord,
    csrf: &str,
    problem: Option<&str>,
    email: &str,
) -> String {
    let hidden: String = CARRIED
        .iter()
        .filter_map(|name| param(params, name).map(|v| (name, v)))
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .collect();
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    format!(
        "<h1>Sign in to Practice Studio</h1><p>{} is asking to use your account.</p>{problem}\
<form method=\"post\" action=\"/oauth/authorize\">{hidden}<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{}\">\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Sign in</button>\
<button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Cancel</button></div></form>",
        escape(&client.name),
        escape(email)
    )
}

/// `GET /oauth/authorize`: the sign-in page.
#[utoipa::path(get, path = "/oauth/authorize", tag = "OAuth", summary = "Sign-in page (authorization code flow)",
    params(
        ("response_type" = String, Query, description = "code"),
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "A loopback http URI, any port (RFC 8252)"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query, description = "Echoed back with the code"),
        ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge; required for public clients"),
        ("code_challenge_method" = Option<String>, Query, description = "S256"),
    ),
    responses(
        (status = 200, description = "The sign-in page", content_type = "text/html", body = String),
        (status = 303, description = "Back to the client with error and state"),
        (status = 400, description = "The client or redirect URI is not acceptable (shown, never redirected)", content_type = "text/html", body = String),
    ),
    security(()))]
pub async fn show(State(app): State<AppState>, Query(params): Query<Params>) -> Response {
    let request = match check_request(&app, &params).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let csrf = new_secret("");
    let mut response = page(
        StatusCode::OK,
        "Sign in",
        &sign_in_form(&params, &request.client, &csrf, None, ""),
    );
    let cookie = format!("{CSRF_COOKIE}={csrf}; Path=/oauth; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// `POST /oauth/authorize`: the submitted sign-in form.
#[utoipa::path(post, path = "/oauth/authorize", tag = "OAuth", summary = "Submit the sign-in form",
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the client with code and state, or error and state"),
        (status = 400, description = "Forged or expired form", content_type = "text/html", body = String),
        (status = 401, description = "Wrong email or password: the page again", content_type = "text/html", body = String),
    ),
    security(()))]
pub async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    let request = match check_request(&app, &params).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let csrf_ok = match (
        cookie_value(&headers, CSRF_COOKIE),
        param(&params, "csrf_token"),
    ) {
        (Some(cookie), Some(field)) => bool::from(cookie.as_bytes().ct_eq(field.as_bytes())),
        _ => false,
    };
    if !csrf_ok {
        return refuse("the sign-in form expired or did not come from this page; start again from the application");
    }
    if param(&params, "decision") == Some("deny") {
        return oauth_error(
            &params,
            &request.redirect_uri,
            "access_denied",
            "the user cancelled the sign-in",
        );
    }
    let email = param(&params, "email").unwrap_or("");
    let password_text = param(&params, "password").unwrap_or("");
    let csrf = param(&params, "csrf_token").unwrap_or("");
    let retry = |problem: &str| {
        page(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &sign_in_form(&params, &request.client, csrf, Some(problem), email),
        )
    };
    let user = match check_password(&app, email, password_text).await {
        Ok(user) => user,
        Err(SignInError::Wrong) => return retry("Wrong email or password."),
        Err(SignInError::Locked) => {
            return retry("This account is locked after repeated wrong passwords. Try again later.")
        }
        Err(SignInError::Internal(error)) => {
            tracing::error!(%error, "authorize: checking the password");
            return refuse("the service could not check the password; try again");
        }
    };
    let allowed: Scopes = user
        .role
        .scopes()
        .intersection(&request.client.scopes)
        .copied()
        .collect();
    let scopes = match &request.requested {
        None => allowed,
        Some(requested) => match requested.iter().find(|s| !allowed.contains(s)) {
            Some(extra) => {
                return oauth_error(
                    &params,
                    &request.redirect_uri,
                    "invalid_scope",
                    &format!("the scope {extra} is not available to this user"),
                )
            }
            None => requested.clone(),
        },
    };
    let code = new_secret("ps_ac_");
    let record = AuthCodeRecord {
        client_id: request.client.id.clone(),
        user_id: user.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scopes,
        code_challenge: request.challenge.clone(),
        expires_at: app.clock.now() + chrono::Duration::seconds(CODE_TTL_SECONDS),
    };
    if let Err(error) = app
        .storage
        .insert_auth_code(&secret_hash(&code), &record)
        .await
    {
        tracing::error!(%error, "authorize: storing the code");
        return refuse("the service could not complete the sign-in; try again");
    }
    tracing::info!(client = %request.client.id, scopes = %format_scopes(&record.scopes), "authorization code issued");
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = param(&params, "state") {
        pairs.push(("state", state));
    }
    back_to_client(&request.redirect_uri, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_redirects_are_accepted() {
        for good in [
            "http://127.0.0.1:53123/callback",
            "http://[::1]:8080/cb",
            "http://localhost:1/x",
            "http://127.0.0.1/",
        ] {
            assert!(is_loopback_redirect(good), "{good}");
        }
        for bad in [
            "https://evil.example/cb",
            "http://10.0.0.1:80/cb",
            "http://127.0.0.1.evil.example/",
            "javascript:alert(1)",
            "http://127.0.0.1:5/#frag",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }
}
