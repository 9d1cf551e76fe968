/**
 * `steer grad` refuses to overwrite its input, checks --samples and --tol before writing anything,
 * and writes its output atomically (no partial file, no leftover temporary file).
 */
import { spawnSync } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { saveModel } from '../../src/engine/onnx/model.ts';

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** y = x * x: a model every gradient rule handles. */
function squareModel(): { dir: string; model: string } {
  const dir = mkdtempSync(join(tmpdir(), 'steer-grad-'));
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [3]);
  g.output(g.op('Mul', [x, x]), 'y');
  const model = join(dir, 'sq.onnx');
  saveModel(g.toModel(), model);
  return { dir, model };
}

describe('steer grad input checks', () => {
  it('--out equal to the input (same path or a hard link) is refused and the model is untouched', () => {
    const { dir, model } = squareModel();
    const before = readFileSync(model);
    const same = steer('grad', model, '--of', 'y', '--wrt', 'x', '--out', model);
    expect(same.code).toBe(2);
    expect(same.err).toContain('is the input model');
    linkSync(model, join(dir, 'link.onnx'));
    const linked = steer('grad', model, '--of', 'y', '--wrt', 'x', '--out', join(dir, 'link.onnx'));
    expect(linked.code).toBe(2);
    expect(readFileSync(model)).toEqual(before);
  });

  it('--samples -1, --samples 0 and --tol abc are refused before any output is written', () => {
    const { dir, model } = squareModel();
    for (const bad of [['--samples', '-1'], ['--samples', '0'], ['--tol', 'abc']]) {
      const r = steer('grad', model, '--of', 'y', '--wrt', 'x', '--out', join(dir, 'g.onnx'), '--check', ...bad);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.err).toContain(bad[0]);
      expect(readdirSync(dir).sort()).toEqual(['sq.onnx']);
    }
  });

  it('writes the gradient model with no temporary file left behind', () => {
    const { dir, model } = squareModel();
    const r = steer('grad', model, '--of', 'y', '--wrt', 'x', '--out', join(dir, 'g.onnx'), '--check', '--samples', '2');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('x_grad');
    expect(readdirSync(dir).sort()).toEqual(['g.onnx', 'sq.onnx']);
  });

  it('replaces an existing output by rename, never by rewriting it in place', () => {
    const { dir, model } = squareModel();
    const out = join(dir, 'g.onnx');
    writeFileSync(out, 'previous output');
    linkSync(out, join(dir, 'old.onnx')); // a second name for the old file's inode
    const r = steer('grad', model, '--of', 'y', '--wrt', 'x', '--out', out);
    expect(r.code, r.err).toBe(0);
    // An in-place rewrite (truncate + write) would change the old inode too: a reader or a crash
    // mid-write would see half a model.
    expect(readFileSync(join(dir, 'old.onnx'), 'utf8')).toBe('previous output');
    expect(readFileSync(out).length).toBeGreaterThan(20);
  });
});
