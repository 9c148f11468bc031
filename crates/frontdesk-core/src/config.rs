//! Layered configuration for managed deployments.
//!
//! Layers, lowest to highest: built-in defaults, the managed file (`/etc/frontdesk/config.toml`),
//! the user's file (`$XDG_CONFIG_HOME/frontdesk/config.toml`), environment variables
//! (`FRONTDESK_API_URL`, …), then command-line flags. Keys in the managed file's `[locked]` table
//! win over every layer: an admin's locked `api_url` cannot be changed by a user, a variable or a
//! flag, and `--print-config` says which attempts were ignored.
//!
//! ```toml
//! # /etc/frontdesk/config.toml
//! lock_minutes = 10               # a default users may change
//! [locked]
//! api_url = "https://ps.example.org"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The managed (administrator's) configuration file.
pub const MANAGED_CONFIG_FILE: &str = "/etc/frontdesk/config.toml";

/// The keys the desk understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKey {
    /// Base URL of the Practice Studio API.
    ApiUrl,
    /// OAuth client id of the desk (a public client).
    ClientId,
    /// Minutes of inactivity before the desk locks.
    LockMinutes,
    /// Where signed updates are published.
    UpdateUrl,
    /// Which updates this desk takes: `stable`, or `beta` (a few desks trying a release first).
    UpdateChannel,
    /// Proxy for every request to the API (http, https or socks5 URL).
    Proxy,
    /// A PEM file of extra CA certificates to trust (a clinic's own CA).
    ExtraCaFile,
}

impl ConfigKey {
    pub const ALL: [ConfigKey; 7] = [
        ConfigKey::ApiUrl,
        ConfigKey::ClientId,
        ConfigKey::LockMinutes,
        ConfigKey::UpdateUrl,
        ConfigKey::UpdateChannel,
        ConfigKey::Proxy,
        ConfigKey::ExtraCaFile,
    ];

    /// The key's name in files and `--print-config`.
    pub fn name(self) -> &'static str {
        match self {
            ConfigKey::ApiUrl => "api_url",
            ConfigKey::ClientId => "client_id",
            ConfigKey::LockMinutes => "lock_minutes",
            ConfigKey::UpdateUrl => "update_url",
            ConfigKey::UpdateChannel => "update_channel",
            ConfigKey::Proxy => "proxy",
            ConfigKey::ExtraCaFile => "extra_ca_file",
        }
    }

    /// The environment variable that sets it.
    pub fn env_var(self) -> String {
        format!("FRONTDESK_{}", self.name().to_ascii_uppercase())
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|key| key.name() == name)
    }

    fn default_value(self) -> Option<&'static str> {
        match self {
            ConfigKey::ClientId => Some("frontdesk"),
            ConfigKey::LockMinutes => Some("5"),
            ConfigKey::UpdateChannel => Some("stable"),
            ConfigKey::ApiUrl
            | ConfigKey::UpdateUrl
            | ConfigKey::Proxy
            | ConfigKey::ExtraCaFile => None,
        }
    }

    /// Checks a value and returns it in its normal form.
    fn validate(self, raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        match self {
            ConfigKey::ApiUrl | ConfigKey::UpdateUrl => validate_url(raw, &["http", "https"]),
            ConfigKey::Proxy => validate_url(raw, &["http", "https", "socks5", "socks5h"]),
            ConfigKey::ClientId => {
                if !raw.is_empty()
                    && raw.len() <= 128
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    Ok(raw.to_owned())
                } else {
                    Err("must be 1 to 128 letters, digits, '-', '_' or '.'".into())
                }
            }
            ConfigKey::UpdateChannel => match raw {
                "stable" | "beta" => Ok(raw.to_owned()),
                _ => Err("must be \"stable\" or \"beta\"".into()),
            },
            ConfigKey::LockMinutes => match raw.parse::<u32>() {
                Ok(minutes) if (1..=1440).contains(&minutes) => Ok(minutes.to_string()),
                _ => Err("must be a whole number of minutes from 1 to 1440".into()),
            },
            ConfigKey::ExtraCaFile => {
                let path = Path::new(raw);
                if !path.is_absolute() {
                    Err("must be an absolute path".into())
                } else if !path.is_file() {
                    Err(format!("{raw} is not a readable file"))
                } else {
                    Ok(raw.to_owned())
                }
            }
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn validate_url(raw: &str, schemes: &[&str]) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("must be a URL ({e})"))?;
    if !schemes.contains(&url.scheme()) {
        return Err(format!("must be a {} URL", schemes.join(" or ")));
    }
    if url.host_str().is_none() {
        return Err("must name a host".into());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    Managed {
        path: PathBuf,
        locked: bool,
    },
    User {
        path: PathBuf,
    },
    Env {
        var: String,
    },
    Flag {
        flag: String,
    },
    /// Set by the running desk itself (the embedded demo server's address).
    Runtime {
        why: &'static str,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Managed { path, locked: true } => {
                write!(f, "managed, locked: {}", path.display())
            }
            Source::Managed {
                path,
                locked: false,
            } => write!(f, "managed: {}", path.display()),
            Source::User { path } => write!(f, "user: {}", path.display()),
            Source::Env { var } => write!(f, "environment: {var}"),
            Source::Flag { flag } => write!(f, "flag: {flag}"),
            Source::Runtime { why } => f.write_str(why),
        }
    }
}

