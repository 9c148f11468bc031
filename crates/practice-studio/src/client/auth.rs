//! Credentials: what the caller hands over ([`Auth`]), the tokens it gets back ([`Tokens`], kept
//! by the caller's [`TokenStore`]), and the [`TokenManager`] that fetches them lazily, shares them
//! between concurrent calls and refreshes them one at a time.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::clock::{chrono_duration, Clock};
use super::error::{Error, SignInError};
use super::loopback::Redirect;

/// A token, key, password or client secret. It never shows itself in `Debug` (there is no
/// `Display`); [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// The tokens of one sign-in. Serializable so the caller can keep them (the desk keeps them in the
/// OS keychain): serializing writes both tokens in clear, so only ever into such a store.
/// `Debug` shows neither token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: Secret,
    /// Absent for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// When the server stops accepting the access token.
    pub expires_at: DateTime<Utc>,
    /// When the client refreshes it, a little before `expires_at`.
    pub refresh_after: DateTime<Utc>,
    /// The scopes granted, space-separated.
    #[serde(default)]
    pub scope: String,
}

/// What a [`TokenStore`] may fail with; the client logs it (without tokens) and carries on.
pub type TokenStoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where the caller keeps tokens between runs. The client never touches the disk: it hands every
/// new set of tokens to [`TokenStore::save`], asks [`TokenStore::load`] once before it first needs
/// one, and calls [`TokenStore::clear`] on sign-out or when the sign-in has ended. Calls are
/// rare (sign-in, refresh, sign-out) and made while other calls wait for the token, so keep them
/// quick.
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError>;
    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError>;
    fn clear(&self) -> Result<(), TokenStoreError>;
}

/// A [`TokenStore`] in memory: for integrations that sign in at every start, and for tests.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<Tokens>>,
    saves: Mutex<u32>,
}

impl MemoryTokenStore {
    /// A store that starts with these tokens (a desk restarting with its keychain's tokens).
    pub fn with(tokens: Tokens) -> Self {
        Self {
            tokens: Mutex::new(Some(tokens)),
            saves: Mutex::new(0),
        }
    }

    /// The tokens held now.
    pub fn tokens(&self) -> Option<Tokens> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many times tokens were saved (each sign-in and each refresh saves once).
    pub fn saves(&self) -> u32 {
        *self.saves.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError> {
        Ok(self.tokens())
    }

    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError> {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner()) = Some(tokens.clone());
        *self.saves.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(())
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}

/// Opens the sign-in page in the system browser (the caller decides how: `open::that`, a Tauri
/// opener, or in tests an HTTP client standing in for a person). It may return as soon as the
/// browser was asked to open; the client waits for the redirect itself.
pub type OpenBrowser =
    Arc<dyn Fn(url::Url) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// How long the authorization code flow waits for the person to sign in, by default.
pub const DEFAULT_SIGN_IN_WAIT: Duration = Duration::from_secs(300);

#[derive(Clone)]
enum Kind {
    None,
    ApiKey(Secret),
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    Password {
        client_id: String,
        username: String,
        password: Secret,
    },
    AuthorizationCode {
        client_id: String,
        open_browser: OpenBrowser,
        wait: Duration,
    },
}

/// How the client authenticates. Tokens are fetched when the first call needs one, not here.
#[derive(Clone)]
pub struct Auth {
    kind: Kind,
    scope: Option<String>,
    /// For confidential clients using a user grant.
    client_secret: Option<Secret>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names the kind and the client only: usernames, keys and secrets stay out.
        let (kind, client) = match &self.kind {
            Kind::None => ("none", None),
            Kind::ApiKey(_) => ("api_key", None),
            Kind::ClientCredentials { client_id, .. } => ("client_credentials", Some(client_id)),
            Kind::Password { client_id, .. } => ("password", Some(client_id)),
            Kind::AuthorizationCode { client_id, .. } => ("authorization_code", Some(client_id)),
        };
        f.debug_struct("Auth")
            .field("kind", &kind)
            .field("client_id", &client)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Auth {
    fn of(kind: Kind) -> Self {
        Self {
            kind,
            scope: None,
            client_secret: None,
        }
    }

    /// No credentials: only `/health` answers.
    pub fn none() -> Self {
        Self::of(Kind::None)
    }

    /// A legacy API key (`Authorization: ApiKey …`).
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Self::of(Kind::ApiKey(key.into()))
    }

