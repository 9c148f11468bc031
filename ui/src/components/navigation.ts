// Ways deep screens may move the desk to another section, given by the shell (so a chart's invoice
// can send a person to the conflicts screen without the shell's state passed down every level).
import { createContext, useContext } from "react";

export interface DeskNavigation {
  openConflicts: () => void;
}

export const DeskNavigationContext = createContext<DeskNavigation | null>(null);

export function useDeskNavigation(): DeskNavigation | null {
  return useContext(DeskNavigationContext);
}
