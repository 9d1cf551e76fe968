import { describe, expect, it } from 'vitest';
import { buildClassifier, classifierSymmetry, type ClassifierConfig } from '../../src/engine/steer/classifier-net.ts';
import { augmentLabel, pixelPermutation, transformCombos, type Augment } from '../../src/engine/steer/map-transforms.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { randn } from '../onnx/gradcheck.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import type { HostTensor } from '../../src/engine/onnx/session.ts';
import { modelWeights } from '../../src/engine/train/shape-world/weights.ts';

const tiny: ClassifierConfig = { channels: 3, size: 4, classes: 4, buckets: 3, d: 8, layers: 2, heads: 2, ff: 12, poolHeads: 2, headFf: 10, headBucketDim: 4, dropout: 0.3 };

function feeds(B: number, withTraining: boolean) {
  const target = new Float32Array(B * 4);
  for (let b = 0; b < B; b++) target[b * 4 + (b % 4)] = 1;
  return {
    maps: randn([B, 2, 3, 4, 4], 11),
    bucket: { data: BigInt64Array.from({ length: B }, (_, i) => BigInt(i % 3)), dims: [B] },
    ...(withTraining ? { target: { data: target, dims: [B, 4] } } : {}),
  };
}

describe('relation classifier graph', () => {
  it('runs: probabilities per sample sum to 1, and depend on the step bucket', async () => {
    const { model } = buildClassifier(tiny, { seed: 3 });
    const s = await createSession(model);
    const f = feeds(3, false);
    const out = await s.run(f);
    const p = out.probs!.data as Float32Array;
    expect(out.probs!.dims).toEqual([3, 4]);
    for (let b = 0; b < 3; b++) expect(p[b * 4]! + p[b * 4 + 1]! + p[b * 4 + 2]! + p[b * 4 + 3]!).toBeCloseTo(1, 5);
    const again = await s.run({ ...f, bucket: { data: BigInt64Array.from([2n, 0n, 1n]), dims: [3] } });
    expect(Array.from(again.logits!.data as Float32Array)).not.toEqual(Array.from(out.logits!.data as Float32Array));
    await s.release();
  });

  it('gradients of the training loss w.r.t. every weight and the maps agree with finite differences', async () => {
    // Directional check per tensor: <grad, v> against a central difference of the loss along a
    // random +-1 direction v (every element moves, so the float32 loss change is far above its
    // rounding noise, which per-coordinate checks of tiny gradients are not). Errors are relative
    // to max(|analytic|, |numeric|, 1e-2): the float32 loss (~1.4) cannot resolve much less.
    const { model, dropSites, params } = buildClassifier(tiny, { seed: 5, training: true });
    expect(dropSites.length).toBeGreaterThan(4);
    const B = 3;
    const masks = Object.fromEntries(dropSites.map((s, i) => {
      const dims = s.dims.map((d) => (d === 'B' ? B : d));
      const n = dims.reduce((a, b) => a * b, 1);
      return [s.name, { data: Float32Array.from({ length: n }, (_, j) => ((j * 7 + i) % 3 === 0 ? 0 : 1 / 0.7)), dims }];
    }));
    const weights = modelWeights([model]);
    const wrt = [...params.keys(), 'maps'];
    const base: Record<string, HostTensor> = { ...feeds(B, true), ...masks };
    for (const [k, v] of weights.weights) base[k] = { data: v, dims: weights.shapes.get(k)! };
    const grad = await differentiate(model, { of: 'loss', wrt, probeFeeds: Object.fromEntries(Object.entries(base).filter(([k]) => !params.has(k))) });
    const s = await createSession(grad);
    const res = await s.run(base);
    const lossAt = async (name: string, x: Float32Array) => ((await s.run({ ...base, [name]: { data: x, dims: base[name]!.dims } })).loss!.data as Float32Array)[0]!;
    const errors: Record<string, number> = {};
    let seed = 1;
    for (const name of wrt) {
      const x = base[name]!.data as Float32Array;
      const g = res[`${name}_grad`]!.data as Float32Array;
      const v = Float32Array.from(x, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) & 0x10000 ? 1 : -1));
      let analytic = 0;
      for (let i = 0; i < x.length; i++) analytic += g[i]! * v[i]!;
      let best = Infinity;
      for (const h of [1e-3, 3e-3]) {
        const plus = await lossAt(name, Float32Array.from(x, (xi, i) => xi + h * v[i]!));
        const minus = await lossAt(name, Float32Array.from(x, (xi, i) => xi - h * v[i]!));
        const numeric = (plus - minus) / (2 * h);
        best = Math.min(best, Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-2));
      }
      errors[name] = best;
    }
    await s.release();
    const worst = Object.entries(errors).sort((a, b) => b[1] - a[1]);
    expect(worst[0]![1], `worst: ${worst[0]![0]}`).toBeLessThan(3e-2);
    expect(Object.keys(errors)).toHaveLength(params.size + 1);
  });
});