    /// The client credentials grant of a confidential integration.
    pub fn client_credentials(client_id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self::of(Kind::ClientCredentials {
            client_id: client_id.into(),
            client_secret: secret.into(),
        })
    }

    /// The resource owner password grant of a trusted application (the desk's public client).
    pub fn password(
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self::of(Kind::Password {
            client_id: client_id.into(),
            username: username.into(),
            password: password.into(),
        })
    }

    /// The authorization code flow with PKCE (S256) for a public client: the client listens on
    /// `127.0.0.1` on a random port, has `open_browser` show the sign-in page, checks the `state`
    /// the browser brings back, and exchanges the code. Tokens the [`TokenStore`] already holds
    /// are used and refreshed first; the browser opens only when there are none (or they ended).
    pub fn authorization_code<F, Fut>(client_id: impl Into<String>, open_browser: F) -> Self
    where
        F: Fn(url::Url) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let open_browser: OpenBrowser = Arc::new(move |url| Box::pin(open_browser(url)));
        Self::of(Kind::AuthorizationCode {
            client_id: client_id.into(),
            open_browser,
            wait: DEFAULT_SIGN_IN_WAIT,
        })
    }

    /// Asks for these scopes (space-separated) instead of everything the client and user may have.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The client secret of a confidential client using the password or code grant.
    pub fn with_client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How long the authorization code flow waits for the person (5 minutes by default).
    pub fn with_sign_in_wait(mut self, wait: Duration) -> Self {
        if let Kind::AuthorizationCode { wait: w, .. } = &mut self.kind {
            *w = wait;
        }
        self
    }

    fn client_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::ClientCredentials { client_id, .. }
            | Kind::Password { client_id, .. }
            | Kind::AuthorizationCode { client_id, .. } => Some(client_id),
            Kind::None | Kind::ApiKey(_) => None,
        }
    }

    fn client_secret(&self) -> Option<&Secret> {
        match &self.kind {
            Kind::ClientCredentials { client_secret, .. } => Some(client_secret),
            _ => self.client_secret.as_ref(),
        }
    }
}

/// The credential one request carries.
pub(crate) enum Credential {
    None,
    ApiKey(Secret),
    Bearer(Secret),
}

impl Credential {
    pub(crate) fn header(&self) -> Option<reqwest::header::HeaderValue> {
        let text = match self {
            Credential::None => return None,
            Credential::ApiKey(key) => format!("ApiKey {}", key.expose()),
            Credential::Bearer(token) => format!("Bearer {}", token.expose()),
        };
        let mut value = reqwest::header::HeaderValue::from_str(&text).ok()?;
        // Keeps it out of HTTP/2 header compression tables and hyper's debug output.
        value.set_sensitive(true);
        Some(value)
    }
}

/// Where the OAuth endpoints are and how to reach them.
pub(crate) struct Endpoints {
    pub http: reqwest::Client,
    pub base: url::Url,
    pub timeout: Duration,
}

impl Endpoints {
    fn url(&self, path: &str) -> Result<url::Url, Error> {
        self.base
            .join(path)
            .map_err(|e| Error::config("base URL", e))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Default)]
struct TokenState {
    loaded: bool,
    tokens: Option<Tokens>,
}

/// Fetches, shares, refreshes and revokes tokens. Its lock is held while tokens are fetched, so
/// concurrent calls wait for one refresh instead of each starting their own (a second refresh
/// with a rotated token would end the sign-in).
pub(crate) struct TokenManager {
    auth: Auth,
    store: Option<Arc<dyn TokenStore>>,
    state: tokio::sync::Mutex<TokenState>,
    endpoints: Endpoints,
    clock: Arc<dyn Clock>,
}

