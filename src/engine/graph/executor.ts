/**
 * The executor: runs a validated graph (all of it, or what the target nodes need) in
 * dependency order. Each node's outputs are cached under a signature of (type, version,
 * params, input signatures), so changing one param re-runs only that node and what is
 * downstream. Nodes that declare `deterministic: false` get a fresh signature every run.
 * Every failure becomes an event; nothing a node throws escapes `run`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AnyNodeDefinition, NodeContext } from '../../nodes/api.ts';
import { SOCKET_SUMMARIES } from '../../nodes/values.ts';
import type { EngineEvent, ErrorInfo, OutputSummary } from '../../shared/events.ts';
import type { GraphFile } from '../../shared/graph.ts';
import { PARAM_INPUT_PREFIX } from '../../shared/sockets.ts';
import { OutputCache } from './cache.ts';
import { ancestors, topologicalOrder } from './order.ts';
import type { NodeRegistry } from './registry.ts';

export interface RunOptions {
  runId?: string;
  /** Node ids to compute; only they and their ancestors run. Default: every node. */
  targets?: string[];
  signal?: AbortSignal;
  onEvent?: (event: EngineEvent) => void;
  /** Folder relative paths in params are resolved against (the graph file's folder). */
  baseDir?: string;
  /** Where Save nodes write (created on first use). */
  outputDir?: string;
  /** Root of per-node-type cache folders. */
  cacheRoot?: string;
}

export interface RunResult {
  runId: string;
  status: 'finished' | 'failed' | 'cancelled';
  durationMs: number;
  /** Outputs of every node that ran or came from the cache in this run. */
  outputs: Map<string, Record<string, unknown>>;
  executed: string[];
  cached: string[];
  failedNode?: string;
  error?: ErrorInfo;
}

export class CancelledError extends Error {
  constructor() {
    super('run cancelled');
    this.name = 'CancelledError';
  }
}

/** Thrown (by nodes or engine code) to attach where-information to a failure. */
export class NodeError extends Error {
  constructor(message: string, readonly details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeError';
  }
}

const PROGRESS_INTERVAL_MS = 50;

export class Executor {
  constructor(
    readonly registry: NodeRegistry,
    readonly cache: OutputCache = new OutputCache(),
  ) {}

