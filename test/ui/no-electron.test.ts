import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

const ELECTRON_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]electron(?:\/[^'"]*)?['"]/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(name) ? [p] : [];
  });
}

describe('electron stays in src/main and src/preload', () => {
  it('the pattern catches the usual import forms', () => {
    for (const s of ["import { app } from 'electron';", 'const e = require("electron")', "await import('electron')", "import 'electron/main'"]) {
      expect(s).toMatch(ELECTRON_IMPORT);
    }
    expect("import x from 'electron-vite'").not.toMatch(ELECTRON_IMPORT);
  });

  it('no file outside src/main and src/preload imports electron; nor does the engine utility process', () => {
    const offenders = sourceFiles(path.join(ROOT, 'src'))
      .filter((f) => {
        const rel = path.relative(ROOT, f).split(path.sep).join('/');
        const allowed = (rel.startsWith('src/main/') || rel.startsWith('src/preload/')) && !/^src\/main\/engine-(process|relay)\.ts$/.test(rel);
        return !allowed && ELECTRON_IMPORT.test(readFileSync(f, 'utf8'));
      })
      .map((f) => path.relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
