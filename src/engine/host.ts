/**
 * EngineHost: the engine behind the typed protocol (src/shared/protocol.ts). One instance
 * serves one UI connection set: the Electron utilityProcess, `steer serve`, or tests. It owns
 * the executor (and so the output cache, which survives between runs) and the active runs.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { PNG_KEYS } from '../nodes/image-save.ts';
import { BUILTIN_NODES } from '../nodes/registry.ts';
import type { EngineEvent } from '../shared/events.ts';
import { GRAPH_FORMAT, GRAPH_VERSION, type GraphFile, type GraphIssue } from '../shared/graph.ts';
import type { EngineRequests, RequestMessage, ResponseMessage } from '../shared/protocol.ts';
import { Executor } from './graph/executor.ts';
import { GraphFileError, readGraphJson, serializeGraph } from './graph/file.ts';
import { PngFormatError, readPngText } from './image/png.ts';
import { writeFileAtomic } from './util/fs.ts';
import { MigrationError, migrateGraph } from './graph/migrate.ts';
import { NodeRegistry } from './graph/registry.ts';
import { validateGraph } from './graph/validate.ts';

export interface EngineHostOptions {
  graphsDir: string;
  cacheDir?: string;
  outputDir?: string;
  registry?: NodeRegistry;
}

type Handlers = { [K in keyof EngineRequests]: (params: EngineRequests[K]['params']) => Promise<EngineRequests[K]['result']> };

class RequestError extends Error {
  constructor(message: string, readonly issues?: GraphIssue[]) {
    super(message);
  }
}

export class EngineHost {
  readonly registry: NodeRegistry;
  readonly executor: Executor;
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly runs = new Map<string, AbortController>();
  private readonly graphsDir: string;

  constructor(private readonly opts: EngineHostOptions) {
    this.registry = opts.registry ?? new NodeRegistry(BUILTIN_NODES);
    this.executor = new Executor(this.registry);
    this.graphsDir = resolve(opts.graphsDir);
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Answer one request. Never throws: failures become `ok: false` responses. */
  async handle(msg: RequestMessage): Promise<ResponseMessage> {
    const handler = (this.handlers as Record<string, ((p: unknown) => Promise<unknown>) | undefined>)[msg.method];
    if (!handler) return { kind: 'response', id: msg.id, ok: false, error: { message: `unknown method "${String(msg.method)}"` } };
    try {
      return { kind: 'response', id: msg.id, ok: true, result: await handler(msg.params ?? {}) };
    } catch (err) {
      const issues = err instanceof RequestError || err instanceof GraphFileError ? err.issues : undefined;
      return { kind: 'response', id: msg.id, ok: false, error: { message: (err as Error).message ?? String(err), ...(issues?.length ? { issues } : {}) } };
    }
  }

  /** Cancel every active run. */
  dispose(): void {
    for (const ac of this.runs.values()) ac.abort();
    this.runs.clear();
    this.listeners.clear();
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // one broken listener must not starve the others
      }
    }
  }

  private readonly handlers: Handlers = {
    catalogue: async () => this.registry.catalogue(),
    validate: async ({ graph }) => {
      const r = validateGraph(graph, this.registry);
      return { ok: r.ok, issues: r.issues };
    },
    run: async ({ runId, graph, targets }) => {
      if (typeof runId !== 'string' || runId === '') throw new RequestError('run needs a runId');
      if (this.runs.has(runId)) throw new RequestError(`run "${runId}" is already active`);
      const v = validateGraph(graph, this.registry);
      if (!v.ok) throw new RequestError(`the graph has ${v.issues.length} problem${v.issues.length > 1 ? 's' : ''}`, v.issues);
      const ac = new AbortController();
      this.runs.set(runId, ac);
      try {
        const r = await this.executor.run(v.graph, {
          runId,
          ...(targets ? { targets } : {}),
          signal: ac.signal,
          onEvent: (e) => this.emit(e),
          baseDir: this.graphsDir,
          ...(this.opts.outputDir ? { outputDir: this.opts.outputDir } : {}),
          ...(this.opts.cacheDir ? { cacheRoot: this.opts.cacheDir } : {}),
        });
        return { status: r.status };
      } finally {
        this.runs.delete(runId);
      }
    },
    cancel: async ({ runId }) => {
      const ac = this.runs.get(runId);
      ac?.abort();
      return { cancelled: ac !== undefined };
    },
    listGraphs: async () => {
      const files = await readdir(this.graphsDir).catch(() => [] as string[]);
      return {
        graphs: files
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => ({ name: basename(f, '.json'), path: f })),
      };
    },
    readGraph: async ({ path }) => {
      const file = this.insideGraphs(path);
      const graph = await readGraphJson(file);
      return { graph, revision: revisionOf(await readFile(file)) };
    },
    writeGraph: async ({ path, graph, baseRevision, overwrite }) => {
      if (typeof path !== 'string') throw new RequestError('writeGraph needs a path: a file name ending in .json');
      if (!/^[\w][\w .-]*\.json$/i.test(basename(path))) {
        throw new RequestError(`"${path}" is not a graph file name: use letters, digits, " ", "_", "-", "." and end it in .json`);
      }
      const file = this.insideGraphs(path);
      const text = serializeGraph(checkSaveable(graph));
      const current = await readFile(file).catch(() => undefined);
      if (current && !overwrite && baseRevision !== revisionOf(current)) {
        const message =
          baseRevision === undefined
            ? `"${path}" already exists: pick another name, or overwrite it`
            : `"${path}" changed on disk since it was opened: reopen it, or overwrite it`;
        throw new RequestError(message, [{ code: 'conflict', path: '$', message }]);
      }
      await mkdir(dirname(file), { recursive: true });
      await writeFileAtomic(file, text);
      return { path: relative(this.graphsDir, file).split(sep).join('/'), revision: revisionOf(Buffer.from(text, 'utf8')) };
    },
    listFiles: async ({ root, dir }) => {
      const roots = { project: process.cwd(), graphs: this.graphsDir, outputs: this.opts.outputDir ? resolve(this.opts.outputDir) : undefined };
      const base = roots[root as keyof typeof roots];
      if (!base) throw new RequestError(`unknown folder "${String(root)}" (known: ${Object.keys(roots).filter((k) => roots[k as keyof typeof roots]).join(', ')})`);
      const rel = typeof dir === 'string' ? dir : '';
      const full = resolve(base, rel);
      if (full !== base && (relative(base, full).startsWith('..') || !full.startsWith(base + sep))) throw new RequestError(`"${rel}" is outside the ${root} folder`);
      const items = await readdir(full, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        throw new RequestError(`cannot list "${rel || '.'}": ${err.code === 'ENOENT' ? 'no such folder' : (err.code ?? String(err))}`);
      });
      const entries = items
        .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules' && (e.isDirectory() || e.isFile()))
        .map((e) => ({ name: e.name, kind: e.isDirectory() ? ('dir' as const) : ('file' as const) }))
        .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
      return { dir: relative(base, full).split(sep).join('/'), entries };
    },
    upgradeGraph: async ({ graph }) => {
      let migrated: ReturnType<typeof migrateGraph>;
      try {
        migrated = migrateGraph(graph);
      } catch (err) {
        throw new RequestError(err instanceof MigrationError ? err.message : String(err));
      }
      const notes: string[] = [];
      if (migrated.from !== undefined && migrated.from < GRAPH_VERSION) notes.push(`graph format version ${migrated.from} upgraded to ${GRAPH_VERSION}; saving writes version ${GRAPH_VERSION}`);
      const v = validateGraph(migrated.doc, this.registry);
      if (!v.ok) return { graph: migrated.doc, notes };
      const before = new Map(((migrated.doc as { nodes?: { id: string; typeVersion?: number }[] }).nodes ?? []).map((n) => [n.id, n.typeVersion]));
      for (const n of v.graph.nodes) {
        const was = before.get(n.id);
        if (typeof was === 'number' && was < n.typeVersion) notes.push(`node "${n.id}" (${n.type}) upgraded from version ${was} to ${n.typeVersion}`);
      }
      return { graph: notes.length > 0 ? v.graph : migrated.doc, notes };
    },
    graphFromPng: async ({ pngBase64 }) => {
      if (typeof pngBase64 !== 'string' || pngBase64 === '') throw new RequestError('graphFromPng needs the PNG as base64');
      let text: Record<string, string>;
      try {
        text = readPngText(Buffer.from(pngBase64, 'base64'));
      } catch (err) {
        throw new RequestError(`not a PNG file: ${err instanceof PngFormatError ? err.message : String(err)}`);
      }
      const embedded = text[PNG_KEYS.graph];
      if (embedded === undefined) throw new RequestError(`this PNG has no graph in it (no "${PNG_KEYS.graph}" text chunk): only images saved by Save Image with "Embed graph" carry one`);
      try {
        return { graph: JSON.parse(embedded) as unknown, ...(text[PNG_KEYS.seed] !== undefined ? { seed: text[PNG_KEYS.seed] } : {}) };
      } catch (err) {
        throw new RequestError(`the graph in this PNG is not valid JSON (${(err as Error).message})`);
      }
    },
  };

  /** A path inside the graphs folder, or a RequestError. */
  private insideGraphs(path: string): string {
    if (typeof path !== 'string' || path === '') throw new RequestError('a graph path is required');
    const file = resolve(this.graphsDir, path);
    if (relative(this.graphsDir, file).startsWith('..') || !file.startsWith(this.graphsDir + sep)) {
      throw new RequestError(`"${path}" is outside the graphs folder`);
    }
    return file;
  }
}

