import { BackendError } from "../backend/error";

/** What a tab shows while its data comes, or why it did not. */
export function QueryState({ pending, error, what }: { pending: boolean; error: unknown; what: string }) {
  if (pending) return <p role="status">Loading {what}…</p>;
  if (error) {
    const e = BackendError.from(error);
    return (
      <p role="alert" className={e.code === "offline" ? "notice" : "error"}>
        {e.code === "offline" ? `The ${what} are not kept on this desk and the server cannot be reached right now.` : e.message}
      </p>
    );
  }
  return null;
}
