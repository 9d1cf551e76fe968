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

/*
 * The Electron shell's contract with the renderer, beside the engine's: menu commands the main
 * process sends, and the file dialogs the renderer may ask for. Plain types and checks, so the
 * main process and the preload validate every message with code unit-tested without Electron
 * (test/ui/shell.test.ts).
 */

/** What a menu item asks the page to do (copy, cut and paste are native roles: they fire the page's clipboard events). */
export type MenuCommand =
  | { type: 'new' }
  | { type: 'open' }
  | { type: 'save' }
  | { type: 'saveAs' }
  | { type: 'openRecent'; path: string }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'fit' }
  | { type: 'help' };

/** A file the open dialog picked: a graph file of the graphs folder (`graphPath`), or one from elsewhere with its content. */
export type OpenedFile =
  | { kind: 'graph'; graphPath: string }
  | { kind: 'json'; name: string; text: string }
  | { kind: 'png'; name: string; base64: string };

/** Where the save dialog put the file: in the graphs folder (the renderer saves it there through the engine), or elsewhere (written by the shell). */
export type SavedFile = { kind: 'graph'; graphPath: string } | { kind: 'exported'; path: string };

export interface SaveRequest {
  /** The file name the dialog proposes ("name.json"). */
  suggestedName: string;
  /** The graph JSON, written when the user picks a place outside the graphs folder. */
  contents: string;
}

/** The API the preload exposes as `window.steerShell` (Electron only). */
export interface ShellApi {
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
  openDialog(): Promise<OpenedFile | null>;
  saveDialog(request: SaveRequest): Promise<SavedFile | null>;
  /** The recent files (graph paths, newest first) for File > Open Recent. */
  setRecent(paths: string[]): void;
}

export const SHELL_CHANNELS = { menu: 'shell:menu', open: 'shell:open-dialog', save: 'shell:save-dialog', recent: 'shell:recent' } as const;

export const MAX_SAVE_BYTES = 64 * 1024 * 1024;
export const MAX_RECENT = 10;
const MAX_PATH = 1000;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A graph path as the graphs folder names them: relative, forward slashes, no "..", ending .json. */
export function isGraphPath(p: unknown): p is string {
  return (
    typeof p === 'string' &&
    p.length > 0 &&
    p.length <= MAX_PATH &&
    /\.json$/i.test(p) &&
    !p.startsWith('/') &&
    !/^[A-Za-z]:/.test(p) &&
    !p.includes('\\') &&
    !p.includes('\0') &&
    p.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

export function checkSaveRequest(x: unknown): Checked<SaveRequest> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, reason: 'the save request is not an object' };
  const r = x as Record<string, unknown>;
  const extra = Object.keys(r).filter((k) => k !== 'suggestedName' && k !== 'contents');
  if (extra.length > 0) return { ok: false, reason: `unknown fields in the save request: ${extra.join(', ')}` };
  const name = r.suggestedName;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[/\\\0:]/.test(name) || name === '.' || name === '..') {
    return { ok: false, reason: 'suggestedName must be a plain file name (no folders), 1 to 200 characters' };
  }
  if (typeof r.contents !== 'string') return { ok: false, reason: 'contents must be a string' };
  if (r.contents.length > MAX_SAVE_BYTES) return { ok: false, reason: `contents are over ${MAX_SAVE_BYTES} characters` };
  try {
    JSON.parse(r.contents);
  } catch {
    return { ok: false, reason: 'contents are not JSON' };
  }
  return { ok: true, value: { suggestedName: /\.json$/i.test(name) ? name : `${name}.json`, contents: r.contents } };
}

export function checkRecent(x: unknown): Checked<string[]> {
  if (!Array.isArray(x)) return { ok: false, reason: 'the recent list is not a list' };
  if (x.length > MAX_RECENT * 4) return { ok: false, reason: 'the recent list is too long' };
  const bad = x.find((p) => !isGraphPath(p));
  if (bad !== undefined) return { ok: false, reason: `not a graph path: ${JSON.stringify(bad)?.slice(0, 80)}` };
  return { ok: true, value: [...new Set(x as string[])].slice(0, MAX_RECENT) };
}

/** A menu command as the renderer receives it (the preload checks it too: the page must never act on a malformed one). */
export function checkMenuCommand(x: unknown): Checked<MenuCommand> {
  if (typeof x !== 'object' || x === null) return { ok: false, reason: 'not an object' };
  const c = x as { type?: unknown; path?: unknown };
  switch (c.type) {
    case 'new':
    case 'open':
    case 'save':
    case 'saveAs':
    case 'undo':
    case 'redo':
    case 'fit':
    case 'help':
      return { ok: true, value: { type: c.type } };
    case 'openRecent':
      return isGraphPath(c.path) ? { ok: true, value: { type: 'openRecent', path: c.path } } : { ok: false, reason: 'openRecent needs a graph path' };
    default:
      return { ok: false, reason: `unknown menu command ${JSON.stringify(c.type)}` };
  }
}
