/**
 * File helpers shared by the engine: atomic writes so a crash never leaves half a file. Graph
 * saves, checkpoints, cached training graphs and exported models all go through
 * `writeFileAtomic`; its file operations are injectable so tests can simulate a full disk or a
 * failed rename.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** File-system operations behind writeFileAtomic; injectable so tests can simulate failures. */
export interface FileOps {
  /** Create/truncate `path`, write all of `data`, fsync and close it. */
  writeFileSynced(path: string, data: string | Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync a directory so a rename inside it is durable (best effort). */
  syncDir(dir: string): Promise<void>;
}

export const nodeFileOps: FileOps = {
  async writeFileSynced(path, data) {
    const fh = await open(path, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    let fh;
    try {
      fh = await open(dir, 'r');
      await fh.sync();
    } catch {
      // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
    } finally {
      await fh?.close();
    }
  },
};

/**
 * Write `data` to `path` atomically: write a temporary file beside it, flush it to disk, rename it
 * over the target, then fsync the folder. Readers see the old file or the new one, never a partial
 * write; on any error the temporary file is removed and the previous file is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { fileOps?: FileOps } = {}): Promise<void> {
  const ops = opts.fileOps ?? nodeFileOps;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  try {
    await ops.writeFileSynced(tmp, data);
    await ops.rename(tmp, path);
  } catch (err) {
    await ops.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await ops.syncDir(dir);
}

/** The hidden temporary file a write of `path` goes through: `.NAME.PID.RANDOM.tmp` beside it. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** writeFileAtomic for synchronous callers (ONNX model saves): same temporary file, fsync, rename. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Why `dir` cannot be used as an output folder (undefined when it can): the nearest existing
 * path at or above it must be a folder ("out/x" under a regular file "out" fails with a raw
 * EEXIST/ENOTDIR otherwise).
 */
export function outputFolderProblem(dir: string): string | undefined {
  for (let p = resolve(dir); ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch {
      if (dirname(p) === p) return undefined;
      continue;
    }
    if (st.isDirectory()) return undefined;
    return p === resolve(dir) ? `${p} is a file, not a folder` : `${p} is a file, so no folder can be made under it`;
  }
}