/// One key's effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Option<String>,
    pub source: Source,
    /// Layers that tried to change a locked value, and were ignored.
    pub ignored: Vec<Source>,
}

impl Setting {
    fn locked(&self) -> bool {
        matches!(self.source, Source::Managed { locked: true, .. })
    }
}

/// What is wrong with the configuration; names the file or variable and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{origin}: unknown key {key:?} (known keys: api_url, client_id, lock_minutes, update_url, proxy, extra_ca_file)")]
    UnknownKey { origin: String, key: String },
    #[error("{origin}: {key} {problem}")]
    Invalid {
        origin: String,
        key: ConfigKey,
        problem: String,
    },
    #[error("{key} is locked by the administrator ({path}) and cannot be changed here")]
    Locked { key: ConfigKey, path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The layers to read. [`ConfigLayers::system`] gives the real ones; tests pass their own.
#[derive(Debug, Clone, Default)]
pub struct ConfigLayers {
    pub managed_file: Option<PathBuf>,
    pub user_file: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    /// Values given on the command line, with the flag's spelling for `--print-config`.
    pub flags: BTreeMap<ConfigKey, (String, String)>,
}

impl ConfigLayers {
    /// The managed file, the user's XDG file, this process's environment, and the given flags.
    pub fn system(flags: BTreeMap<ConfigKey, (String, String)>) -> Self {
        let env = ConfigKey::ALL
            .into_iter()
            .filter_map(|key| {
                let var = key.env_var();
                std::env::var(&var).ok().map(|value| (var, value))
            })
            .collect();
        Self {
            managed_file: Some(PathBuf::from(MANAGED_CONFIG_FILE)),
            user_file: dirs::config_dir().map(|dir| dir.join("frontdesk").join("config.toml")),
            env,
            flags,
        }
    }
}

/// The effective configuration: every key's value and where it came from.
#[derive(Debug, Clone)]
pub struct Config {
    settings: BTreeMap<ConfigKey, Setting>,
    user_file: Option<PathBuf>,
}

impl Config {
    /// Reads every layer. A missing file is an empty layer; a malformed one is an error that
    /// names it, so a typo in a managed deployment is found at once, not guessed around.
    pub fn load(layers: &ConfigLayers) -> Result<Self, ConfigError> {
        let mut config = Config {
            settings: ConfigKey::ALL
                .into_iter()
                .map(|key| {
                    let setting = Setting {
                        value: key.default_value().map(str::to_owned),
                        source: Source::Default,
                        ignored: Vec::new(),
                    };
                    (key, setting)
                })
                .collect(),
            user_file: layers.user_file.clone(),
        };
        if let Some(path) = &layers.managed_file {
            if let Some(table) = read_table(path)? {
                let mut locked = BTreeMap::new();
                for (name, value) in &table {
                    if name == "locked" {
                        let Some(inner) = value.as_table() else {
                            return Err(ConfigError::Syntax {
                                path: path.clone(),
                                message: "`locked` must be a table ([locked])".into(),
                            });
                        };
                        for (name, value) in inner {
                            locked.insert(name.clone(), value.clone());
                        }
                        continue;
                    }
                    let source = Source::Managed {
                        path: path.clone(),
                        locked: false,
                    };
                    config.apply_toml(path, name, value, source)?;
                }
                // Locked keys go last so they override this file's own unlocked defaults.
                for (name, value) in &locked {
                    let source = Source::Managed {
                        path: path.clone(),
                        locked: true,
                    };
                    config.apply_toml(path, name, value, source)?;
                }
            }
        }
        if let Some(path) = &layers.user_file {
            if let Some(table) = read_table(path)? {
                for (name, value) in &table {
                    let source = Source::User { path: path.clone() };
                    config.apply_toml(path, name, value, source)?;
                }
            }
        }
        for key in ConfigKey::ALL {
            let var = key.env_var();
            if let Some(raw) = layers.env.get(&var) {
                config.apply(key, raw, Source::Env { var: var.clone() }, &var)?;
            }
        }
        for (key, (flag, raw)) in &layers.flags {
            config.apply(*key, raw, Source::Flag { flag: flag.clone() }, flag)?;
        }
        Ok(config)
    }

    fn apply_toml(
        &mut self,
        path: &Path,
        name: &str,
        value: &toml::Value,
        source: Source,
    ) -> Result<(), ConfigError> {
        let origin = path.display().to_string();
        let key = ConfigKey::from_name(name).ok_or_else(|| ConfigError::UnknownKey {
            origin: origin.clone(),
            key: name.to_owned(),
        })?;
        let raw = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            other => {
                return Err(ConfigError::Invalid {
                    origin,
                    key,
                    problem: format!("must be a string or a number, not a {}", other.type_str()),
                })
            }
        };
        self.apply(key, &raw, source, &origin)
    }

    fn apply(
        &mut self,
        key: ConfigKey,
        raw: &str,
        source: Source,
        origin: &str,
    ) -> Result<(), ConfigError> {
        let value = key.validate(raw).map_err(|problem| ConfigError::Invalid {
            origin: origin.to_owned(),
            key,
            problem,
        })?;
        let setting = self.setting_mut(key);
        if setting.locked() {
            setting.ignored.push(source);
        } else {
            setting.value = Some(value);
            setting.source = source;
        }
        Ok(())
    }

    fn setting_mut(&mut self, key: ConfigKey) -> &mut Setting {
        self.settings.entry(key).or_insert_with(|| Setting {
            value: None,
            source: Source::Default,
            ignored: Vec::new(),
        })
    }

    /// One key's effective setting.
    pub fn setting(&self, key: ConfigKey) -> &Setting {
        // Every key is inserted by `load`, so the map is total over `ConfigKey::ALL`.
        &self.settings[&key]
    }

    /// One key's effective value.
    pub fn get(&self, key: ConfigKey) -> Option<&str> {
        self.setting(key).value.as_deref()
    }

    /// The API's base URL, when one is configured.
    pub fn api_url(&self) -> Option<&str> {
        self.get(ConfigKey::ApiUrl)
    }

    /// The OAuth client id of the desk.
    pub fn client_id(&self) -> &str {
        self.get(ConfigKey::ClientId).unwrap_or("frontdesk")
    }

    /// Minutes of inactivity before the desk locks.
    pub fn lock_minutes(&self) -> u32 {
        self.get(ConfigKey::LockMinutes)
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
    }

    /// Sets a value for this run only (e.g. the embedded demo server's address). Refused for a
    /// locked key.
    pub fn set_runtime(
        &mut self,
        key: ConfigKey,
        value: &str,
        why: &'static str,
    ) -> Result<(), ConfigError> {
        if let Source::Managed { path, locked: true } = &self.setting(key).source {
            return Err(ConfigError::Locked {
                key,
                path: path.clone(),
            });
        }
        self.apply(key, value, Source::Runtime { why }, why)
    }

    /// Saves a value in the user's file (keeping its other keys) and applies it, unless a
    /// higher layer (managed lock, environment, flag) decides the key; then nothing is written
    /// and the error or the unchanged setting says why.
    pub fn save_user_value(&mut self, key: ConfigKey, raw: &str) -> Result<(), ConfigError> {
        let value = key.validate(raw).map_err(|problem| ConfigError::Invalid {
            origin: "the value given".into(),
            key,
            problem,
        })?;
        if let Source::Managed { path, locked: true } = &self.setting(key).source {
            return Err(ConfigError::Locked {
                key,
                path: path.clone(),
            });
        }
        let Some(path) = self.user_file.clone() else {
            return Err(ConfigError::Write {
                path: PathBuf::from("$XDG_CONFIG_HOME/frontdesk/config.toml"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no user configuration directory (HOME and XDG_CONFIG_HOME are unset)",
                ),
            });
        };
        let mut table = read_table(&path)?.unwrap_or_default();
        table.insert(key.name().to_owned(), toml::Value::String(value.clone()));
        write_atomically(&path, &toml::to_string(&table).unwrap_or_default())?;
        let outranked = matches!(
            self.setting(key).source,
            Source::Env { .. } | Source::Flag { .. }
        );
        if !outranked {
            let setting = self.setting_mut(key);
            setting.value = Some(value);
            setting.source = Source::User { path };
        }
        Ok(())
    }

    /// The table `frontdesk --print-config` shows: each key, its value, and where it came from.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for key in ConfigKey::ALL {
            let setting = self.setting(key);
            let value = setting.value.as_deref().unwrap_or("(not set)");
            out.push_str(&format!(
                "{:<14} = {:<40} # {}\n",
                key.name(),
                value,
                setting.source
            ));
            for ignored in &setting.ignored {
                out.push_str(&format!(
                    "{:<14}   {:<40} # ignored (locked): {}\n",
                    "", "", ignored
                ));
            }
        }
        out
    }
}

