/**
 * Crash recovery: while the open document has unsaved changes, a copy is kept in the
 * browser's localStorage (written a moment after edits settle); saving, or getting back to
 * the saved state, removes it. On the next start, a copy left behind is offered back.
 * Each tab writes under its own id, so a clean tab never deletes another tab's copy.
 */
import type { EditorDoc } from './editor/doc.ts';
import { isDirty, type StudioStore } from './store.ts';

export const RECOVERY_PREFIX = 'steer-studio.recovery.';
export const AUTOSAVE_DELAY_MS = 1000;

export interface Recovery {
  key: string;
  name: string;
  path: string | null;
  time: number;
  doc: EditorDoc;
}

/** The most recent copy left by any tab (other than `exceptKey`), if there is one. */
export function findRecovery(storage: Storage, exceptKey?: string): Recovery | undefined {
  let best: Recovery | undefined;
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (!key?.startsWith(RECOVERY_PREFIX) || key === exceptKey) continue;
    try {
      const r = JSON.parse(storage.getItem(key) ?? '') as Omit<Recovery, 'key'>;
      if (r && typeof r.time === 'number' && r.doc && Array.isArray(r.doc.nodes) && (!best || r.time > best.time)) best = { ...r, key };
    } catch {
      // a damaged copy is skipped
    }
  }
  return best;
}

/** Keeps this tab's copy up to date; returns the unsubscribe function. */
export function startAutosave(store: StudioStore, storage: Storage, tabKey: string, delay = AUTOSAVE_DELAY_MS): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = () => {
    timer = undefined;
    const s = store.getState();
    if (!s.doc || !isDirty(s)) {
      storage.removeItem(tabKey);
      return;
    }
    const copy = { name: String(s.doc.meta.name ?? ''), path: s.selectedPath, time: Date.now(), doc: s.doc };
    try {
      storage.setItem(tabKey, JSON.stringify(copy));
    } catch {
      // storage full or disabled: recovery is best effort
    }
  };
  const unsubscribe = store.subscribe((s, prev) => {
    if (s.doc === prev.doc && s.savedMark === prev.savedMark) return;
    if (timer) clearTimeout(timer);
    if (!isDirty(s)) write();
    else timer = setTimeout(write, delay);
  });
  return () => {
    if (timer) clearTimeout(timer);
    unsubscribe();
  };
}
