/**
 * Studio state (zustand + immer): the catalogue, the graphs folder, the open document with
 * its undo history, the selection, and the current run's per-node status and previews, fed by
 * engine events. Every edit of the document goes through `edit` (editor/history.ts), so each
 * one is an undo step; views derive what they draw from `doc`.
 */
import { castDraft, produce, type Draft } from 'immer';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { immer } from 'zustand/middleware/immer';
import type { Catalogue, NodeTypeInfo } from '../../shared/catalogue.ts';
import type { EngineEvent, ErrorInfo, OutputSummary, Preview, PreviewFrame } from '../../shared/events.ts';
import { GRAPH_VERSION, type GraphIssue } from '../../shared/graph.ts';
import type { EngineApi } from '../../shared/protocol.ts';
import { EngineRequestError, type ConnectionState } from './engine-client.ts';
import { copySelection, preparePaste } from './editor/clipboard.ts';
import { checkLink, type LinkEnds } from './editor/connect.ts';
import {
  catalogueIndex,
  clampPreview,
  docFromJson,
  emptyDoc,
  FRAME_PREFIX,
  framesOf,
  newNode,
  nodeUiEntry,
  reroutesOf,
  UNTITLED,
  uniqueId,
  type EditorDoc,
  type Frame,
  type NodeUi,
  type Reroutes,
} from './editor/doc.ts';
import { convertedParams, paramHandle, paramSocket } from './editor/param-inputs.ts';
import { emptyHistory, recordEdit, redo, undo, type History, type HistoryEntry } from './editor/history.ts';

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

/** A preview placed on the step timeline (events.ts PreviewFrame). */
export interface FramedPreview {
  frame: PreviewFrame;
  preview: Preview;
}

export interface LogLine {
  nodeId: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Where the "Add node" menu is open, and the link it will wire when it came from a dropped link. */
export interface AddMenuState {
  screen: { x: number; y: number };
  flow: { x: number; y: number };
  link?: { nodeId: string; handleId: string; handleType: 'source' | 'target'; socketType: string };
}

export interface FileError {
  message: string;
  /** The save was refused because the file exists or changed: offer to overwrite. */
  conflict?: { path: string };
}

export interface StudioState {
  connection: ConnectionState;
  connectionError?: string;
  catalogue: Catalogue | null;
  /** Catalogue entries by type id. */
  types: Record<string, NodeTypeInfo>;
  catalogueError?: string;
  graphs: { name: string; path: string }[];
  graphsError?: string;
  /** The open file in the graphs folder; null for a new or dropped graph not saved yet. */
  selectedPath: string | null;
  revision?: string;
  doc: EditorDoc | null;
  /**
   * The top of the undo stack when the document was last saved or opened (null: the empty
   * stack). Unsaved changes means the top is another entry; undoing back to it is clean again.
   */
  savedMark: HistoryEntry | null;
  history: History;
  /** Bumped whenever a different document is opened (the canvas fits it to view). */
  openCount: number;
  docProblems: string[];
  loadError?: string;
  fileError?: FileError;
  notice?: string;
  issues: GraphIssue[];
  nodeIssues: Record<string, string[]>;
  run: RunState | null;
  nodeRuns: Record<string, NodeRunState>;
  /** Unframed previews per node: the newest per (kind, label), a few. */
  previews: Record<string, Preview[]>;
  /** Every framed preview of the node's last run, in the order they came (the step timeline). */
  frames: Record<string, FramedPreview[]>;
  logs: LogLine[];
  selectedNodeIds: string[];
  selectedEdgeIds: string[];
  addMenu: AddMenuState | null;
  helpOpen: boolean;
  saveAsOpen: boolean;
  /** Runs waiting for the current one: the document as it was when queued. */
  runQueue: { doc: EditorDoc; targets?: string[] }[];
  /** Unsaved work a previous tab left behind (autosave.ts), offered back. */
  recovery: { key: string; name: string; path: string | null; time: number; doc: EditorDoc } | null;

