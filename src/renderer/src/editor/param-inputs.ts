/**
 * Widget-to-input (ComfyUI's "convert widget to input"): a param of a node shown as an input
 * socket of the param's type, so another node's output can drive it. Which params are shown
 * as sockets is UI state (`meta.nodeUi[id].inputs`, a list of param keys); a link into one is
 * an edge whose `to.input` is `param:<key>` (src/shared/sockets.ts; the engine validates it
 * by the param's kind and feeds the linked value to the param, checked by its schema, at run
 * time). The param keeps its value in `params`, so unlinking or converting back brings the
 * typed value back.
 */
import type { NodeTypeInfo, ParamUi, SocketSpec } from '../../../shared/catalogue.ts';
import { PARAM_INPUT_PREFIX, paramKindSocketType } from '../../../shared/sockets.ts';

/** The socket type a param becomes; undefined for kinds that cannot (JSON). */
export function paramSocketType(ui: ParamUi): ReturnType<typeof paramKindSocketType> {
  return paramKindSocketType(ui.kind);
}

export function paramHandle(key: string): string {
  return `${PARAM_INPUT_PREFIX}${key}`;
}

/** The param key of a `param:<key>` handle, else undefined. */
export function paramOfHandle(handle: string): string | undefined {
  return handle.startsWith(PARAM_INPUT_PREFIX) ? handle.slice(PARAM_INPUT_PREFIX.length) : undefined;
}

/** The input socket a param of this node type becomes, when it can become one. */
export function paramSocket(info: NodeTypeInfo | undefined, key: string): SocketSpec | undefined {
  const ui = info?.params[key];
  const type = ui && paramSocketType(ui);
  return ui && type ? { id: paramHandle(key), label: ui.label, type, optional: true, ...(ui.description ? { description: ui.description } : {}) } : undefined;
}

/** The param keys a `meta.nodeUi` entry shows as inputs (malformed entries: none). */
export function convertedParams(entry: unknown): readonly string[] {
  const list = typeof entry === 'object' && entry !== null ? (entry as { inputs?: unknown }).inputs : undefined;
  return Array.isArray(list) ? list.filter((k): k is string => typeof k === 'string') : NONE;
}

const NONE: readonly string[] = [];
