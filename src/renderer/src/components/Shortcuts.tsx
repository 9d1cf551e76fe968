/**
 * Keyboard shortcuts and the clipboard. Shortcuts are one table (also the help sheet and the
 * README). Copy/cut/paste use the page's clipboard events, so the clipboard carries graph JSON
 * between tabs and windows with no permission prompt; keys typed into a field stay the
 * field's (except Ctrl+S, Ctrl+Enter and Escape).
 */
import { useReactFlow } from '@xyflow/react';
import { useEffect, useRef } from 'react';
import { FRAME_PREFIX } from '../editor/doc.ts';
import type { StudioState } from '../store.ts';
import { useStudioStore } from '../studio-context.tsx';

export const SHORTCUTS: readonly (readonly [keys: string, what: string])[] = [
  ['Double-click the canvas', 'Add node (search menu; Enter adds the first match)'],
  ['Drag a link onto the canvas', 'Add a node that takes it, already wired'],
  ['Ctrl+Z', 'Undo'],
  ['Ctrl+Y, Ctrl+Shift+Z', 'Redo'],
  ['Ctrl+C / Ctrl+X', 'Copy / cut the selected nodes (as graph JSON, with the links between them)'],
  ['Ctrl+V', 'Paste at the mouse'],
  ['Ctrl+D', 'Duplicate the selected nodes'],
  ['Delete, Backspace', 'Delete the selection'],
  ['Ctrl+A', 'Select all nodes'],
  ['Ctrl+G', 'Put a titled frame around the selected nodes (drag it by its title: they move with it)'],
  ['Shift+drag, Ctrl+click', 'Box select, add to the selection'],
  ['Right-click a widget', 'Convert the param to an input socket (right-click the socket to convert it back)'],
  ["Drag a preview's corner", 'Resize the preview on the node'],
  ['Ctrl+S', 'Save'],
  ['Ctrl+Shift+S', 'Save as'],
  ['Ctrl+Enter', 'Run (while a run is going: queue one with the graph as it is now)'],
  ['Ctrl+Shift+Enter', 'Run up to the selected nodes'],
  ['Ctrl+Alt+Enter', 'Cancel the run'],
  ['F', 'Fit the graph to the view'],
  ['?', 'This sheet'],
  ['Escape', 'Close a menu or dialog'],
];

function isEditable(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT';
}

/** Text the user selected outside the canvas (a message in a panel): Ctrl+C copies that instead. */
function hasTextSelection(): boolean {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed || sel.toString() === '') return false;
  const at = sel.anchorNode instanceof Element ? sel.anchorNode : sel.anchorNode?.parentElement;
  // A selection inside the canvas is a double-click's by-product, not text to copy.
  return !at?.closest('.react-flow');
}

/** What a key does, given the state; true when it was handled. */
function handleKey(e: KeyboardEvent, s: StudioState, fit: () => void, frame: () => void): boolean {
  const ctrl = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  const inField = isEditable(e.target);
  if (ctrl && key === 's') {
    if (e.shiftKey || s.selectedPath === null) s.setSaveAs(true);
    else void s.save();
    return true;
  }
  if (ctrl && key === 'enter') {
    if (e.altKey) void s.cancelRun();
    else void s.startRun(e.shiftKey ? s.selectedNodeIds : undefined);
    return true;
  }
  if (key === 'escape') {
    if (s.helpOpen) s.setHelp(false);
    else if (s.saveAsOpen) s.setSaveAs(false);
    else if (s.addMenu) s.setAddMenu(null);
    else return false;
    return true;
  }
  if (inField) return false;
  if (ctrl && key === 'z') {
    if (e.shiftKey) s.redo();
    else s.undo();
    return true;
  }
  if (ctrl && key === 'y') {
    s.redo();
    return true;
  }
  if (ctrl && key === 'd') {
    s.duplicateSelection();
    return true;
  }
  if (ctrl && key === 'g') {
    frame();
    return true;
  }
  if (ctrl && key === 'a') {
    s.selectAll();
    return true;
  }
  if (!ctrl && !e.altKey && (key === 'delete' || key === 'backspace')) {
    s.deleteSelection();
    return true;
  }
  if (!ctrl && !e.altKey && key === 'f') {
    fit();
    return true;
  }
  if (!ctrl && e.key === '?') {
    s.setHelp(!s.helpOpen);
    return true;
  }
  return false;
}

/** A frame around the selected nodes, with room for its title. */
export function frameSelection(s: StudioState, bounds: (ids: string[]) => { x: number; y: number; width: number; height: number }): void {
  const ids = s.selectedNodeIds.filter((id) => !id.startsWith(FRAME_PREFIX));
  if (ids.length === 0) return;
  const b = bounds(ids);
  s.addFrame({ x: Math.round(b.x - 24), y: Math.round(b.y - 52), width: Math.round(b.width + 48), height: Math.round(b.height + 76) });
}

export function Shortcuts() {
  const store = useStudioStore();
  const { fitView, screenToFlowPosition, getNodesBounds } = useReactFlow();
  const mouse = useRef<{ x: number; y: number } | null>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = store.getState();
      if (handleKey(e, s, () => void fitView({ padding: 0.15 }), () => frameSelection(s, getNodesBounds))) e.preventDefault();
    };
    const onMove = (e: PointerEvent) => {
      const over = (e.target as Element | null)?.closest?.('.react-flow');
      mouse.current = over ? { x: e.clientX, y: e.clientY } : null;
    };
    const onCopy = (e: ClipboardEvent) => {
      if (isEditable(e.target) || hasTextSelection()) return;
      const s = store.getState();
      const text = s.copyText();
      if (!text || !e.clipboardData) return;
      e.clipboardData.setData('text/plain', text);
      e.preventDefault();
      if (e.type === 'cut') s.deleteSelection();
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isEditable(e.target)) return;
      const text = e.clipboardData?.getData('text/plain');
      if (!text) return;
      const at = mouse.current ? screenToFlowPosition(mouse.current) : undefined;
      if (store.getState().pasteText(text, at)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('pointermove', onMove, { passive: true });
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCopy);
    document.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('pointermove', onMove);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCopy);
      document.removeEventListener('paste', onPaste);
    };
  }, [store, fitView, screenToFlowPosition, getNodesBounds]);
  return null;
}
