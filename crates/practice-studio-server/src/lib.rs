//! # practice-studio-server
//!
//! The reference implementation of the Practice Studio API (`shared/practice-studio-api.md`), and the
//! demo backend the desk embeds with its `demo` feature.
//!
//! It stands for the remote system: it must never depend on a `frontdesk-*` crate, and it uses the
//! `practice-studio` crate for the wire model and shared rules only (never its HTTP client).
//!
//! Start reading at [`Server::builder`], which tests and the desk's demo mode use to run a server on
//! a loopback port; `main.rs` is the command line around it.

mod routes;

use std::net::SocketAddr;

use chrono::NaiveDate;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the server takes "today" from. Demos pin a date (`--demo-today`) so every run shows the
/// same weekday; tests do the same to avoid depending on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Today {
    /// The machine's UTC calendar date.
    System,
    /// A fixed date.
    Fixed(NaiveDate),
}

impl Today {
    /// The date this source gives now.
    pub fn date(&self) -> NaiveDate {
        match self {
            Today::System => chrono::Utc::now().date_naive(),
            Today::Fixed(date) => *date,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Settings of one server instance.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    bind: String,
    demo: bool,
    today: Today,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            demo: false,
            today: Today::System,
        }
    }
}

/// The Practice Studio API server.
pub struct Server;

impl Server {
    /// Settings for a server on `127.0.0.1:0` (a free loopback port), without demo data.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

impl ServerBuilder {
    /// The address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free one.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Serve generated demo data.
    pub fn demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self
    }

    /// Where "today" comes from.
    pub fn today(mut self, today: Today) -> Self {
        self.today = today;
        self
    }

    /// Binds the listener and starts serving in the background of the current Tokio runtime.
    pub async fn start(self) -> Result<RunningServer, StartError> {
        let listener = TcpListener::bind(&self.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.bind.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.bind.clone(),
            source,
        })?;
        let state = routes::AppState {
            demo: self.demo,
            today: self.today,
        };
        let app = routes::router(state);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                // A dropped sender also stops the server: nothing can ask for it any more.
                let _ = stop_rx.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });
        tracing::info!(%local_addr, demo = self.demo, "practice studio server listening");
        Ok(RunningServer {
            local_addr,
            stop: Some(stop_tx),
            task,
        })
    }
}

/// A server serving in the background; dropping it stops it.
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for that.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }

    /// Serves until the process is asked to stop (Ctrl+C or SIGTERM).
    pub async fn serve_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("stopping on signal");
        self.shutdown().await
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl+C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