describe('relation classifier graph with a built-in symmetry', () => {
  const classes = ['left', 'right', 'above', 'below'] as const;
  const all = transformCombos({ swap: true, mirror: true, flip: true, transpose: true });
  // maps [B, 2, 3, 4, 4] under t, in JS (the makeBatch transform, checked against geometry in augment.test.ts)
  const transformJs = (x: Float32Array, B: number, t: Augment): Float32Array => {
    const S = 4;
    const C = 3;
    const perm = pixelPermutation(t, S);
    const out = new Float32Array(x.length);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < 2; o++) {
        for (let c = 0; c < C; c++) {
          const to = ((b * 2 + o) * C + c) * S * S;
          const from = ((b * 2 + (t.swap ? 1 - o : o)) * C + c) * S * S;
          for (let p = 0; p < S * S; p++) out[to + p] = x[from + perm[p]!]!;
        }
      }
    }
    return out;
  };

  it('outputs the mean of the plain graph log-probabilities over the transformed copies, classes mapped back', async () => {
    const B = 3;
    const f = feeds(B, false);
    const plain = await createSession(buildClassifier(tiny, { seed: 3 }).model);
    const symmetric = await createSession(buildClassifier(tiny, { seed: 3, symmetry: classifierSymmetry(all, classes) }).model);
    const expected = new Float64Array(B * 4);
    for (const t of all) {
      const out = await plain.run({ ...f, maps: { data: transformJs(f.maps.data as Float32Array, B, t), dims: f.maps.dims } });
      const lg = out.logits!.data as Float32Array;
      for (let b = 0; b < B; b++) {
        const row = Array.from(lg.subarray(b * 4, b * 4 + 4));
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
        classes.forEach((c, k) => (expected[b * 4 + k]! += (row[classes.indexOf(augmentLabel(c, t))]! - lse) / all.length));
      }
    }
    const got = (await symmetric.run(f)).logits!.data as Float32Array;
    for (let i = 0; i < B * 4; i++) expect(got[i]!).toBeCloseTo(expected[i]!, 5);
    // and it is invariant: a transformed sample gets the transformed relation's probability
    const base = (await symmetric.run(f)).probs!.data as Float32Array;
    for (const t of [all[3]!, all[6]!, all[13]!]) {
      const moved = (await symmetric.run({ ...f, maps: { data: transformJs(f.maps.data as Float32Array, B, t), dims: f.maps.dims } })).probs!.data as Float32Array;
      for (let b = 0; b < B; b++) classes.forEach((c, k) => expect(moved[b * 4 + classes.indexOf(augmentLabel(c, t))]!).toBeCloseTo(base[b * 4 + k]!, 5));
    }
    await plain.release();
    await symmetric.release();
  });

  it('gradients w.r.t. the maps agree with finite differences through the symmetry', async () => {
    const cfg = { ...tiny, dropout: 0 };
    const { model, params } = buildClassifier(cfg, { seed: 5, training: true, symmetry: classifierSymmetry(all, classes) });
    const weights = modelWeights([model]);
    const base: Record<string, HostTensor> = { ...feeds(2, true) };
    for (const [k, v] of weights.weights) base[k] = { data: v, dims: weights.shapes.get(k)! };
    const grad = await differentiate(model, { of: 'loss', wrt: ['maps'], probeFeeds: Object.fromEntries(Object.entries(base).filter(([k]) => !params.has(k))) });
    const s = await createSession(grad);
    const x = base.maps!.data as Float32Array;
    const g = (await s.run(base)).maps_grad!.data as Float32Array;
    const v = Float32Array.from(x, (_, i) => (i % 3 === 0 ? 1 : -1));
    const analytic = g.reduce((a, gi, i) => a + gi * v[i]!, 0);
    const h = 1e-3;
    const lossAt = async (d: number) => ((await s.run({ ...base, maps: { data: Float32Array.from(x, (xi, i) => xi + d * v[i]!), dims: base.maps!.dims } })).loss!.data as Float32Array)[0]!;
    const numeric = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h);
    expect(Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-2)).toBeLessThan(3e-2);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
    await s.release();
  });
});
