import { useStudio } from '../studio-context.tsx';

export function Sidebar() {
  const graphs = useStudio((s) => s.graphs);
  const graphsError = useStudio((s) => s.graphsError);
  const selectedPath = useStudio((s) => s.selectedPath);
  const openGraph = useStudio((s) => s.openGraph);
  const loadGraphList = useStudio((s) => s.loadGraphList);
  const catalogue = useStudio((s) => s.catalogue);
  return (
    <aside className="flex w-60 shrink-0 flex-col border-r border-neutral-800 bg-neutral-900/60">
      <div className="flex items-center justify-between px-3 py-2">
        <h2 className="text-xs font-semibold tracking-wide text-neutral-400 uppercase">Graphs</h2>
        <button className="text-xs text-neutral-400 hover:text-neutral-100" onClick={() => void loadGraphList()} title="Reload the list">
          ↻
        </button>
      </div>
      {graphsError && <p className="px-3 text-xs text-red-400">{graphsError}</p>}
      {!graphsError && graphs.length === 0 && <p className="px-3 text-xs text-neutral-500">No graphs in the graphs folder.</p>}
      <ul className="flex-1 overflow-auto" data-testid="graph-list">
        {graphs.map((g) => (
          <li key={g.path}>
            <button
              className={`w-full truncate px-3 py-1.5 text-left text-sm ${g.path === selectedPath ? 'bg-amber-500/20 text-amber-200' : 'text-neutral-300 hover:bg-neutral-800'}`}
              onClick={() => void openGraph(g.path)}
              title={g.path}
            >
              {g.name}
            </button>
          </li>
        ))}
      </ul>
      <p className="border-t border-neutral-800 px-3 py-2 text-[11px] text-neutral-500" data-testid="catalogue-count">
        {catalogue ? `${catalogue.nodes.length} node types` : 'loading node types…'}
      </p>
    </aside>
  );
}
