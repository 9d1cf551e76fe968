/**
 * Studio state (zustand + immer): the catalogue, the graphs folder, the open graph (read-only
 * for now) and the current run's per-node status and previews, fed by engine events.
 */
import { castDraft } from 'immer';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { immer } from 'zustand/middleware/immer';
import type { Catalogue } from '../../shared/catalogue.ts';
import type { EngineEvent, ErrorInfo, OutputSummary, Preview } from '../../shared/events.ts';
import type { GraphIssue } from '../../shared/graph.ts';
import type { EngineApi } from '../../shared/protocol.ts';
import { EngineRequestError, type ConnectionState } from './engine-client.ts';
import { buildGraphView, type GraphView } from './graph-view.ts';

export type NodeStatus = 'pending' | 'running' | 'cached' | 'finished' | 'failed';
export type RunStatus = 'starting' | 'running' | 'finished' | 'failed' | 'cancelled';

export interface NodeRunState {
  status: NodeStatus;
  progress?: { value: number; max: number; message?: string };
  durationMs?: number;
  outputs?: Record<string, OutputSummary>;
  error?: ErrorInfo;
}

export interface RunState {
  runId: string;
  status: RunStatus;
  durationMs?: number;
  executed?: number;
  cached?: number;
  error?: ErrorInfo;
  failedNodeId?: string;
}

