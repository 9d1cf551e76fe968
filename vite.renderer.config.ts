/**
 * Standalone build of the renderer (browser mode, `steer serve`, UI tests):
 * `vite build --config vite.renderer.config.ts` writes out/renderer. electron.vite.config.ts
 * builds the same renderer for the Electron window from `rendererConfig` below.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig, type UserConfig } from 'vite';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** Options both builds share. */
export const rendererConfig = {
  root: path.join(ROOT, 'src/renderer'),
  // Relative asset URLs: the same files load from file:// (Electron) and from `steer serve`.
  base: './',
  plugins: [react(), tailwindcss()],
  publicDir: false,
} satisfies UserConfig;

export default defineConfig({
  ...rendererConfig,
  build: {
    outDir: path.join(ROOT, 'out/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2048,
  },
});
