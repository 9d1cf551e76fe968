/**
 * The "Add node" search menu: opens where the pane was double-clicked, or where a dragged link
 * was dropped on empty canvas (then it lists only node types that can take that link, and the
 * new node is wired to it). Fuzzy search over titles, type ids and categories (fuzzysort);
 * Enter adds the highlighted result (the first, until the arrow keys move it), Escape closes.
 */
import fuzzysort from 'fuzzysort';
import { useMemo, useState } from 'react';
import type { NodeTypeInfo } from '../../../shared/catalogue.ts';
import { compatibleTypes } from '../editor/connect.ts';
import { useStudio } from '../studio-context.tsx';

const MAX_RESULTS = 30;

export interface SearchEntry {
  info: NodeTypeInfo;
  /** What the search matches against. */
  title: string;
  type: string;
  category: string;
}

export function searchEntries(nodes: readonly NodeTypeInfo[]): SearchEntry[] {
  return nodes.map((info) => ({ info, title: info.title, type: info.type, category: info.category }));
}

/** Entries matching `query` best first; all of them (by category, then title) for an empty query. */
export function searchNodes(entries: readonly SearchEntry[], query: string, limit = MAX_RESULTS): SearchEntry[] {
  if (query.trim() === '') return [...entries].sort((a, b) => a.category.localeCompare(b.category) || a.title.localeCompare(b.title)).slice(0, limit);
  return fuzzysort
    .go(query, entries, { keys: ['title', 'type', 'category'], limit, threshold: 0.1 })
    .map((r) => r.obj);
}

export function AddNodeMenu() {
  const menu = useStudio((s) => s.addMenu);
  const catalogue = useStudio((s) => s.catalogue);
  const setAddMenu = useStudio((s) => s.setAddMenu);
  const addNode = useStudio((s) => s.addNode);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);

  const entries = useMemo(() => {
    const nodes = catalogue?.nodes ?? [];
    if (!menu?.link) return searchEntries(nodes);
    const fits = compatibleTypes(nodes, menu.link.socketType, menu.link.handleType);
    return searchEntries(fits.map((f) => f.info));
  }, [catalogue, menu]);
  const results = useMemo(() => searchNodes(entries, query), [entries, query]);

  if (!menu) return null;
  const close = () => {
    setAddMenu(null);
    setQuery('');
    setActive(0);
  };
  const pick = (entry: SearchEntry | undefined) => {
    if (!entry) return;
    addNode(entry.info.type, menu.flow, menu.link);
    setQuery('');
    setActive(0);
  };
  return (
    <div
      className="fixed z-50 w-72 rounded-md border border-neutral-700 bg-neutral-900 shadow-xl"
      style={{ left: Math.min(menu.screen.x, window.innerWidth - 300), top: Math.min(menu.screen.y, window.innerHeight - 340) }}
      data-testid="add-node-menu"
      onKeyDown={(e) => e.stopPropagation()}
    >
      <input
        type="search"
        autoFocus
        aria-label="Add node"
        aria-controls="add-node-results"
        aria-activedescendant={results[active] ? `add-node-${results[active].type}` : undefined}
        placeholder={menu.link ? `Add a node that takes ${menu.link.socketType}…` : 'Add node…'}
        className="w-full rounded-t-md border-b border-neutral-700 bg-neutral-950 px-2 py-1.5 text-sm text-neutral-100 focus:outline-none"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            pick(results[active]);
          } else if (e.key === 'Escape') {
            close();
          } else if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, results.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          }
        }}
        onBlur={(e) => {
          if (!e.currentTarget.parentElement?.contains(e.relatedTarget as Node | null)) close();
        }}
      />
      <ul id="add-node-results" role="listbox" aria-label="Node types" className="max-h-72 overflow-auto py-1">
        {results.length === 0 && <li className="px-2 py-1 text-xs text-neutral-500">No node type matches{menu.link ? ` that takes ${menu.link.socketType}` : ''}.</li>}
        {results.map((r, i) => (
          <li
            key={r.type}
            id={`add-node-${r.type}`}
            role="option"
            aria-selected={i === active}
            aria-label={r.title}
            tabIndex={-1}
            className={`flex cursor-pointer items-baseline justify-between gap-2 px-2 py-1 text-sm ${i === active ? 'bg-amber-500/20 text-amber-100' : 'text-neutral-200 hover:bg-neutral-800'}`}
            onMouseEnter={() => setActive(i)}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(r)}
          >
            <span>{r.title}</span>
            <span className="text-[10px] text-neutral-500">{r.category}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
