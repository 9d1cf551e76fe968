import { useStudio } from '../studio-context.tsx';
import { PreviewView } from './PreviewView.tsx';
import { STATUS_STYLE } from './StudioNode.tsx';

export function RunPanel() {
  const view = useStudio((s) => s.view);
  const run = useStudio((s) => s.run);
  const nodeRuns = useStudio((s) => s.nodeRuns);
  const previews = useStudio((s) => s.previews);
  const logs = useStudio((s) => s.logs);
  const issues = useStudio((s) => s.issues);
  const problems = view?.problems ?? [];
  const selectedNodeId = useStudio((s) => s.selectedNodeId);
  const selectNode = useStudio((s) => s.selectNode);
  const titleOf = (id: string) => view?.nodes.find((n) => n.id === id)?.data.title ?? id;
  const shown = selectedNodeId ? [selectedNodeId] : (view?.nodes.map((n) => n.id) ?? []);

  return (
    <aside className="flex w-96 shrink-0 flex-col gap-3 overflow-auto border-l border-neutral-800 bg-neutral-900/60 p-3 text-sm" data-testid="run-panel">
      {view?.description && <p className="text-xs text-neutral-400">{view.description}</p>}

      {(issues.length > 0 || problems.length > 0) && (
        <section>
          <h3 className="mb-1 text-xs font-semibold text-amber-300 uppercase">Problems</h3>
          <ul className="space-y-1 text-xs" data-testid="issues">
            {issues.map((i, k) => (
              <li key={`i${k}`} className="text-amber-200">
                {i.nodeId ? <b>{i.nodeId}: </b> : null}
                {i.message} <span className="text-neutral-500">({i.path})</span>
              </li>
            ))}
            {issues.length === 0 && problems.map((p, k) => <li key={`p${k}`} className="text-amber-200">{p}</li>)}
          </ul>
        </section>
      )}

      <section>
        <h3 className="mb-1 text-xs font-semibold text-neutral-400 uppercase">Run</h3>
        {!run && <p className="text-xs text-neutral-500">Not run yet.</p>}
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
                {run.failedNodeId && <b>{titleOf(run.failedNodeId)}: </b>}
                {run.error.message}
                {run.error.causes.map((c, k) => (
                  <div key={k} className="text-red-300/80">caused by: {c}</div>
                ))}
              </div>
            )}
          </div>
        )}
      </section>

      {selectedNodeId && (
        <button className="self-start text-xs text-neutral-400 hover:text-neutral-100" onClick={() => selectNode(null)}>
          ← all nodes
        </button>
      )}

      {shown.map((id) => {
        const nr = nodeRuns[id];
        const list = previews[id] ?? [];
        const nodeLogs = logs.filter((l) => l.nodeId === id);
        if (!nr && list.length === 0 && !selectedNodeId) return null;
        return (
          <section key={id} className="rounded border border-neutral-800 p-2" data-testid={`node-panel-${id}`}>
            <div className="mb-1 flex items-center gap-2">
              <button className="truncate font-semibold text-neutral-100" onClick={() => selectNode(id)}>
                {titleOf(id)}
              </button>
              {nr && <span className={`rounded px-1.5 text-[10px] ${STATUS_STYLE[nr.status].badge}`}>{nr.status}</span>}
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
                {nodeLogs.slice(-20).map((l, k) => (
                  <li key={k} className={l.level === 'error' ? 'text-red-300' : l.level === 'warn' ? 'text-amber-300' : 'text-neutral-400'}>
                    {l.message}
                  </li>
                ))}
              </ul>
            )}
            <div className="mt-1 space-y-2">
              {list.map((p, k) => (
                <PreviewView key={k} preview={p} />
              ))}
            </div>
          </section>
        );
      })}
    </aside>
  );
}
