// The desktop window: one Tauri command (`run_command`) carries every desk command; events arrive
// as the Tauri event `desk-event`.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { DeskEvent } from "../bindings/DeskEvent";
import { BackendError } from "./error";
import type { Backend } from "./index";

export const DESK_EVENT = "desk-event";

export function tauriBackend(): Backend {
  return {
    transport: "tauri",
    async invoke(command, args) {
      try {
        return await invoke("run_command", { command, args });
      } catch (reason) {
        throw BackendError.from(reason);
      }
    },
    subscribe(onEvent) {
      let stopped = false;
      let unlisten: (() => void) | undefined;
      listen<DeskEvent>(DESK_EVENT, (event) => onEvent(event.payload))
        .then((stop) => {
          if (stopped) stop();
          else unlisten = stop;
        })
        .catch(() => {
          // Without events the UI still reads the status when asked; nothing is lost.
        });
      return () => {
        stopped = true;
        unlisten?.();
      };
    },
  };
}
