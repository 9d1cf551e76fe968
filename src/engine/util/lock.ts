/**
 * Output-folder lock: one writer per folder (a training run, an eval, a dataset build). The lock is
 * a file `.steer.lock` created exclusively, holding the owner's pid, command and start time. A
 * lock whose pid is no longer running (a killed run) is taken over. Taking the lock also removes
 * the hidden temporary files killed writers left behind (`.NAME.PID.RANDOM.tmp`, see fs.ts), since
 * no one else can be writing there. The lock is released by `release()` or when the process exits.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { outputFolderProblem } from './fs.ts';

export const LOCK_FILE = '.steer.lock';

/** The folder is locked by a running owner (or, with `problem`, cannot be an output folder at all). */
export class FolderLockedError extends Error {
  constructor(readonly dir: string, readonly owner?: { pid: number; command?: string; started?: string }, problem?: string) {
    super(
      owner
        ? `${dir} is in use by another run (${[`pid ${owner.pid}`, owner.command, owner.started && `started ${owner.started}`].filter(Boolean).join(', ')}); ` +
          'wait for it to finish or choose another output folder'
        : `${dir}: ${problem}`,
    );
    this.name = 'FolderLockedError';
  }
}

export interface FolderLock {
  readonly dir: string;
  release(): void;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): { pid: number; command?: string; started?: string } | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; command?: unknown; started?: unknown };
    return { pid: Number(o.pid), ...(typeof o.command === 'string' ? { command: o.command } : {}), ...(typeof o.started === 'string' ? { started: o.started } : {}) };
  } catch {
    return undefined; // being written right now, or garbage: treated as stale below
  }
}

/**
 * Take `dir`'s lock (creating `dir`), or throw FolderLockedError naming the running owner.
 * `command` is shown to whoever finds the folder locked ("steer train shape-world").
 */
export function lockFolder(dir: string, command: string): FolderLock {
  const problem = outputFolderProblem(dir);
  if (problem) throw new FolderLockedError(dir, undefined, problem);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const body = `${JSON.stringify({ pid: process.pid, command, started: new Date().toISOString() })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, body);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const owner = readOwner(file);
      if (owner && owner.pid === process.pid) throw new FolderLockedError(dir, owner);
      if (owner && alive(owner.pid)) throw new FolderLockedError(dir, owner);
      rmSync(file, { force: true }); // the owner was killed: take the lock over
    }
  }
  removeStaleTempFiles(dir);
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { dir, release };
}

const TEMP = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Remove `.NAME.PID.RANDOM.tmp` files (in `dir` and its subfolders, `depth` levels) whose writer is
 * no longer running. Returns the paths removed.
 */
export function removeStaleTempFiles(dir: string, depth = 2): string[] {
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const m = TEMP.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      rmSync(path, { force: true });
      removed.push(path);
    } else if (depth > 0 && !name.startsWith('.')) {
      let isDir = false;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        // vanished meanwhile
      }
      if (isDir) removed.push(...removeStaleTempFiles(path, depth - 1));
    }
  }
  return removed;
}
