import { describe, expect, it } from 'vitest';
import { buildUNet } from '../../src/engine/nets/unet.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { createSession, type HostTensor } from '../../src/engine/onnx/session.ts';
import { buildClassifier } from '../../src/engine/steer/classifier-net.ts';
import { buildSteeringForward } from '../../src/engine/steer/steer-graph.ts';
import { randf } from '../nets/util.ts';


/** Directional derivatives of `loss` w.r.t. the sample: along the gradient itself, then random directions. */
async function expectGradientMatches(s: Awaited<ReturnType<typeof createSession>>, feeds: Record<string, HostTensor>, out: Record<string, HostTensor>) {
  const g = out.sample_grad!.data as Float32Array;
  const x = feeds.sample!.data as Float32Array;
  // directional derivatives: along the gradient itself (analytic = |g|), then random directions;
  // errors relative to max(|analytic|, |numeric|, 2e-3): the float32 loss (~1.5) resolves no less
  let seed = 7;
  const gnorm = Math.sqrt(g.reduce((a, b) => a + b * b, 0));
  for (let trial = 0; trial < 3; trial++) {
    const v = trial === 0 ? Float32Array.from(g, (gi) => gi / gnorm) : Float32Array.from(x, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const analytic = g.reduce((a, gi, i) => a + gi * v[i]!, 0);
    const at = async (h: number) => ((await s.run({ ...feeds, sample: { data: Float32Array.from(x, (xi, i) => xi + h * v[i]!), dims: [1, 4, 16, 16] } })).loss!.data as Float32Array)[0]!;
    let best = Infinity;
    for (const h of [1e-3, 3e-3, 1e-2]) {
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      best = Math.min(best, Math.abs(numeric - analytic) / Math.max(Math.abs(analytic), Math.abs(numeric), 2e-3));
    }
    expect(best).toBeLessThan(3e-2);
  }
}

describe('compiled steering loss', () => {
  it('its gradient w.r.t. the latent (learned + centroid terms) agrees with finite differences', async () => {
    const unet = buildUNet({}, 9);
    const clf = buildClassifier({ channels: 28, size: 16, classes: 4, buckets: 6, d: 8, layers: 1, heads: 2, ff: 8, poolHeads: 2, headFf: 8, headBucketDim: 4, dropout: 0 }, { seed: 2 }).model;
    const fwd = await buildSteeringForward(unet, { file: 'unet.onnx', latentShape: [4, 16, 16] }, [{ kind: 'learned', classifier: { dir: 'x', model: clf, classes: 4 } }, { kind: 'centroid', margin: 0.1 }]);
    expect(fwd.spec.channels).toHaveLength(28);
    const T = fwd.tokens;
    const tokens = new Float32Array(2 * T);
    tokens[3] = 1; // object 0 = token 3
    tokens[T + 6] = 0.5; // object 1 = mean of tokens 6 and 7
    tokens[T + 7] = 0.5;
    const feeds: Record<string, HostTensor> = {
      sample: randf([1, 4, 16, 16], 3),
      timestep: { data: Float32Array.of(600), dims: [1] },
      encoder_hidden_states: randf([1, T, 64], 4),
      tokens: { data: tokens, dims: [2, T] },
      pair_0: { data: BigInt64Array.of(0n, 1n), dims: [2] },
      weight_0: { data: Float32Array.of(1), dims: [1] },
      target_0: { data: Float32Array.of(0, 1, 0, 0), dims: [1, 4] },
      bucket_0: { data: BigInt64Array.of(2n), dims: [1] },
      pair_1: { data: BigInt64Array.of(0n, 1n), dims: [2] },
      weight_1: { data: Float32Array.of(3), dims: [1] },
      dir_1: { data: Float32Array.of(-1, 0), dims: [2] },
    };
    const { sample: _s, ...rest } = feeds;
    const grad = await differentiate(fwd.model, { of: 'loss', wrt: ['sample'], keep: ['loss_0', 'loss_1', 'probs_0'], probeFeeds: rest });
    const s = await createSession(grad);
    const out = await s.run(feeds);
    const loss = (out.loss!.data as Float32Array)[0]!;
    const l0 = (out.loss_0!.data as Float32Array)[0]!;
    const l1 = (out.loss_1!.data as Float32Array)[0]!;
    expect(loss).toBeCloseTo(l0 + 3 * l1, 5);
    expect(Array.from(out.probs_0!.data as Float32Array).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await expectGradientMatches(s, feeds, out);
    // switching a term off by its weight removes it from the loss
    const off = await s.run({ ...feeds, weight_1: { data: Float32Array.of(0), dims: [1] } });
    expect((off.loss!.data as Float32Array)[0]).toBeCloseTo(l0, 5);
    await s.release();
  }, 120_000);

  it('presence and binding terms: gradient agrees with finite differences; the UNet is cut after the last tapped layer', async () => {
    const unet = buildUNet({}, 9);
    const fwd = await buildSteeringForward(unet, { file: 'unet.onnx', latentShape: [4, 16, 16] }, [{ kind: 'presence' }, { kind: 'binding' }]);
    const T = fwd.tokens;
    const rows = 4; // two objects, a modifier row, the text row
    const tokens = new Float32Array(rows * T);
    tokens[3] = 1;
    tokens[T + 6] = 1;
    tokens[2 * T + 2] = 1; // the modifier of object 0
    for (let i = 1; i < 8; i++) tokens[3 * T + i] = 1; // text row: a sum
    const feeds: Record<string, HostTensor> = {
      sample: randf([1, 4, 16, 16], 5),
      timestep: { data: Float32Array.of(500), dims: [1] },
      encoder_hidden_states: randf([1, T, 64], 6),
      tokens: { data: tokens, dims: [rows, T] },
      rows_0: { data: BigInt64Array.of(1n, 3n), dims: [2] },
      weight_0: { data: Float32Array.of(1), dims: [1] },
      rows_1: { data: BigInt64Array.of(2n, 0n, 1n), dims: [3] },
      weight_1: { data: Float32Array.of(2), dims: [1] },
    };
    const { sample: _s, ...rest } = feeds;
    const grad = await differentiate(fwd.model, { of: 'loss', wrt: ['sample'], keep: ['loss_0', 'loss_1'], probeFeeds: rest, dimSizes: { objects: rows } });
    const s = await createSession(grad);
    const out = await s.run(feeds);
    const [l0, l1] = [(out.loss_0!.data as Float32Array)[0]!, (out.loss_1!.data as Float32Array)[0]!];
    expect(l0).toBeGreaterThan(0);
    expect(l0).toBeLessThan(1); // 1 - a peak share in (0, 1]
    expect(l1).toBeGreaterThanOrEqual(0);
    expect(l1).toBeLessThanOrEqual(2);
    expect((out.loss!.data as Float32Array)[0]).toBeCloseTo(l0 + 2 * l1, 5);
    await expectGradientMatches(s, feeds, out);
    await s.release();
    // The full UNet ends in conv_out; a loss reading only the down blocks never runs the up blocks.
    const names = (m: typeof grad) => m.graph!.node.map((n) => n.name).join('\n');
    expect(names(unet)).toMatch(/conv_out/);
    expect(names(grad)).not.toMatch(/conv_out/);
    const down = await buildSteeringForward(unet, { file: 'unet.onnx', latentShape: [4, 16, 16] }, [{ kind: 'centroid', margin: 0.1 }], { blocks: ['down'] });
    const probe = { ...rest, tokens: { data: tokens.slice(0, 2 * T), dims: [2, T] }, pair_0: { data: BigInt64Array.of(0n, 1n), dims: [2] }, weight_0: { data: Float32Array.of(1), dims: [1] }, dir_0: { data: Float32Array.of(-1, 0), dims: [2] } };
    delete (probe as Record<string, unknown>).rows_0;
    delete (probe as Record<string, unknown>).rows_1;
    delete (probe as Record<string, unknown>).weight_1;
    const cut = await differentiate(down.model, { of: 'loss', wrt: ['sample'], probeFeeds: probe, dimSizes: { objects: 2 } });
    expect(names(cut)).not.toMatch(/up_blocks/);
    expect(cut.graph!.node.length).toBeLessThan(grad.graph!.node.length);
  }, 120_000);
});
