/**
 * The editable canvas. React Flow is controlled: nodes and edges are derived from the document
 * (editor/flow.ts reuses unchanged objects), and its changes come back as edits: moves (a whole
 * drag is one undo step), selection, new links (checked by editor/connect.ts; a refused one
 * says why next to the cursor). Double-click on the pane, or drop a dragged link on it, opens
 * the "Add node" menu; node types dragged from the library drop here; so do .json graphs and
 * PNGs made by Save Image (their embedded graph opens).
 */
import {
  Controls,
  ReactFlow,
  useConnection,
  useNodesInitialized,
  useReactFlow,
  useStore as useFlowStore,
  useStoreApi,
  type Connection,
  type EdgeChange,
  type EdgeTypes,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
  type NodeTypes,
  type OnConnectEnd,
  type OnNodeDrag,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type MouseEvent as ReactMouseEvent } from 'react';
import { checkLink, socketOf } from '../editor/connect.ts';
import { FRAME_PREFIX, framesOf } from '../editor/doc.ts';
import { FlowCache, type AnyFlowNode, type StudioFlowEdge } from '../editor/flow.ts';
import type { StudioState } from '../store.ts';
import { useStudio, useStudioStore } from '../studio-context.tsx';
import { confirmDiscard } from './confirm.ts';
import { FrameNode } from './FrameNode.tsx';
import { Minimap } from './Minimap.tsx';
import { StudioEdge } from './StudioEdge.tsx';
import { StudioNode } from './StudioNode.tsx';

const nodeTypes: NodeTypes = { studio: StudioNode, frame: FrameNode };
const edgeTypes: EdgeTypes = { studio: StudioEdge };
type Size = { width: number; height: number };
const FIT_OPTIONS = { padding: 0.15 } as const;
const PRO_OPTIONS = { hideAttribution: true } as const;
/** MIME type of a node type dragged from the library. */
export const NODE_TYPE_MIME = 'application/x-steer-node-type';

function linkEnds(fromType: 'source' | 'target', from: { nodeId: string; id?: string | null }, to: { nodeId: string; id?: string | null }) {
  const a = { node: from.nodeId, handle: from.id ?? '' };
  const b = { node: to.nodeId, handle: to.id ?? '' };
  const [src, dst] = fromType === 'source' ? [a, b] : [b, a];
  return { source: src.node, sourceHandle: src.handle, target: dst.node, targetHandle: dst.handle };
}

/** Next to the cursor while a link is dragged over a socket: why it would be refused, or what dropping does. */
function ConnectionHint() {
  const conn = useConnection();
  const store = useStudioStore();
  if (!conn.inProgress || !conn.toHandle || !conn.fromHandle) return null;
  const { doc, types } = store.getState();
  if (!doc) return null;
  const check = checkLink(doc, types, linkEnds(conn.fromHandle.type, conn.fromHandle, conn.toHandle));
  const text = check.ok ? check.hint : check.reason;
  if (!text) return null;
  return (
    <div
      role="status"
      data-testid="link-hint"
      data-refused={check.ok ? 'false' : 'true'}
      className={`pointer-events-none absolute z-50 max-w-xs rounded px-2 py-1 text-xs shadow-lg ${check.ok ? 'bg-amber-900 text-amber-100' : 'bg-red-900 text-red-100'}`}
      style={{ left: conn.pointer.x + 16, top: conn.pointer.y + 16 }}
    >
      {check.ok ? text : `Can't connect: ${text}`}
    </div>
  );
}

const DOT_GAP = 24;
/** The largest tile the dots can have (the gap at the largest zoom): the pattern box overhangs the pane by this much. */
const DOT_OVERHANG = DOT_GAP * 2.5;
const DOTS_STYLE = {
  position: 'absolute',
  left: -DOT_OVERHANG,
  top: -DOT_OVERHANG,
  right: -DOT_OVERHANG,
  bottom: -DOT_OVERHANG,
  willChange: 'transform',
  backgroundImage: 'radial-gradient(circle, #71717a 0.9px, transparent 1.3px)',
} as const;

/**
 * The dot grid behind the canvas. React Flow's <Background> re-renders and repaints on every
 * frame of a pan, and each repaint makes Chromium re-layerize the whole canvas (bench:editor,
 * 500 nodes: 27 -> 39 fps without it). Here one box with a CSS dot pattern, on its own
 * compositor layer, is moved by less than one tile per frame with a transform written straight
 * from the viewport store: a pan repaints nothing; a zoom repaints the box only.
 */
