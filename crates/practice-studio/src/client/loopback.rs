//! The loopback redirect of the authorization code flow (RFC 8252 §7.3): a one-shot HTTP listener
//! on `127.0.0.1` and a random port that receives the browser with `code` and `state`.
//!
//! Hand-written rather than a web framework: it answers one kind of GET, and anything more would
//! be attack surface on a port any local process can reach.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::error::SignInError;

/// The path the browser comes back to.
const CALLBACK: &str = "/callback";
/// A request head larger than this is not a browser coming back from the sign-in page.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Redirect {
    listener: TcpListener,
    uri: String,
}

enum Visit {
    /// Something else (a favicon, a probe): answered 404, keep waiting.
    Other,
    Callback(Vec<(String, String)>),
}

impl Redirect {
    pub(crate) async fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            uri: format!("http://127.0.0.1:{port}{CALLBACK}"),
        })
    }

    /// The `redirect_uri` to send.
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// Waits for the browser's redirect; returns the code when `state` matches.
    pub(crate) async fn wait(&self, state: &str) -> Result<String, SignInError> {
        loop {
            let (mut stream, _) = self
                .listener
                .accept()
                .await
                .map_err(SignInError::Listener)?;
            let params = match tokio::time::timeout(READ_WAIT, read_visit(&mut stream)).await {
                Ok(Ok(Visit::Callback(params))) => params,
                Ok(Ok(Visit::Other)) => {
                    respond(&mut stream, "404 Not Found", "Not found", "Nothing here.").await;
                    continue;
                }
                // A connection that said nothing useful in time, or broke: not the browser.
                Ok(Err(_)) | Err(_) => continue,
            };
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if get("state") != Some(state) {
                respond(
                    &mut stream,
                    "400 Bad Request",
                    "Sign-in failed",
                    "This sign-in did not come from the application. Start again from the application.",
                )
                .await;
                return Err(SignInError::StateMismatch);
            }
            if let Some(error) = get("error") {
                respond(
                    &mut stream,
                    "200 OK",
                    "Sign-in cancelled",
                    "The sign-in did not complete. You can close this window.",
                )
                .await;
                return Err(SignInError::Browser {
                    error: error.to_owned(),
                    description: get("error_description").unwrap_or("").to_owned(),
                });
            }
            match get("code") {
                Some(code) if !code.is_empty() => {
                    let code = code.to_owned();
                    respond(
                        &mut stream,
                        "200 OK",
                        "Signed in",
                        "You are signed in. You can close this window and return to the application.",
                    )
                    .await;
                    return Ok(code);
                }
                _ => {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        "Sign-in failed",
                        "The sign-in page sent no code. Start again from the application.",
                    )
                    .await;
                    return Err(SignInError::Browser {
                        error: "invalid_request".into(),
                        description: "the redirect carried neither a code nor an error".into(),
                    });
                }
            }
        }
    }
}

async fn read_visit(stream: &mut TcpStream) -> std::io::Result<Visit> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut request_line = text.lines().next().unwrap_or("").split(' ');
    let (method, target) = (request_line.next(), request_line.next());
    let Some(target) = target.filter(|_| method == Some("GET")) else {
        return Ok(Visit::Other);
    };
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Ok(Visit::Other);
    };
    if url.path() != CALLBACK {
        return Ok(Visit::Other);
    }
    Ok(Visit::Callback(url.query_pairs().into_owned().collect()))
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, text: &str) {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already have gone; the sign-in does not depend on it reading this.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn visit(uri: &str, target: &str) -> String {
        let authority = uri
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut stream = TcpStream::connect(&authority).await.expect("connect");
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
    }

    #[tokio::test]
    async fn the_listener_ignores_other_paths_and_returns_the_code_with_its_state() {
        let redirect = Redirect::bind().await.expect("bind");
        assert!(redirect.uri().starts_with("http://127.0.0.1:"));
        let uri = redirect.uri().to_owned();
        let browser = tokio::spawn(async move {
            let favicon = visit(&uri, "/favicon.ico").await;
            let callback = visit(&uri, "/callback?code=ps_ac_1&state=st-1").await;
            (favicon, callback)
        });
        let code = redirect.wait("st-1").await.expect("code");
        assert_eq!(code, "ps_ac_1");
        let (favicon, callback) = browser.await.expect("browser");
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(callback.starts_with("HTTP/1.1 200") && callback.contains("signed in"));
    }

    #[tokio::test]
    async fn a_foreign_state_or_an_error_ends_the_wait_without_a_code() {
        let redirect = Redirect::bind().await.expect("bind");
        let uri = redirect.uri().to_owned();
        let forged = tokio::spawn(async move { visit(&uri, "/callback?code=x&state=other").await });
        assert!(matches!(
            redirect.wait("st-1").await,
            Err(SignInError::StateMismatch)
        ));
        assert!(forged.await.expect("browser").starts_with("HTTP/1.1 400"));

        let redirect = Redirect::bind().await.expect("bind");
        let uri = redirect.uri().to_owned();
        let denied = tokio::spawn(async move {
            visit(
                &uri,
                "/callback?error=access_denied&error_description=no&state=st-2",
            )
            .await
        });
        match redirect.wait("st-2").await {
            Err(SignInError::Browser { error, .. }) => assert_eq!(error, "access_denied"),
            other => panic!("{other:?}"),
        }
        denied.await.expect("browser");
    }
}
