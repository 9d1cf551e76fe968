/**
 * EngineHost: the engine behind the typed protocol (src/shared/protocol.ts). One instance
 * serves one UI connection set: the Electron utilityProcess, `steer serve`, or tests. It owns
 * the executor (and so the output cache, which survives between runs) and the active runs.
 */
import { readdir } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { BUILTIN_NODES } from '../nodes/registry.ts';
import type { EngineEvent } from '../shared/events.ts';
import type { GraphIssue } from '../shared/graph.ts';
import type { EngineRequests, RequestMessage, ResponseMessage } from '../shared/protocol.ts';
import { Executor } from './graph/executor.ts';
import { GraphFileError, readGraphJson } from './graph/file.ts';
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
      const file = resolve(this.graphsDir, path);
      if (relative(this.graphsDir, file).startsWith('..') || !file.startsWith(this.graphsDir + sep)) {
        throw new RequestError(`"${path}" is outside the graphs folder`);
      }
      return { graph: await readGraphJson(file) };
    },
  };
}
