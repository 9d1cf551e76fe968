#!/usr/bin/env node
// `npm start` / `npm run dev`: build and launch the Electron app, or explain how to use
// browser mode when this machine has no Electron binary. Never triggers the lazy Electron
// download that `require('electron')` would start.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');

/** The Electron executable if it is installed, else null (mirrors node_modules/electron/index.js without its download). */
export function findElectronBinary(root = ROOT) {
  const pkgDir = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const rel = readFileSync(pathFile, 'utf8').trim();
  if (!rel) return null;
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkgDir, 'dist');
  const exe = path.join(dist, rel);
  return existsSync(exe) ? exe : null;
}

function main() {
  const electron = findElectronBinary();
  if (!electron) {
    process.stderr.write(
      [
        'The Electron binary is not installed on this machine, so the desktop window cannot open.',
        '',
        'On a normal machine (with network access), install it with either:',
        '  npx install-electron          (downloads the binary for the installed electron package)',
        '  rm -rf node_modules/electron && npm install',
        '',
        'Or use browser mode, which needs no Electron:',
        '  npm run build:renderer && npx steer serve',
        '',
      ].join('\n'),
    );
    return 1;
  }
  const bin = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'electron-vite.cmd' : 'electron-vite');
  const run = (cmd, args) => spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1;
  if (dev) return run(bin, ['dev']);
  const built = run(bin, ['build']);
  if (built !== 0) return built;
  // package.json "main" points Electron at out/main/index.js.
  return run(electron, [ROOT]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
