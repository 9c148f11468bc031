//! TypeScript types for the UI, generated from the Rust types (ts-rs), so the UI and the desk can
//! never disagree on a command's shape. `make bindings` writes them to `ui/src/bindings/`; a test
//! fails when the committed files differ from a fresh run.

use std::fmt::Write as _;
use std::path::Path;

use frontdesk_core::DeskEvent;
use ts_rs::TS;

use crate::commands::{CommandError, COMMANDS};

/// Why the bindings could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BindingsError {
    #[error("ts-rs could not export a type: {0}")]
    Export(#[from] ts_rs::ExportError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writes every command's argument, result, error and event type, and `commands.ts` (the map
/// from command name to argument and result types), into `dir`.
pub fn write_all(dir: &Path) -> Result<(), BindingsError> {
    let cfg = ts_rs::Config::new().with_out_dir(dir);
    DeskEvent::export_all(&cfg)?;
    CommandError::export_all(&cfg)?;
    for spec in COMMANDS {
        (spec.export)(&cfg)?;
    }
    let path = dir.join("commands.ts");
    std::fs::write(&path, commands_ts(&cfg)).map_err(|source| BindingsError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn commands_ts(cfg: &ts_rs::Config) -> String {
    let mut imports = std::collections::BTreeSet::new();
    let mut body = String::new();
    for spec in COMMANDS {
        let (args, result) = ((spec.args)(cfg), (spec.result)(cfg));
        imports.extend((spec.imports)(cfg));
        let _ = writeln!(
            body,
            "  {}: {{ args: {args}; result: {result} }};",
            spec.name
        );
    }
    let mut out = String::from(
        "// Generated from src-tauri/src/commands.rs by `make bindings`. Do not edit.\n",
    );
    for name in &imports {
        let _ = writeln!(out, "import type {{ {name} }} from \"./{name}\";");
    }
    out.push_str(
        "\n/** Every desk command: its arguments and its result. */\nexport interface Commands {\n",
    );
    out.push_str(&body);
    out.push_str(
        "}\n\nexport type CommandName = keyof Commands;\n\nexport const COMMAND_NAMES = [",
    );
    let names: Vec<String> = COMMANDS.iter().map(|c| format!("\"{}\"", c.name)).collect();
    out.push_str(&names.join(", "));
    out.push_str("] as const satisfies readonly CommandName[];\n");
    out
}