fn read_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
}

fn write_atomically(path: &Path, contents: &str) -> Result<(), ConfigError> {
    let write_error = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, contents).map_err(write_error)?;
    std::fs::rename(&tmp, path).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().expect("tempdir"),
            }
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        }
        fn layers(&self, managed: &str, user: &str) -> ConfigLayers {
            ConfigLayers {
                managed_file: Some(self.write("managed.toml", managed)),
                user_file: Some(self.write("user.toml", user)),
                ..ConfigLayers::default()
            }
        }
    }

    fn flag(key: ConfigKey, value: &str) -> (ConfigKey, (String, String)) {
        (
            key,
            (
                format!("--{}", key.name().replace('_', "-")),
                value.to_owned(),
            ),
        )
    }

    #[test]
    fn defaults_apply_when_no_layer_sets_a_key() {
        let config = Config::load(&ConfigLayers::default()).expect("loads");
        assert_eq!(config.client_id(), "frontdesk");
        assert_eq!(config.lock_minutes(), 5);
        assert_eq!(config.api_url(), None);
        assert_eq!(
            config.setting(ConfigKey::LockMinutes).source,
            Source::Default
        );
    }

    #[test]
    fn each_layer_overrides_the_one_below() {
        let files = Files::new();
        let mut layers = files.layers(
            "lock_minutes = 10\napi_url = \"https://managed.example\"\nclient_id = \"desk-a\"\n",
            "lock_minutes = 15\napi_url = \"https://user.example\"\n",
        );
        layers
            .env
            .insert("FRONTDESK_API_URL".into(), "https://env.example/".into());
        layers.flags.extend([flag(ConfigKey::LockMinutes, "20")]);
        let config = Config::load(&layers).expect("loads");
        assert_eq!(config.lock_minutes(), 20);
        assert!(matches!(
            config.setting(ConfigKey::LockMinutes).source,
            Source::Flag { .. }
        ));
        assert_eq!(config.api_url(), Some("https://env.example"));
        assert_eq!(config.client_id(), "desk-a");
        assert!(matches!(
            config.setting(ConfigKey::ClientId).source,
            Source::Managed { locked: false, .. }
        ));
    }

    #[test]
    fn locked_keys_cannot_be_overridden_and_the_attempts_are_shown() {
        let files = Files::new();
        let mut layers = files.layers(
            "api_url = \"https://default.example\"\n[locked]\napi_url = \"https://locked.example\"\n",
            "api_url = \"https://user.example\"\n",
        );
        layers
            .env
            .insert("FRONTDESK_API_URL".into(), "https://env.example".into());
        layers
            .flags
            .extend([flag(ConfigKey::ApiUrl, "https://flag.example")]);
        let mut config = Config::load(&layers).expect("loads");
        assert_eq!(config.api_url(), Some("https://locked.example"));
        assert_eq!(config.setting(ConfigKey::ApiUrl).ignored.len(), 3);
        let shown = config.render();
        assert!(shown.contains("managed, locked:"), "{shown}");
        assert!(
            shown.contains("ignored (locked): flag: --api-url"),
            "{shown}"
        );
        assert!(matches!(
            config.set_runtime(ConfigKey::ApiUrl, "http://127.0.0.1:1", "demo"),
            Err(ConfigError::Locked { .. })
        ));
        assert!(matches!(
            config.save_user_value(ConfigKey::ApiUrl, "https://other.example"),
            Err(ConfigError::Locked { .. })
        ));
        assert_eq!(config.api_url(), Some("https://locked.example"));
    }

    #[test]
    fn bad_values_name_their_file_and_key() {
        let files = Files::new();
        let error = Config::load(&files.layers("", "lock_minutes = 0\n")).expect_err("invalid");
        let message = error.to_string();
        assert!(
            message.contains("user.toml") && message.contains("lock_minutes"),
            "{message}"
        );

        let error = Config::load(&files.layers("api_ulr = \"https://x.example\"\n", ""))
            .expect_err("unknown key");
        assert!(error.to_string().contains("api_ulr"), "{error}");

        let error = Config::load(&files.layers("api_url = [1]\n", "")).expect_err("bad type");
        assert!(error.to_string().contains("array"), "{error}");

        let error = Config::load(&files.layers("api_url = \n", "")).expect_err("bad toml");
        assert!(matches!(error, ConfigError::Syntax { .. }), "{error}");

        let mut layers = ConfigLayers::default();
        layers
            .env
            .insert("FRONTDESK_PROXY".into(), "ftp://proxy.example".into());
        let error = Config::load(&layers).expect_err("bad proxy");
        assert!(error.to_string().contains("FRONTDESK_PROXY"), "{error}");

        let mut layers = ConfigLayers::default();
        layers
            .flags
            .extend([flag(ConfigKey::ExtraCaFile, "/nonexistent/ca.pem")]);
        assert!(Config::load(&layers).is_err());
    }

    #[test]
    fn the_example_shipped_for_administrators_is_valid_and_locks_what_it_says() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/config.toml.example");
        let files = Files::new();
        let layers = ConfigLayers {
            managed_file: Some(example.clone()),
            user_file: Some(
                files.write("user.toml", "update_channel = \"beta\"\nlock_minutes = 3\n"),
            ),
            ..ConfigLayers::default()
        };
        let config = Config::load(&layers).expect("the example loads");
        assert_eq!(config.api_url(), Some("https://ps.clinic.example"));
        let channel = config.setting(ConfigKey::UpdateChannel);
        assert_eq!(channel.value.as_deref(), Some("stable"));
        assert!(matches!(
            channel.source,
            Source::Managed { locked: true, .. }
        ));
        assert_eq!(channel.ignored.len(), 1, "the user's beta was ignored");
        // An unlocked default of the example gives way to the user.
        assert_eq!(
            config.setting(ConfigKey::LockMinutes).value.as_deref(),
            Some("3")
        );
    }

    #[test]
    fn an_update_channel_is_stable_or_beta() {
        let files = Files::new();
        let config = Config::load(&files.layers("", "")).expect("loads");
        assert_eq!(
            config.setting(ConfigKey::UpdateChannel).value.as_deref(),
            Some("stable")
        );
        let error = Config::load(&files.layers("update_channel = \"nightly\"\n", ""))
            .expect_err("not a channel");
        let text = error.to_string();
        assert!(
            text.contains("update_channel") && text.contains("managed.toml"),
            "{text}"
        );
    }

    #[test]
    fn missing_files_are_empty_layers() {
        let layers = ConfigLayers {
            managed_file: Some(PathBuf::from("/nonexistent/frontdesk/config.toml")),
            user_file: Some(PathBuf::from("/nonexistent/user/config.toml")),
            ..ConfigLayers::default()
        };
        assert!(Config::load(&layers).is_ok());
    }

    #[test]
    fn a_saved_user_value_keeps_the_file_s_other_keys() {
        let files = Files::new();
        let layers = files.layers("", "lock_minutes = 7\n");
        let mut config = Config::load(&layers).expect("loads");
        config
            .save_user_value(ConfigKey::ApiUrl, "https://saved.example/")
            .expect("saves");
        assert_eq!(config.api_url(), Some("https://saved.example"));
        let reloaded = Config::load(&layers).expect("reloads");
        assert_eq!(reloaded.api_url(), Some("https://saved.example"));
        assert_eq!(reloaded.lock_minutes(), 7);
        assert!(config
            .save_user_value(ConfigKey::ApiUrl, "not a url")
            .is_err());
    }
}
