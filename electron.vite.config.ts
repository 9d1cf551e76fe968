/**
 * electron-vite: main process (index + the engine's utility process), preload, renderer.
 * `npm run build` writes out/main, out/preload and out/renderer; `npm run dev` serves the
 * renderer with hot reload. The renderer options are shared with vite.renderer.config.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config.ts';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: path.join(ROOT, 'out/main'),
      rolldownOptions: {
        input: {
          index: path.join(ROOT, 'src/main/index.ts'),
          'engine-process': path.join(ROOT, 'src/main/engine-process.ts'),
        },
        output: { entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: path.join(ROOT, 'out/preload'),
      // Sandboxed preloads cannot be ES modules: CommonJS, one file, .cjs so Node's
      // "type": "module" does not reinterpret it.
      rolldownOptions: {
        input: { index: path.join(ROOT, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    build: {
      outDir: path.join(ROOT, 'out/renderer'),
      rolldownOptions: { input: path.join(ROOT, 'src/renderer/index.html') },
    },
  },
});
