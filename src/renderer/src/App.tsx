import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { AddNodeMenu } from './components/AddNodeMenu.tsx';
import { HelpSheet, SaveAsDialog } from './components/Dialogs.tsx';
import { GraphCanvas } from './components/GraphCanvas.tsx';
import { RunPanel } from './components/RunPanel.tsx';
import { ShellBridge } from './components/ShellBridge.tsx';
import { frameSelection, Shortcuts } from './components/Shortcuts.tsx';
import { confirmDiscard } from './components/confirm.ts';
import { Sidebar } from './components/Sidebar.tsx';
import { isDirty } from './store.ts';
import { useStudio, useStudioStore } from './studio-context.tsx';

const BUTTON = 'rounded px-2 py-1 text-xs text-neutral-200 hover:bg-neutral-800 disabled:opacity-40';

function Toolbar() {
  const store = useStudioStore();
  const { getNodesBounds } = useReactFlow();
  const name = useStudio((s) => s.doc?.meta.name ?? '');
  const path = useStudio((s) => s.selectedPath);
  const dirty = useStudio(isDirty);
  const canUndo = useStudio((s) => s.history.undo.length > 0);
  const canRedo = useStudio((s) => s.history.redo.length > 0);
  const connection = useStudio((s) => s.connection);
  const run = useStudio((s) => s.run);
  const hasDoc = useStudio((s) => s.doc !== null && s.doc.nodes.length > 0);
  const selected = useStudio((s) => s.selectedNodeIds.length);
  const queued = useStudio((s) => s.runQueue.length);
  const busy = run?.status === 'starting' || run?.status === 'running';
  const s = () => store.getState();
  return (
    <header className="flex items-center gap-1 border-b border-neutral-800 bg-neutral-900 px-3 py-1.5">
      <h1 className="mr-2 text-sm font-bold text-amber-300">Steer Studio</h1>
      <span className="max-w-72 truncate text-sm text-neutral-200" data-testid="graph-name" title={path ?? 'not saved yet'}>
        {name}
      </span>
      <span className="text-xs text-neutral-500" data-testid="graph-path">
        {path ?? '(not saved)'}
      </span>
      {dirty && (
        <span className="text-amber-400" data-testid="dirty" title="Unsaved changes" aria-label="unsaved changes">
          ●
        </span>
      )}
      <div className="mx-2 h-4 w-px bg-neutral-700" />
      <button className={BUTTON} onClick={() => confirmDiscard(s()) && s().newGraph()}>
        New
      </button>
      <button className={BUTTON} onClick={() => (s().selectedPath === null ? s().setSaveAs(true) : void s().save())} title="Ctrl+S">
        Save
      </button>
      <button className={BUTTON} onClick={() => s().setSaveAs(true)} title="Ctrl+Shift+S">
        Save as…
      </button>
      <button className={BUTTON} disabled={!canUndo} onClick={() => s().undo()} title="Ctrl+Z">
        Undo
      </button>
      <button className={BUTTON} disabled={!canRedo} onClick={() => s().redo()} title="Ctrl+Y">
        Redo
      </button>
      <button className={BUTTON} onClick={() => s().setHelp(true)} title="?">
        Shortcuts
      </button>
      {selected >= 1 && (
        <>
          <div className="mx-2 h-4 w-px bg-neutral-700" />
          <button className={BUTTON} onClick={() => frameSelection(s(), getNodesBounds)} title="Ctrl+G: a titled frame around the selected nodes">
            Frame
          </button>
        </>
      )}
      {selected >= 2 && (
        <>
          <button className={BUTTON} onClick={() => s().alignSelection('left')} title="Line the selected nodes up on their left edges">
            Align left
          </button>
          <button className={BUTTON} onClick={() => s().alignSelection('top')} title="Line the selected nodes up on their top edges">
            Align top
          </button>
          <button className={BUTTON} disabled={selected < 3} onClick={() => s().distributeSelection('x')} title="Space the selected nodes evenly from left to right">
            Distribute ↔
          </button>
          <button className={BUTTON} disabled={selected < 3} onClick={() => s().distributeSelection('y')} title="Space the selected nodes evenly from top to bottom">
            Distribute ↕
          </button>
        </>
      )}
      <div className="flex-1" />
      <span
        className={`mr-2 text-xs ${connection === 'open' ? 'text-emerald-400' : connection === 'closed' ? 'text-red-400' : 'text-neutral-400'}`}
        data-testid="connection"
        data-state={connection}
      >
        engine: {connection}
      </span>
      {queued > 0 && (
        <span className="mr-1 text-xs text-sky-300" data-testid="run-queue">
          {queued} queued
        </span>
      )}
      {busy && (
        <button className="mr-1 rounded bg-red-700 px-3 py-1 text-sm text-white hover:bg-red-600" onClick={() => void s().cancelRun()} data-testid="cancel" title="Ctrl+Alt+Enter">
          Cancel
        </button>
      )}
      {busy && queued > 0 && (
        <button className="mr-1 rounded border border-red-700 px-2 py-1 text-xs text-red-200 hover:bg-red-950" onClick={() => void s().cancelRun(true)} data-testid="cancel-all">
          Cancel all
        </button>
      )}
      {selected > 0 && (
        <button
          className="mr-1 rounded border border-emerald-700 px-2 py-1 text-xs text-emerald-200 hover:bg-emerald-900 disabled:opacity-40"
          disabled={connection !== 'open'}
          onClick={() => void s().startRun(s().selectedNodeIds)}
          title="Ctrl+Shift+Enter: run only what the selected nodes need"
          data-testid="run-selected"
        >
          Run to selected
        </button>
      )}
      <button
        className="rounded bg-emerald-700 px-3 py-1 text-sm text-white hover:bg-emerald-600 disabled:opacity-40"
        disabled={!hasDoc || connection !== 'open'}
        onClick={() => void s().startRun()}
        data-testid="run"
        title={busy ? 'Queue a run of the graph as it is now (Ctrl+Enter)' : 'Ctrl+Enter'}
      >
        {busy ? 'Queue run' : 'Run'}
      </button>
    </header>
  );
}

