/**
 * Left panel: the graphs folder (open a file, or start a new graph from it) and the node
 * library (categories from the catalogue, fuzzy search; drag a type onto the canvas, or click
 * it to add it in the middle of the view).
 */
import { useReactFlow } from '@xyflow/react';
import { useMemo, useState, type DragEvent } from 'react';
import { useRecent } from '../recent.ts';
import { useStudio, useStudioStore } from '../studio-context.tsx';
import { searchEntries, searchNodes } from './AddNodeMenu.tsx';
import { confirmDiscard } from './confirm.ts';
import { NODE_TYPE_MIME } from './GraphCanvas.tsx';

function RecentList() {
  const recent = useRecent();
  const selectedPath = useStudio((s) => s.selectedPath);
  const store = useStudioStore();
  const shown = recent.filter((p) => p !== selectedPath);
  if (shown.length === 0) return null;
  return (
    <section className="border-b border-neutral-800 pb-1" aria-label="Recent graphs">
      <h2 className="px-3 pt-2 text-xs font-semibold tracking-wide text-neutral-400 uppercase">Recent</h2>
      <ul data-testid="recent-list">
        {shown.map((p) => (
          <li key={p}>
            <button
              className="w-full truncate px-3 py-0.5 text-left text-xs text-neutral-300 hover:bg-neutral-800"
              onClick={() => {
                if (confirmDiscard(store.getState())) void store.getState().openGraph(p);
              }}
            >
              {p}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function GraphList() {
  const graphs = useStudio((s) => s.graphs);
  const graphsError = useStudio((s) => s.graphsError);
  const selectedPath = useStudio((s) => s.selectedPath);
  const loadGraphList = useStudio((s) => s.loadGraphList);
  const store = useStudioStore();
  return (
    <section className="flex max-h-[40%] min-h-0 flex-col">
      <div className="flex items-center justify-between px-3 py-2">
        <h2 className="text-xs font-semibold tracking-wide text-neutral-400 uppercase">Graphs</h2>
        <button className="text-xs text-neutral-400 hover:text-neutral-100" onClick={() => void loadGraphList()} title="Reload the list" aria-label="Reload the graph list">
          ↻
        </button>
      </div>
      {graphsError && <p className="px-3 text-xs text-red-400">{graphsError}</p>}
      {!graphsError && graphs.length === 0 && <p className="px-3 text-xs text-neutral-500">No graphs in the graphs folder.</p>}
      <ul className="min-h-0 flex-1 overflow-auto" data-testid="graph-list">
        {graphs.map((g) => (
          <li key={g.path} className={`group flex items-center ${g.path === selectedPath ? 'bg-amber-500/20 text-amber-200' : 'text-neutral-300 hover:bg-neutral-800'}`}>
            <button
              className="min-w-0 flex-1 truncate px-3 py-1 text-left text-sm"
              onClick={() => {
                if (confirmDiscard(store.getState())) void store.getState().openGraph(g.path);
              }}
              title={g.path}
              data-graph={g.path}
            >
              {g.name}
            </button>
            <button
              className="px-2 text-xs text-neutral-500 opacity-0 group-hover:opacity-100 hover:text-neutral-100 focus:opacity-100"
              aria-label={`New graph from ${g.name}`}
              title="New graph from this one (a template: the file stays as it is)"
              onClick={() => {
                if (confirmDiscard(store.getState())) void store.getState().newFrom(g.path);
              }}
            >
              ⧉
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function onDragStart(e: DragEvent, type: string) {
  e.dataTransfer.setData(NODE_TYPE_MIME, type);
  e.dataTransfer.effectAllowed = 'copy';
}

function NodeLibrary() {
  const catalogue = useStudio((s) => s.catalogue);
  const addNode = useStudio((s) => s.addNode);
  const { screenToFlowPosition } = useReactFlow();
  const [query, setQuery] = useState('');
  const entries = useMemo(() => searchEntries(catalogue?.nodes ?? []), [catalogue]);
  const groups = useMemo(() => {
    const found = searchNodes(entries, query, 500);
    if (query.trim() !== '') return [['Matches', found] as const];
    const by = new Map<string, typeof found>();
    for (const e of found) by.set(e.category, [...(by.get(e.category) ?? []), e]);
    return [...by.entries()];
  }, [entries, query]);
  const addInView = (type: string) => {
    const canvas = document.querySelector('[data-testid=canvas]')?.getBoundingClientRect();
    const center = canvas ? { x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 } : { x: 400, y: 300 };
    addNode(type, screenToFlowPosition(center));
  };
  return (
    <section className="flex min-h-0 flex-1 flex-col border-t border-neutral-800" aria-label="Node library">
      <h2 className="px-3 pt-2 text-xs font-semibold tracking-wide text-neutral-400 uppercase">Node library</h2>
      <input
        type="search"
        aria-label="Search node types"
        placeholder="Search node types…"
        className="mx-3 my-1.5 rounded border border-neutral-700 bg-neutral-950 px-2 py-1 text-xs text-neutral-100 focus:border-amber-400 focus:outline-none"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <div className="min-h-0 flex-1 overflow-auto pb-2" data-testid="node-library">
        {groups.map(([category, list]) => (
          <div key={category}>
            <h3 className="px-3 pt-1.5 text-[10px] font-semibold tracking-wide text-neutral-500 uppercase">{category}</h3>
            <ul>
              {list.map((e) => (
                <li key={e.type}>
                  <button
                    draggable
                    onDragStart={(ev) => onDragStart(ev, e.type)}
                    onClick={() => addInView(e.type)}
                    className="w-full cursor-grab truncate px-4 py-0.5 text-left text-xs text-neutral-300 hover:bg-neutral-800"
                    title={`${e.info.description}\n(drag onto the canvas, or click to add)`}
                    data-node-type={e.type}
                  >
                    {e.title}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    </section>
  );
}

export function Sidebar() {
  const catalogue = useStudio((s) => s.catalogue);
  const catalogueError = useStudio((s) => s.catalogueError);
  const disconnected = useStudio((s) => s.connection !== 'open' && s.connectionError !== undefined);
  const footer = catalogue
    ? `${catalogue.nodes.length} node types`
    : catalogueError
      ? `no node types: ${catalogueError}`
      : disconnected
        ? 'no node types: not connected to the engine'
        : 'loading node types…';
  return (
    <aside className="flex w-60 shrink-0 flex-col border-r border-neutral-800 bg-neutral-900/60">
      <RecentList />
      <GraphList />
      <NodeLibrary />
      <p className="border-t border-neutral-800 px-3 py-2 text-[11px] text-neutral-500" data-testid="catalogue-count">
        {footer}
      </p>
    </aside>
  );
}
