/// <reference types="vite/client" />
import type { EngineApi } from '../../shared/protocol.ts';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in browser mode. */
    steer?: EngineApi;
  }
}

export {};