export interface LogLine {
  nodeId: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface StudioState {
  connection: ConnectionState;
  connectionError?: string;
  catalogue: Catalogue | null;
  catalogueError?: string;
  graphs: { name: string; path: string }[];
  graphsError?: string;
  selectedPath: string | null;
  doc: unknown;
  view: GraphView | null;
  loadError?: string;
  issues: GraphIssue[];
  run: RunState | null;
  nodeRuns: Record<string, NodeRunState>;
  previews: Record<string, Preview[]>;
  logs: LogLine[];
  selectedNodeId: string | null;

  setConnection(state: ConnectionState, reason?: string): void;
  loadCatalogue(): Promise<void>;
  loadGraphList(): Promise<void>;
  openGraph(path: string): Promise<void>;
  selectNode(nodeId: string | null): void;
  startRun(): Promise<void>;
  cancelRun(): Promise<void>;
  applyEvent(event: EngineEvent): void;
}

export type StudioStore = StoreApi<StudioState>;

const MAX_PREVIEWS_PER_NODE = 6;
const MAX_LOG_LINES = 500;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function newRunId(): string {
  const c = globalThis.crypto as Crypto | undefined;
  return c?.randomUUID ? c.randomUUID() : `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function createStudioStore(engine: EngineApi): StudioStore {
  return createStore<StudioState>()(
    immer((set, get) => ({
      connection: 'connecting',
      catalogue: null,
      graphs: [],
      selectedPath: null,
      doc: null,
      view: null,
      issues: [],
      run: null,
      nodeRuns: {},
      previews: {},
      logs: [],
      selectedNodeId: null,

      setConnection(state, reason) {
        set((s) => {
          s.connection = state;
          s.connectionError = state === 'closed' ? reason : undefined;
        });
      },

      async loadCatalogue() {
        try {
          const catalogue = await engine.request('catalogue', {});
          set((s) => {
            s.catalogue = castDraft(catalogue);
            s.catalogueError = undefined;
            // Redraw an already open graph now that node types are known.
            if (s.selectedPath !== null) s.view = buildGraphView(s.doc, catalogue, graphName(s.selectedPath));
          });
        } catch (err) {
          set((s) => {
            s.catalogueError = message(err);
          });
        }
      },

      async loadGraphList() {
        try {
          const { graphs } = await engine.request('listGraphs', {});
          set((s) => {
            s.graphs = [...graphs].sort((a, b) => a.name.localeCompare(b.name));
            s.graphsError = undefined;
          });
        } catch (err) {
          set((s) => {
            s.graphsError = message(err);
          });
        }
      },

      async openGraph(path) {
        set((s) => {
          s.selectedPath = path;
          s.loadError = undefined;
          s.issues = [];
          s.selectedNodeId = null;
          s.run = null;
          s.nodeRuns = {};
          s.previews = {};
          s.logs = [];
        });
        let doc: unknown;
        try {
          doc = (await engine.request('readGraph', { path })).graph;
        } catch (err) {
          set((s) => {
            if (s.selectedPath !== path) return;
            s.doc = null;
            s.view = null;
            s.loadError = message(err);
          });
          return;
        }
        if (get().selectedPath !== path) return;
        set((s) => {
          s.doc = doc;
          s.view = buildGraphView(doc, s.catalogue, graphName(path));
        });
        try {
          const { issues } = await engine.request('validate', { graph: doc });
          set((s) => {
            if (s.selectedPath === path) s.issues = issues;
          });
        } catch {
          // Validation is advice; the run reports the same problems.
        }
      },

      selectNode(nodeId) {
        set((s) => {
          s.selectedNodeId = nodeId;
        });
      },

      async startRun() {
        const { doc, run } = get();
        if (doc === null || (run && (run.status === 'starting' || run.status === 'running'))) return;
        const runId = newRunId();
        set((s) => {
          s.run = { runId, status: 'starting' };
          s.nodeRuns = {};
          s.previews = {};
          s.logs = [];
        });
        try {
          const { status } = await engine.request('run', { runId, graph: doc });
          set((s) => {
            if (s.run?.runId === runId && (s.run.status === 'starting' || s.run.status === 'running')) s.run.status = status;
          });
        } catch (err) {
          const issues = err instanceof EngineRequestError ? err.issues : [];
          set((s) => {
            if (s.run?.runId !== runId) return;
            s.run.status = 'failed';
            s.run.error ??= { message: message(err), causes: [] };
            if (issues.length > 0) s.issues = issues;
          });
        }
      },

      async cancelRun() {
        const run = get().run;
        if (!run || (run.status !== 'starting' && run.status !== 'running')) return;
        try {
          await engine.request('cancel', { runId: run.runId });
        } catch {
          // The run's own events say how it ended.
        }
      },

      applyEvent(event) {
        set((s) => {
          if (!s.run || s.run.runId !== event.runId) return;
          const node = (id: string): NodeRunState => (s.nodeRuns[id] ??= { status: 'pending' });
          switch (event.type) {
            case 'run.started':
              s.run.status = 'running';
              for (const id of event.nodes) s.nodeRuns[id] = { status: 'pending' };
              break;
            case 'node.started':
              node(event.nodeId).status = 'running';
              break;
            case 'node.progress':
              node(event.nodeId).progress = { value: event.value, max: event.max, message: event.message };
              break;
            case 'node.preview': {
              const list = (s.previews[event.nodeId] ??= []);
              const label = event.preview.label;
              const at = label === undefined ? -1 : list.findIndex((p) => p.label === label && p.kind === event.preview.kind);
              if (at >= 0) list[at] = event.preview;
              else list.push(event.preview);
              if (list.length > MAX_PREVIEWS_PER_NODE) list.splice(0, list.length - MAX_PREVIEWS_PER_NODE);
              break;
            }
            case 'node.log':
              s.logs.push({ nodeId: event.nodeId, level: event.level, message: event.message });
              if (s.logs.length > MAX_LOG_LINES) s.logs.splice(0, s.logs.length - MAX_LOG_LINES);
              break;
            case 'node.cached':
              node(event.nodeId).status = 'cached';
              break;
            case 'node.finished': {
              const n = node(event.nodeId);
              n.status = 'finished';
              n.durationMs = event.durationMs;
              n.outputs = event.outputs;
              n.progress = undefined;
              break;
            }
            case 'node.failed': {
              const n = node(event.nodeId);
              n.status = 'failed';
              n.error = event.error;
              break;
            }
            case 'run.finished':
              s.run.status = 'finished';
              s.run.durationMs = event.durationMs;
              s.run.executed = event.executed;
              s.run.cached = event.cached;
              break;
            case 'run.failed':
              s.run.status = 'failed';
              s.run.durationMs = event.durationMs;
              s.run.error = event.error;
              s.run.failedNodeId = event.nodeId;
              break;
            case 'run.cancelled':
              s.run.status = 'cancelled';
              s.run.durationMs = event.durationMs;
              for (const n of Object.values(s.nodeRuns)) if (n.status === 'running') n.status = 'pending';
              break;
          }
        });
      },
    })),
  );
}

export function graphName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, '');
}
