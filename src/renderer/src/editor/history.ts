/**
 * Undo/redo as immer patches. Each edit of the document is one entry (patches + their
 * inverse); edits that carry the same `group` key merge into one entry, so a drag (many
 * position updates) or typing in one field (many keystrokes, close in time) undo as one step.
 */
import { applyPatches, enablePatches, produceWithPatches, type Draft, type Patch } from 'immer';

enablePatches();

export interface HistoryEntry {
  patches: Patch[];
  inverse: Patch[];
  group?: string;
  time: number;
}

export interface History {
  undo: HistoryEntry[];
  redo: HistoryEntry[];
}

export const HISTORY_DEPTH = 200;
/** Typing in one field merges into one step while keystrokes come closer than this. */
export const MERGE_WINDOW_MS = 1500;

export function emptyHistory(): History {
  return { undo: [], redo: [] };
}

/**
 * Applies `recipe` to `doc`. Returns the new document and history, or undefined when nothing
 * changed. `group` merges with the previous entry when that has the same group; `time` is
 * the clock (tests pass their own).
 */
export function recordEdit<T>(
  doc: T,
  history: History,
  recipe: (draft: Draft<T>) => void,
  group?: string,
  time = Date.now(),
): { doc: T; history: History } | undefined {
  const [next, patches, inverse] = produceWithPatches(doc, recipe);
  if (patches.length === 0) return undefined;
  const last = history.undo.at(-1);
  let undo: HistoryEntry[];
  if (group !== undefined && last?.group === group && time - last.time < MERGE_WINDOW_MS) {
    undo = [...history.undo.slice(0, -1), { patches: [...last.patches, ...patches], inverse: [...inverse, ...last.inverse], group, time }];
  } else {
    undo = [...history.undo, { patches, inverse, group, time }].slice(-HISTORY_DEPTH);
  }
  return { doc: next as T, history: { undo, redo: [] } };
}

export function undo<T>(doc: T, history: History): { doc: T; history: History } | undefined {
  const entry = history.undo.at(-1);
  if (!entry) return undefined;
  return { doc: applyPatches(doc as object, entry.inverse) as T, history: { undo: history.undo.slice(0, -1), redo: [...history.redo, entry] } };
}

export function redo<T>(doc: T, history: History): { doc: T; history: History } | undefined {
  const entry = history.redo.at(-1);
  if (!entry) return undefined;
  // A redone entry never merges with the next edit (kept as it is when it had no group, so a
  // saved point stays recognisable).
  const again = entry.group === undefined ? entry : { ...entry, group: undefined };
  return { doc: applyPatches(doc as object, entry.patches) as T, history: { undo: [...history.undo, again], redo: history.redo.slice(0, -1) } };
}
