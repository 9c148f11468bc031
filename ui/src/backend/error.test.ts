import { describe, expect, it } from "vitest";
import { BackendError } from "./error";

describe("BackendError.from", () => {
  it("keeps the desk's code, message and field", () => {
    const error = BackendError.from({ code: "invalid_input", message: "bad address", field: "apiUrl" });
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe("invalid_input");
    expect(error.field).toBe("apiUrl");
    expect(error.message).toBe("bad address");
  });

  it("wraps anything else as a transport failure", () => {
    const error = BackendError.from(new TypeError("Failed to fetch"));
    expect(error.code).toBe("transport");
    expect(error.message).toContain("Failed to fetch");
  });
});
