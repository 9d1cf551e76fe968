import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { decodePng, readPngText } from '../../src/engine/image/png.ts';
import { SessionManager } from '../../src/engine/onnx/session.ts';
import { decodeLatent } from '../../src/engine/pipeline/decode.ts';
import { encodePrompt } from '../../src/engine/pipeline/encode.ts';
import { loadPipeline, type Pipeline } from '../../src/engine/pipeline/load.ts';
import { sampleLatent } from '../../src/engine/pipeline/sample.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { untrainedModelFolder } from './helpers.ts';

let dir: string;
let pipe: Pipeline;
beforeAll(async () => {
  dir = await untrainedModelFolder();
  pipe = await loadPipeline(dir, new SessionManager());
});

describe('text-to-image pipeline on a Shape World model folder', () => {
  it('reads the io conventions from the sessions', () => {
    expect(pipe.latentShape).toEqual([4, 16, 16]);
    expect(pipe.io).toEqual({ idsType: 'int64', timestepType: 'float32', timestepShape: 'vector', batchable: true });
    expect(pipe.hiddenSize).toBe(64);
  });

  it('encodes a prompt and aligns each object to its tokens', async () => {
    const c = await encodePrompt(pipe, parsePrompt('a photo of a red circle to the left of a blue square'));
    expect(c.cond.dims).toEqual([1, 32, 64]);
    expect(c.uncond.dims).toEqual([1, 32, 64]);
    expect(c.objects.map((o) => [o.object, o.tokenIndices.map((i) => c.tokens[i])])).toEqual([
      ['red circle', ['red', 'circle']],
      ['blue square', ['blue', 'square']],
    ]);
    expect(c.cond.data).not.toEqual(c.uncond.data);
  });

  it('samples deterministically per seed, with DDIM and Euler, and decodes to 64x64', async () => {
    const c = await encodePrompt(pipe, parsePrompt('a green cross above a yellow triangle'));
    const run = (seed: number, scheduler: 'ddim' | 'euler') =>
      sampleLatent(pipe, { cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], seed), steps: 4, guidance: 5, scheduler });
    const a = await run(1, 'ddim');
    const b = await run(1, 'ddim');
    const other = await run(2, 'ddim');
    const euler = await run(1, 'euler');
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(a).not.toEqual(other);
    expect(a).not.toEqual(euler);
    expect(a.every(Number.isFinite) && euler.every(Number.isFinite)).toBe(true);
    const img = await decodeLatent(pipe, a);
    expect([img.width, img.height, img.data.length]).toEqual([64, 64, 64 * 64 * 3]);
  });

  it('stops between steps when cancelled', async () => {
    const c = await encodePrompt(pipe, parsePrompt('a red circle'));
    const ac = new AbortController();
    let steps = 0;
    const p = sampleLatent(pipe, {
      cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], 0), steps: 50, guidance: 5, scheduler: 'ddim', signal: ac.signal,
      onStep: (i) => { steps = i; if (i === 2) ac.abort(); },
    });
    await expect(p).rejects.toThrow();
    expect(steps).toBe(2);
  });
});

describe('steer generate', () => {
  const steer = (...args: string[]) => spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8' });

  it('writes a PNG with the graph, seed and prompt embedded; the same seed gives the same pixels', () => {
    const out = mkdtempSync(join(tmpdir(), 'steer-gen-'));
    const args = ['generate', 'a photo of a red circle to the left of a blue square', '--steps', '3', '--seed', '11', '--model', dir];
    const r1 = steer(...args, '--out', join(out, 'a.png'));
    expect(r1.stderr).toContain('wrote');
    expect(r1.status).toBe(0);
    const r2 = steer(...args, '--out', join(out, 'b.png'));
    expect(r2.status).toBe(0);
    const a = new Uint8Array(readFileSync(join(out, 'a.png')));
    const text = readPngText(a);
    expect(text.steer_seed).toBe('11');
    expect(text.steer_prompt).toBe('a photo of a red circle to the left of a blue square');
    const graph = JSON.parse(text.steer_graph!);
    // a relation prompt runs the unsteered branch of compare-losses.json, so its relation is checked
    expect(graph.nodes.find((n: { id: string }) => n.id === 'sample_none').params.steps).toBe(3);
    expect(decodePng(a).data).toEqual(decodePng(new Uint8Array(readFileSync(join(out, 'b.png')))).data);
  });

  it('names every missing piece of a broken model folder and exits 2 (bad input), before loading anything', () => {
    const broken = mkdtempSync(join(tmpdir(), 'steer-broken-'));
    const r = steer('generate', 'a red circle', '--model', broken, '--out', join(broken, 'x.png'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('model_index.json: missing');
    expect(r.stderr).toContain('unet/model.onnx: missing');
    expect(existsSync(join(broken, 'x.png'))).toBe(false);
    rmSync(broken, { recursive: true });
  });

  it('exits 2 on bad options', () => {
    expect(steer('generate', 'a red circle', '--steps', 'many').status).toBe(2);
    expect(steer('generate', 'a red circle', '--out', 'x.jpg').status).toBe(2);
  });
});

describe('the bundled Shape World model', () => {
  it('loads from resources/ and generates a 64x64 image, the same for the same seed', async () => {
    const bundled = await loadPipeline('resources/models/shape-world', new SessionManager());
    expect(bundled.latentShape).toEqual([4, 16, 16]);
    expect(bundled.scalingFactor).toBeGreaterThan(0.1);
    const c = await encodePrompt(bundled, parsePrompt('a photo of a red circle to the left of a blue square'));
    const gen = async () => decodeLatent(bundled, await sampleLatent(bundled, { cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], 5), steps: 10, guidance: 7.5, scheduler: 'ddim' }));
    const [a, b] = [await gen(), await gen()];
    expect([a.width, a.height]).toEqual([64, 64]);
    expect(a.data).toEqual(b.data);
    await bundled.dispose();
  });
});
