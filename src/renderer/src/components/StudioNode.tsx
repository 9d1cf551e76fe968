/**
 * One node on the canvas: title, typed sockets (coloured by type; params converted to inputs
 * among them), the param widgets its schema asks for (right-click one to convert it to an
 * input), its run state (queued, running with progress, cached, done, failed with the
 * message), validation problems, and its newest preview at a size the user can drag. In
 * `memo`, reading only this node's slices of the store, so other nodes changing never
 * re-renders it.
 */
import { Handle, Position, useUpdateNodeInternals, type NodeProps } from '@xyflow/react';
import { memo, useCallback, useEffect, useRef, useState, type MouseEvent as ReactMouseEvent } from 'react';
import { MISSING_COLOR, UNKNOWN_SOCKET_COLOR } from '../editor/colors.ts';
import { nodeUiEntry, previewSizeOf } from '../editor/doc.ts';
import { convertedParams, paramOfHandle, paramSocket, paramSocketType } from '../editor/param-inputs.ts';
import type { StudioFlowNode } from '../editor/flow.ts';
import type { Preview } from '../../../shared/events.ts';
import type { NodeStatus, StudioState } from '../store.ts';
import { useStudio } from '../studio-context.tsx';
import { ContextMenu } from './ContextMenu.tsx';
import { defaultPreviewSize, NODE_PREVIEW_KINDS, NODE_WIDTH, NodePreview, type Size } from './NodePreview.tsx';
import { ParamField } from './ParamField.tsx';

export const STATUS_STYLE: Record<NodeStatus, { ring: string; badge: string; label: string }> = {
  pending: { ring: 'ring-neutral-500', badge: 'bg-neutral-700 text-neutral-200', label: 'queued' },
  running: { ring: 'ring-sky-400', badge: 'bg-sky-500 text-white', label: 'running' },
  cached: { ring: 'ring-violet-400', badge: 'bg-violet-500 text-white', label: 'cached' },
  finished: { ring: 'ring-emerald-400', badge: 'bg-emerald-600 text-white', label: 'done' },
  failed: { ring: 'ring-red-500', badge: 'bg-red-600 text-white', label: 'failed' },
};

interface SocketView {
  id: string;
  label: string;
  type?: string;
  optional?: boolean;
}

function SocketRow({ socket, side, color, onContextMenu }: { socket: SocketView; side: 'in' | 'out'; color: string; onContextMenu?(e: ReactMouseEvent): void }) {
  const isIn = side === 'in';
  return (
    <div
      className={`relative flex min-w-0 items-center gap-1 px-3 py-0.5 text-[11px] ${isIn ? 'justify-start' : 'justify-end'}`}
      data-testid={`socket-${side}-${socket.id}`}
      onContextMenu={onContextMenu}
      title={socket.type ? `${socket.label}: ${socket.type}` : `${socket.label}: not declared by this node type`}
    >
      <Handle type={isIn ? 'target' : 'source'} position={isIn ? Position.Left : Position.Right} id={socket.id} style={{ background: color }} />
      <span className={`truncate ${socket.type ? 'text-neutral-300' : 'text-red-300 italic'}`}>
        {socket.label}
        {socket.optional && <span className="text-neutral-500"> (opt)</span>}
      </span>
    </div>
  );
}