function Banners() {
  const connectionError = useStudio((s) => s.connectionError);
  const catalogueError = useStudio((s) => s.catalogueError);
  const loadError = useStudio((s) => s.loadError);
  const fileError = useStudio((s) => s.fileError);
  const saveAsOpen = useStudio((s) => s.saveAsOpen);
  const notice = useStudio((s) => s.notice);
  const saveAs = useStudio((s) => s.saveAs);
  const dismiss = useStudio((s) => s.dismissFileError);
  const recovery = useStudio((s) => s.recovery);
  const restore = useStudio((s) => s.restoreRecovery);
  const setRecovery = useStudio((s) => s.setRecovery);
  const errors = [connectionError, catalogueError && `could not load the node catalogue: ${catalogueError}`, loadError && `Could not open the graph: ${loadError}`].filter(Boolean);
  return (
    <>
      {errors.length > 0 && (
        <div className="border-b border-red-900 bg-red-950 px-3 py-1 text-xs text-red-200" role="alert">
          {errors.join(' · ')}
        </div>
      )}
      {fileError && !saveAsOpen && (
        <div className="flex items-center gap-2 border-b border-red-900 bg-red-950 px-3 py-1 text-xs text-red-200" role="alert" data-testid="file-error">
          <span className="flex-1">{fileError.message}</span>
          {fileError.conflict && (
            <button className="rounded bg-red-700 px-2 py-0.5 text-white" onClick={() => void saveAs(fileError.conflict!.path, true)}>
              Overwrite
            </button>
          )}
          <button onClick={dismiss} aria-label="Dismiss">
            ✕
          </button>
        </div>
      )}
      {recovery && (
        <div className="flex items-center gap-2 border-b border-amber-900 bg-amber-950 px-3 py-1 text-xs text-amber-100" role="alert" data-testid="recovery">
          <span className="flex-1">
            Unsaved work on &quot;{recovery.name}&quot; from {new Date(recovery.time).toLocaleString()} was left behind ({recovery.doc.nodes.length} nodes).
          </span>
          <button className="rounded bg-amber-700 px-2 py-0.5 text-white" onClick={() => void restore()}>
            Restore
          </button>
          <button className="rounded px-2 py-0.5 hover:bg-amber-900" onClick={() => setRecovery(null)}>
            Discard
          </button>
        </div>
      )}
      {notice && !fileError && (
        <div className="flex items-center gap-2 border-b border-neutral-800 bg-neutral-900 px-3 py-1 text-xs text-neutral-300" role="status" data-testid="notice">
          <span className="flex-1">{notice}</span>
          <button onClick={dismiss} aria-label="Dismiss">
            ✕
          </button>
        </div>
      )}
    </>
  );
}

export function App() {
  const hasDoc = useStudio((s) => s.doc !== null);
  const empty = useStudio((s) => s.doc !== null && s.doc.nodes.length === 0);
  return (
    <ReactFlowProvider>
      <div className="flex h-full flex-col">
        <Toolbar />
        <Banners />
        <div className="flex min-h-0 flex-1">
          <Sidebar />
          <main className="relative min-w-0 flex-1" data-testid="canvas">
            {hasDoc && <GraphCanvas />}
            {empty && (
              <p className="pointer-events-none absolute top-1/3 w-full text-center text-sm text-neutral-500">
                Double-click to add a node, drag one from the library, or drop a graph (.json) or a PNG made by Save Image.
              </p>
            )}
          </main>
          <RunPanel />
        </div>
        <AddNodeMenu />
        <HelpSheet />
        <SaveAsDialog />
        <Shortcuts />
        <ShellBridge />
      </div>
    </ReactFlowProvider>
  );
}
