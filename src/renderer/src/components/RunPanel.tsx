/**
 * Right panel: the graph's problems, the run's status, and per node its state, outputs, logs
 * and previews (the selected nodes, or every node the run touched). Each node's part reads
 * only its own slices of the store.
 */
import { useReactFlow } from '@xyflow/react';
import { memo, useMemo } from 'react';
import { FRAME_PREFIX } from '../editor/doc.ts';
import { useStudio } from '../studio-context.tsx';
import { PreviewView } from './PreviewView.tsx';
import { STATUS_STYLE } from './StudioNode.tsx';
import { Timeline } from './Timeline.tsx';

const NO_PREVIEWS: never[] = [];

const NodePanel = memo(function NodePanel({ id, always }: { id: string; always: boolean }) {
  const title = useStudio((s) => {
    const n = s.doc?.nodes.find((x) => x.id === id);
    return n ? (n.title ?? s.types[n.type]?.title ?? n.type) : id;
  });
  const nr = useStudio((s) => s.nodeRuns[id]);
  const list = useStudio((s) => s.previews[id] ?? NO_PREVIEWS);
  const frames = useStudio((s) => s.frames[id]);
  const logs = useStudio((s) => s.logs);
  const selectNode = useStudio((s) => s.selectNode);
  const nodeLogs = useMemo(() => logs.filter((l) => l.nodeId === id).slice(-20), [logs, id]);
  if (!nr && list.length === 0 && !frames && !always) return null;
  return (
    <section className="rounded border border-neutral-800 p-2" data-testid={`node-panel-${id}`}>
      <div className="mb-1 flex items-center gap-2">
        <button className="truncate font-semibold text-neutral-100" onClick={() => selectNode(id)}>
          {title}
        </button>
        {nr && <span className={`rounded px-1.5 text-[10px] ${STATUS_STYLE[nr.status].badge}`}>{STATUS_STYLE[nr.status].label}</span>}
        {nr?.durationMs !== undefined && <span className="text-[10px] text-neutral-500">{nr.durationMs} ms</span>}
      </div>
      {nr?.progress && nr.status === 'running' && (
        <p className="text-[11px] text-sky-300">
          {nr.progress.value}/{nr.progress.max} {nr.progress.message ?? ''}
        </p>
      )}
      {nr?.error && <p className="text-xs text-red-300">{nr.error.message}</p>}
      {nr?.outputs && (
        <ul className="text-[11px] text-neutral-400">
          {Object.entries(nr.outputs).map(([k, o]) => (
            <li key={k}>
              <span className="text-neutral-300">{k}</span> ({o.type}): {o.summary}
            </li>
          ))}
        </ul>
      )}
      {nodeLogs.length > 0 && (
        <ul className="mt-1 text-[11px]">
          {nodeLogs.map((l, k) => (
            <li key={k} className={l.level === 'error' ? 'text-red-300' : l.level === 'warn' ? 'text-amber-300' : 'text-neutral-400'}>
              {l.message}
            </li>
          ))}
        </ul>
      )}
      {frames &&
        (always ? (
          <Timeline frames={frames} />
        ) : (
          <p className="mt-1 text-[11px] text-neutral-500" data-testid="timeline-hint">
            {frames.length} previews on the step timeline: select the node to scrub them.
          </p>
        ))}
      <div className="mt-1 space-y-2">
        {list.map((p, k) => (
          <PreviewView key={`${p.kind}:${p.label ?? k}`} preview={p} />
        ))}
      </div>
    </section>
  );
});

function Problems() {
  const issues = useStudio((s) => s.issues);
  const problems = useStudio((s) => s.docProblems);
  const select = useStudio((s) => s.selectNode);
  const { fitView } = useReactFlow();
  // Clicking a problem's node selects it and brings it into view.
  const selectNode = (id: string) => {
    select(id);
    void fitView({ nodes: [{ id }], maxZoom: 1, duration: 200 });
  };
  if (issues.length === 0 && problems.length === 0) return null;
  return (
    <section>
      <h3 className="mb-1 text-xs font-semibold text-amber-300 uppercase">Problems</h3>
      <ul className="space-y-1 text-xs" data-testid="issues">
        {issues.map((i, k) => (
          <li key={`i${k}`} className="text-amber-200">
            {i.nodeId ? (
              <button className="font-bold underline decoration-dotted" onClick={() => selectNode(i.nodeId!)}>
                {i.nodeId}:{' '}
              </button>
            ) : null}
            {i.message} <span className="text-neutral-500">({i.path})</span>
          </li>
        ))}
        {problems.map((p, k) => (
          <li key={`p${k}`} className="text-amber-200">
            {p}
          </li>
        ))}
      </ul>
    </section>
  );
}

function RunStatus() {
  const run = useStudio((s) => s.run);
  const failedTitle = useStudio((s) => {
    const id = s.run?.failedNodeId;
    const n = id ? s.doc?.nodes.find((x) => x.id === id) : undefined;
    return n ? (n.title ?? s.types[n.type]?.title ?? n.id) : id;
  });
  return (
    <section>
      <h3 className="mb-1 text-xs font-semibold text-neutral-400 uppercase">Run</h3>
      {!run && <p className="text-xs text-neutral-500">Not run yet (Ctrl+Enter).</p>}
      {run && (
        <div className="text-xs" data-testid="run-status" data-status={run.status}>
          <span className="font-semibold">{run.status}</span>
          {run.durationMs !== undefined && <span className="text-neutral-400"> in {(run.durationMs / 1000).toFixed(2)} s</span>}
          {run.executed !== undefined && (
            <span className="text-neutral-400">
              {' '}
              ({run.executed} executed, {run.cached ?? 0} cached)
            </span>
          )}
          {run.error && (
            <div className="mt-1 rounded border border-red-800 bg-red-950 p-2 text-red-200">
              {failedTitle && <b>{failedTitle}: </b>}
              {run.error.message}
              {run.error.causes.map((c, k) => (
                <div key={k} className="text-red-300/80">
                  caused by: {c}
                </div>
              ))}
            </div>
          )}
        </div>
      )}
    </section>
  );
}

export function RunPanel() {
  const description = useStudio((s) => s.doc?.meta.description);
  const selected = useStudio((s) => s.selectedNodeIds);
  const nodeIds = useStudio((s) => s.doc?.nodes);
  const ids = useMemo(() => {
    const chosen = selected.filter((id) => !id.startsWith(FRAME_PREFIX));
    return chosen.length > 0 ? chosen : (nodeIds ?? []).map((n) => n.id);
  }, [selected, nodeIds]);
  return (
    <aside className="flex w-96 shrink-0 flex-col gap-3 overflow-auto border-l border-neutral-800 bg-neutral-900/60 p-3 text-sm" data-testid="run-panel">
      {typeof description === 'string' && description && <p className="text-xs text-neutral-400">{description}</p>}
      <Problems />
      <RunStatus />
      {ids.map((id) => (
        <NodePanel key={id} id={id} always={selected.length > 0} />
      ))}
    </aside>
  );
}
