//! `practice-studio-server`: the Practice Studio API on one address.

use anyhow::Context;
use chrono::NaiveDate;
use clap::Parser;
use practice_studio_server::{Server, Today};

/// The Practice Studio API reference server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Serve generated demo data.
    #[arg(long)]
    demo: bool,
    /// The date the demo treats as today (YYYY-MM-DD), so demos and tests see a chosen weekday.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "demo")]
    demo_today: Option<NaiveDate>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        // Logs go to stderr; stdout carries only the start-up line a supervisor or test reads.
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let today = cli.demo_today.map_or(Today::System, Today::Fixed);
    let server = Server::builder()
        .bind(cli.bind.clone())
        .demo(cli.demo)
        .today(today)
        .start()
        .await
        .with_context(|| format!("starting the Practice Studio server on {}", cli.bind))?;
    println!(
        "Practice Studio server listening on {}{}",
        server.url(),
        if cli.demo { " (demo data)" } else { "" }
    );
    server
        .serve_until_signal()
        .await
        .context("serving the Practice Studio API")
}
