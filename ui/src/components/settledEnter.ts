// Enter in a list that searches as you type chooses from the results of what is typed now. The
// list on screen can still belong to an earlier query for a moment (the search runs a keystroke
// behind): "johnson" typed fast and Enter must not take the John Sanchez that "john" listed
// first. Pressed while the results are behind the text, Enter waits for them, then chooses.
import { useEffect, useState } from "react";

/** Whether the list on screen answers what is in the field: the deferred text has caught up with
 * it and the results are that text's own (not the previous query's, kept while it loads). */
export function resultsAreCurrent(
  query: string,
  typed: string,
  results: { isPlaceholderData: boolean; isPending: boolean },
): boolean {
  return typed === query.trim() && (typed === "" || (!results.isPlaceholderData && !results.isPending));
}

export function useSettledEnter(settled: boolean, choose: () => void) {
  const [waiting, setWaiting] = useState(false);
  useEffect(() => {
    if (waiting && settled) {
      setWaiting(false);
      choose();
    }
  }, [waiting, settled, choose]);
  return {
    /** Enter was pressed before the results caught up: choose once they have. */
    wait: () => setWaiting(true),
    /** The person typed on, pressed Escape or left the field: the Enter no longer stands. */
    cancel: () => setWaiting(false),
  };
}
