/**
 * Files opened or saved lately (this browser's localStorage), newest first: the sidebar's
 * recent list and, in Electron, File > Open Recent.
 */
import { useEffect, useMemo, useState } from 'react';
import { useStudio } from './studio-context.tsx';

const RECENT_KEY = 'steer-studio.recent';
const RECENT_MAX = 6;

function readRecent(): string[] {
  try {
    const v = JSON.parse(window.localStorage.getItem(RECENT_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Files opened or saved lately (this browser), newest first, among those still in the folder. */
export function useRecent(): string[] {
  const path = useStudio((s) => s.selectedPath);
  const graphs = useStudio((s) => s.graphs);
  const [recent, setRecent] = useState(readRecent);
  useEffect(() => {
    if (!path) return;
    const next = [path, ...readRecent().filter((p) => p !== path)].slice(0, RECENT_MAX);
    try {
      window.localStorage.setItem(RECENT_KEY, JSON.stringify(next));
    } catch {
      // no storage: the list lives as long as the page
    }
    setRecent(next);
  }, [path]);
  return useMemo(() => recent.filter((p) => graphs.some((g) => g.path === p)), [recent, graphs]);
}