function CanvasDots() {
  const flow = useStoreApi();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let zoom = -1;
    const place = ([x, y, z]: [number, number, number]) => {
      const el = ref.current;
      if (!el) return;
      const g = DOT_GAP * z;
      if (z !== zoom) {
        zoom = z;
        el.style.backgroundSize = `${g}px ${g}px`;
        // Far out the dots would be a grey haze: none.
        el.style.visibility = g < 8 ? 'hidden' : 'visible';
      }
      // Tile centres (the dots) land on flow multiples of the gap.
      const dx = ((((x - g / 2 + DOT_OVERHANG) % g) + g) % g);
      const dy = ((((y - g / 2 + DOT_OVERHANG) % g) + g) % g);
      el.style.transform = `translate(${dx}px, ${dy}px)`;
    };
    place(flow.getState().transform);
    return flow.subscribe((s, prev) => {
      if (s.transform !== prev.transform) place(s.transform);
    });
  }, [flow]);
  return (
    <div className="react-flow__background absolute inset-0 overflow-hidden">
      <div ref={ref} style={DOTS_STYLE} data-testid="canvas-dots" />
    </div>
  );
}

/** Fits the view once the document just opened is on the canvas and measured (not the previous one's nodes). */
function FitOnOpen({ openCount, nodeIds, onFitted }: { openCount: number; nodeIds: string[]; onFitted(openCount: number): void }) {
  const { fitView } = useReactFlow();
  const initialized = useNodesInitialized();
  const flowIds = useFlowStore((s) => s.nodes);
  const fitted = useRef(-1);
  useEffect(() => {
    if (fitted.current === openCount) return;
    // An empty document has nothing to fit; the nodes added to it later must not zoom the view.
    if (nodeIds.length === 0) {
      fitted.current = openCount;
      onFitted(openCount);
      return;
    }
    if (!initialized) return;
    if (flowIds.length !== nodeIds.length || flowIds.some((n, i) => n.id !== nodeIds[i])) return;
    fitted.current = openCount;
    void fitView(FIT_OPTIONS).then(() => onFitted(openCount));
  }, [openCount, initialized, flowIds, nodeIds, fitView, onFitted]);
  return null;
}

const selectView = (s: StudioState) => s.doc;
/** Below this zoom, widgets are not painted (they are too small to use): panning 500 nodes stays fast. */
export const DETAIL_ZOOM = 0.3;
const selectFar = (s: { transform: [number, number, number] }) => s.transform[2] < DETAIL_ZOOM;

/** Marks the canvas "far" when zoomed out; flips only when the zoom crosses DETAIL_ZOOM. */
function DetailLevel({ onChange }: { onChange(far: boolean): void }) {
  const far = useFlowStore(selectFar);
  useEffect(() => onChange(far), [far, onChange]);
  return null;
}

