/**
 * The Electron side cannot run here (no Electron binary), but its build can: electron-vite
 * must produce an ESM main, an electron-free engine utility process, a CommonJS preload
 * (sandboxed preloads cannot be ES modules) and the renderer. Also checks `npm start`'s
 * fallback when the binary is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'electron-vite';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.ts';

const tmp = tempDir('electron-build');
afterAll(() => tmp.cleanup());

describe('electron build (electron.vite.config.ts)', () => {
  it('builds main, engine process, preload and renderer', async () => {
    await build({ configFile: path.join(ROOT, 'electron.vite.config.ts'), logLevel: 'warn', build: { outDir: tmp.dir, emptyOutDir: true } });
    const main = readFileSync(path.join(tmp.dir, 'main/index.js'), 'utf8');
    const engine = readFileSync(path.join(tmp.dir, 'main/engine-process.js'), 'utf8');
    const preload = readFileSync(path.join(tmp.dir, 'preload/index.cjs'), 'utf8');
    expect(main).toMatch(/from\s*["']electron["']/);
    expect(main).toContain('engine-process.js');
    expect(main).toContain('../preload/index.cjs');
    expect(engine).not.toMatch(/["']electron["']/);
    expect(engine).toContain('parentPort');
    expect(preload).toMatch(/require\(["']electron["']\)/);
    expect(preload).not.toMatch(/^\s*import\s/m);
    expect(preload).toContain('exposeInMainWorld');
    expect(existsSync(path.join(tmp.dir, 'renderer/index.html'))).toBe(true);
  });
});

describe('npm start without an Electron binary', () => {
  const electronInstalled = existsSync(path.join(ROOT, 'node_modules/electron/path.txt'));
  it.skipIf(electronInstalled)('explains plainly and points to browser mode, exit 1', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/start.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Electron binary is not installed');
    expect(r.stderr).toContain('npx install-electron');
    expect(r.stderr).toContain('npm run build:renderer && npx steer serve');
    // It must not have started electron's lazy download.
    expect(existsSync(path.join(ROOT, 'node_modules/electron/path.txt'))).toBe(false);
  });
});
