import { spawn } from 'node:child_process';

export interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from SIGINT to exit. */
  stopMs: number;
  out: string;
  err: string;
}

/**
 * Starts `steer ARGS`, waits until its stderr matches `ready`, sends SIGINT and waits for the exit.
 * Fails (rejects) if `ready` never shows within `readyMs` or the process outlives `exitMs` after
 * the signal (then it is killed).
 */
export function interruptSteer(args: string[], ready: RegExp, opts: { readyMs?: number; exitMs?: number; cwd?: string } = {}): Promise<Interrupted> {
  const child = spawn(process.execPath, ['bin/steer.mjs', ...args], { env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let sentAt = 0;
  return new Promise((resolve, reject) => {
    const readyTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`steer ${args.join(' ')}: never printed ${ready} in ${opts.readyMs ?? 60000} ms; stderr:\n${err}`));
    }, opts.readyMs ?? 60000);
    let exitTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (sentAt === 0 && ready.test(err)) {
        clearTimeout(readyTimer);
        sentAt = performance.now();
        child.kill('SIGINT');
        exitTimer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`steer ${args.join(' ')}: still running ${opts.exitMs ?? 10000} ms after SIGINT; stderr:\n${err}`));
        }, opts.exitMs ?? 10000);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(readyTimer);
      if (exitTimer) clearTimeout(exitTimer);
      if (sentAt === 0) reject(new Error(`steer ${args.join(' ')} exited (${code}) before ${ready} showed; stderr:\n${err}`));
      else resolve({ code, signal, stopMs: performance.now() - sentAt, out, err });
    });
  });
}
