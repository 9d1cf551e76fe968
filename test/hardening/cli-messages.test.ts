/**
 * CLI input mistakes: caught before any model loads, exit 2, and said in the terms the user typed
 * (the flag, not `--set sample.steps=...` or `$.nodes[5].params.steps`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