  /** Node ids in execution order: the targets' ancestors (or all nodes), topologically sorted. */
  plan(graph: GraphFile, targets?: string[]): string[] {
    if (targets !== undefined && (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string'))) {
      throw new Error(`targets must be a list of node ids, got ${JSON.stringify(targets)}`);
    }
    const known = new Set(graph.nodes.map((n) => n.id));
    for (const t of targets ?? []) if (!known.has(t)) throw new Error(`target node "${t}" is not in the graph`);
    const ids = graph.nodes.map((n) => n.id);
    const edges = graph.edges.map((e) => [e.from.node, e.to.node] as const);
    let needed: Set<string> = new Set(ids);
    if (targets && targets.length > 0) {
      const parents = new Map<string, string[]>(ids.map((id) => [id, []]));
      for (const [from, to] of edges) parents.get(to)?.push(from);
      needed = ancestors(targets, parents);
    }
    const order = topologicalOrder(ids, edges, needed);
    if (order.length !== needed.size) throw new Error('the graph has a cycle (validate it first)');
    return order;
  }

  async run(graph: GraphFile, opts: RunOptions = {}): Promise<RunResult> {
    const runId = opts.runId ?? randomUUID();
    const emit = (event: EngineEvent) => {
      try {
        opts.onEvent?.(event);
      } catch {
        // a listener's bug must not break the run
      }
    };
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    const result: RunResult = { runId, status: 'finished', durationMs: 0, outputs: new Map(), executed: [], cached: [] };

    const order = this.plan(graph, opts.targets);
    emit({ type: 'run.started', runId, nodes: order, time: Date.now() });

    const signal = opts.signal ?? new AbortController().signal;
    let fail = (): void => {};
    const cancelled = new Promise<never>((_, reject) => {
      fail = () => reject(new CancelledError());
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
    cancelled.catch(() => {}); // observed below via race; never unhandled
    try {
      const byId = new Map(graph.nodes.map((n) => [n.id, n]));
      const incoming = new Map<string, { input: string; from: string; output: string }[]>();
      for (const e of graph.edges) {
        (incoming.get(e.to.node) ?? incoming.set(e.to.node, []).get(e.to.node)!).push({ input: e.to.input, from: e.from.node, output: e.from.output });
      }
      const signatures = new Map<string, string>();
      const baseDir = resolve(opts.baseDir ?? process.cwd());
      const outputDir = resolve(opts.outputDir ?? join(baseDir, 'out'));
      const cacheRoot = resolve(opts.cacheRoot ?? join(homedir(), '.cache', 'steer-studio'));

      for (const nodeId of order) {
        if (signal.aborted) return this.finish(result, 'cancelled', elapsed(), emit);
        const node = byId.get(nodeId)!;
        const def = this.registry.get(node.type);
        if (!def) {
          const error = errorInfo(new Error(`unknown node type "${node.type}"`));
          emit({ type: 'node.failed', runId, nodeId, error });
          return this.finish(result, 'failed', elapsed(), emit, nodeId, error);
        }
        const links = (incoming.get(nodeId) ?? []).sort((a, b) => (a.input < b.input ? -1 : 1));
        const inputs: Record<string, unknown> = {};
        let params = node.params;
        const fed = new Set<string>(); // params fed by edges
        for (const l of links) {
          const value = result.outputs.get(l.from)![l.output];
          if (!l.input.startsWith(PARAM_INPUT_PREFIX)) {
            inputs[l.input] = value;
            continue;
          }
          // widget-to-input: the param takes the upstream value, checked by the param's own schema
          const key = l.input.slice(PARAM_INPUT_PREFIX.length);
          const spec = def.params[key];
          const checked = spec?.schema.safeParse(value);
          if (!spec || !checked!.success) {
            const why = spec ? checked!.error!.issues.map((i) => i.message).join('; ') : 'no such param';
            const error = errorInfo(new Error(`node "${nodeId}" (${def.title}): param "${key}" got ${JSON.stringify(value)} from "${l.from}".${l.output}: ${why}`));
            emit({ type: 'node.failed', runId, nodeId, error });
            return this.finish(result, 'failed', elapsed(), emit, nodeId, error);
          }
          params = { ...params, [key]: checked!.data };
          fed.add(key);
        }
        // a param fed by an edge is keyed by its source, not by the (hidden) value stored in the file
        const hashed = fed.size === 0 ? node.params : Object.fromEntries(Object.entries(node.params).filter(([k]) => !fed.has(k)));
        const signature = nodeSignature(node.id, hashed, params, def, links.map((l) => [l.input, `${signatures.get(l.from)}:${l.output}`]), runId);
        signatures.set(nodeId, signature);

        const hit = this.cache.get(signature);
        if (hit) {
          result.outputs.set(nodeId, hit);
          result.cached.push(nodeId);
          emit({ type: 'node.cached', runId, nodeId });
          continue;
        }

        emit({ type: 'node.started', runId, nodeId, nodeType: node.type });
        const t0 = performance.now();
        const ctx = makeContext({ runId, nodeId, def, signal, emit, baseDir, outputDir, cacheRoot, graph });
        try {
          const running = Promise.resolve().then(() => def.execute(ctx, inputs, params));
          running.catch(() => {}); // if cancelled first, a late rejection is expected and ignored
          const outputs = await Promise.race([running, cancelled]);
          checkOutputs(def, nodeId, outputs);
          if (signal.aborted) return this.finish(result, 'cancelled', elapsed(), emit);
          this.cache.set(signature, outputs);
          result.outputs.set(nodeId, outputs);
          result.executed.push(nodeId);
          emit({ type: 'node.finished', runId, nodeId, durationMs: Math.round((performance.now() - t0) * 10) / 10, outputs: summarize(def, outputs) });
        } catch (err) {
          if (err instanceof CancelledError || signal.aborted) return this.finish(result, 'cancelled', elapsed(), emit);
          const error = errorInfo(err);
          emit({ type: 'node.failed', runId, nodeId, error });
          return this.finish(result, 'failed', elapsed(), emit, nodeId, error);
        }
      }
      return this.finish(result, 'finished', elapsed(), emit);
    } finally {
      signal.removeEventListener('abort', fail); // one listener per run: a long-lived signal must not collect them
    }
  }

  private finish(
    result: RunResult,
    status: RunResult['status'],
    durationMs: number,
    emit: (e: EngineEvent) => void,
    failedNode?: string,
    error?: ErrorInfo,
  ): RunResult {
    result.status = status;
    result.durationMs = durationMs;
    const { runId } = result;
    if (status === 'finished') emit({ type: 'run.finished', runId, durationMs, executed: result.executed.length, cached: result.cached.length });
    else if (status === 'cancelled') emit({ type: 'run.cancelled', runId, durationMs });
    else {
      result.failedNode = failedNode;
      result.error = error;
      emit({ type: 'run.failed', runId, durationMs, ...(failedNode ? { nodeId: failedNode } : {}), error: error! });
    }
    return result;
  }
}

/** The cache key: type, `hashed` params (those not fed by edges), sources of every input; whether it is deterministic follows the effective params. */
function nodeSignature(nodeId: string, hashed: Record<string, unknown>, params: Record<string, unknown>, def: AnyNodeDefinition, inputs: [string, string][], runId: string): string {
  const h = createHash('sha256');
  h.update(`${def.type}@${def.version}\n`);
  h.update(stableJson(hashed));
  for (const [input, source] of inputs) h.update(`\n${input}<-${source}`);
  if (!isDeterministic(def, params)) h.update(`\nrun:${runId}:${nodeId}`);
  return h.digest('hex').slice(0, 32);
}

export function isDeterministic(def: AnyNodeDefinition, params: Record<string, unknown>): boolean {
  return typeof def.deterministic === 'function' ? def.deterministic(params) : def.deterministic !== false;
}

/** JSON with object keys sorted, so equal params always hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface ContextArgs {
  runId: string;
  nodeId: string;
  def: AnyNodeDefinition;
  signal: AbortSignal;
  emit: (e: EngineEvent) => void;
  baseDir: string;
  outputDir: string;
  cacheRoot: string;
  graph: GraphFile;
}

function makeContext(a: ContextArgs): NodeContext {
  const { runId, nodeId, emit } = a;
  let lastProgress = 0;
  const log = (level: 'info' | 'warn' | 'error') => (message: string) => emit({ type: 'node.log', runId, nodeId, level, message });
  return {
    nodeId,
    signal: a.signal,
    baseDir: a.baseDir,
    graph: a.graph,
    progress(value, max, message) {
      const now = performance.now();
      if (value < max && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      emit({ type: 'node.progress', runId, nodeId, value, max, ...(message !== undefined ? { message } : {}) });
    },
    preview(preview, frame) {
      emit({ type: 'node.preview', runId, nodeId, preview, ...(frame ? { frame } : {}) });
    },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    async cacheDir() {
      const dir = join(a.cacheRoot, a.def.type);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async outputDir() {
      await mkdir(a.outputDir, { recursive: true });
      return a.outputDir;
    },
  };
}

function checkOutputs(def: AnyNodeDefinition, nodeId: string, outputs: unknown): asserts outputs is Record<string, unknown> {
  if (!outputs || typeof outputs !== 'object') throw new Error(`node "${nodeId}" (${def.type}) returned no outputs object`);
  for (const o of def.outputs) {
    if ((outputs as Record<string, unknown>)[o.id] === undefined) throw new Error(`node "${nodeId}" (${def.type}) returned no value for output "${o.id}"`);
  }
}

function summarize(def: AnyNodeDefinition, outputs: Record<string, unknown>): Record<string, OutputSummary> {
  return Object.fromEntries(
    def.outputs.map((o) => {
      const special = SOCKET_SUMMARIES[o.type] as ((v: unknown) => string) | undefined;
      return [o.id, { type: o.type, summary: special ? special(outputs[o.id]) : describeValue(outputs[o.id]) }];
    }),
  );
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return v.length > 80 ? `${JSON.stringify(v.slice(0, 77))}...` : JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (typeof (v as { describe?: unknown }).describe === 'function') return String((v as { describe(): string }).describe());
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${(v as unknown as { length: number }).length}]`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  return `{${Object.keys(v).slice(0, 6).join(', ')}}`;
}

/** A failure as the user sees it: message, causes outermost first, and where-details. */
export function errorInfo(err: unknown): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  const causes: string[] = [];
  let c: unknown = e.cause;
  for (let depth = 0; c !== undefined && depth < 10; depth++) {
    causes.push(c instanceof Error ? c.message : String(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  const details = (e as { details?: unknown }).details;
  return {
    message: e.message,
    causes,
    ...(details && typeof details === 'object' ? { details: details as Record<string, unknown> } : {}),
  };
}
