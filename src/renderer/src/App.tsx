import { GraphCanvas } from './components/GraphCanvas.tsx';
import { RunPanel } from './components/RunPanel.tsx';
import { Sidebar } from './components/Sidebar.tsx';
import { useStudio } from './studio-context.tsx';

export function App() {
  const connection = useStudio((s) => s.connection);
  const connectionError = useStudio((s) => s.connectionError);
  const catalogueError = useStudio((s) => s.catalogueError);
  const view = useStudio((s) => s.view);
  const loadError = useStudio((s) => s.loadError);
  const run = useStudio((s) => s.run);
  const startRun = useStudio((s) => s.startRun);
  const cancelRun = useStudio((s) => s.cancelRun);
  const busy = run?.status === 'starting' || run?.status === 'running';

  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-3 border-b border-neutral-800 bg-neutral-900 px-3 py-2">
        <h1 className="text-sm font-bold text-amber-300">Steer Studio</h1>
        <span className="truncate text-sm text-neutral-300" data-testid="graph-name">
          {view?.name ?? ''}
        </span>
        <div className="flex-1" />
        <span
          className={`text-xs ${connection === 'open' ? 'text-emerald-400' : connection === 'closed' ? 'text-red-400' : 'text-neutral-400'}`}
          data-testid="connection"
          data-state={connection}
        >
          engine: {connection}
        </span>
        {busy ? (
          <button className="rounded bg-red-700 px-3 py-1 text-sm text-white hover:bg-red-600" onClick={() => void cancelRun()} data-testid="cancel">
            Cancel
          </button>
        ) : (
          <button
            className="rounded bg-emerald-700 px-3 py-1 text-sm text-white hover:bg-emerald-600 disabled:opacity-40"
            disabled={!view || connection !== 'open'}
            onClick={() => void startRun()}
            data-testid="run"
          >
            Run
          </button>
        )}
      </header>
      {(connectionError || catalogueError) && (
        <div className="border-b border-red-900 bg-red-950 px-3 py-1 text-xs text-red-200" role="alert">
          {connectionError ?? `could not load the node catalogue: ${catalogueError}`}
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <Sidebar />
        <main className="relative min-w-0 flex-1" data-testid="canvas">
          {loadError && <p className="p-4 text-sm text-red-300">Could not open the graph: {loadError}</p>}
          {!view && !loadError && <p className="p-4 text-sm text-neutral-500">Pick a graph on the left.</p>}
          <GraphCanvas />
        </main>
        <RunPanel />
      </div>
    </div>
  );
}
