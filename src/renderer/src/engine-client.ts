/**
 * The renderer's connection to the engine, whatever the transport: `window.steer` (Electron
 * preload over a MessagePort) when present, else a WebSocket to `steer serve` at
 * `/ws?token=<token from the page URL>`. Everything above this file sees only EngineApi.
 */
import type { EngineEvent } from '../../shared/events.ts';
import type { GraphIssue } from '../../shared/graph.ts';
import type { EngineApi, EngineRequests, RequestMessage, RequestName, ServerMessage } from '../../shared/protocol.ts';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface EngineConnection extends EngineApi {
  readonly transport: 'electron' | 'websocket';
  state(): ConnectionState;
  onState(listener: (state: ConnectionState, reason?: string) => void): () => void;
  close(): void;
}

/** A request the engine answered with an error; `issues` lists graph problems when there were any. */
export class EngineRequestError extends Error {
  constructor(message: string, readonly issues: GraphIssue[] = []) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

/** Picks the transport for this page. */
export function connectEngine(win: Window = window): EngineConnection {
  const bridged = (win as Window & { steer?: EngineApi }).steer;
  if (bridged) return wrapBridge(bridged);
  const params = new URLSearchParams(win.location.search);
  const token = params.get('token') ?? '';
  const scheme = win.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return createWebSocketEngine(`${scheme}//${win.location.host}/ws?token=${encodeURIComponent(token)}`);
}

function wrapBridge(api: EngineApi): EngineConnection {
  return {
    transport: 'electron',
    request: (method, params) =>
      api.request(method, params).catch((err: unknown) => {
        throw toError(err);
      }),
    onEvent: (listener) => api.onEvent(listener),
    state: () => 'open',
    onState: () => () => {},
    close: () => {},
  };
}

/** Rejections from the preload arrive as plain `{ message, issues }` objects (see src/preload). */
export function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    const { message, issues } = err as { message: string; issues?: unknown };
    return new EngineRequestError(message, Array.isArray(issues) ? (issues as GraphIssue[]) : []);
  }
  return new Error(String(err));
}

type WebSocketCtor = new (url: string) => WebSocket;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** Delays between reconnection attempts after the socket closes (the last one repeats). */
export const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000];

/**
 * A WebSocket client for the protocol. Requests made before the socket opens are queued;
 * when the socket closes, pending requests fail with the close reason (a wrong token closes
 * the handshake with HTTP 401, which browsers report only as a failed connection), and the
 * client keeps trying to reconnect (the server restarted, the laptop woke up) until `close()`.
 */
export function createWebSocketEngine(url: string, Ctor: WebSocketCtor = globalThis.WebSocket, delays: readonly number[] = RECONNECT_DELAYS_MS): EngineConnection {
  let nextId = 1;
  let state: ConnectionState = 'connecting';
  let closeReason: string | undefined;
  let attempt = 0;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Map<number, Pending>();
  const queue: string[] = [];
  const eventListeners = new Set<(e: EngineEvent) => void>();
  const stateListeners = new Set<(s: ConnectionState, reason?: string) => void>();

  const setState = (s: ConnectionState, reason?: string) => {
    state = s;
    for (const l of [...stateListeners]) l(s, reason);
  };

  let ws: WebSocket;
  const open = () => {
    ws = new Ctor(url);
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      attempt = 0;
      setState('open');
      for (const text of queue.splice(0)) ws.send(text);
    });
    ws.addEventListener('message', (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(ev.data) as ServerMessage;
      } catch {
        return;
      }
      if (msg.kind === 'event') {
        for (const l of [...eventListeners]) l(msg.event);
      } else if (msg.kind === 'response') {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new EngineRequestError(msg.error.message, msg.error.issues));
      }
    });
    ws.addEventListener('close', (ev: CloseEvent) => {
      closeReason =
        ev.reason ||
        (opened ? `connection to the engine closed (code ${ev.code}); reconnecting…` : 'could not connect to the engine: is `steer serve` running, and does the page URL carry its token?');
      setState('closed', closeReason);
      for (const p of pending.values()) p.reject(new Error(closeReason));
      pending.clear();
      queue.length = 0;
      if (stopped) return;
      const delay = delays[Math.min(attempt, delays.length - 1)] ?? 1000;
      attempt += 1;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        if (!stopped) open();
      }, delay);
    });
  };
  open();

  return {
    transport: 'websocket',
    request<K extends RequestName>(method: K, params: EngineRequests[K]['params']): Promise<EngineRequests[K]['result']> {
      if (state === 'closed') return Promise.reject(new Error(closeReason ?? 'connection to the engine is closed'));
      const id = nextId++;
      const msg: RequestMessage<K> = { kind: 'request', id, method, params };
      const text = JSON.stringify(msg);
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        if (state === 'open') ws.send(text);
        else queue.push(text);
      });
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    state: () => state,
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    close() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      ws.close(1000, 'client closed');
    },
  };
}
