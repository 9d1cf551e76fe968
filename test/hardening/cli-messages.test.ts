/**
 * CLI input mistakes: caught before any model loads, exit 2, and said in the terms the user typed
 * (the flag, not `--set sample.steps=...` or `$.nodes[5].params.steps`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineHost } from '../../src/engine/host.ts';
import { stepsProblem } from '../../src/engine/pipeline/sample.ts';
import shippedScheduler from '../../resources/models/shape-world/scheduler/scheduler_config.json' with { type: 'json' };

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const png = () => join(mkdtempSync(join(tmpdir(), 'steer-msg-')), 'x.png');

describe('step limits come from the scheduler config', () => {
  it('DDIM with leading spacing and steps_offset 1 runs 999 of 1000 steps; Euler runs 1000', () => {
    const config = shippedScheduler as Record<string, unknown>;
    expect(stepsProblem(config, 'ddim', 999)).toBeUndefined();
    expect(stepsProblem(config, 'ddim', 1000)).toMatch(/runs at most 999 steps/);
    expect(stepsProblem(config, 'euler', 1000)).toBeUndefined();
    expect(stepsProblem(config, 'euler', 1001)).toMatch(/runs at most 1000 steps/);
    expect(stepsProblem({ ...config, steps_offset: 0 }, 'ddim', 1000)).toBeUndefined();
  });
});

describe('generate and run: flags and params checked before the model loads', () => {
  it('--steps 1000 (the Sampler maximum) is refused naming the flag and the scheduler limit', () => {
    const r = steer('generate', 'a red circle', '--steps', '1000', '--out', png());
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: --steps 1000: the model's ddim scheduler runs at most 999 steps");
    expect(r.err).not.toContain('info     model:'); // the model never loaded
  });

  it('steer run names the param path when no flag set it', () => {
    const r = steer('run', 'graphs/generate.json', '--out', mkdtempSync(join(tmpdir(), 'steer-msg-')), '--set', 'sample.steps=1000');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\$\.nodes\[\d+\]\.params\.steps: node "sample": the model's ddim scheduler runs at most 999 steps/);
  });

  it('the steering graph\'s Latent Optimize steps are checked the same way', () => {
    const r = steer('run', 'graphs/steer-spatial.json', '--out', mkdtempSync(join(tmpdir(), 'steer-msg-')), '--set', 'optimize.steps=1000');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\$\.nodes\[\d+\]\.params\.steps: node "optimize": the model's ddim scheduler runs at most 999 steps/);
  });

  it('bad flag values name the flag and the text typed, once', () => {
    const cases: [string[], RegExp][] = [
      [['--steps', 'abc'], /^error: --steps abc: "abc" is not a number$/m],
      [['--steps', '5000'], /^error: --steps 5000: must be at most 1000, got 5000$/m],
      [['--cfg', 'x'], /^error: --cfg x: "x" is not a number$/m],
      [['--scheduler', 'foo'], /^error: --scheduler foo: must be "ddim" or "euler"/m],
      [['--seed', '18446744073709551616'], /^error: --seed 18446744073709551616: 18446744073709551616 is too large/m],
    ];
    for (const [args, re] of cases) {
      const r = steer('generate', 'a red circle', ...args, '--out', png());
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err).not.toMatch(/sample\.|noise\.|\$\.nodes/);
      expect(r.err.match(/must be at most/g)?.length ?? 0).toBeLessThanOrEqual(1);
    }
  });

  it('a missing or non-folder --model is exit 2 saying "no such folder" / "is a file"', () => {
    const missing = steer('generate', 'a red circle', '--model', '/no/such/model', '--out', png());
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--model /no/such/model: ');
    expect(missing.err).toContain('/no/such/model: no such folder');
    const file = steer('eval', 'objects', '--model', 'README.md', '--out', mkdtempSync(join(tmpdir(), 'steer-msg-')));
    expect(file.code).toBe(2);
    expect(file.err).toContain('README.md: is a file, not a model folder');
    const run = steer('run', 'graphs/generate.json', '--set', 'model.path=/no/such/model', '--out', mkdtempSync(join(tmpdir(), 'steer-msg-')));
    expect(run.code).toBe(2);
  });
});

describe('unclear messages made clear', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'steer-msg-'));

  it('a graph file starting with a UTF-8 BOM reads as JSON', () => {
    const d = dir();
    writeFileSync(join(d, 'bom.json'), `\ufeff${readFileSync('graphs/parse-relations.json', 'utf8')}`);
    const r = steer('validate', join(d, 'bom.json'));
    expect(r.err).not.toContain('Unexpected token');
    expect(r.code, r.err).toBe(0);
  });

  it('a device file or a folder is refused at once, not read forever', () => {
    const t0 = performance.now();
    const dev = steer('validate', '/dev/zero');
    expect(dev.code).toBe(2);
    expect(dev.err).toContain('/dev/zero: is not a regular file');
    expect(performance.now() - t0).toBeLessThan(15_000);
    const folder = steer('run', 'graphs');
    expect(folder.code).toBe(2);
    expect(folder.err).toMatch(/graphs: is a folder, not a graph file/);
  });

  it('--out under a regular file names the file, for run, generate, eval and train', () => {
    const cases = [
      ['run', 'graphs/parse-relations.json', '--out', 'README.md/sub'],
      ['generate', 'a red circle', '--out', 'README.md/x.png'],
      ['eval', 'objects', '--out', 'README.md/sub'],
      ['train', 'shape-world', '--stage', 'vae', '--out', 'README.md/sub'],
    ];
    for (const args of cases) {
      const r = steer(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(/README\.md is a file(, so no folder can be made under it|, not a folder)/);
      expect(r.err).not.toMatch(/EEXIST|ENOTDIR/);
    }
  });

  it('steer run removes the temporary files a killed run left in its output folder', () => {
    const out = dir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = join(out, `.relations.json.${dead}.00112233aabb.tmp`);
    writeFileSync(stale, 'half');
    const r = steer('run', 'graphs/parse-relations.json', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['relations.json']);
  });

  it('a batch-64 noise latent is refused saying batch, before the model loads', () => {
    const r = steer('run', 'graphs/generate.json', '--out', dir(), '--set', 'noise.batch=64', '--set', 'sample.steps=2');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\$\.nodes\[\d+\]\.params\.batch: node "noise": batch 64: "sample" denoises one latent at a time, so set batch to 1/);
  });
});

describe('engine requests (the server and the Electron app)', () => {
  const host = new EngineHost({ graphsDir: 'graphs' });
  const ask = (method: string, params: unknown) => host.handle({ kind: 'request', id: 1, method, params } as never);

  it('a missing graph says so instead of "got undefined undefined"', async () => {
    const r = (await ask('validate', {})) as { result: { issues: { message: string }[] } };
    expect(r.result.issues[0]!.message).toBe('no graph was given');
    expect(JSON.stringify(await ask('run', { runId: 'x' }))).not.toContain('undefined');
  });

  it('readGraph with a number for a path is a sentence, not a Node type error', async () => {
    const r = (await ask('readGraph', { path: 5 })) as { ok: boolean; error: { message: string } };
    expect(r.ok).toBe(false);
    expect(r.error.message).toBe('a graph path is required');
  });

  it('a batch-64 latent run from the editor fails at the Sampler saying batch', async () => {
    const graph = JSON.parse(readFileSync('graphs/generate.json', 'utf8'));
    graph.nodes.find((n: { id: string }) => n.id === 'noise').params.batch = 64;
    const failures: string[] = [];
    const off = host.onEvent((e) => {
      if (e.type === 'node.failed') failures.push(`${e.nodeId}: ${e.error.message}`);
    });
    const r = (await ask('run', { runId: 'batch', graph, targets: ['sample'] })) as { result: { status: string } };
    off();
    expect(r.result.status).toBe('failed');
    expect(failures[0]).toMatch(/^sample: .*batch 64: the Sampler denoises one latent at a time, so set Noise Latent to batch 1/);
  });

  it('string targets are refused, not split into letters', async () => {
    const graph = JSON.parse(readFileSync('graphs/parse-relations.json', 'utf8'));
    const r = (await ask('run', { runId: 't', graph, targets: 'save' })) as { ok: boolean; error: { message: string } };
    expect(r.ok).toBe(false);
    expect(r.error.message).toBe('targets must be a list of node ids, got "save"');
  });
});
