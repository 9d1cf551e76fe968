/**
 * Browser mode (`steer serve`): an HTTP server for the built renderer plus a WebSocket at /ws
 * that relays protocol requests to an EngineHost and broadcasts its events. Bound to 127.0.0.1
 * by default; every WebSocket must present the session token (`/ws?token=...`).
 *
 * Beyond the token: requests must name a loopback host (or the bound one) in `Host`, which
 * defeats DNS rebinding; a WebSocket from a browser must come from this server's own origin;
 * pages carry a CSP that forbids framing; source maps are served only with `dev`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventMessage, ResponseMessage } from '../shared/protocol.ts';
import { handleSafely, parseRequest, type EngineLike } from './engine.ts';

export type { EngineLike } from './engine.ts';

export interface ServerOptions {
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Session token; a random 32-hex-digit one when not given. */
  token?: string;
  /** The engine's graphs folder (listGraphs/readGraph). */
  graphsDir: string;
  cacheDir?: string;
  /** Where runs write their files (Save Image...); `out/serve` under the working folder by default, never inside the graphs folder. */
  outputDir?: string;
  /** Serve source maps (development only). */
  dev?: boolean;
  /** The built renderer (out/renderer). */
  staticDir: string;
  /** An engine to relay to instead of a new EngineHost (tests, embedding). Not disposed by close(). */
  engine?: EngineLike;
}

export interface RunningServer {
  /** Page URL with the token, e.g. http://127.0.0.1:5174/?token=... */
  url: string;
  port: number;
  token: string;
  /** The folder runs write into. */
  outputDir: string;
  close(): Promise<void>;
}

/** WebSocket close code for a client that sent something that is not a protocol request. */
export const CLOSE_PROTOCOL_ERROR = 1008;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page's policy, sent as a header (a meta tag cannot set frame-ancestors). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The host name of a Host header or an origin's authority, without the port. */
function hostName(authority: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(authority.trim().toLowerCase());
  return m?.[1] ?? '';
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(16).toString('hex');
  if (token.length === 0) throw new Error('the server token must not be empty');
  const staticDir = path.resolve(opts.staticDir);
  const outputDir = path.resolve(opts.outputDir ?? path.join(process.cwd(), 'out', 'serve'));
  const boundName = host.includes(':') ? `[${host.toLowerCase()}]` : host.toLowerCase();
  const allowedHost = (header: string | undefined): boolean => {
    if (!header) return false;
    const name = hostName(header);
    return LOOPBACK_NAMES.has(name) || (name === boundName && host !== '0.0.0.0' && host !== '::');
  };

  let engine: EngineLike;
  let ownsEngine = false;
  if (opts.engine) {
    engine = opts.engine;
  } else {
    const { EngineHost } = await import('../engine/host.ts');
    engine = new EngineHost({ graphsDir: opts.graphsDir, cacheDir: opts.cacheDir, outputDir });
    ownsEngine = true;
  }

  const http = createServer((req, res) => {
    if (!allowedHost(req.headers.host)) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('misdirected request: use the URL steer serve printed (a loopback address)\n');
      return;
    }
    serveStatic(staticDir, req, res, opts.dev === true).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** Runs each socket started, cancelled when that socket goes away. */
  const runsBySocket = new Map<WebSocket, Set<string>>();

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'Not Found');
    if (!allowedHost(req.headers.host)) return rejectUpgrade(socket, 421, 'Misdirected Request');
    // Browsers always send Origin: only pages this server served may connect. (Tools without
    // an Origin still need the token.)
    const origin = req.headers.origin;
    if (origin !== undefined && !originMatches(origin, req.headers.host)) return rejectUpgrade(socket, 403, 'Forbidden');
    if (!tokenMatches(url.searchParams.get('token'), token)) return rejectUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    runsBySocket.set(ws, new Set());
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return ws.close(CLOSE_PROTOCOL_ERROR, 'binary messages are not part of the protocol');
      let data: unknown;
      try {
        data = JSON.parse(rawToString(raw));
      } catch {
        return ws.close(CLOSE_PROTOCOL_ERROR, 'message is not JSON');
      }
      const parsed = parseRequest(data);
      if (!parsed.ok) {
        if (parsed.id === undefined) return ws.close(CLOSE_PROTOCOL_ERROR, parsed.reason.slice(0, 120));
        return send(ws, { kind: 'response', id: parsed.id, ok: false, error: { message: parsed.reason } });
      }
      const msg = parsed.msg;
      let runId: string | undefined;
      if (msg.method === 'run') {
        const p = msg.params as { runId?: unknown };
        if (typeof p.runId === 'string') runsBySocket.get(ws)?.add((runId = p.runId));
      }
      void handleSafely(engine, msg).then((response) => {
        if (runId !== undefined) runsBySocket.get(ws)?.delete(runId);
        send(ws, response);
      });
    });
    ws.on('close', () => {
      const runs = runsBySocket.get(ws);
      runsBySocket.delete(ws);
      // Nobody is left to watch these runs: stop them (cached results stay).
      for (const runId of runs ?? []) {
        void handleSafely(engine, { kind: 'request', id: -1, method: 'cancel', params: { runId } });
      }
    });
    ws.on('error', () => ws.terminate());
  });

  const unsubscribe = engine.onEvent((event) => {
    const text = JSON.stringify({ kind: 'event', event } satisfies EventMessage);
    for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/?token=${token}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // Give clients a moment to finish the close handshake, then drop whoever is left.
      await new Promise((r) => setTimeout(r, 50));
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      if (ownsEngine) engine.dispose();
    })();
    return closing;
  };

  return { url, port, token, outputDir, close };
}

function originMatches(origin: string, hostHeader: string | undefined): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && hostHeader !== undefined && u.host.toLowerCase() === hostHeader.trim().toLowerCase();
}

function send(ws: WebSocket, msg: ResponseMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function rawToString(raw: WebSocket.RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`);
}

async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse, dev: boolean): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('bad request\n');
    return;
  }
  let file = path.resolve(root, `.${pathname}`);
  if ((file !== root && !file.startsWith(root + path.sep)) || (!dev && file.endsWith('.map'))) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('forbidden\n');
    return;
  }
  let info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    file = path.join(file, 'index.html');
    info = await stat(file).catch(() => undefined);
  }
  if (!info?.isFile()) {
    // Unknown paths without an extension are app routes: answer with the app.
    if (path.extname(pathname) === '') {
      file = path.join(root, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
  }
  const ext = path.extname(file).toLowerCase();
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    'cache-control': ext === '.html' ? 'no-cache' : 'public, max-age=3600',
    'referrer-policy': 'no-referrer',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
