import type { ApiProblem } from "../bindings/ApiProblem";
import type { ApiState } from "../bindings/ApiState";

const PROBLEMS: Record<ApiProblem, string> = {
  no_connection: "no connection to the server",
  timeout: "the server did not answer in time",
  server_error: "the server reported an error",
  not_practice_studio: "the address does not answer like Practice Studio",
};

/** One line a receptionist can read at a glance, e.g. "Connected to demo server". */
export function describeConnection(api: ApiState): { tone: "online" | "offline" | "setup"; text: string } {
  switch (api.state) {
    case "connected":
      return { tone: "online", text: api.demo ? "Connected to demo server" : "Connected to Practice Studio" };
    case "unreachable":
      return { tone: "offline", text: `Offline: ${PROBLEMS[api.problem]}` };
    case "not_configured":
      return { tone: "setup", text: "Not connected: no server configured yet" };
    case "checking":
      return { tone: "setup", text: "Connecting to the server…" };
  }
}
