// Generated from src-tauri/src/commands.rs by `make bindings`. Do not edit.
import type { AppStatus } from "./AppStatus";
import type { ConfigureApiArgs } from "./ConfigureApiArgs";
import type { NoArgs } from "./NoArgs";

/** Every desk command: its arguments and its result. */
export interface Commands {
  app_status: { args: NoArgs; result: AppStatus };
  configure_api: { args: ConfigureApiArgs; result: AppStatus };
}

export type CommandName = keyof Commands;

export const COMMAND_NAMES = ["app_status", "configure_api"] as const satisfies readonly CommandName[];
