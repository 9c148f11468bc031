//! # frontdesk (the desktop shell)
//!
//! The Tauri window and the browser mode (`frontdesk serve`) around `frontdesk-core`. Both shells
//! expose the same commands ([`commands::dispatch`]) and the same events; neither holds business
//! logic: a command parses its arguments, calls one core function, and maps the error.
//!
//! The shell owns what is specific to running on a desk: the command line and configuration
//! layers, the data directory lock, the embedded demo server (cargo feature `demo`), the window,
//! and the loopback-only browser mode. Start reading at [`main`].

pub mod bindings;
mod book_commands;
pub mod browser;
pub mod cli;
pub mod commands;
#[cfg(feature = "demo")]
mod demo;
mod desk_commands;
pub mod keychain;
mod notifications;
mod system_browser;
pub mod updater;
mod window;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use frontdesk_core::{Clock, Config, Desk, DeskOptions, PinnedDayClock, Surface, SystemClock};
use frontdesk_store::DataDir;

use crate::cli::{Cli, Mode};

/// How often a running desk checks that the API is still there.
const CONNECTION_WATCH: Duration = Duration::from_secs(5);
/// How often the idle time is checked (the lock screen shows within this of the time running out;
/// the command layer refuses patient data from the moment it has run out).
const LOCK_WATCH: Duration = Duration::from_secs(1);

/// The `frontdesk` binary.
pub fn main() -> ExitCode {
    software_rendering();
    init_tracing();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("frontdesk: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// WebKitGTK's compositing mode paints through OpenGL layers; for the desk's forms and grids it
/// buys nothing a person sees, and it costs about 100 MiB in the web process (the `make bench`
/// figure `app_pss_mb`: 390 MiB with it, 294 without), on front-desk PCs that are rarely new
/// and often lack a GPU driver WebKit gets on with. An administrator who wants it back sets
/// `WEBKIT_DISABLE_COMPOSITING_MODE=0`. Set before any other thread exists: the environment is
/// read by the web process WebKit starts later.
fn software_rendering() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// The Tauri context, with the UI embedded. Generated in one place so the UI is embedded once and
/// shared by the window and browser mode.
pub(crate) fn context() -> tauri::Context {
    tauri::generate_context!()
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FRONTDESK_LOG")
        // The embedded demo server logs a line per request; at the desk that is noise.
        .unwrap_or_else(|_| {
            "info,tower_http=warn,tao=warn,wry=warn,practice_studio_server::http=warn".into()
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut config = Config::load(&cli.config_layers()).context("reading the configuration")?;
    if cli.print_config {
        print!("{}", config.render());
        return Ok(());
    }
    // Said before anything else is checked (a display, the data directory): no setting of the
    // machine makes `--demo` work in this build.
    #[cfg(not(feature = "demo"))]
    if cli.demo {
        anyhow::bail!(
            "this build has no embedded demo server (built without the `demo` feature); \
             use --api-url or the configuration file"
        );
    }
    let mode = cli.mode()?;
    let version = context().package_info().version.to_string();
    let relaunched = std::env::var_os(updater::RELAUNCHED).is_some();
    tracing::info!(
        version,
        commit = frontdesk_core::BUILD_COMMIT,
        relaunched_after_update = relaunched,
        "Front Desk starting"
    );
    let data_dir = open_data_dir(cli.data_dir()?, relaunched)?;
    tracing::info!(
        namespace = data_dir.namespace(),
        "desk data directory ready"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("frontdesk")
        .build()
        .context("starting the async runtime")?;
    tauri::async_runtime::set(runtime.handle().clone());

    // Held for the whole run: dropping it stops the embedded server.
    #[cfg(feature = "demo")]
    let _demo_server = if cli.demo {
        let server = runtime.block_on(demo::start(cli.demo_today))?;
        config
            .set_runtime(
                frontdesk_core::ConfigKey::ApiUrl,
                &server.url(),
                "embedded demo server",
            )
            .context("--demo needs its own API address")?;
        Some(server)
    } else {
        None
    };

    let clock: Arc<dyn Clock> = match cli.demo_today {
        Some(day) => Arc::new(PinnedDayClock::new(day)),
        None => Arc::new(SystemClock),
    };
    let surface = match mode {
        Mode::Window => Surface::Window,
        Mode::Browser(_) => Surface::Browser,
    };
    // Updates: the window only, never in demo mode, and only with an update address.
    let updates = match (&mode, cli.demo) {
        (Mode::Window, false) => match updater::manifest_url(&config) {
            Ok(url) => Some(url),
            Err(updater::NoUpdater::NoUpdateUrl) => None,
            Err(why) => {
                tracing::warn!(%why, "updates are off");
                None
            }
        },
        _ => None,
    };
    let desk = Desk::new(DeskOptions {
        config,
        clock,
        surface,
    })
    .context("starting the desk")?;
    desk.set_app_version(&version);
    let keychain = keychain::OsKeychain::new(data_dir.keychain_service());
    desk.attach_device(frontdesk_core::session::Device {
        data_dir: Arc::new(data_dir),
        keychain: Arc::new(keychain),
    });
    desk.set_browser_opener(system_browser::opener());
    // The user who was signed in when the desk last stopped carries on (locked) with the
    // refresh token in the keychain; restored while the window opens, never fatal.
    let _restore = {
        let _guard = runtime.enter();
        desk.restore_session_in_background()
    };
    if let Some(seconds) = cli.lock_seconds {
        desk.set_lock_after(Duration::from_secs(seconds.max(1)));
    }
    let _watch = {
        let _guard = runtime.enter();
        (
            desk.spawn_connection_watch(CONNECTION_WATCH),
            desk.spawn_lock_watch(LOCK_WATCH),
            notifications::spawn(&desk),
        )
    };

    match mode {
        Mode::Window => window::run(desk, updates),
        Mode::Browser(options) => runtime.block_on(browser::serve(desk, options)),
    }
}

/// Opens the data directory. A desk started by the version it replaced ([`updater::RELAUNCHED`])
/// waits a few seconds for that one to let go of it.
fn open_data_dir(path: std::path::PathBuf, relaunched: bool) -> anyhow::Result<DataDir> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match DataDir::open(&path) {
            Err(frontdesk_store::StoreError::InUse { .. })
                if relaunched && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other.context("opening the data directory"),
        }
    }
}
