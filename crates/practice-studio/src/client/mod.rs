//! The async HTTP client of the Practice Studio API (cargo feature `client`).
//!
//! Today it knows the service's health; the typed routes, authentication, retries and pagination
//! build on the same [`Client`].

use std::time::Duration;

use crate::model::Health;

/// What went wrong talking to the API. Never carries a token or response body with patient data.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the API address {url:?} is not a valid http(s) URL: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("could not reach the Practice Studio API: {0}")]
    Network(#[source] reqwest::Error),
    #[error("the Practice Studio API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the Practice Studio API answered {status} to {route}")]
    UnexpectedStatus { route: &'static str, status: u16 },
    #[error("the Practice Studio API's answer to {route} could not be read: {reason}")]
    Decode { route: &'static str, reason: String },
}

impl ClientError {
    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Network(_) | ClientError::Timeout(_) => true,
            ClientError::UnexpectedStatus { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            ClientError::InvalidBaseUrl { .. } | ClientError::Decode { .. } => false,
        }
    }
}

/// A client bound to one Practice Studio base URL (e.g. `https://api.example.com`).
#[derive(Debug, Clone)]
pub struct Client {
    base: url::Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    /// A client for the API at `base_url`, with a 10 s per-request timeout.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let mut base = url::Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {:?} is not http or https",
                base.scheme()
            )));
        }
        if base.host_str().is_none() {
            return Err(invalid("it names no host".into()));
        }
        // Joining relative paths onto `https://host/prefix` would drop `prefix` without this slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let timeout = Duration::from_secs(10);
        let http = reqwest::Client::builder()
            .user_agent(concat!("practice-studio-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Network)?;
        Ok(Self {
            base,
            http,
            timeout,
        })
    }

    /// Replaces the per-request timeout (10 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `GET /health`: whether the service is up, and which build answers.
    pub async fn health(&self) -> Result<Health, ClientError> {
        const ROUTE: &str = "GET /health";
        let url = self
            .base
            .join("health")
            .map_err(|e| ClientError::InvalidBaseUrl {
                url: self.base.to_string(),
                reason: e.to_string(),
            })?;
        let response = self
            .http
            .get(url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        if !status.is_success() {
            tracing::debug!(route = ROUTE, status = status.as_u16(), "unexpected status");
            return Err(ClientError::UnexpectedStatus {
                route: ROUTE,
                status: status.as_u16(),
            });
        }
        response
            .json::<Health>()
            .await
            .map_err(|e| ClientError::Decode {
                route: ROUTE,
                reason: e.to_string(),
            })
    }

    fn classify(&self, error: reqwest::Error) -> ClientError {
        if error.is_timeout() {
            ClientError::Timeout(self.timeout)
        } else {
            ClientError::Network(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_http_with_a_host() {
        assert!(matches!(
            Client::new("ftp://example.com"),
            Err(ClientError::InvalidBaseUrl { .. })
        ));
        assert!(matches!(
            Client::new("not a url"),
            Err(ClientError::InvalidBaseUrl { .. })
        ));
        assert!(Client::new("http://127.0.0.1:9").is_ok());
    }

    #[test]
    fn a_path_prefix_is_kept_when_joining_routes() {
        let client = Client::new("https://example.com/practice").expect("valid url");
        assert_eq!(
            client.base.join("health").expect("join").as_str(),
            "https://example.com/practice/health"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_retryable_network_error() {
        // A port that was free a moment ago: bind it, note it, release it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = Client::new(&format!("http://{addr}")).expect("valid url");
        let error = client.health().await.expect_err("nothing listens");
        assert!(error.is_retryable(), "{error:?}");
    }
}
