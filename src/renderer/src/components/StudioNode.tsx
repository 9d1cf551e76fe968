import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { MISSING_COLOR, type HandleView, type StudioNodeData } from '../graph-view.ts';
import type { NodeStatus } from '../store.ts';
import { useStudio } from '../studio-context.tsx';

export type StudioFlowNode = Node<StudioNodeData, 'studio'>;

export const STATUS_STYLE: Record<NodeStatus, { ring: string; badge: string; label: string }> = {
  pending: { ring: 'ring-neutral-600', badge: 'bg-neutral-700 text-neutral-200', label: 'pending' },
  running: { ring: 'ring-sky-400', badge: 'bg-sky-500 text-white', label: 'running' },
  cached: { ring: 'ring-violet-400', badge: 'bg-violet-500 text-white', label: 'cached' },
  finished: { ring: 'ring-emerald-400', badge: 'bg-emerald-600 text-white', label: 'finished' },
  failed: { ring: 'ring-red-500', badge: 'bg-red-600 text-white', label: 'failed' },
};

function SocketRow({ handle, side }: { handle: HandleView; side: 'in' | 'out' }) {
  const isIn = side === 'in';
  return (
    <div
      className={`relative flex items-center gap-1 px-3 py-0.5 text-[11px] ${isIn ? 'justify-start' : 'justify-end'}`}
      data-testid={`socket-${side}-${handle.id}`}
      title={handle.type ? `${handle.label}: ${handle.type}` : `${handle.label}: not declared by this node type`}
    >
      <Handle
        type={isIn ? 'target' : 'source'}
        position={isIn ? Position.Left : Position.Right}
        id={handle.id}
        isConnectable={false}
        style={{ background: handle.color }}
      />
      <span className={handle.unknown ? 'text-red-300 italic' : 'text-neutral-300'}>{handle.label}</span>
      {handle.type && <span className="text-neutral-500">{handle.type}</span>}
      {handle.optional && <span className="text-neutral-500">(opt)</span>}
    </div>
  );
}

function StudioNodeView({ data, selected }: NodeProps<StudioFlowNode>) {
  const run = useStudio((s) => s.nodeRuns[data.nodeId]);
  const status = run ? STATUS_STYLE[run.status] : undefined;
  const progress = run?.status === 'running' && run.progress && run.progress.max > 0 ? run.progress.value / run.progress.max : undefined;
  const border = data.missing ? 'bg-red-950/80' : 'border-neutral-700 bg-neutral-900';
  return (
    <div
      className={`studio-node min-w-[220px] max-w-[320px] rounded-md border shadow-lg ${border} ${status ? `ring-2 ${status.ring}` : ''} ${selected ? 'outline outline-2 outline-offset-2 outline-amber-300' : ''}`}
      data-testid={`node-${data.nodeId}`}
      data-node-type={data.nodeType}
      data-missing={data.missing ? 'true' : 'false'}
      data-status={run?.status ?? 'idle'}
      style={data.missing ? { borderColor: MISSING_COLOR } : undefined}
    >
      <div className={`flex items-center gap-2 rounded-t-md px-3 py-1.5 ${data.missing ? 'bg-red-700/70' : 'bg-neutral-800'}`}>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-semibold text-neutral-50" data-testid="node-title">
            {data.title}
          </div>
          <div className="truncate font-mono text-[10px] text-neutral-400" data-testid="node-type">
            {data.nodeType || '(no type)'}
          </div>
        </div>
        {status && <span className={`rounded px-1.5 py-0.5 text-[10px] ${status.badge}`}>{status.label}</span>}
      </div>
      {data.missing && (
        <div className="px-3 py-1 text-[11px] font-semibold" style={{ color: MISSING_COLOR }} data-testid="node-missing">
          missing node type
        </div>
      )}
      {progress !== undefined && (
        <div className="mx-3 mt-1 h-1 overflow-hidden rounded bg-neutral-700">
          <div className="h-full bg-sky-400" style={{ width: `${Math.round(progress * 100)}%` }} />
        </div>
      )}
      <div className="flex justify-between gap-2 py-1">
        <div className="flex flex-col">
          {data.inputs.map((h) => (
            <SocketRow key={h.id} handle={h} side="in" />
          ))}
        </div>
        <div className="flex flex-col">
          {data.outputs.map((h) => (
            <SocketRow key={h.id} handle={h} side="out" />
          ))}
        </div>
      </div>
      {data.params.length > 0 && (
        <dl className="border-t border-neutral-800 px-3 py-1 text-[11px]">
          {data.params.map((p) => (
            <div key={p.key} className="flex justify-between gap-3" data-testid={`param-${p.key}`}>
              <dt className="text-neutral-400">{p.label}</dt>
              <dd className={`truncate font-mono ${p.isDefault ? 'text-neutral-500' : 'text-neutral-200'}`} title={p.value}>
                {p.value}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}

export const StudioNode = memo(StudioNodeView);