  setConnection(state: ConnectionState, reason?: string): void;
  loadCatalogue(): Promise<void>;
  loadGraphList(): Promise<void>;
  openGraph(path: string): Promise<void>;
  /** Open a document that is not (yet) a file in the graphs folder: new, dropped, pasted. */
  openDocument(json: unknown, name: string, notice?: string): Promise<void>;
  newGraph(): void;
  /** A new, unsaved graph that starts as a copy of a file in the graphs folder (a template). */
  newFrom(path: string): Promise<void>;
  edit(recipe: (doc: Draft<EditorDoc>) => void, group?: string): boolean;
  undo(): void;
  redo(): void;
  addNode(type: string, position: { x: number; y: number }, link?: AddMenuState['link']): string | undefined;
  connect(link: LinkEnds): { ok: boolean; reason?: string };
  setParam(nodeId: string, key: string, value: unknown): void;
  /** Show a param as an input socket (`toInput`) or back as its widget, dropping the links into it (editor/param-inputs.ts; one undo step). */
  convertParam(nodeId: string, key: string, toInput: boolean): void;
  /** Set the size of a node's on-canvas preview (kept in `meta.nodeUi`, one undo step). */
  resizePreview(nodeId: string, size: { width: number; height: number }): void;
  moveNodes(moves: { id: string; position: { x: number; y: number } }[], group?: string): void;
  deleteSelection(): void;
  /** A frame around the given bounds (the selected nodes' box), titled, selected. */
  addFrame(bounds: { x: number; y: number; width: number; height: number }, title?: string): string | undefined;
  updateFrame(id: string, patch: Partial<Omit<Frame, 'id'>>, group?: string): void;
  /** Move a frame and the nodes inside it (`inside`, fixed when the drag started) together. */
  moveFrame(id: string, to: { x: number; y: number }, inside: string[], group?: string): void;
  /** Add a bend to a link at `at` (between the two points it is closest to). */
  addReroute(edgeId: string, at: { x: number; y: number }, ends: { from: { x: number; y: number }; to: { x: number; y: number } }): void;
  moveReroute(edgeId: string, index: number, to: { x: number; y: number }, group?: string): void;
  removeReroute(edgeId: string, index: number): void;
  /** Line the selected nodes up on their left or top edges (one undo step). */
  alignSelection(edge: 'left' | 'top'): void;
  /** Space the selected nodes evenly between the outermost two, along x or y (one undo step). */
  distributeSelection(axis: 'x' | 'y'): void;
  duplicateSelection(): void;
  copyText(): string | undefined;
  pasteText(text: string, at?: { x: number; y: number }): boolean;
  selectAll(): void;
  setSelection(nodeIds: string[], edgeIds: string[]): void;
  selectNode(nodeId: string | null): void;
  save(): Promise<boolean>;
  saveAs(path: string, overwrite?: boolean): Promise<boolean>;
  openFromPng(pngBase64: string, name: string): Promise<void>;
  validateSoon(): void;
  /** A folder's entries under the engine's project folder, for the path picker. */
  listFiles(dir: string): Promise<{ dir: string; entries: { name: string; kind: 'file' | 'dir' }[] }>;
  setAddMenu(menu: AddMenuState | null): void;
  setHelp(open: boolean): void;
  setSaveAs(open: boolean): void;
  dismissFileError(): void;
  setRecovery(r: StudioState['recovery']): void;
  restoreRecovery(): Promise<void>;
  reportFileError(message: string): void;
  /** A one-line notice under the header (e.g. where an export was written). */
  showNotice(text: string): void;
  /** Run the document (or what `targets` need); while a run is going, queue it to run next. */
  startRun(targets?: string[]): Promise<void>;
  /** Cancel the current run; `all` also drops the queued ones. */
  cancelRun(all?: boolean): Promise<void>;
  applyEvent(event: EngineEvent): void;
}

export type StudioStore = StoreApi<StudioState>;

/** A saved mark no undo stack holds: the document has never been saved as it is. */
const NEVER_SAVED: HistoryEntry = { patches: [], inverse: [], time: 0 };
const MAX_PREVIEWS_PER_NODE = 6;
/** Framed previews kept per node: e.g. 50 steps x 20 iterations x 4 previews. */
const MAX_FRAMES_PER_NODE = 5000;
const MAX_LOG_LINES = 500;
const VALIDATE_DELAY_MS = 400;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function newRunId(): string {
  const c = globalThis.crypto as Crypto | undefined;
  return c?.randomUUID ? c.randomUUID() : `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A node's `meta.nodeUi` entry in a draft, made when missing. */
function nodeUiDraft(d: Draft<EditorDoc>, nodeId: string): NodeUi {
  const all = (isPlainRecord(d.meta.nodeUi) ? d.meta.nodeUi : (d.meta.nodeUi = {})) as Record<string, NodeUi>;
  return isPlainRecord(all[nodeId]) ? all[nodeId] : (all[nodeId] = {});
}

function byNode(issues: GraphIssue[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) if (i.nodeId) (out[i.nodeId] ??= []).push(i.message);
  return out;
}

export function createStudioStore(engine: EngineApi): StudioStore {
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  return createStore<StudioState>()(
    immer((set, get) => {
      /** Replace the open document (a new file, not an edit): history, run state and selection start over. */
      const replaceDoc = (doc: EditorDoc, fields: { path: string | null; revision?: string; problems: string[]; notice?: string }) => {
        set((s) => {
          s.doc = castDraft(doc);
          // Opened as it is: nothing to lose yet (a dropped PNG or file still holds it).
          s.savedMark = null;
          s.selectedPath = fields.path;
          s.revision = fields.revision;
          s.docProblems = fields.problems;
          s.history = emptyHistory();
          s.openCount += 1;
          s.loadError = undefined;
          s.fileError = undefined;
          s.notice = fields.notice;
          s.issues = [];
          s.nodeIssues = {};
          s.selectedNodeIds = [];
          s.selectedEdgeIds = [];
          s.run = null;
          s.nodeRuns = {};
          s.previews = {};
          s.frames = {};
          s.logs = [];
          s.addMenu = null;
        });
        get().validateSoon();
      };

      /** Older files come up to date (the engine's migrations); what changed is told, nothing is dropped. */
      const upgrade = async (json: unknown): Promise<{ graph: unknown; notes: string[] }> => {
        if (isCurrent(json, get().types)) return { graph: json, notes: [] };
        try {
          return await engine.request('upgradeGraph', { graph: json });
        } catch (err) {
          return { graph: json, notes: [`could not upgrade it: ${message(err)}`] };
        }
      };
      const joinNotes = (...parts: (string | undefined)[]) => parts.filter(Boolean).join('; ') || undefined;

      /** One run of `doc` (the snapshot given, not whatever is open by then), then the next queued one. */
      const runDoc = async (doc: EditorDoc, targets?: string[]): Promise<void> => {
        const runId = newRunId();
        set((s) => {
          s.run = { runId, status: 'starting' };
          s.nodeRuns = {};
          s.logs = [];
        });
        try {
          const { status } = await engine.request('run', { runId, graph: doc, ...(targets?.length ? { targets } : {}) });
          set((s) => {
            if (s.run?.runId === runId && (s.run.status === 'starting' || s.run.status === 'running')) s.run.status = status;
          });
        } catch (err) {
          const issues = err instanceof EngineRequestError ? err.issues : [];
          set((s) => {
            if (s.run?.runId !== runId) return;
            s.run.status = 'failed';
            s.run.error ??= { message: message(err), causes: [] };
            if (issues.length > 0) {
              s.issues = issues;
              s.nodeIssues = byNode(issues);
            }
          });
        }
        const next = get().runQueue[0];
        if (!next || get().run?.runId !== runId) return;
        set((s) => {
          s.runQueue.shift();
        });
        await runDoc(next.doc, next.targets);
      };

      const writeAs = async (path: string, baseRevision: string | undefined, overwrite: boolean): Promise<boolean> => {
        const before = get().doc;
        if (!before) return false;
        // A new graph is named after the file it is first saved as.
        const doc = before.meta.name === UNTITLED ? produce(before, (d) => void (d.meta.name = graphName(path))) : before;
        const mark = get().history.undo.at(-1) ?? null;
        try {
          const r = await engine.request('writeGraph', { path, graph: doc, ...(baseRevision ? { baseRevision } : {}), ...(overwrite ? { overwrite } : {}) });
          set((s) => {
            s.selectedPath = r.path;
            s.revision = r.revision;
            if (doc !== before && get().doc === before) s.doc = castDraft(doc);
            // Typing on after a save starts a new undo step, so undo can come back to what was saved.
            const undoStack = s.history.undo;
            if (mark && get().history.undo.at(-1) === mark) {
              const closed = { ...mark, group: undefined };
              undoStack[undoStack.length - 1] = castDraft(closed);
              s.savedMark = castDraft(closed);
            } else s.savedMark = castDraft(mark);
            s.fileError = undefined;
            s.saveAsOpen = false;
            s.notice = `saved ${r.path}`;
          });
          void get().loadGraphList();
          return true;
        } catch (err) {
          const conflict = err instanceof EngineRequestError && err.issues.some((i) => i.code === 'conflict');
          set((s) => {
            s.fileError = { message: message(err), ...(conflict ? { conflict: { path } } : {}) };
          });
          return false;
        }
      };

      return {
        connection: 'connecting',
        catalogue: null,
        types: {},
        graphs: [],
        selectedPath: null,
        doc: null,
        savedMark: null,
        history: emptyHistory(),
        openCount: 0,
        docProblems: [],
        issues: [],
        nodeIssues: {},
        run: null,
        nodeRuns: {},
        previews: {},
        frames: {},
        logs: [],
        selectedNodeIds: [],
        selectedEdgeIds: [],
        addMenu: null,
        helpOpen: false,
        saveAsOpen: false,
        recovery: null,
        runQueue: [],

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
              s.types = castDraft(catalogueIndex(catalogue));
              s.catalogueError = undefined;
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
          let result: { graph: unknown; revision?: string };
          try {
            result = await engine.request('readGraph', { path });
          } catch (err) {
            set((s) => {
              s.loadError = message(err);
            });
            return;
          }
          const up = await upgrade(result.graph);
          const { doc, problems } = docFromJson(up.graph, get().catalogue, graphName(path));
          replaceDoc(doc, { path, revision: result.revision, problems, notice: joinNotes(...up.notes) });
        },

        async openDocument(json, name, notice) {
          const up = await upgrade(json);
          const { doc, problems } = docFromJson(up.graph, get().catalogue, name);
          replaceDoc(doc, { path: null, problems, notice: joinNotes(notice, ...up.notes) });
        },

        async newFrom(path) {
          let graph: unknown;
          try {
            graph = (await engine.request('readGraph', { path })).graph;
          } catch (err) {
            set((s) => {
              s.loadError = message(err);
            });
            return;
          }
          const name = `${graphName(path)} copy`;
          await get().openDocument(graph, name, `new graph from ${path}: Save as to keep it`);
          set((s) => {
            if (s.doc) s.doc.meta.name = name;
          });
        },

        newGraph() {
          replaceDoc(emptyDoc(), { path: null, problems: [] });
        },

        edit(recipe, group) {
          const { doc, history } = get();
          if (!doc) return false;
          const r = recordEdit(doc, history, recipe, group);
          if (!r) return false;
          set((s) => {
            s.doc = castDraft(r.doc);
            s.history = castDraft(r.history);
          });
          get().validateSoon();
          return true;
        },

        undo() {
          const { doc, history } = get();
          const r = doc && undo(doc, history);
          if (!r) return;
          set((s) => {
            s.doc = castDraft(r.doc);
            s.history = castDraft(r.history);
          });
          get().validateSoon();
        },

        redo() {
          const { doc, history } = get();
          const r = doc && redo(doc, history);
          if (!r) return;
          set((s) => {
            s.doc = castDraft(r.doc);
            s.history = castDraft(r.history);
          });
          get().validateSoon();
        },

        addNode(type, position, link) {
          const { doc, types } = get();
          const info = types[type];
          if (!doc || !info) return undefined;
          const node = newNode(info, position, new Set(doc.nodes.map((n) => n.id)));
          let edge: LinkEnds | undefined;
          if (link) {
            const socket =
              link.handleType === 'source'
                ? info.inputs.find((s) => checkLink({ ...doc, nodes: [...doc.nodes, node] }, types, { source: link.nodeId, sourceHandle: link.handleId, target: node.id, targetHandle: s.id }).ok)
                : info.outputs.find((s) => checkLink({ ...doc, nodes: [...doc.nodes, node] }, types, { source: node.id, sourceHandle: s.id, target: link.nodeId, targetHandle: link.handleId }).ok);
            if (socket) {
              edge =
                link.handleType === 'source'
                  ? { source: link.nodeId, sourceHandle: link.handleId, target: node.id, targetHandle: socket.id }
                  : { source: node.id, sourceHandle: socket.id, target: link.nodeId, targetHandle: link.handleId };
            }
          }
          get().edit((d) => {
            d.nodes.push(node);
            if (edge) {
              const e = edge;
              const taken = d.edges.findIndex((x) => x.to.node === e.target && x.to.input === e.targetHandle);
              if (taken >= 0) d.edges.splice(taken, 1);
              d.edges.push({ id: uniqueId(new Set(d.edges.map((x) => x.id)), 'e'), from: { node: e.source, output: e.sourceHandle }, to: { node: e.target, input: e.targetHandle } });
            }
          });
          set((s) => {
            s.selectedNodeIds = [node.id];
            s.selectedEdgeIds = [];
            s.addMenu = null;
          });
          return node.id;
        },

        connect(link) {
          const { doc, types } = get();
          if (!doc) return { ok: false, reason: 'no graph is open' };
          const check = checkLink(doc, types, link);
          if (!check.ok) return { ok: false, reason: check.reason };
          get().edit((d) => {
            if (check.replaces) {
              const at = d.edges.findIndex((e) => e.id === check.replaces!.id);
              if (at >= 0) d.edges.splice(at, 1);
              if (isPlainRecord(d.meta.reroutes)) delete (d.meta.reroutes as Reroutes)[check.replaces.id];
            }
            d.edges.push({ id: uniqueId(new Set(d.edges.map((e) => e.id)), 'e'), from: { node: link.source, output: link.sourceHandle }, to: { node: link.target, input: link.targetHandle } });
          });
          return { ok: true };
        },

        setParam(nodeId, key, value) {
          get().edit((d) => {
            const n = d.nodes.find((x) => x.id === nodeId);
            if (n) n.params[key] = value as never;
          }, `param:${nodeId}:${key}`);
        },

        convertParam(nodeId, key, toInput) {
          const doc = get().doc;
          const node = doc?.nodes.find((n) => n.id === nodeId);
          if (!doc || !node || (toInput && !paramSocket(get().types[node.type], key))) return;
          const current = convertedParams(nodeUiEntry(doc, nodeId));
          if (current.includes(key) === toInput) return;
          const handle = paramHandle(key);
          get().edit((d) => {
            const entry = nodeUiDraft(d, nodeId);
            const next = toInput ? [...current, key] : current.filter((k) => k !== key);
            if (next.length > 0) entry.inputs = next;
            else delete entry.inputs;
            if (toInput) return;
            const gone = new Set(d.edges.filter((e) => e.to.node === nodeId && e.to.input === handle).map((e) => e.id));
            d.edges = d.edges.filter((e) => !gone.has(e.id));
            if (isPlainRecord(d.meta.reroutes)) for (const id of gone) delete d.meta.reroutes[id];
          });
        },

        resizePreview(nodeId, size) {
          get().edit((d) => {
            nodeUiDraft(d, nodeId).preview = { width: clampPreview(size.width, 'width'), height: clampPreview(size.height, 'height') };
          });
        },

        moveNodes(moves, group) {
          get().edit((d) => {
            const at = new Map(d.nodes.map((n, i) => [n.id, i]));
            for (const m of moves) {
              const i = at.get(m.id);
              if (i === undefined) continue;
              const p = d.nodes[i]!.position;
              if (p.x !== m.position.x) p.x = m.position.x;
              if (p.y !== m.position.y) p.y = m.position.y;
            }
          }, group);
        },

        deleteSelection() {
          const { selectedNodeIds, selectedEdgeIds } = get();
          const nodes = new Set(selectedNodeIds);
          const edges = new Set(selectedEdgeIds);
          if (nodes.size === 0 && edges.size === 0) return;
          get().edit((d) => {
            d.nodes = d.nodes.filter((n) => !nodes.has(n.id));
            d.edges = d.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.from.node) && !nodes.has(e.to.node));
            if (Array.isArray(d.meta.frames)) d.meta.frames = (d.meta.frames as Frame[]).filter((f) => !nodes.has(`${FRAME_PREFIX}${f?.id}`));
            // Bends of links that are gone go with them, and so does the UI state of nodes that are gone.
            if (isPlainRecord(d.meta.reroutes)) {
              const kept = new Set(d.edges.map((e) => e.id));
              for (const id of Object.keys(d.meta.reroutes)) if (!kept.has(id)) delete (d.meta.reroutes as Reroutes)[id];
            }
            if (isPlainRecord(d.meta.nodeUi)) for (const id of nodes) delete d.meta.nodeUi[id];
          });
          set((s) => {
            s.selectedNodeIds = [];
            s.selectedEdgeIds = [];
          });
        },

        addFrame(bounds, title = 'Group') {
          const doc = get().doc;
          if (!doc) return undefined;
          const id = uniqueId(new Set(framesOf(doc).map((f) => f.id)), 'frame');
          const frame: Frame = { id, title, ...bounds };
          get().edit((d) => {
            const list = Array.isArray(d.meta.frames) ? (d.meta.frames as Frame[]) : ((d.meta.frames = []) as Frame[]);
            list.push(frame);
          });
          set((s) => {
            s.selectedNodeIds = [`${FRAME_PREFIX}${id}`];
            s.selectedEdgeIds = [];
          });
          return id;
        },

        updateFrame(id, patch, group) {
          get().edit((d) => {
            const f = (Array.isArray(d.meta.frames) ? (d.meta.frames as Frame[]) : []).find((x) => x?.id === id);
            if (f) Object.assign(f, patch);
          }, group);
        },

        moveFrame(id, to, inside, group) {
          get().edit((d) => {
            const f = (Array.isArray(d.meta.frames) ? (d.meta.frames as Frame[]) : []).find((x) => x?.id === id);
            if (!f) return;
            const dx = to.x - f.x;
            const dy = to.y - f.y;
            if (dx === 0 && dy === 0) return;
            f.x = to.x;
            f.y = to.y;
            const ids = new Set(inside);
            for (const n of d.nodes) {
              if (!ids.has(n.id)) continue;
              n.position.x += dx;
              n.position.y += dy;
            }
          }, group);
        },

        addReroute(edgeId, at, ends) {
          const current = get().doc ? (reroutesOf(get().doc!)[edgeId] ?? []) : [];
          const path = [ends.from, ...current, ends.to];
          // Insert into the segment whose detour through `at` is the shortest.
          let best = 0;
          let bestCost = Infinity;
          for (let i = 0; i < path.length - 1; i++) {
            const a = path[i]!;
            const b = path[i + 1]!;
            const cost = Math.hypot(at.x - a.x, at.y - a.y) + Math.hypot(b.x - at.x, b.y - at.y) - Math.hypot(b.x - a.x, b.y - a.y);
            if (cost < bestCost) {
              bestCost = cost;
              best = i;
            }
          }
          const next = [...current];
          next.splice(best, 0, { x: Math.round(at.x), y: Math.round(at.y) });
          get().edit((d) => {
            const all = (isPlainRecord(d.meta.reroutes) ? d.meta.reroutes : (d.meta.reroutes = {})) as Reroutes;
            all[edgeId] = next;
          });
        },

        moveReroute(edgeId, index, to, group) {
          get().edit((d) => {
            const p = (isPlainRecord(d.meta.reroutes) ? (d.meta.reroutes as Reroutes)[edgeId] : undefined)?.[index];
            if (!p) return;
            p.x = Math.round(to.x);
            p.y = Math.round(to.y);
          }, group);
        },

        removeReroute(edgeId, index) {
          get().edit((d) => {
            const all = isPlainRecord(d.meta.reroutes) ? (d.meta.reroutes as Reroutes) : undefined;
            const list = all?.[edgeId];
            if (!all || !list) return;
            list.splice(index, 1);
            if (list.length === 0) delete all[edgeId];
          });
        },

        alignSelection(edge) {
          const ids = new Set(get().selectedNodeIds);
          const doc = get().doc;
          if (!doc || ids.size < 2) return;
          const axis = edge === 'left' ? 'x' : 'y';
          const to = Math.min(...doc.nodes.filter((n) => ids.has(n.id)).map((n) => n.position[axis]));
          get().edit((d) => {
            for (const n of d.nodes) if (ids.has(n.id)) n.position[axis] = to;
          });
        },

        distributeSelection(axis) {
          const ids = new Set(get().selectedNodeIds);
          const doc = get().doc;
          if (!doc || ids.size < 3) return;
          const order = doc.nodes.filter((n) => ids.has(n.id)).sort((a, b) => a.position[axis] - b.position[axis]);
          const first = order[0]!.position[axis];
          const step = (order.at(-1)!.position[axis] - first) / (order.length - 1);
          const target = new Map(order.map((n, i) => [n.id, Math.round(first + i * step)]));
          get().edit((d) => {
            for (const n of d.nodes) {
              const v = target.get(n.id);
              if (v !== undefined) n.position[axis] = v;
            }
          });
        },

        duplicateSelection() {
          const text = get().copyText();
          if (text) get().pasteText(text);
        },

        copyText() {
          const { doc, selectedNodeIds } = get();
          return doc ? copySelection(doc, new Set(selectedNodeIds)) : undefined;
        },

        pasteText(text, at) {
          const doc = get().doc;
          if (!doc) return false;
          const pasted = preparePaste(doc, text, at);
          if (!pasted) return false;
          get().edit((d) => {
            d.nodes.push(...castDraft(pasted.nodes));
            d.edges.push(...castDraft(pasted.edges));
          });
          set((s) => {
            s.selectedNodeIds = pasted.nodes.map((n) => n.id);
            s.selectedEdgeIds = [];
          });
          return true;
        },

        selectAll() {
          set((s) => {
            s.selectedNodeIds = s.doc?.nodes.map((n) => n.id) ?? [];
          });
        },

        setSelection(nodeIds, edgeIds) {
          set((s) => {
            s.selectedNodeIds = nodeIds;
            s.selectedEdgeIds = edgeIds;
          });
        },

        selectNode(nodeId) {
          set((s) => {
            s.selectedNodeIds = nodeId ? [nodeId] : [];
            s.selectedEdgeIds = [];
          });
        },

        async save() {
          const { selectedPath, revision } = get();
          if (selectedPath === null) {
            set((s) => {
              s.saveAsOpen = true;
            });
            return false;
          }
          return writeAs(selectedPath, revision, false);
        },

        async saveAs(path, overwrite = false) {
          const name = path.trim();
          const file = /\.json$/i.test(name) ? name : `${name}.json`;
          const same = file === get().selectedPath;
          return writeAs(file, same ? get().revision : undefined, overwrite);
        },

        async openFromPng(pngBase64, name) {
          try {
            const { graph, seed } = await engine.request('graphFromPng', { pngBase64 });
            await get().openDocument(graph, name, `opened the graph embedded in ${name}${seed !== undefined ? ` (seed used: ${seed})` : ''}`);
          } catch (err) {
            set((s) => {
              s.fileError = { message: `${name}: ${message(err)}` };
            });
          }
        },

        listFiles(dir) {
          return engine.request('listFiles', { root: 'project', dir });
        },

        validateSoon() {
          if (validateTimer) clearTimeout(validateTimer);
          validateTimer = setTimeout(() => {
            validateTimer = undefined;
            const doc = get().doc;
            if (!doc) return;
            engine.request('validate', { graph: doc }).then(
              ({ issues }) => {
                // (Compared outside the recipe: inside it, s.doc is a draft, never the same object.)
                if (get().doc !== doc) return;
                set((s) => {
                  s.issues = issues;
                  s.nodeIssues = byNode(issues);
                });
              },
              () => {
                // Validation is advice; a run reports the same problems.
              },
            );
          }, VALIDATE_DELAY_MS);
        },

        setAddMenu(menu) {
          set((s) => {
            s.addMenu = menu;
          });
        },

        setHelp(open) {
          set((s) => {
            s.helpOpen = open;
          });
        },

        setSaveAs(open) {
          set((s) => {
            s.saveAsOpen = open;
            if (open) s.fileError = undefined;
          });
        },

        setRecovery(r) {
          set((s) => {
            s.recovery = castDraft(r);
          });
        },

        async restoreRecovery() {
          const r = get().recovery;
          if (!r) return;
          set((s) => {
            s.recovery = null;
          });
          const at = new Date(r.time).toLocaleTimeString();
          await get().openDocument(r.doc, r.name, `restored unsaved work on "${r.name}" from ${at}${r.path ? ` (it was ${r.path})` : ''}: save it to keep it`);
          // The restored copy is this tab's unsaved work now (the autosave keeps it from here).
          set((s) => {
            s.savedMark = castDraft(NEVER_SAVED);
          });
        },

        reportFileError(text) {
          set((s) => {
            s.fileError = { message: text };
          });
        },

        showNotice(text) {
          set((s) => {
            s.notice = text;
            s.fileError = undefined;
          });
        },

        dismissFileError() {
          set((s) => {
            s.fileError = undefined;
            s.notice = undefined;
          });
        },

        async startRun(targets) {
          const { doc, run } = get();
          if (doc === null) return;
          if (run && (run.status === 'starting' || run.status === 'running')) {
            // Busy: this document, as it is now, runs next (edit params and queue again for a sweep).
            set((s) => {
              s.runQueue.push(castDraft({ doc, ...(targets?.length ? { targets } : {}) }));
            });
            return;
          }
          await runDoc(doc, targets);
        },

        async cancelRun(all = false) {
          if (all) {
            set((s) => {
              s.runQueue = [];
            });
          }
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
                // Previews of a node that runs again are replaced; cached nodes keep theirs.
                delete s.previews[event.nodeId];
                delete s.frames[event.nodeId];
                break;
              case 'node.progress':
                node(event.nodeId).progress = { value: event.value, max: event.max, message: event.message };
                break;
              case 'node.preview': {
                if (event.frame) {
                  const framed = (s.frames[event.nodeId] ??= []);
                  framed.push(castDraft({ frame: event.frame, preview: event.preview }));
                  if (framed.length > MAX_FRAMES_PER_NODE) framed.splice(0, framed.length - MAX_FRAMES_PER_NODE);
                  break;
                }
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
      };
    }),
  );
}

/** A graph in the current format whose nodes are all at their type's current version: nothing to upgrade. */
function isCurrent(json: unknown, types: Readonly<Record<string, NodeTypeInfo>>): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const g = json as { version?: unknown; nodes?: unknown };
  if (g.version !== GRAPH_VERSION || !Array.isArray(g.nodes)) return false;
  return g.nodes.every((n: { type?: unknown; typeVersion?: unknown }) => {
    const info = typeof n?.type === 'string' ? types[n.type] : undefined;
    return !info || n.typeVersion === info.version;
  });
}

export function graphName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, '');
}

/** Whether the open document has changes that are not saved. */
export function isDirty(s: Pick<StudioState, 'doc' | 'history' | 'savedMark'>): boolean {
  return s.doc !== null && (s.history.undo.at(-1) ?? null) !== s.savedMark;
}
