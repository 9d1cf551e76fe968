/**
 * The Electron shell's side of the page (absent in browser mode): runs the native menu's
 * commands (New, Open…, Open Recent, Save, Save As…, Undo, Redo, Fit, Keyboard Shortcuts)
 * with the same store actions the header and the keys use, and keeps File > Open Recent in
 * step with the recent list. Open and Save As use the native dialogs: a file in the graphs
 * folder opens and saves through the engine as usual; one elsewhere is opened as a new,
 * unsaved graph, or written there as an exported copy.
 */
import { useReactFlow } from '@xyflow/react';
import { useEffect } from 'react';
import type { MenuCommand, ShellApi } from '../../../shared/protocol.ts';
import { useRecent } from '../recent.ts';
import { graphName, type StudioState } from '../store.ts';
import { useStudioStore } from '../studio-context.tsx';
import { confirmDiscard } from './confirm.ts';

function isEditable(el: Element | null): boolean {
  const h = el as HTMLElement | null;
  return !!h && (h.isContentEditable || h.tagName === 'INPUT' || h.tagName === 'TEXTAREA');
}

async function openPicked(s: StudioState, shell: ShellApi): Promise<void> {
  if (!confirmDiscard(s)) return;
  const f = await shell.openDialog();
  if (!f) return;
  if (f.kind === 'graph') return s.openGraph(f.graphPath);
  if (f.kind === 'png') return s.openFromPng(f.base64, `${f.name}.png`);
  let json: unknown;
  try {
    json = JSON.parse(f.text);
  } catch (err) {
    s.reportFileError(`${f.name}.json is not JSON: ${(err as Error).message}`);
    return;
  }
  await s.openDocument(json, f.name, `opened ${f.name}.json from outside the graphs folder (Save As puts it there)`);
}

async function saveAsPicked(s: StudioState, shell: ShellApi): Promise<void> {
  const doc = s.doc;
  if (!doc) return;
  const name = s.selectedPath ? graphName(s.selectedPath) : (doc.meta.name ?? 'graph');
  const r = await shell.saveDialog({ suggestedName: `${name}.json`, contents: `${JSON.stringify(doc, null, 2)}\n` });
  if (!r) return;
  // The native dialog already asked before replacing a file.
  if (r.kind === 'graph') await s.saveAs(r.graphPath, true);
  else s.showNotice(`exported a copy to ${r.path} (outside the graphs folder: this graph is still ${s.selectedPath ?? 'unsaved'})`);
}

/** One menu command, with the state as it is now. */
export async function runMenuCommand(c: MenuCommand, s: StudioState, shell: ShellApi, fit: () => void): Promise<void> {
  switch (c.type) {
    case 'new':
      if (confirmDiscard(s)) s.newGraph();
      return;
    case 'open':
      return openPicked(s, shell);
    case 'openRecent':
      if (confirmDiscard(s)) await s.openGraph(c.path);
      return;
    case 'save':
      if (s.selectedPath === null) return saveAsPicked(s, shell);
      await s.save();
      return;
    case 'saveAs':
      return saveAsPicked(s, shell);
    case 'undo':
    case 'redo':
      // In a text field the menu undoes typing, as the keys do there.
      if (isEditable(document.activeElement)) document.execCommand(c.type);
      else if (c.type === 'undo') s.undo();
      else s.redo();
      return;
    case 'fit':
      fit();
      return;
    case 'help':
      s.setHelp(true);
      return;
  }
}

function Bridge({ shell }: { shell: ShellApi }) {
  const store = useStudioStore();
  const { fitView } = useReactFlow();
  const recent = useRecent();
  useEffect(() => shell.setRecent(recent), [shell, recent]);
  useEffect(
    () =>
      shell.onMenuCommand((c) => {
        runMenuCommand(c, store.getState(), shell, () => void fitView({ padding: 0.15 })).catch((err: unknown) =>
          store.getState().reportFileError(err instanceof Error ? err.message : String(err)),
        );
      }),
    [shell, store, fitView],
  );
  return null;
}

export function ShellBridge() {
  const shell = typeof window !== 'undefined' ? window.steerShell : undefined;
  return shell ? <Bridge shell={shell} /> : null;
}