export function GraphCanvas() {
  const doc = useStudio(selectView);
  const types = useStudio((s) => s.types);
  const sockets = useStudio((s) => s.catalogue?.sockets);
  const selectedNodeIds = useStudio((s) => s.selectedNodeIds);
  const selectedEdgeIds = useStudio((s) => s.selectedEdgeIds);
  const openCount = useStudio((s) => s.openCount);
  const store = useStudioStore();
  const { screenToFlowPosition } = useReactFlow();
  const cache = useRef(new FlowCache());
  // What React Flow measured, given back on the nodes (it re-measures a node object that lacks it).
  const [measured, setMeasured] = useState<Record<string, Size>>({});
  const dragSerial = useRef(0);
  const [refusal, setRefusal] = useState<{ text: string; x: number; y: number } | null>(null);
  // Which opened document the view was last fitted to (data-fitted: tests and bench:editor wait on it).
  const [fittedCount, setFittedCount] = useState(-1);
  useEffect(() => setMeasured({}), [openCount]);
  const [far, setFar] = useState(false);

  const selectedNodes = useMemo(() => new Set(selectedNodeIds), [selectedNodeIds]);
  const selectedEdges = useMemo(() => new Set(selectedEdgeIds), [selectedEdgeIds]);
  const nodes = useMemo<AnyFlowNode[]>(
    () => (doc ? [...cache.current.framesFor(doc, selectedNodes), ...cache.current.nodesFor(doc, types, selectedNodes, measured)] : []),
    [doc, types, selectedNodes, measured],
  );
  /** Per frame being dragged: the nodes that were inside it when the drag started. */
  const frameContents = useRef(new Map<string, string[]>());
  const edges = useMemo<StudioFlowEdge[]>(() => (doc ? cache.current.edgesFor(doc, types, sockets ?? {}, selectedEdges) : []), [doc, types, sockets, selectedEdges]);
  const nodeIds = useMemo(() => nodes.map((n) => n.id), [nodes]);

  const onNodesChange = useCallback(
    (changes: NodeChange<AnyFlowNode>[]) => {
      const sizes: Record<string, Size> = {};
      let sized = false;
      const moves: { id: string; position: { x: number; y: number } }[] = [];
      let dragging = false;
      const s = store.getState();
      let sel: Set<string> | undefined;
      for (const c of changes) {
        if ((c.type === 'dimensions' || c.type === 'position') && c.id.startsWith(FRAME_PREFIX)) {
          const frameId = c.id.slice(FRAME_PREFIX.length);
          if (c.type === 'dimensions' && c.dimensions && c.resizing) s.updateFrame(frameId, c.dimensions, `resize:${frameId}`);
          else if (c.type === 'position' && c.position && c.dragging) s.moveFrame(frameId, c.position, frameContents.current.get(frameId) ?? [], `drag:${dragSerial.current}`);
          else if (c.type === 'position' && c.position) s.updateFrame(frameId, c.position, `resize:${frameId}`);
        } else if (c.type === 'dimensions' && c.dimensions) {
          sizes[c.id] = c.dimensions;
          sized = true;
        } else if (c.type === 'position' && c.position) {
          moves.push({ id: c.id, position: c.position });
          dragging ||= c.dragging === true;
        } else if (c.type === 'select') {
          sel ??= new Set(s.selectedNodeIds);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        }
      }
      if (sized) setMeasured((m) => ({ ...m, ...sizes }));
      if (moves.length > 0) s.moveNodes(moves, dragging ? `drag:${dragSerial.current}` : 'nudge');
      if (sel) s.setSelection([...sel], store.getState().selectedEdgeIds);
    },
    [store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<StudioFlowEdge>[]) => {
      const s = store.getState();
      let sel: Set<string> | undefined;
      for (const c of changes) {
        if (c.type !== 'select') continue;
        sel ??= new Set(s.selectedEdgeIds);
        if (c.selected) sel.add(c.id);
        else sel.delete(c.id);
      }
      if (sel) s.setSelection(store.getState().selectedNodeIds, [...sel]);
    },
    [store],
  );

  const onNodeDragStart = useCallback<OnNodeDrag<AnyFlowNode>>(
    (_e, _node, dragged) => {
      dragSerial.current += 1;
      // A frame carries the nodes whose top-left corner is inside it when the drag starts.
      frameContents.current.clear();
      const d = store.getState().doc;
      if (!d) return;
      for (const f of framesOf(d)) {
        if (!dragged.some((n) => n.id === `${FRAME_PREFIX}${f.id}`)) continue;
        const inside = d.nodes.filter((n) => n.position.x >= f.x && n.position.x <= f.x + f.width && n.position.y >= f.y && n.position.y <= f.y + f.height);
        frameContents.current.set(f.id, inside.filter((n) => !dragged.some((m) => m.id === n.id)).map((n) => n.id));
      }
    },
    [store],
  );

  const isValidConnection = useCallback<IsValidConnection<StudioFlowEdge>>(
    (c) => {
      const { doc: d, types: t } = store.getState();
      return !!d && checkLink(d, t, { source: c.source, sourceHandle: c.sourceHandle ?? '', target: c.target, targetHandle: c.targetHandle ?? '' }).ok;
    },
    [store],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      store.getState().connect({ source: c.source, sourceHandle: c.sourceHandle ?? '', target: c.target, targetHandle: c.targetHandle ?? '' });
    },
    [store],
  );

  const onConnectEnd = useCallback<OnConnectEnd>(
    (event, state: FinalConnectionState) => {
      const point = 'changedTouches' in event ? event.changedTouches[0]! : event;
      if (!state.fromHandle) return;
      const s = store.getState();
      if (state.toHandle) {
        // Dropped on a socket that refused: keep the reason on screen a moment.
        if (state.isValid === false && s.doc) {
          const check = checkLink(s.doc, s.types, linkEnds(state.fromHandle.type, state.fromHandle, state.toHandle));
          if (!check.ok) setRefusal({ text: check.reason, x: point.clientX, y: point.clientY });
        }
        return;
      }
      if (state.isValid) return;
      // Dropped on empty canvas: offer the node types that can take this link.
      const fromNode = s.doc?.nodes.find((n) => n.id === state.fromHandle!.nodeId);
      const socket = socketOf(fromNode && s.types[fromNode.type], state.fromHandle.type === 'source' ? 'out' : 'in', state.fromHandle.id ?? '');
      if (!socket) return;
      s.setAddMenu({
        screen: { x: point.clientX, y: point.clientY },
        flow: screenToFlowPosition({ x: point.clientX, y: point.clientY }),
        link: { nodeId: state.fromHandle.nodeId, handleId: state.fromHandle.id ?? '', handleType: state.fromHandle.type, socketType: socket.type },
      });
    },
    [store, screenToFlowPosition],
  );

  useEffect(() => {
    if (!refusal) return;
    const t = setTimeout(() => setRefusal(null), 2500);
    return () => clearTimeout(t);
  }, [refusal]);

  const onDoubleClick = useCallback(
    (e: ReactMouseEvent) => {
      if (!(e.target as Element).classList.contains('react-flow__pane')) return;
      store.getState().setAddMenu({ screen: { x: e.clientX, y: e.clientY }, flow: screenToFlowPosition({ x: e.clientX, y: e.clientY }) });
    },
    [store, screenToFlowPosition],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(NODE_TYPE_MIME) || e.dataTransfer.types.includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(NODE_TYPE_MIME);
      if (type) {
        e.preventDefault();
        store.getState().addNode(type, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
        return;
      }
      const file = e.dataTransfer.files[0];
      if (file) {
        e.preventDefault();
        if (confirmDiscard(store.getState())) void openDroppedFile(store.getState(), file);
      }
    },
    [store, screenToFlowPosition],
  );

  if (!doc) return null;
  return (
    // Until a document just opened is fitted, it is drawn as if far out: a large graph is fitted
    // far out and so never switches (a switch restyles every node's details), a small one
    // switches once, cheaply.
    <div className={`absolute inset-0 ${far || fittedCount !== openCount ? 'studio-far' : ''}`} onDoubleClick={onDoubleClick} onDragOver={onDragOver} onDrop={onDrop} data-testid="flow" data-fitted={fittedCount === openCount ? 'true' : 'false'}>
      <ReactFlow<AnyFlowNode, StudioFlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        colorMode="dark"
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStart={onNodeDragStart}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        deleteKeyCode={null}
        zoomOnDoubleClick={false}
        minZoom={0.05}
        maxZoom={2.5}
        proOptions={PRO_OPTIONS}
      >
        <CanvasDots />
        <Controls showInteractive={false} />
        <Minimap />
        <ConnectionHint />
        <DetailLevel onChange={setFar} />
        <FitOnOpen openCount={openCount} nodeIds={nodeIds} onFitted={setFittedCount} />
      </ReactFlow>
      {refusal && (
        <div role="alert" data-testid="link-refused" className="pointer-events-none fixed z-50 max-w-xs rounded bg-red-900 px-2 py-1 text-xs text-red-100 shadow-lg" style={{ left: refusal.x + 16, top: refusal.y + 16 }}>
          Can't connect: {refusal.text}
        </div>
      )}
    </div>
  );
}

/** A .json graph or a PNG with an embedded graph, dropped on the canvas. */
export async function openDroppedFile(s: StudioState, file: File): Promise<void> {
  const name = file.name.replace(/\.(json|png)$/i, '');
  if (/\.png$/i.test(file.name) || file.type === 'image/png') {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    await s.openFromPng(btoa(binary), file.name);
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch (err) {
    s.reportFileError(`${file.name} is not JSON: ${(err as Error).message}`);
    return;
  }
  await s.openDocument(json, name, `opened ${file.name} (not saved in the graphs folder yet)`);
}
