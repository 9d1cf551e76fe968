/**
 * The typed protocol between a UI (Electron renderer or browser) and the engine. One
 * definition, several transports: Electron MessagePort (preload), WebSocket (`steer serve`),
 * or direct calls in-process (CLI, tests).
 */
import type { Catalogue } from './catalogue.ts';
import type { EngineEvent } from './events.ts';
import type { GraphIssue } from './graph.ts';

export interface EngineRequests {
  /** The node catalogue. */
  catalogue: { params: Record<string, never>; result: Catalogue };
  /** Validate a graph document (any JSON); lists every problem. */
  validate: { params: { graph: unknown }; result: { ok: boolean; issues: GraphIssue[] } };
  /** Start a run; events follow with this runId. Resolves once the run ends. */
  run: {
    params: { runId: string; graph: unknown; targets?: string[] };
    result: { status: 'finished' | 'failed' | 'cancelled' };
  };
  /** Cancel a run; cached results stay. */
  cancel: { params: { runId: string }; result: { cancelled: boolean } };
  /** Read a graph file from the engine's graphs folder (browser mode has no file dialogs). */
  listGraphs: { params: Record<string, never>; result: { graphs: { name: string; path: string }[] } };
  /** `revision` identifies the file's content as read; pass it to writeGraph to detect a conflicting change. */
  readGraph: { params: { path: string }; result: { graph: unknown; revision?: string } };
  /**
   * Save a graph into the graphs folder (atomic write, canonical layout). Refused outside the
   * folder. An existing file is replaced only when `baseRevision` is its current revision (a
   * save of the file that was opened) or `overwrite` is true; otherwise the error has an issue
   * with code "conflict".
   */
  writeGraph: {
    params: { path: string; graph: unknown; baseRevision?: string; overwrite?: boolean };
    result: { path: string; revision: string };
  };
  /**
   * An older graph brought up to date, as far as it can be without dropping anything: the file
   * format (version 0 -> 1) and, when the graph is otherwise valid, each node's params (its
   * type's `migrate`). `notes` says what changed, for the user.
   */
  upgradeGraph: { params: { graph: unknown }; result: { graph: unknown; notes: string[] } };
  /**
   * One folder's entries, for the path widget's picker (browser mode has no file dialogs).
   * `root`: "project" (the folder the engine runs in, which relative param paths resolve
   * against), "graphs" or "outputs"; `dir` is relative to it and may not leave it.
   */
  listFiles: {
    params: { root: 'project' | 'graphs' | 'outputs'; dir?: string };
    result: { dir: string; entries: { name: string; kind: 'file' | 'dir' }[] };
  };
  /** The graph embedded in a PNG written by Save Image (text chunk "steer_graph"), and the seed used. */
  graphFromPng: { params: { pngBase64: string }; result: { graph: unknown; seed?: string } };
}

export type RequestName = keyof EngineRequests;

export interface RequestMessage<K extends RequestName = RequestName> {
  kind: 'request';
  id: number;
  method: K;
  params: EngineRequests[K]['params'];
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: { message: string; issues?: GraphIssue[] } };

export interface EventMessage {
  kind: 'event';
  event: EngineEvent;
}

export type ServerMessage = ResponseMessage | EventMessage;

/** What the preload exposes as `window.steer` and what the browser client implements. */
export interface EngineApi {
  request<K extends RequestName>(method: K, params: EngineRequests[K]['params']): Promise<EngineRequests[K]['result']>;
  onEvent(listener: (event: EngineEvent) => void): () => void;
}