impl TokenManager {
    pub(crate) fn new(
        auth: Auth,
        store: Option<Arc<dyn TokenStore>>,
        endpoints: Endpoints,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth,
            store,
            state: tokio::sync::Mutex::new(TokenState::default()),
            endpoints,
            clock,
        }
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The credential for the next request, signing in or refreshing first when needed.
    pub(crate) async fn credential(&self) -> Result<Credential, Error> {
        match &self.auth.kind {
            Kind::None => return Ok(Credential::None),
            Kind::ApiKey(key) => return Ok(Credential::ApiKey(key.clone())),
            _ => {}
        }
        let mut state = self.state.lock().await;
        self.load(&mut state);
        let now = self.clock.now();
        if let Some(tokens) = &state.tokens {
            if now < tokens.refresh_after {
                return Ok(Credential::Bearer(tokens.access_token.clone()));
            }
        }
        let fresh = self.renew(&mut state).await?;
        Ok(Credential::Bearer(fresh))
    }

    /// A request with `used` was answered 401: unless tokens changed meanwhile, they are dead.
    pub(crate) async fn rejected(&self, used: &Secret) {
        let mut state = self.state.lock().await;
        if let Some(tokens) = &mut state.tokens {
            if &tokens.access_token == used {
                tokens.refresh_after = DateTime::<Utc>::MIN_UTC;
                tokens.expires_at = DateTime::<Utc>::MIN_UTC;
            }
        }
    }

    /// Signs in now with the configured grant (dropping tokens held), e.g. at the desk's sign-in
    /// screen rather than on the first call.
    pub(crate) async fn sign_in(&self) -> Result<(), Error> {
        let mut state = self.state.lock().await;
        state.loaded = true;
        state.tokens = None;
        let tokens = self.grant().await?;
        self.keep(&mut state, tokens);
        Ok(())
    }

    /// Forgets the tokens (and clears the store), then revokes them at the server. Local state is
    /// cleared even when the server cannot be reached; that error is returned.
    pub(crate) async fn sign_out(&self) -> Result<(), Error> {
        let mut state = self.state.lock().await;
        self.load(&mut state);
        let tokens = state.tokens.take();
        if let Some(store) = &self.store {
            if let Err(error) = store.clear() {
                tracing::warn!(%error, "the token store could not be cleared");
            }
        }
        let Some(tokens) = tokens else {
            return Ok(());
        };
        let mut result = self.revoke(&tokens.access_token).await;
        if let Some(refresh) = &tokens.refresh_token {
            // Revoking the refresh token ends the whole sign-in at the server (RFC 7009 §2.1).
            result = result.and(self.revoke(refresh).await);
        }
        result
    }

    pub(crate) async fn tokens(&self) -> Option<Tokens> {
        let mut state = self.state.lock().await;
        self.load(&mut state);
        state.tokens.clone()
    }

    fn load(&self, state: &mut TokenState) {
        if state.loaded {
            return;
        }
        state.loaded = true;
        if let Some(store) = &self.store {
            match store.load() {
                Ok(tokens) => state.tokens = tokens,
                Err(error) => tracing::warn!(%error, "the token store could not be read"),
            }
        }
    }

    fn keep(&self, state: &mut TokenState, tokens: Tokens) {
        if let Some(store) = &self.store {
            if let Err(error) = store.save(&tokens) {
                tracing::warn!(%error, "the token store could not save new tokens");
            }
        }
        state.tokens = Some(tokens);
    }

