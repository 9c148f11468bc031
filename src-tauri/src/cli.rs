//! The command line: `frontdesk [OPTIONS]` opens the window, `frontdesk serve [OPTIONS]` starts
//! browser mode.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use frontdesk_core::{ConfigKey, ConfigLayers};

/// The port browser mode tries first; when it is taken a free one is used instead.
pub const PREFERRED_PORT: u16 = 7420;

/// Front Desk: the front desk of a medical practice.
#[derive(Debug, Parser)]
#[command(name = "frontdesk", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Show each effective configuration value and where it came from, then exit.
    #[arg(long, global = true)]
    pub print_config: bool,

    /// Run on the embedded demo Practice Studio server with generated data.
    #[arg(long, global = true, conflicts_with = "api_url")]
    pub demo: bool,

    /// The date the demo treats as today (YYYY-MM-DD).
    #[arg(long, global = true, value_name = "YYYY-MM-DD", requires = "demo")]
    pub demo_today: Option<NaiveDate>,

    /// Where this desk keeps its data [default: $XDG_DATA_HOME/frontdesk]. Two desks on one
    /// machine need two directories.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Base URL of the Practice Studio API.
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,

    /// OAuth client id of this desk.
    #[arg(long, global = true, value_name = "ID")]
    pub client_id: Option<String>,

    /// Minutes of inactivity before the desk locks.
    #[arg(long, global = true, value_name = "MINUTES")]
    pub lock_minutes: Option<String>,

    /// Seconds of inactivity before the desk locks, instead of `lock_minutes` (a test setting).
    #[arg(long, global = true, value_name = "SECONDS", hide = true)]
    pub lock_seconds: Option<u64>,

    /// Where signed updates are published.
    #[arg(long, global = true, value_name = "URL")]
    pub update_url: Option<String>,

    /// Which updates this desk takes: stable or beta.
    #[arg(long, global = true, value_name = "CHANNEL")]
    pub update_channel: Option<String>,

    /// Proxy for requests to the API.
    #[arg(long, global = true, value_name = "URL")]
    pub proxy: Option<String>,

    /// PEM file of extra CA certificates to trust.
    #[arg(long, global = true, value_name = "FILE")]
    pub extra_ca_file: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the desk to a browser on this machine (loopback only, with a per-launch key).
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port to listen on [default: 7420, or a free one when that is taken]; 0 picks a free one.
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on. Only 127.0.0.1 (or localhost) is accepted: browser mode shows
    /// patient data and must never be reachable from another machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
}

/// What the binary was asked to do.
#[derive(Debug)]
pub enum Mode {
    Window,
    Browser(BrowserOptions),
}

/// Browser mode's validated listening options.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub ip: IpAddr,
    /// `None`: the preferred port, or any free one.
    pub port: Option<u16>,
}

impl Cli {
    /// The configuration layers, with this command line's flags on top.
    pub fn config_layers(&self) -> ConfigLayers {
        let flags: BTreeMap<ConfigKey, (String, String)> = [
            (ConfigKey::ApiUrl, "--api-url", &self.api_url),
            (ConfigKey::ClientId, "--client-id", &self.client_id),
            (ConfigKey::LockMinutes, "--lock-minutes", &self.lock_minutes),
            (ConfigKey::UpdateUrl, "--update-url", &self.update_url),
            (
                ConfigKey::UpdateChannel,
                "--update-channel",
                &self.update_channel,
            ),
            (ConfigKey::Proxy, "--proxy", &self.proxy),
            (
                ConfigKey::ExtraCaFile,
                "--extra-ca-file",
                &self.extra_ca_file,
            ),
        ]
        .into_iter()
        .filter_map(|(key, flag, value)| {
            value
                .as_ref()
                .map(|value| (key, (flag.to_owned(), value.clone())))
        })
        .collect();
        ConfigLayers::system(flags)
    }

    /// The data directory: `--data-dir`, or the user's XDG data directory.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => dirs::data_dir()
                .map(|dir| dir.join("frontdesk"))
                .ok_or_else(|| {
                    anyhow::anyhow!("no data directory: set --data-dir, HOME or XDG_DATA_HOME")
                }),
        }
    }

    /// The window or browser mode, with its options checked.
    pub fn mode(&self) -> anyhow::Result<Mode> {
        match &self.command {
            Some(Command::Serve(args)) => Ok(Mode::Browser(BrowserOptions {
                ip: loopback_only(&args.bind)?,
                port: args.port,
            })),
            None => {
                let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
                    .iter()
                    .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
                if !has_display {
                    anyhow::bail!(
                        "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): \
                         run `frontdesk serve` for browser mode"
                    );
                }
                Ok(Mode::Window)
            }
        }
    }
}

/// Browser mode listens on 127.0.0.1 and nowhere else.
pub fn loopback_only(bind: &str) -> anyhow::Result<IpAddr> {
    let ip = match bind.trim() {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other.parse::<IpAddr>().map_err(|_| {
            anyhow::anyhow!(
                "--bind {other:?} is not an IP address; browser mode listens on 127.0.0.1 only"
            )
        })?,
    };
    if ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        anyhow::bail!(
            "refusing --bind {ip}: browser mode shows patient data and listens on 127.0.0.1 only, \
             never on an address other machines can reach"
        );
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_mode_refuses_every_address_but_loopback() {
        assert!(loopback_only("127.0.0.1").is_ok());
        assert!(loopback_only("localhost").is_ok());
        for bad in [
            "0.0.0.0",
            "::",
            "192.168.1.10",
            "10.0.0.1",
            "::1",
            "example.org",
        ] {
            let error = loopback_only(bad).expect_err(bad).to_string();
            assert!(error.contains("127.0.0.1"), "{bad}: {error}");
        }
    }

    #[test]
    fn flags_become_the_top_configuration_layer() {
        let cli = Cli::parse_from([
            "frontdesk",
            "serve",
            "--api-url",
            "https://ps.example.org",
            "--lock-minutes",
            "9",
        ]);
        let layers = cli.config_layers();
        assert_eq!(
            layers.flags.get(&ConfigKey::ApiUrl),
            Some(&("--api-url".to_owned(), "https://ps.example.org".to_owned()))
        );
        assert_eq!(layers.flags.len(), 2);
        assert!(matches!(cli.mode(), Ok(Mode::Browser(_))));
    }

    #[test]
    fn demo_and_api_url_exclude_each_other() {
        assert!(
            Cli::try_parse_from(["frontdesk", "--demo", "--api-url", "https://x.example"]).is_err()
        );
        assert!(Cli::try_parse_from(["frontdesk", "serve", "--demo-today", "2026-11-23"]).is_err());
        assert!(Cli::try_parse_from([
            "frontdesk",
            "serve",
            "--demo",
            "--demo-today",
            "2026-11-23"
        ])
        .is_ok());
    }
}
