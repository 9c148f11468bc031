// Tells the desk that someone is using it, so its idle time starts again. Throttled: at most one
// report per quarter of the lock time (and never more than every 15 s), from real input only.
import type { Backend } from "../backend";

const EVENTS = ["keydown", "pointerdown", "wheel", "touchstart"] as const;

export function reportActivity(backend: Backend, lockAfterSeconds: number, target: Window = window): () => void {
  const every = Math.max(250, Math.min(15_000, (lockAfterSeconds * 1000) / 4));
  let last = 0;
  const onInput = () => {
    const now = Date.now();
    if (now - last < every) return;
    last = now;
    // A refusal means the desk locked meanwhile: the lock event brings the lock screen.
    backend.invoke("touch", {}).catch(() => undefined);
  };
  for (const name of EVENTS) target.addEventListener(name, onInput, { passive: true, capture: true });
  return () => {
    for (const name of EVENTS) target.removeEventListener(name, onInput, { capture: true });
  };
}
