// The UI's one door to the desk. Every screen calls `invoke` and `subscribe` on the backend it is
// given; whether they travel over Tauri's IPC (the window) or HTTP (browser mode) is decided once,
// at start-up, by `detectBackend`.
import type { CommandName, Commands } from "../bindings/commands";
import type { DeskEvent } from "../bindings/DeskEvent";
import { httpBackend } from "./http";
import { tauriBackend } from "./tauri";

export { BackendError } from "./error";

export interface Backend {
  readonly transport: "tauri" | "http";
  invoke<K extends CommandName>(command: K, args: Commands[K]["args"]): Promise<Commands[K]["result"]>;
  /** Calls `onEvent` for every event the desk emits; returns the function that stops it. */
  subscribe(onEvent: (event: DeskEvent) => void): () => void;
}

/** The window when Tauri's IPC is present, browser mode otherwise. */
export function detectBackend(): Backend {
  const inTauri = typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
  return inTauri ? tauriBackend() : httpBackend();
}
