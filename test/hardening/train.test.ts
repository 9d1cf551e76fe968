/**
 * Training runs own their output folder: one trainer per --out (a lock), stale locks and killed
 * runs' temporary files cleaned, --resume refuses a folder that is not a run, a truncated newest
 * checkpoint falls back to the previous one, and rewritten files are replaced atomically.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'steer-train-'));
const vae = (out: string, ...more: string[]) => ['train', 'shape-world', '--out', out, '--stage', 'vae', '--batch', '1', '--log-every', '1', ...more];
/** A pid that is certainly not running: a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('training output folder', () => {
  it('a second trainer on the same --out is refused while the first runs', async () => {
    const out = tmp();
    const first = spawn(process.execPath, ['bin/steer.mjs', ...vae(out, '--steps', '100000', '--checkpoint-every', '0')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      first.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/vae step 2\//.test(err)) resolve();
      });
      first.on('exit', () => reject(new Error(`first trainer exited early:\n${err}`)));
    });
    const second = steer(...vae(out, '--steps', '5', '--resume'));
    first.kill('SIGINT');
    await new Promise((r) => first.on('exit', r));
    expect(second.code).toBe(2);
    expect(second.err).toMatch(new RegExp(`is in use by another run \\(pid ${first.pid}, steer train shape-world`));
    expect(existsSync(join(out, '.steer.lock'))).toBe(false); // released on exit
  }, 90_000);

  it('takes over a killed run\'s lock and removes its temporary files', () => {
    const out = tmp();
    const pid = deadPid();
    mkdirSync(join(out, 'vae'), { recursive: true });
    writeFileSync(join(out, '.steer.lock'), JSON.stringify({ pid, command: 'steer train shape-world' }));
    const stale = join(out, 'vae', `.checkpoint-00000010.safetensors.${pid}.0123456789ab.tmp`);
    writeFileSync(stale, 'half a checkpoint');
    const r = steer(...vae(out, '--steps', '100', '--until', '2'));
    expect(r.code, r.err).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(join(out, 'vae')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(out, '.steer.lock'))).toBe(false);
  }, 90_000);

  it('--resume on a missing or non-run folder is an error, not a fresh run', () => {
    const missing = join(tmp(), 'typo');
    const r = steer(...vae(missing, '--steps', '2', '--resume'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('does not exist');
    expect(existsSync(join(missing, 'run.json'))).toBe(false);
    const empty = tmp();
    const e = steer(...vae(empty, '--steps', '2', '--resume'));
    expect(e.code).toBe(2);
    expect(e.err).toContain('has no run.json');
  }, 60_000);

  it('resumes from the previous checkpoint when the newest is truncated; rewrites losses.csv atomically', () => {
    const out = tmp();
    expect(steer(...vae(out, '--steps', '100', '--until', '4', '--checkpoint-every', '2')).code).toBe(0);
    const newest = join(out, 'vae', 'checkpoint-00000004.safetensors');
    truncateSync(newest, Math.floor(statSync(newest).size / 2));
    const csv = join(out, 'vae', 'losses.csv');
    const before = readFileSync(csv, 'utf8');
    linkSync(csv, join(out, 'losses-before.csv')); // an in-place rewrite would change this name's content too
    const r = steer(...vae(out, '--steps', '100', '--until', '6', '--checkpoint-every', '2', '--resume'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warning: .*checkpoint-00000004\.safetensors.*renamed it to checkpoint-00000004\.safetensors\.corrupt/);
    expect(r.err).toContain('vae: steps 2 -> 6 of 100');
    expect(readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['step', '0', '1', '2', '3', '4', '5']);
    expect(readFileSync(join(out, 'losses-before.csv'), 'utf8')).toBe(before);
    expect(existsSync(`${newest}.corrupt`)).toBe(true);
  }, 120_000);
});