    /// Refreshes (or, when that is refused, signs in again) and returns the new access token.
    async fn renew(&self, state: &mut TokenState) -> Result<Secret, Error> {
        let stale = state.tokens.clone();
        if let Some(refresh) = stale.as_ref().and_then(|t| t.refresh_token.clone()) {
            match self.refresh(&refresh).await {
                Ok(tokens) => {
                    let access = tokens.access_token.clone();
                    tracing::debug!("tokens refreshed");
                    self.keep(state, tokens);
                    return Ok(access);
                }
                Err(Error::SignIn(SignInError::Refused { error, .. })) => {
                    // The sign-in ended (expired, revoked, reused): start a new one below.
                    tracing::info!(oauth_error = %error, "refresh refused; signing in again");
                    state.tokens = None;
                    if let Some(store) = &self.store {
                        if let Err(error) = store.clear() {
                            tracing::warn!(%error, "the token store could not be cleared");
                        }
                    }
                }
                Err(error) => {
                    // The server could not be asked. The old access token may still be good.
                    if let Some(tokens) = &stale {
                        if self.clock.now() < tokens.expires_at {
                            tracing::debug!("refresh failed; the access token is still valid");
                            return Ok(tokens.access_token.clone());
                        }
                    }
                    return Err(error);
                }
            }
        }
        let tokens = self.grant().await?;
        let access = tokens.access_token.clone();
        self.keep(state, tokens);
        Ok(access)
    }

    /// A new sign-in with the configured grant.
    async fn grant(&self) -> Result<Tokens, Error> {
        let scope = self.auth.scope.as_deref();
        match &self.auth.kind {
            Kind::ClientCredentials { .. } => {
                let mut form = vec![("grant_type", "client_credentials".to_owned())];
                if let Some(scope) = scope {
                    form.push(("scope", scope.to_owned()));
                }
                self.token_request(form).await
            }
            Kind::Password {
                username, password, ..
            } => {
                let mut form = vec![
                    ("grant_type", "password".to_owned()),
                    ("username", username.clone()),
                    ("password", password.expose().to_owned()),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope.to_owned()));
                }
                self.token_request(form).await
            }
            Kind::AuthorizationCode {
                client_id,
                open_browser,
                wait,
            } => {
                self.browser_sign_in(client_id, open_browser, *wait, scope)
                    .await
            }
            Kind::None | Kind::ApiKey(_) => Err(SignInError::NoCredentials(
                "this client has no OAuth client to sign in with",
            )
            .into()),
        }
    }

    async fn refresh(&self, refresh: &Secret) -> Result<Tokens, Error> {
        self.token_request(vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.expose().to_owned()),
        ])
        .await
    }

    async fn browser_sign_in(
        &self,
        client_id: &str,
        open_browser: &OpenBrowser,
        wait: Duration,
        scope: Option<&str>,
    ) -> Result<Tokens, Error> {
        let redirect = Redirect::bind().await.map_err(SignInError::Listener)?;
        let redirect_uri = redirect.uri().to_owned();
        let verifier = random_token(32);
        let challenge = pkce_challenge(&verifier);
        let state = random_token(16);
        let mut url = self.endpoints.url("oauth/authorize")?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(scope) = scope {
                query.append_pair("scope", scope);
            }
        }
        let code = tokio::time::timeout(wait, async {
            let waiting = redirect.wait(&state);
            tokio::pin!(waiting);
            tokio::select! {
                code = &mut waiting => code,
                opened = open_browser(url) => {
                    opened.map_err(SignInError::OpenBrowser)?;
                    waiting.await
                }
            }
        })
        .await
        .map_err(|_| SignInError::TimedOut(wait))??;
        tracing::debug!("authorization code received; exchanging it");
        self.token_request(vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// `POST /oauth/token`. Never retried here: a refresh whose answer was lost has rotated the
    /// token, and sending the old one again would end the sign-in.
    async fn token_request(&self, mut form: Vec<(&str, String)>) -> Result<Tokens, Error> {
        let client_id = self
            .auth
            .client_id()
            .ok_or(SignInError::NoCredentials("no OAuth client id"))?;
        form.push(("client_id", client_id.to_owned()));
        if let Some(secret) = self.auth.client_secret() {
            form.push(("client_secret", secret.expose().to_owned()));
        }
        let requested_at = self.clock.now();
        let response = self
            .endpoints
            .http
            .post(self.endpoints.url("oauth/token")?)
            .form(&form)
            .timeout(self.endpoints.timeout)
            .send()
            .await
            .map_err(|e| classify(e, self.endpoints.timeout))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| classify(e, self.endpoints.timeout))?;
        if (200..300).contains(&status) {
            let parsed: TokenResponse = serde_json::from_slice(&body)
                .map_err(|e| super::error::decode_success(status, &e))?;
            return Ok(tokens_from(parsed, requested_at));
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(oauth) if status < 500 => Err(SignInError::Refused {
                error: oauth.error,
                description: oauth.error_description,
            }
            .into()),
            _ => Err(super::error::from_response(status, None, &body)),
        }
    }

    async fn revoke(&self, token: &Secret) -> Result<(), Error> {
        let mut form = vec![("token", token.expose().to_owned())];
        if let Some(client_id) = self.auth.client_id() {
            form.push(("client_id", client_id.to_owned()));
        }
        if let Some(secret) = self.auth.client_secret() {
            form.push(("client_secret", secret.expose().to_owned()));
        }
        let response = self
            .endpoints
            .http
            .post(self.endpoints.url("oauth/revoke")?)
            .form(&form)
            .timeout(self.endpoints.timeout)
            .send()
            .await
            .map_err(|e| classify(e, self.endpoints.timeout))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| classify(e, self.endpoints.timeout))?;
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(oauth) => Err(SignInError::Refused {
                error: oauth.error,
                description: oauth.error_description,
            }
            .into()),
            Err(_) => Err(super::error::from_response(status, None, &body)),
        }
    }
}

