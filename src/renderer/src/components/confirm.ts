import { isDirty, type StudioState } from '../store.ts';

/** True when there is nothing unsaved to lose, or the user agreed to lose it. */
export function confirmDiscard(s: StudioState): boolean {
  return !isDirty(s) || window.confirm(`Discard the unsaved changes to "${s.doc?.meta.name ?? 'this graph'}"?`);
}
