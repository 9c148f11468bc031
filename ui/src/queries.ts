// Query keys shared by more than one screen (TanStack Query keys are the command and its args).
export const APP_STATUS_KEY = ["app_status"] as const;
export const SESSION_KEY = ["session"] as const;
export const SYNC_STATUS_KEY = ["sync_status"] as const;
export const LOCK_KEY = ["lock_state"] as const;

/** The queries that hold no patient data: kept while the desk is locked, all others dropped. */
export const SHELL_KEYS: ReadonlySet<string> = new Set(["app_status", "session", "sync_status", "lock_state"]);