pub(crate) fn classify(error: reqwest::Error, timeout: Duration) -> Error {
    if error.is_timeout() {
        Error::Timeout { after: timeout }
    } else {
        Error::network(error)
    }
}

fn tokens_from(response: TokenResponse, requested_at: DateTime<Utc>) -> Tokens {
    // Counted from when the request left, so the server's clock can only be ahead of ours.
    let lifetime = chrono::Duration::seconds(response.expires_in.unwrap_or(3600).max(0));
    // Refresh a tenth of the lifetime early, at most a minute: calls in flight keep a valid token.
    let margin = (lifetime / 10).min(chrono_duration(Duration::from_secs(60)));
    Tokens {
        access_token: Secret::new(response.access_token),
        refresh_token: response.refresh_token.map(Secret::new),
        expires_at: requested_at + lifetime,
        refresh_after: requested_at + lifetime - margin,
        scope: response.scope.unwrap_or_default(),
    }
}

/// `n` random bytes as unpadded base64url (RFC 7636's verifier alphabet).
fn random_token(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// PKCE S256: BASE64URL(SHA256(verifier)).
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let verifier = random_token(32);
        assert_eq!(verifier.len(), 43);
        assert_ne!(verifier, random_token(32));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let tokens = Tokens {
            access_token: Secret::new("ps_at_visible"),
            refresh_token: Some(Secret::new("ps_rt_visible")),
            expires_at: Utc::now(),
            refresh_after: Utc::now(),
            scope: "read:patients".into(),
        };
        let auth = Auth::password("frontdesk", "reception@demo.clinic", "hunter2")
            .with_client_secret("s3cret");
        let text = format!("{tokens:?} {auth:?} {:?}", Auth::api_key("key-visible"));
        for secret in ["visible", "hunter2", "s3cret", "reception@"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("frontdesk") && text.contains("password"));
    }

    #[test]
    fn tokens_are_refreshed_a_tenth_early_at_most_a_minute() {
        let at = Utc::now();
        let response = |expires_in| TokenResponse {
            access_token: "a".into(),
            expires_in: Some(expires_in),
            scope: None,
            refresh_token: None,
        };
        let hour = tokens_from(response(3600), at);
        assert_eq!(
            hour.expires_at - hour.refresh_after,
            chrono::Duration::seconds(60)
        );
        let short = tokens_from(response(30), at);
        assert_eq!(
            short.expires_at - short.refresh_after,
            chrono::Duration::seconds(3)
        );
    }
}
