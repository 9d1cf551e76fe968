/**
 * The relay between one Electron MessagePort and the engine, used by the utility process
 * (engine-process.ts). Plain Node: no electron import, so tests drive it with a fake port.
 */
import type { EngineEvent } from '../shared/events.ts';
import type { EventMessage, ResponseMessage } from '../shared/protocol.ts';
import { handleSafely, parseRequest, type EngineLike } from '../server/engine.ts';

/** The parts of Electron's MessagePortMain the relay uses (typed here to keep electron out). */
export interface PortLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
}

export interface ParentPortLike {
  on(event: 'message', listener: (e: { data: unknown; ports: PortLike[] }) => void): unknown;
}

/** Relays one port to the engine until the port closes. Returns a function that detaches it. */
export function attachPort(engine: EngineLike, port: PortLike): () => void {
  let open = true;
  const runs = new Set<string>();
  const post = (msg: ResponseMessage | EventMessage) => {
    if (open) port.postMessage(msg);
  };
  const unsubscribe = engine.onEvent((event: EngineEvent) => post({ kind: 'event', event }));
  port.on('message', ({ data }) => {
    const parsed = parseRequest(data);
    if (!parsed.ok) {
      if (parsed.id !== undefined) post({ kind: 'response', id: parsed.id, ok: false, error: { message: parsed.reason } });
      return;
    }
    const msg = parsed.msg;
    const runId = msg.method === 'run' ? (msg.params as { runId?: unknown }).runId : undefined;
    if (typeof runId === 'string') runs.add(runId);
    void handleSafely(engine, msg).then((res) => {
      if (typeof runId === 'string') runs.delete(runId);
      post(res);
    });
  });
  const detach = () => {
    if (!open) return;
    open = false;
    unsubscribe();
    // The page that started these runs is gone (reload or closed window): stop them.
    for (const runId of runs) void handleSafely(engine, { kind: 'request', id: -1, method: 'cancel', params: { runId } });
  };
  port.on('close', detach);
  port.start();
  return detach;
}
