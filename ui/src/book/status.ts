// How an appointment's status is named and marked: always a word and a symbol, never colour alone.
import type { AppointmentStatus } from "../bindings/AppointmentStatus";

export const STATUS_LABEL: Record<AppointmentStatus, string> = {
  scheduled: "Scheduled",
  checked_in: "Checked in",
  in_room: "In room",
  completed: "Completed",
  cancelled: "Cancelled",
  no_show: "No-show",
};

export const STATUS_ICON: Record<AppointmentStatus, string> = {
  scheduled: "○",
  checked_in: "●",
  in_room: "▶",
  completed: "✓",
  cancelled: "✕",
  no_show: "!",
};

/** The key that moves a selected appointment to a status (UI.md's keyboard map). */
export const STATUS_KEY: Partial<Record<AppointmentStatus, string>> = {
  checked_in: "I",
  in_room: "R",
  completed: "C",
  no_show: "N",
};

/** What the button for a move from `from` to `to` says. */
export function moveLabel(from: AppointmentStatus, to: AppointmentStatus): string {
  if (from === "checked_in" && to === "scheduled") return "Undo check-in";
  if (from === "no_show" && to === "checked_in") return "Arrived late: check in";
  if (from === "cancelled" && to === "scheduled") return "Restore";
  switch (to) {
    case "checked_in":
      return "Check in";
    case "in_room":
      return "In room";
    case "completed":
      return "Complete";
    case "no_show":
      return "No-show";
    case "cancelled":
      return "Cancel…";
    default:
      return STATUS_LABEL[to];
  }
}
