import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DeskEvent } from "../bindings/DeskEvent";
import { EVENTS_PATH, httpBackend } from "./http";

// jsdom has no EventSource, so this stands in for the browser's: it records the streams opened
// and lets the test deliver a message. The real stream is exercised by the Playwright suite.
class RecordingEventSource {
  static opened: RecordingEventSource[] = [];
  closed = false;
  private listeners = new Map<string, Set<(message: MessageEvent<string>) => void>>();
  constructor(
    readonly url: string,
    readonly init?: EventSourceInit,
  ) {
    RecordingEventSource.opened.push(this);
  }
  addEventListener(type: string, listener: (message: MessageEvent<string>) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(listener);
  }
  removeEventListener(type: string, listener: (message: MessageEvent<string>) => void) {
    this.listeners.get(type)?.delete(listener);
  }
  close() {
    this.closed = true;
  }
  deliver(type: string, data: string) {
    for (const listener of this.listeners.get(type) ?? []) listener(new MessageEvent(type, { data }));
  }
}

function onlyStream(): RecordingEventSource {
  const [stream, ...more] = RecordingEventSource.opened;
  if (!stream || more.length > 0) throw new Error(`expected one stream, found ${RecordingEventSource.opened.length}`);
  return stream;
}

const locked: DeskEvent = { type: "lock_changed", locked: true };

describe("httpBackend.subscribe", () => {
  beforeEach(() => {
    RecordingEventSource.opened = [];
    vi.stubGlobal("EventSource", RecordingEventSource);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("opens one stream for every listener and gives each of them every event", () => {
    const backend = httpBackend("http://desk.test");
    const first = vi.fn();
    const second = vi.fn();
    const stopFirst = backend.subscribe(first);
    const stopSecond = backend.subscribe(second);
    expect(RecordingEventSource.opened).toHaveLength(1);
    const stream = onlyStream();
    expect(stream.url).toBe(`http://desk.test${EVENTS_PATH}`);
    expect(stream.init).toEqual({ withCredentials: true });

    stream.deliver("desk", JSON.stringify(locked));
    expect(first).toHaveBeenCalledWith(locked);
    expect(second).toHaveBeenCalledWith(locked);

    stopFirst();
    expect(stream.closed).toBe(false);
    stream.deliver("desk", JSON.stringify(locked));
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(2);

    stopSecond();
    expect(stream.closed).toBe(true);
    // A listener after the last one left opens a new stream.
    backend.subscribe(first);
    expect(RecordingEventSource.opened).toHaveLength(2);
  });

  it("keeps giving events to the others when one listener throws or a message is malformed", () => {
    const backend = httpBackend();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = vi.fn(() => {
      throw new Error("screen failed");
    });
    const other = vi.fn();
    backend.subscribe(failing);
    backend.subscribe(other);
    const stream = onlyStream();
    stream.deliver("desk", "not json");
    expect(other).not.toHaveBeenCalled();
    stream.deliver("desk", JSON.stringify(locked));
    expect(failing).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledWith(locked);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});
