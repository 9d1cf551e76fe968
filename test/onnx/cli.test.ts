import { describe, expect, it, afterAll, vi } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from '../../src/cli/commands/grad.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { saveModel, loadModel, externalizeInitializers } from '../../src/engine/onnx/model.ts';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { buildUNet } from './blocks.ts';

const tmp = mkdtempSync(join(tmpdir(), 'steer-grad-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<string> {
  const program = new Command('steer').exitOverride();
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('steer grad', () => {
  const unet = join(tmp, 'unet', 'unet.onnx');
  const dir = join(tmp, 'unet');
  const ext = externalizeInitializers(buildUNet({ batch: 'batch', channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 }), dir, 'unet.onnx_data', 64);
  saveModel(ext, unet, { baseDir: dir });

  it('writes a gradient model and checks it (external data, symbolic batch)', async () => {
    const out = join(tmp, 'out', 'unet_grad.onnx');
    const text = await run(['grad', unet, '--of', 'noise_pred', '--wrt', 'sample,conv_in.weight', '--keep', 'attn_probs', '--out', out, '--check', '--dim', 'batch=2', '--samples', '3']);
    expect(existsSync(out)).toBe(true);
    expect(text).toMatch(/outputs attn_probs, noise_pred, sample_grad, conv_in\.weight_grad/);
    expect(text).toMatch(/sample_grad\s+\d\.\d\de[-+]\d+\s+3/);
    expect(text).toMatch(/conv_in\.weight_grad/);
    const m = loadModel(out);
    expect(m.model.graph!.input.map((i) => i.name)).toContain('conv_in.weight');
  });

  it('several --of with --seeds inputs writes a vector-Jacobian-product model', async () => {
    const out = join(tmp, 'vjp.onnx');
    const text = await run(['grad', unet, '--of', 'noise_pred,attn_probs', '--wrt', 'sample', '--seeds', 'inputs', '--out', out]);
    expect(text).toMatch(/outputs noise_pred, attn_probs, sample_grad/);
    const m = loadModel(out);
    expect(m.model.graph!.input.map((i) => i.name)).toEqual(expect.arrayContaining(['noise_pred_seed', 'attn_probs_seed']));
    await expect(run(['grad', unet, '--of', 'noise_pred', '--wrt', 'sample', '--seeds', 'inputs', '--check', '--out', out])).rejects.toThrow(UsageError);
  });

  it('invalid names and unsupported ops are usage errors (exit 2)', async () => {
    const out = join(tmp, 'bad.onnx');
    await expect(run(['grad', unet, '--of', 'nope', '--wrt', 'sample', '--out', out])).rejects.toThrow(UsageError);
    await expect(run(['grad', unet, '--of', 'noise_pred', '--wrt', 'nope', '--out', out])).rejects.toThrow(/not a graph input or initializer/);
    await expect(run(['grad', join(tmp, 'missing.onnx'), '--of', 'y', '--wrt', 'x', '--out', out])).rejects.toThrow(UsageError);
    const g = new GraphBuilder({ opset: 17 });
    g.output(g.op('Acosh', [g.input('x', 'float32', [3])], {}, { name: '/Acosh' }), 'y');
    const p = join(tmp, 'cos.onnx');
    saveModel(g.toModel(), p);
    const err = await run(['grad', p, '--of', 'y', '--wrt', 'x', '--out', out]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/no gradient rule for op 'Acosh' \(node '\/Acosh'\)/);
  });
});
