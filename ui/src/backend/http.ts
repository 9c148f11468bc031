// Browser mode: commands are POSTs to /api/commands/<name>, events arrive over server-sent events.
// The per-launch key travels in the cookie the server set when the page was first opened.
import type { DeskEvent } from "../bindings/DeskEvent";
import { BackendError } from "./error";
import type { Backend } from "./index";

export const EVENTS_PATH = "/api/events";
export const COMMANDS_PATH = "/api/commands/";

export function httpBackend(base = ""): Backend {
  // One event stream for every screen that listens. A stream per listener would hold one of the
  // browser's six connections to the desk each (HTTP/1.1), and with five or six screens
  // listening the commands would queue behind them, or wait for ever.
  const listeners = new Set<(event: DeskEvent) => void>();
  let source: EventSource | null = null;
  const dispatch = (message: MessageEvent<string>) => {
    let event: DeskEvent;
    try {
      event = JSON.parse(message.data) as DeskEvent;
    } catch {
      // A malformed event is dropped; the next status read shows the truth.
      return;
    }
    // A copy: a listener may unsubscribe (or subscribe another) while it is called.
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        // One screen's failure must not keep the event from the others.
        console.error("a desk event listener failed", error);
      }
    }
  };
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
      listeners.add(onEvent);
      if (!source) {
        source = new EventSource(`${base}${EVENTS_PATH}`, { withCredentials: true });
        source.addEventListener("desk", dispatch);
      }
      return () => {
        listeners.delete(onEvent);
        if (listeners.size === 0 && source) {
          source.removeEventListener("desk", dispatch);
          source.close();
          source = null;
        }
      };
    },
  };
}

function isCommandBody(body: unknown): boolean {
  return typeof body === "object" && body !== null && typeof (body as { code?: unknown }).code === "string";
}
