import type { CommandError } from "../bindings/CommandError";
import type { CommandErrorCode } from "../bindings/CommandErrorCode";
import type { ErrorDetail } from "../bindings/ErrorDetail";

/** A failed command, as the desk described it. */
export class BackendError extends Error {
  readonly code: CommandErrorCode | "transport";
  readonly field: string | undefined;
  /** Every problem by field, when the input broke the rules. */
  readonly details: ErrorDetail[] | undefined;

  constructor(code: CommandErrorCode | "transport", message: string, field?: string, details?: ErrorDetail[]) {
    super(message);
    this.name = "BackendError";
    this.code = code;
    this.field = field;
    this.details = details;
  }

  /** Turns whatever a transport rejected with into a BackendError. */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isCommandError(reason)) return new BackendError(reason.code, reason.message, reason.field, reason.details);
    const message = reason instanceof Error ? reason.message : String(reason);
    return new BackendError("transport", `The desk did not answer: ${message}`);
  }
}

function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

