/**
 * From the document to what React Flow draws, reusing every node and edge object whose inputs
 * did not change: React Flow re-renders a node only when its object is new, so selecting one
 * node of 500 re-renders that one node (docs/../shared/design/editor.md, section 1).
 */
import type { Edge, Node } from '@xyflow/react';
import type { NodeTypeInfo } from '../../../shared/catalogue.ts';
import { UNKNOWN_SOCKET_COLOR } from './colors.ts';
import { FRAME_PREFIX, framesOf, nodeUiEntry, type DocEdge, type DocNode, type EditorDoc, type Frame } from './doc.ts';
import { convertedParams, paramOfHandle } from './param-inputs.ts';

export type StudioNodeData = {
  node: DocNode;
  info: NodeTypeInfo | undefined;
  /** Sockets edges use that the node type does not declare (or the type is missing), comma-joined. */
  extraIn: string;
  extraOut: string;
};

export type StudioFlowNode = Node<StudioNodeData, 'studio'>;
export type FrameFlowNode = Node<{ frame: Frame }, 'frame'>;
export type AnyFlowNode = StudioFlowNode | FrameFlowNode;
export type StudioFlowEdge = Edge<{ socketType?: string }>;

type Size = { width: number; height: number };

export class FlowCache {
  private nodes = new WeakMap<DocNode, StudioFlowNode>();
  private frames = new WeakMap<Frame, FrameFlowNode>();

  /** Frames first, so they are drawn behind the nodes. */
  framesFor(doc: EditorDoc, selected: ReadonlySet<string>): FrameFlowNode[] {
    return framesOf(doc).map((f) => {
      const id = `${FRAME_PREFIX}${f.id}`;
      const isSelected = selected.has(id);
      const prev = this.frames.get(f);
      if (prev && prev.selected === isSelected) return prev;
      const flow: FrameFlowNode = {
        id,
        type: 'frame',
        position: { x: f.x, y: f.y },
        width: f.width,
        height: f.height,
        zIndex: -1,
        selected: isSelected,
        dragHandle: '.frame-title',
        data: { frame: f },
      };
      this.frames.set(f, flow);
      return flow;
    });
  }
  private edges = new WeakMap<DocEdge, StudioFlowEdge>();

  nodesFor(
    doc: EditorDoc,
    types: Readonly<Record<string, NodeTypeInfo>>,
    selected: ReadonlySet<string>,
    measured: Readonly<Record<string, Size>>,
  ): StudioFlowNode[] {
    const extra = undeclaredSockets(doc, types);
    return doc.nodes.map((n) => {
      const info = types[n.type];
      const isSelected = selected.has(n.id);
      const size = measured[n.id];
      const extraIn = extra.in.get(n.id) ?? '';
      const extraOut = extra.out.get(n.id) ?? '';
      const prev = this.nodes.get(n);
      if (prev && prev.selected === isSelected && prev.measured === size && prev.data.info === info && prev.data.extraIn === extraIn && prev.data.extraOut === extraOut) {
        return prev;
      }
      const flow: StudioFlowNode = {
        id: n.id,
        type: 'studio',
        position: n.position,
        selected: isSelected,
        ...(size ? { measured: size } : {}),
        data: { node: n, info, extraIn, extraOut },
      };
      this.nodes.set(n, flow);
      return flow;
    });
  }

  edgesFor(doc: EditorDoc, types: Readonly<Record<string, NodeTypeInfo>>, colors: Readonly<Record<string, { color: string }>>, selected: ReadonlySet<string>): StudioFlowEdge[] {
    const typeOf = new Map(doc.nodes.map((n) => [n.id, n.type]));
    return doc.edges.map((e) => {
      const socketType = types[typeOf.get(e.from.node) ?? '']?.outputs.find((s) => s.id === e.from.output)?.type;
      const stroke = (socketType && colors[socketType]?.color) || UNKNOWN_SOCKET_COLOR;
      const isSelected = selected.has(e.id);
      const prev = this.edges.get(e);
      if (prev && prev.selected === isSelected && prev.style?.stroke === stroke) return prev;
      const flow: StudioFlowEdge = {
        id: e.id,
        type: 'studio',
        source: e.from.node,
        target: e.to.node,
        sourceHandle: e.from.output,
        targetHandle: e.to.input,
        selected: isSelected,
        style: { stroke, strokeWidth: isSelected ? 3 : 2 },
        data: { socketType },
      };
      this.edges.set(e, flow);
      return flow;
    });
  }
}

function undeclaredSockets(doc: EditorDoc, types: Readonly<Record<string, NodeTypeInfo>>): { in: Map<string, string>; out: Map<string, string> } {
  const typeOf = new Map(doc.nodes.map((n) => [n.id, n.type]));
  const add = (m: Map<string, string>, node: string, id: string) => {
    const cur = m.get(node);
    if (!cur) m.set(node, id);
    else if (!cur.split(',').includes(id)) m.set(node, `${cur},${id}`);
  };
  const ins = new Map<string, string>();
  const outs = new Map<string, string>();
  for (const e of doc.edges) {
    const src = types[typeOf.get(e.from.node) ?? ''];
    const dst = types[typeOf.get(e.to.node) ?? ''];
    if (!src?.outputs.some((s) => s.id === e.from.output)) add(outs, e.from.node, e.from.output);
    const param = paramOfHandle(e.to.input);
    // A param's socket is drawn while the param is shown as an input (with a widget kind that has one).
    const asInput = param !== undefined && !!dst?.params[param] && convertedParams(nodeUiEntry(doc, e.to.node)).includes(param);
    if (!asInput && !dst?.inputs.some((s) => s.id === e.to.input)) add(ins, e.to.node, e.to.input);
  }
  return { in: ins, out: outs };
}
