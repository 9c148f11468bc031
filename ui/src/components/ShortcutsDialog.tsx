// `?` shows the keyboard shortcuts the desk has so far. A native modal <dialog>: the browser traps
// focus in it and closes it on Escape.
import { useEffect, useRef } from "react";

const SHORTCUTS: Array<[string, string]> = [
  ["Ctrl+K or /", "Search patients, from anywhere"],
  ["↑ / ↓, Enter", "Move through the results, open a chart"],
  ["Escape", "Close the results"],
  ["Ctrl+N", "Register a new patient"],
  ["← / →", "Move between a chart's tabs"],
  ["T, ← / →, D / W", "Book: today, previous / next day or week, day / week view"],
  ["B / F", "Book: book an appointment / find the next free slot"],
  ["B (on a chart)", "Book an appointment for that patient"],
  ["I / R / C / N", "Check in / in room / complete / no-show the selected appointment"],
  ["Alt+↑ / ↓, Alt+← / →", "Move the selected appointment 15 minutes / a day"],
  ["Delete", "Cancel the selected appointment (with a reason)"],
  ["Ctrl+Z", "Undo the last change to the book while its notice shows"],
  ["Ctrl+L", "Lock the desk"],
  ["?", "Show these shortcuts"],
];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} className="shortcuts" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table className="table">
        <caption className="visually-hidden">Keyboard shortcuts</caption>
        <tbody>
          {SHORTCUTS.map(([keys, does]) => (
            <tr key={keys}>
              <th scope="row">
                <kbd>{keys}</kbd>
              </th>
              <td>{does}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="dialog">
        <button type="submit">Close</button>
      </form>
    </dialog>
  );
}
