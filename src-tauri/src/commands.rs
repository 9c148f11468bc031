//! The desk's command surface, shared by the Tauri window and browser mode.
//!
//! Each command is one arm of [`dispatch`]: parse the arguments, call one `frontdesk-core`
//! function, map the error. [`COMMANDS`] lists them with their TypeScript argument and result
//! types, from which `ui/src/bindings/commands.ts` is generated.

use frontdesk_core::{AppStatus, CoreError, Desk};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A command's arguments when it takes none.
#[derive(Debug, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Arguments of `configure_api`.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureApiArgs {
    /// Base URL of the Practice Studio API, e.g. `https://ps.example.org`.
    pub api_url: String,
}

/// The kind of a command failure, for the UI to decide what to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CommandErrorCode {
    /// No command by that name.
    UnknownCommand,
    /// The arguments are malformed or a value is not acceptable.
    InvalidInput,
    /// The administrator's configuration forbids it.
    NotAllowed,
    /// Something on this machine failed (a file could not be written, …).
    Internal,
}

/// What a failed command returns to the UI: a message a person can act on, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: CommandErrorCode,
    pub message: String,
    /// The argument at fault, when one is.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl CommandError {
    fn new(code: CommandErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(error: CoreError) -> Self {
        use frontdesk_core::ConfigError;
        match &error {
            CoreError::InvalidApiUrl(_) => CommandError {
                code: CommandErrorCode::InvalidInput,
                message: error.to_string(),
                field: Some("apiUrl".into()),
            },
            CoreError::Config(ConfigError::Locked { .. }) => {
                CommandError::new(CommandErrorCode::NotAllowed, error.to_string())
            }
            CoreError::Config(ConfigError::Invalid { key, .. }) => CommandError {
                code: CommandErrorCode::InvalidInput,
                message: error.to_string(),
                field: Some(key.name().into()),
            },
            CoreError::Config(_) => {
                tracing::warn!(%error, "command failed");
                CommandError::new(CommandErrorCode::Internal, error.to_string())
            }
        }
    }
}

/// A command's name with the TypeScript names of its arguments and result.
pub struct CommandSpec {
    pub name: &'static str,
    pub args: fn(&ts_rs::Config) -> String,
    pub result: fn(&ts_rs::Config) -> String,
}

/// Every command [`dispatch`] knows.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "app_status",
        args: <NoArgs as TS>::name,
        result: <AppStatus as TS>::name,
    },
    CommandSpec {
        name: "configure_api",
        args: <ConfigureApiArgs as TS>::name,
        result: <AppStatus as TS>::name,
    },
];

/// Runs one command by name with JSON arguments; the one entry point of both shells.
pub async fn dispatch(desk: &Desk, command: &str, args: Value) -> Result<Value, CommandError> {
    match command {
        "app_status" => {
            let NoArgs {} = parse(args)?;
            respond(desk.app_status().await)
        }
        "configure_api" => {
            let args: ConfigureApiArgs = parse(args)?;
            respond(desk.configure_api(&args.api_url).await?)
        }
        other => Err(CommandError::new(
            CommandErrorCode::UnknownCommand,
            format!("there is no command {other:?}"),
        )),
    }
}

fn parse<T: DeserializeOwned>(args: Value) -> Result<T, CommandError> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| {
        CommandError::new(
            CommandErrorCode::InvalidInput,
            format!("the command's arguments are not valid: {e}"),
        )
    })
}

fn respond<T: Serialize>(result: T) -> Result<Value, CommandError> {
    serde_json::to_value(result).map_err(|e| {
        CommandError::new(
            CommandErrorCode::Internal,
            format!("the answer could not be encoded: {e}"),
        )
    })
}
