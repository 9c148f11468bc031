//! The embedded demo backend (cargo feature `demo`): the real Practice Studio server, in-process,
//! on a free loopback port.

use anyhow::Context;
use chrono::NaiveDate;
use practice_studio_server::{RunningServer, Server, Today};

pub(crate) async fn start(today: Option<NaiveDate>) -> anyhow::Result<RunningServer> {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .today(today.map_or(Today::System, Today::Fixed))
        .start()
        .await
        .context("starting the embedded demo server")?;
    tracing::info!(addr = %server.local_addr(), "embedded demo server started");
    Ok(server)
}
