// Browser mode: commands are POSTs to /api/commands/<name>, events arrive over server-sent events.
// The per-launch key travels in the cookie the server set when the page was first opened.
import type { DeskEvent } from "../bindings/DeskEvent";
import { BackendError } from "./error";
import type { Backend } from "./index";

export const EVENTS_PATH = "/api/events";
export const COMMANDS_PATH = "/api/commands/";

export function httpBackend(base = ""): Backend {
  return {
    transport: "http",
    async invoke(command, args) {
      let response: Response;
      try {
        response = await fetch(`${base}${COMMANDS_PATH}${command}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(args ?? {}),
          credentials: "same-origin",
        });
      } catch (reason) {
        throw BackendError.from(reason);
      }
      const body: unknown = await response.json().catch(() => null);
      if (!response.ok) {
        // A desk command's own refusal (e.g. not signed in) carries its CommandError; a bare 401
        // means the launch key is missing.
        if (response.status === 401 && !isCommandBody(body)) {
          throw new BackendError(
            "transport",
            "This browser tab is not signed in to the desk: open the address frontdesk serve printed.",
          );
        }
        throw BackendError.from(body ?? `HTTP ${response.status}`);
      }
      return body as never;
    },
    subscribe(onEvent) {
      const source = new EventSource(`${base}${EVENTS_PATH}`, { withCredentials: true });
      const listener = (message: MessageEvent<string>) => {
        try {
          onEvent(JSON.parse(message.data) as DeskEvent);
        } catch {
          // A malformed event is dropped; the next status read shows the truth.
        }
      };
      source.addEventListener("desk", listener);
      return () => {
        source.removeEventListener("desk", listener);
        source.close();
      };
    },
  };
}

function isCommandBody(body: unknown): boolean {
  return typeof body === "object" && body !== null && typeof (body as { code?: unknown }).code === "string";
}