/** The seed a run actually used, as its outputs report it ("latent 1x4x16x16 (seed 7)"). */
function seedFromOutputs(outputs: Record<string, { summary: string }> | undefined): number | undefined {
  for (const o of Object.values(outputs ?? {})) {
    const m = /\(seed (\d+)\)/.exec(o.summary);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Declared inputs, then the params shown as inputs. */
function inputSockets(info: StudioFlowNode['data']['info'], converted: readonly string[]): SocketView[] {
  const list: SocketView[] = [...(info?.inputs ?? [])];
  for (const key of converted) {
    const s = paramSocket(info, key);
    if (s) list.push(s);
  }
  return list;
}

function withExtra(declared: readonly SocketView[], extra: string): SocketView[] {
  const list: SocketView[] = [...declared];
  for (const id of extra ? extra.split(',') : []) list.push({ id, label: id });
  return list;
}

/**
 * With `renders=1` in the page URL, renders are counted per node in `window.__steerRenders`:
 * the browser test checks that selecting or dragging one node re-renders no other.
 */
const RENDERS: Record<string, number> | undefined =
  typeof window !== 'undefined' && new URLSearchParams(window.location.search).get('renders') === '1'
    ? ((window as unknown as { __steerRenders: Record<string, number> }).__steerRenders = {})
    : undefined;

/** What a node draws on the canvas: its newest unframed image, heatmap, bars or curve, else the newest framed one (a run in progress). */
function canvasPreview(s: StudioState, id: string) {
  return s.previews[id]?.findLast((p) => NODE_PREVIEW_KINDS.has(p.kind)) ?? s.frames[id]?.findLast((f) => NODE_PREVIEW_KINDS.has(f.preview.kind))?.preview;
}

/** A node's preview size: the one under the pointer while its corner is dragged, else the saved one, else its default. */
function usePreviewSize(id: string, preview: Preview | undefined, uiEntry: unknown) {
  const resizePreview = useStudio((s) => s.resizePreview);
  const [liveSize, setLiveSize] = useState<Size | null>(null);
  const onResize = useCallback(
    (size: Size, done: boolean) => {
      // Written to the document (one undo step) on release only.
      setLiveSize(done ? null : size);
      if (done) resizePreview(id, size);
    },
    [id, resizePreview],
  );
  const previewSize = preview ? (liveSize ?? previewSizeOf(uiEntry) ?? defaultPreviewSize(preview)) : undefined;
  return { previewSize, onResize };
}

type ParamMenu = { x: number; y: number; key: string; toInput: boolean };

/** The "Convert to input" / "Convert to widget" menu of a node's params, opened by right-click or the context-menu key. */
function useParamMenu() {
  const [menu, setMenu] = useState<ParamMenu | null>(null);
  const closeMenu = useCallback(() => setMenu(null), []);
  const openMenu = (e: ReactMouseEvent, key: string, toInput: boolean) => {
    e.preventDefault();
    e.stopPropagation();
    // From the keyboard there is no pointer: open it under the widget.
    const r = (e.target as Element).getBoundingClientRect();
    const at = e.clientX === 0 && e.clientY === 0 ? { x: r.left, y: r.bottom } : { x: e.clientX, y: e.clientY };
    setMenu({ ...at, key, toInput });
  };
  return { menu, openMenu, closeMenu };
}

/** React Flow measures the handles again when `key` (the node's socket list) changes; not on mount, where it measures anyway. */
function useRemeasureWhen(id: string, key: string) {
  const updateInternals = useUpdateNodeInternals();
  const measured = useRef(key);
  useEffect(() => {
    if (measured.current === key) return;
    measured.current = key;
    updateInternals(id);
  }, [key, id, updateInternals]);
}

function StudioNodeView({ id, data, selected }: NodeProps<StudioFlowNode>) {
  const { node, info } = data;
  if (RENDERS) RENDERS[id] = (RENDERS[id] ?? 0) + 1;
  const run = useStudio((s) => s.nodeRuns[id]);
  const problems = useStudio((s) => s.nodeIssues[id]);
  const preview = useStudio((s) => canvasPreview(s, id));
  const uiEntry = useStudio((s) => nodeUiEntry(s.doc, id));
  const sockets = useStudio((s) => s.catalogue?.sockets);
  const setParam = useStudio((s) => s.setParam);
  const { previewSize, onResize } = usePreviewSize(id, preview, uiEntry);
  const title = node.title ?? info?.title ?? (node.type || node.id);
  const missing = !info;
  const status = run ? STATUS_STYLE[run.status] : undefined;
  const progress = run?.status === 'running' && run.progress && run.progress.max > 0 ? run.progress.value / run.progress.max : undefined;
  const colorOf = (t?: string) => (missing ? MISSING_COLOR : (t && sockets?.[t]?.color) || UNKNOWN_SOCKET_COLOR);
  const converted = convertedParams(uiEntry);
  const inputs = withExtra(inputSockets(info, converted), data.extraIn);
  const { menu, openMenu, closeMenu } = useParamMenu();
  const convertParam = useStudio((s) => s.convertParam);
  useRemeasureWhen(id, converted.join(','));
  const outputs = withExtra(info?.outputs ?? [], data.extraOut);
  const extraParams = Object.keys(node.params).filter((k) => !info?.params[k]);
  const seedKey = info && Object.keys(info.params).find((k) => info.params[k]!.kind === 'seed');
  const seedUsed = seedKey ? seedFromOutputs(run?.outputs) : undefined;
  return (
    <div
      className={`studio-node relative rounded-md border ${missing ? 'bg-red-950/80' : 'border-neutral-700 bg-neutral-900'} ${status ? `ring-2 ${status.ring}` : ''} ${selected ? 'outline-2 outline-offset-2 outline-amber-300' : ''}`}
      data-testid={`node-${id}`}
      data-node-type={node.type}
      data-missing={missing ? 'true' : 'false'}
      data-status={run?.status ?? 'idle'}
      style={{ width: previewSize?.width ?? NODE_WIDTH, ...(missing ? { borderColor: MISSING_COLOR } : {}) }}
    >
      <div className={`flex items-center gap-2 rounded-t-md px-3 py-1.5 ${missing ? 'bg-red-700/70' : 'bg-neutral-800'}`}>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-semibold text-neutral-50" data-testid="node-title">
            {title}
          </div>
          <div className="studio-detail truncate font-mono text-[10px] text-neutral-400" data-testid="node-type">
            {node.type || '(no type)'} · {id}
          </div>
        </div>
        {status && (
          <span className={`studio-detail rounded px-1.5 py-0.5 text-[10px] ${status.badge}`} data-testid="node-status">
            {status.label}
          </span>
        )}
      </div>
      {missing && (
        <div className="studio-detail px-3 py-1 text-[11px] font-semibold" style={{ color: MISSING_COLOR }} data-testid="node-missing">
          missing node type
        </div>
      )}
      {progress !== undefined && (
        <div className="studio-detail mx-3 mt-1 h-1 overflow-hidden rounded bg-neutral-700" role="progressbar" aria-valuenow={Math.round(progress * 100)}>
          <div className="h-full bg-sky-400" style={{ width: `${Math.round(progress * 100)}%` }} />
        </div>
      )}
      <div className="studio-detail flex justify-between gap-1 py-1">
        <div className="flex min-w-0 flex-col">
          {inputs.map((s) => {
            const param = paramOfHandle(s.id);
            return (
              <SocketRow
                key={s.id}
                socket={s}
                side="in"
                color={colorOf(s.type)}
                onContextMenu={param !== undefined && converted.includes(param) ? (e) => openMenu(e, param, false) : undefined}
              />
            );
          })}
        </div>
        <div className="flex min-w-0 flex-col">
          {outputs.map((s) => (
            <SocketRow key={s.id} socket={s} side="out" color={colorOf(s.type)} />
          ))}
        </div>
      </div>
      {(info ? Object.keys(info.params).length > 0 : extraParams.length > 0) && (
        <div className="studio-detail studio-params nodrag nowheel border-t border-neutral-800 py-1">
          {info &&
            Object.entries(info.params).map(([key, ui]) =>
              converted.includes(key) ? null : (
                <div key={key} onContextMenu={paramSocketType(ui) ? (e) => openMenu(e, key, true) : undefined}>
                  <ParamField nodeId={id} paramKey={key} ui={ui} value={node.params[key] ?? ui.default} onChange={setParam} />
                </div>
              ),
            )}
          {seedKey && seedUsed !== undefined && (
            <div className="flex items-center gap-2 px-3 text-[11px] text-neutral-400" data-testid="seed-used">
              <span>
                seed used: <span className="font-mono text-neutral-200">{seedUsed}</span>
              </span>
              {node.params[seedKey] !== seedUsed && (
                <button type="button" className="text-amber-300 underline" onClick={() => setParam(id, seedKey, seedUsed)}>
                  keep it
                </button>
              )}
            </div>
          )}
          {extraParams.map((key) => (
            <div key={key} className="flex justify-between gap-2 px-3 text-[11px]" data-testid={`param-${key}`}>
              <span className="text-neutral-400">{key}</span>
              <span className="truncate font-mono text-neutral-300">{JSON.stringify(node.params[key])}</span>
            </div>
          ))}
        </div>
      )}
      {(run?.error || problems) && (
        // Below the node, outside its box: problems coming and going never move its sockets.
        <div className="studio-detail pointer-events-none absolute top-full right-0 left-0 mt-1 space-y-1">
          {run?.error && (
            <p className="rounded bg-red-950 px-1.5 py-1 text-[11px] text-red-200 shadow" data-testid="node-error">
              {run.error.message}
            </p>
          )}
          {problems && (
            <ul className="list-disc rounded bg-amber-950/90 py-0.5 pr-1 pl-4 text-[10px] text-amber-200 shadow" data-testid="node-problems">
              {problems.map((p, k) => (
                <li key={k}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {menu && (
        <ContextMenu
          at={menu}
          label={`${info?.params[menu.key]?.label ?? menu.key} options`}
          items={[{ label: menu.toInput ? 'Convert to input' : 'Convert to widget', run: () => convertParam(id, menu.key, menu.toInput) }]}
          onClose={closeMenu}
        />
      )}
      {preview && previewSize && <NodePreview preview={preview} size={previewSize} title={title} onResize={onResize} />}
    </div>
  );
}

/**
 * Re-render only for what the node draws: not for its position (every frame of a drag) or the
 * size React Flow measured (all nodes, once, after a graph opens).
 */
function sameNode(a: NodeProps<StudioFlowNode>, b: NodeProps<StudioFlowNode>): boolean {
  const x = a.data;
  const y = b.data;
  return (
    a.id === b.id &&
    a.selected === b.selected &&
    x.info === y.info &&
    x.extraIn === y.extraIn &&
    x.extraOut === y.extraOut &&
    x.node.params === y.node.params &&
    x.node.title === y.node.title &&
    x.node.type === y.node.type
  );
}

export const StudioNode = memo(StudioNodeView, sameNode);