/** A short content hash: what "the file as it was opened" means for conflict checks. */
function revisionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * The shape a graph must have to be written in the canonical layout. Work in progress may be
 * invalid (unwired inputs, unknown node types), so only the structure is checked here.
 */
function checkSaveable(graph: unknown): GraphFile {
  const fail = (where: string, what: string): never => {
    throw new RequestError(`cannot save: ${where} ${what}`, [{ code: 'bad-structure', path: where, message: what }]);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(graph)) return fail('$', 'is not a JSON object');
  if (graph.format !== GRAPH_FORMAT) fail('$.format', `must be "${GRAPH_FORMAT}"`);
  if (graph.version !== GRAPH_VERSION) fail('$.version', `must be ${GRAPH_VERSION}`);
  if (graph.meta !== undefined && !isObj(graph.meta)) fail('$.meta', 'must be an object');
  if (!Array.isArray(graph.nodes)) return fail('$.nodes', 'must be a list');
  if (!Array.isArray(graph.edges)) return fail('$.edges', 'must be a list');
  graph.nodes.forEach((n: unknown, i) => {
    const at = `$.nodes[${i}]`;
    if (!isObj(n)) return fail(at, 'is not an object');
    if (typeof n.id !== 'string' || typeof n.type !== 'string') fail(at, 'needs a string id and type');
    if (typeof n.typeVersion !== 'number') fail(`${at}.typeVersion`, 'must be a number');
    if (!isObj(n.params)) fail(`${at}.params`, 'must be an object');
    const p = n.position;
    if (!isObj(p) || typeof p.x !== 'number' || typeof p.y !== 'number' || !Number.isFinite(p.x) || !Number.isFinite(p.y)) fail(`${at}.position`, 'must be {x, y} numbers');
  });
  graph.edges.forEach((e: unknown, i) => {
    const at = `$.edges[${i}]`;
    const ok = isObj(e) && typeof e.id === 'string' && isObj(e.from) && isObj(e.to) &&
      typeof e.from.node === 'string' && typeof e.from.output === 'string' && typeof e.to.node === 'string' && typeof e.to.input === 'string';
    if (!ok) fail(at, 'must be {id, from: {node, output}, to: {node, input}}');
  });
  return { ...(graph as unknown as GraphFile), meta: isObj(graph.meta) ? (graph.meta as GraphFile['meta']) : {} };
}
