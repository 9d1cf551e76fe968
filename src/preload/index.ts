/**
 * Preload (sandboxed): receives the engine's MessagePort from the main process and exposes
 * exactly the typed EngineApi as `window.steer`, and the shell's ShellApi (menu commands, native
 * file dialogs, the recent list for the menu) as `window.steerShell` — nothing else of Electron
 * reaches the page. Menu commands are checked (checkMenuCommand) before the page sees them.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { EngineEvent } from '../shared/events.ts';
import {
  checkMenuCommand,
  SHELL_CHANNELS,
  type EngineApi,
  type EngineRequests,
  type MenuCommand,
  type OpenedFile,
  type RequestMessage,
  type RequestName,
  type SavedFile,
  type ServerMessage,
  type ShellApi,
} from '../shared/protocol.ts';

let port: MessagePort | null = null;
let nextId = 1;
const queue: RequestMessage[] = [];
const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
const listeners = new Set<(e: EngineEvent) => void>();

ipcRenderer.on('engine-port', (event) => {
  const received = event.ports[0];
  if (!received) return;
  if (port) {
    // A new port means a new engine (it restarted): what the old one owed will never come.
    port.close();
    for (const p of pending.values()) p.reject({ name: 'EngineRequestError', message: 'the engine restarted; try again', issues: [] });
    pending.clear();
  }
  port = received;
  port.onmessage = (e: MessageEvent) => {
    const msg = e.data as ServerMessage;
    if (msg.kind === 'event') {
      for (const l of [...listeners]) l(msg.event);
    } else if (msg.kind === 'response') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      // Error objects lose everything but their message crossing the context bridge; a plain
      // object keeps the issues (engine-client.ts turns it back into an EngineRequestError).
      else p.reject({ name: 'EngineRequestError', message: msg.error.message, issues: msg.error.issues ?? [] });
    }
  };
  port.start();
  for (const msg of queue.splice(0)) port.postMessage(msg);
});

const api: EngineApi = {
  request<K extends RequestName>(method: K, params: EngineRequests[K]['params']): Promise<EngineRequests[K]['result']> {
    const msg: RequestMessage<K> = { kind: 'request', id: nextId++, method, params };
    return new Promise((resolve, reject) => {
      pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject });
      if (port) port.postMessage(msg);
      else queue.push(msg);
    });
  },
  onEvent(listener) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};

contextBridge.exposeInMainWorld('steer', api);

const menuListeners = new Set<(c: MenuCommand) => void>();
ipcRenderer.on(SHELL_CHANNELS.menu, (_event, raw: unknown) => {
  const checked = checkMenuCommand(raw);
  if (!checked.ok) return;
  for (const l of [...menuListeners]) l(checked.value);
});

const shellApi: ShellApi = {
  onMenuCommand(listener) {
    menuListeners.add(listener);
    return () => {
      menuListeners.delete(listener);
    };
  },
  openDialog: () => ipcRenderer.invoke(SHELL_CHANNELS.open) as Promise<OpenedFile | null>,
  saveDialog: (request) => ipcRenderer.invoke(SHELL_CHANNELS.save, { suggestedName: request.suggestedName, contents: request.contents }) as Promise<SavedFile | null>,
  setRecent(paths) {
    ipcRenderer.send(SHELL_CHANNELS.recent, [...paths]);
  },
};

contextBridge.exposeInMainWorld('steerShell', shellApi);
