/**
 * What the native file dialogs do with the path the user picked, without Electron (so it is
 * unit-tested on real folders): a .json file in the graphs folder is the app's own file (the
 * renderer opens and saves it through the engine, with its conflict checks); any other file
 * is an import (its content goes to the renderer) or an export (written here, atomically).
 * The renderer never names a path: it only gets what the user picked in a dialog.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isGraphPath, MAX_SAVE_BYTES, type OpenedFile, type SavedFile } from '../shared/protocol.ts';

/** The graph path (relative, forward slashes) of a file inside the graphs folder, else undefined. */
export function graphPathOf(file: string, graphsDir: string): string | undefined {
  const rel = path.relative(path.resolve(graphsDir), path.resolve(file)).split(path.sep).join('/');
  return isGraphPath(rel) ? rel : undefined;
}

export class PickedFileError extends Error {}

/** The file the open dialog picked, as the renderer receives it. */
export function readPicked(file: string, graphsDir: string): OpenedFile {
  const graphPath = /\.json$/i.test(file) ? graphPathOf(file, graphsDir) : undefined;
  if (graphPath) return { kind: 'graph', graphPath };
  const size = statSync(file).size;
  if (size > MAX_SAVE_BYTES) throw new PickedFileError(`${path.basename(file)} is ${size} bytes; files over ${MAX_SAVE_BYTES} bytes are not opened`);
  const name = path.basename(file).replace(/\.(json|png)$/i, '');
  if (/\.png$/i.test(file)) return { kind: 'png', name, base64: readFileSync(file).toString('base64') };
  if (/\.json$/i.test(file)) return { kind: 'json', name, text: readFileSync(file, 'utf8') };
  throw new PickedFileError(`${path.basename(file)} is neither a .json graph nor a .png made by Save Image`);
}

/** Where the save dialog's pick goes: a graph path for the renderer to save through the engine, or the file written here. */
export function savePicked(file: string, graphsDir: string, contents: string): SavedFile {
  const target = /\.json$/i.test(file) ? file : `${file}.json`;
  const graphPath = graphPathOf(target, graphsDir);
  if (graphPath) return { kind: 'graph', graphPath };
  writeAtomic(target, contents);
  return { kind: 'exported', path: target };
}

/** Temp file beside the target, fsync, rename: a crash leaves the old file or the new one, never half of one. */
function writeAtomic(target: string, contents: string): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Whether an IPC message comes from the app's own page (the built index.html, or the dev server in development). */
export function isTrustedSender(frameUrl: string | undefined, allowed: { indexUrl: string; devUrl?: string }): boolean {
  if (!frameUrl) return false;
  if (frameUrl === allowed.indexUrl || frameUrl.startsWith(`${allowed.indexUrl}#`) || frameUrl.startsWith(`${allowed.indexUrl}?`)) return true;
  if (!allowed.devUrl) return false;
  try {
    return new URL(frameUrl).origin === new URL(allowed.devUrl).origin;
  } catch {
    return false;
  }
}
