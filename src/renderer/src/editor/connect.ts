/**
 * Whether a link may be drawn, and why not, in words for the user (shown next to the cursor
 * while dragging): a type mismatch (src/shared/sockets.ts `canConnect`), a cycle, a link to
 * itself. An input that is already taken is allowed: the new link replaces the old one, and
 * the hint says so. Also: which node types can take a link dropped on the empty canvas.
 */
import type { NodeTypeInfo, SocketSpec } from '../../../shared/catalogue.ts';
import { canConnect, isSocketType } from '../../../shared/sockets.ts';
import type { DocEdge, EditorDoc } from './doc.ts';
import { paramOfHandle, paramSocket } from './param-inputs.ts';

export interface LinkEnds {
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
}

export type LinkCheck = { ok: true; replaces?: DocEdge; hint?: string } | { ok: false; reason: string };

/** A node type's socket by handle id; on the input side also a param shown as an input (`param:<key>`, editor/param-inputs.ts). */
export function socketOf(info: NodeTypeInfo | undefined, side: 'in' | 'out', id: string): SocketSpec | undefined {
  const declared = (side === 'in' ? info?.inputs : info?.outputs)?.find((s) => s.id === id);
  if (declared || side === 'out') return declared;
  const key = paramOfHandle(id);
  return key === undefined ? undefined : paramSocket(info, key);
}

/** Whether `from`'s output may feed `to`'s input, with a reason when it may not. */
export function typesMatch(from: string, to: string): { ok: true } | { ok: false; reason: string } {
  if (from === to) return { ok: true };
  if (!isSocketType(from) || !isSocketType(to)) return { ok: false, reason: `a ${from} output cannot feed a ${to} input` };
  return canConnect(from, to);
}

/** True when `target` already reaches `source` along edges, so source -> target would close a loop. */
export function wouldCycle(edges: readonly DocEdge[], source: string, target: string): boolean {
  if (source === target) return true;
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.from.node);
    if (list) list.push(e.to.node);
    else out.set(e.from.node, [e.to.node]);
  }
  const seen = new Set<string>([target]);
  const stack = [target];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const next of out.get(n) ?? []) {
      if (next === source) return true;
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}

export function checkLink(doc: EditorDoc, types: Readonly<Record<string, NodeTypeInfo>>, link: LinkEnds): LinkCheck {
  const src = doc.nodes.find((n) => n.id === link.source);
  const dst = doc.nodes.find((n) => n.id === link.target);
  if (!src || !dst) return { ok: false, reason: 'that node no longer exists' };
  if (src.id === dst.id) return { ok: false, reason: 'a node cannot feed itself' };
  const out = socketOf(types[src.type], 'out', link.sourceHandle);
  const inp = socketOf(types[dst.type], 'in', link.targetHandle);
  if (!out || !inp) return { ok: false, reason: 'that socket is not declared by the node type (missing node type?)' };
  const match = typesMatch(out.type, inp.type);
  if (!match.ok) return { ok: false, reason: `${out.label} → ${inp.label}: ${match.reason}` };
  if (wouldCycle(doc.edges, src.id, dst.id)) return { ok: false, reason: `this link would make a cycle: ${dst.title ?? dst.id} already feeds ${src.title ?? src.id}` };
  const taken = doc.edges.find((e) => e.to.node === dst.id && e.to.input === inp.id);
  if (taken) {
    if (taken.from.node === src.id && taken.from.output === out.id) return { ok: false, reason: 'these sockets are already linked' };
    return { ok: true, replaces: taken, hint: `${inp.label} is already taken (from ${taken.from.node}): dropping replaces that link` };
  }
  return { ok: true };
}

/** A node type that can take a dragged link, and the socket of it that would be wired. */
export interface CompatibleType {
  info: NodeTypeInfo;
  socket: SocketSpec;
}

/**
 * Node types with a socket that fits a link dragged from `socketType`: from an output, types
 * with a matching input (the first, required ones preferred); from an input, types with a
 * matching output.
 */
export function compatibleTypes(nodes: readonly NodeTypeInfo[], socketType: string, from: 'source' | 'target'): CompatibleType[] {
  const found: CompatibleType[] = [];
  for (const info of nodes) {
    const candidates = from === 'source' ? info.inputs.filter((s) => typesMatch(socketType, s.type).ok) : info.outputs.filter((s) => typesMatch(s.type, socketType).ok);
    const socket = candidates.find((s) => s.type === socketType && !s.optional) ?? candidates.find((s) => !s.optional) ?? candidates[0];
    if (socket) found.push({ info, socket });
  }
  return found;
}
