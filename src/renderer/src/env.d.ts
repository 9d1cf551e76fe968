/// <reference types="vite/client" />
import type { EngineApi, ShellApi } from '../../shared/protocol.ts';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in browser mode. */
    steer?: EngineApi;
    /** Set by the Electron preload: native menus and dialogs; absent in browser mode. */
    steerShell?: ShellApi;
  }
}

export {};
