/**
 * What the server (and the Electron engine process) need from the engine: the subset of
 * EngineHost's public surface that relays use. Declared structurally so tests can hand in a
 * stand-in and so the relays do not depend on the host's internals.
 */
import type { EngineEvent } from '../shared/events.ts';
import type { RequestMessage, RequestName, ResponseMessage } from '../shared/protocol.ts';

export interface EngineLike {
  handle(msg: RequestMessage): Promise<ResponseMessage>;
  onEvent(listener: (e: EngineEvent) => void): () => void;
  dispose(): void;
}

export const REQUEST_METHODS: readonly RequestName[] = ['catalogue', 'validate', 'run', 'cancel', 'listGraphs', 'readGraph', 'writeGraph', 'graphFromPng', 'upgradeGraph', 'listFiles'];

/**
 * Checks that a decoded message is a RequestMessage. Returns the message, or a sentence saying
 * what is wrong with it (and the id, when the message had a usable one, so the error can be
 * answered as a response).
 */
export function parseRequest(data: unknown): { ok: true; msg: RequestMessage } | { ok: false; id?: number; reason: string } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'message is not a JSON object' };
  }
  const m = data as Record<string, unknown>;
  const id = typeof m.id === 'number' && Number.isSafeInteger(m.id) ? m.id : undefined;
  if (m.kind !== 'request') return { ok: false, id, reason: `message kind must be "request", got ${JSON.stringify(m.kind)}` };
  if (id === undefined) return { ok: false, reason: 'request id must be an integer' };
  if (typeof m.method !== 'string' || !(REQUEST_METHODS as readonly string[]).includes(m.method)) {
    return { ok: false, id, reason: `unknown method ${JSON.stringify(m.method)} (known: ${REQUEST_METHODS.join(', ')})` };
  }
  const params = m.params === undefined ? {} : m.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, id, reason: 'request params must be an object' };
  }
  return { ok: true, msg: { kind: 'request', id, method: m.method as RequestName, params: params as never } };
}

/** Calls the engine, turning a thrown error into an error response (the engine should not throw, but a relay must never drop a request). */
export async function handleSafely(engine: EngineLike, msg: RequestMessage): Promise<ResponseMessage> {
  try {
    return await engine.handle(msg);
  } catch (err) {
    return { kind: 'response', id: msg.id, ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
  }
}
