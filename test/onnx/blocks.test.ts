import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { differentiate, RULES, UnsupportedOpError, GradientError } from '../../src/engine/onnx/autodiff/index.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { gradcheck, opTypes, randn } from './gradcheck.ts';
import { Net, buildUNet } from './blocks.ts';
import { probeShapes } from '../../src/engine/onnx/autodiff/probe.ts';
import { GradientRunner } from '../../src/engine/onnx/autodiff/runner.ts';
import { tensorValues } from '../../src/engine/onnx/model.ts';
import { NORM_GRAD } from '../../src/engine/onnx/autodiff/rules/nn.ts';

const TOL = 1e-2; // composites: FD truncation error grows with depth (ops alone pass at 2e-3)
function ok(r: { errors: Record<string, number> }, label = '') {
  for (const [k, v] of Object.entries(r.errors)) expect(v, `${label} d/d${k}`).toBeLessThan(TOL);
}

/** Standard ai.onnx operator names the engine may emit (a result using anything else fails). */
const AI_ONNX = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Pow', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Abs', 'Sign', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'Elu', 'Softplus', 'Erf', 'Gelu',
  'Softmax', 'LogSoftmax', 'MatMul', 'Gemm', 'Einsum', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements',
  'ScatterElements', 'ScatterND', 'OneHot', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'Identity', 'Cast', 'Where', 'Max', 'Min', 'Clip', 'Sum', 'Mean',
  'Conv', 'ConvTranspose', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'BatchNormalization', 'AveragePool', 'GlobalAveragePool', 'MaxPool',
  'Resize', 'Expand', 'Tile', 'Pad', 'Shape', 'Constant', 'ConstantOfShape', 'Range', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'And', 'Or', 'Not',
]);

function blockModel(build: (net: Net, g: GraphBuilder) => string, inputs: Record<string, number[]>) {
  const g = new GraphBuilder({ opset: 17 });
  for (const [k, s] of Object.entries(inputs)) g.input(k, 'float32', s);
  const net = new Net(g);
  g.output(build(net, g), 'y');
  return g.toModel();
}

describe('composite blocks as exported from diffusion UNets', () => {
  it('GroupNorm (Reshape -> InstanceNormalization -> Reshape -> Mul -> Add)', async () => {
    const m = blockModel((n) => n.groupNorm('x', 4, 2, 'gn'), { x: [2, 4, 3, 3] });
    ok(await gradcheck(m, { wrt: ['x', 'gn.weight', 'gn.bias'], samples: 8 }), 'GN');
  });

  it('SiLU and GELU (Div/Erf/Add/Mul)', async () => {
    ok(await gradcheck(blockModel((n) => n.silu('x', 'silu'), { x: [2, 5] }), { wrt: ['x'] }), 'SiLU');
    ok(await gradcheck(blockModel((n) => n.gelu('x', 'gelu'), { x: [2, 5] }), { wrt: ['x'] }), 'GELU');
  });

  it('LayerNorm decomposed and LayerNormalization op', async () => {
    ok(await gradcheck(blockModel((n) => n.layerNormDecomposed('x', 6, 'ln'), { x: [2, 3, 6] }), { wrt: ['x', 'ln.weight', 'ln.bias'], samples: 8 }), 'LN');
  });

  for (const useEinsum of [false, true]) {
    it(`cross-attention over [B, heads, HW, tokens] (${useEinsum ? 'Einsum' : 'MatMul'}): output and a loss on the attention map`, async () => {
      const build = (which: 'out' | 'probs') =>
        blockModel((n) => {
          const a = n.crossAttention('x', 'ctx', 8, 6, 2, 'attn', useEinsum);
          return which === 'out' ? a.out : a.probs;
        }, { x: [2, 4, 8], ctx: [2, 3, 6] });
      ok(await gradcheck(build('out'), { wrt: ['x', 'ctx', 'attn.to_q.weight_t', 'attn.to_out.bias'], samples: 6 }), 'attn out');
      ok(await gradcheck(build('probs'), { wrt: ['x', 'attn.to_k.weight_t'], samples: 6 }), 'attn probs');
    });
  }

  it('strided Conv + nearest Resize round trip', async () => {
    const m = blockModel((n, g) => {
      const d = n.conv('x', 2, 3, 3, 'down', 2);
      const u = g.op('Resize', [d, '', n.g.initializer('sc', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      return n.conv(u, 3, 2, 3, 'up');
    }, { x: [1, 2, 6, 6] });
    ok(await gradcheck(m, { wrt: ['x', 'down.weight', 'up.weight'], samples: 6 }), 'down/up');
  });

  it('residual block with timestep embedding', async () => {
    const m = blockModel((n) => n.resBlock('x', 'temb', 4, 5, 2, 'res'), { x: [2, 4, 4, 4], temb: [2, 5] });
    ok(await gradcheck(m, { wrt: ['x', 'temb', 'res.conv1.weight', 'res.time_emb_proj.weight_t', 'res.norm2.weight'], samples: 5 }), 'res');
  });

  it('small UNet: Learn-to-Steer style loss on the attention map w.r.t. the latent and weights', async () => {
    const m = buildUNet({ batch: 1, channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    ok(await gradcheck(m, { of: 'attn_probs', wrt: ['sample', 'conv_in.weight', 'mid.attn.attn2.to_q.weight_t'], samples: 4 }), 'unet attn');
    ok(await gradcheck(m, { of: 'noise_pred', wrt: ['sample', 'context', 'conv_out.weight'], samples: 4 }), 'unet out');
  });
});

describe('engine properties', () => {
  it('emits only ai.onnx operators (UNet, all weights)', async () => {
    const m = buildUNet({ batch: 1, channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    const wrt = ['sample', ...m.graph!.initializer.filter((t) => t.name.endsWith('.weight') || t.name.endsWith('.weight_t')).map((t) => t.name)];
    const gm = await differentiate(m, { of: 'attn_probs', wrt, keep: ['noise_pred'] });
    for (const n of gm.graph!.node) expect(n.domain === '' || n.domain === 'ai.onnx', `${n.opType} domain ${n.domain}`).toBe(true);
    for (const op of opTypes(gm)) expect(AI_ONNX.has(op), `unexpected op ${op}`).toBe(true);
    expect(gm.opsetImport.map((o) => o.domain)).toEqual(['']);
    expect(gm.graph!.output.map((o) => o.name)).toEqual(['noise_pred', 'attn_probs', ...wrt.map((w) => `${w}_grad`)]);
    // initializers named in wrt became inputs
    const inputs = new Set(gm.graph!.input.map((i) => i.name));
    for (const w of wrt) expect(inputs.has(w)).toBe(true);
    const s = await createSession(gm);
    expect(s.outputNames.length).toBe(2 + wrt.length);
    await s.release();
  });

  it('GradientRunner: differentiate once, run repeatedly; stored weights are fed by default', async () => {
    const m = buildUNet({ batch: 'batch', channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    const r = await GradientRunner.create(m, { of: 'attn_probs', wrt: ['sample', 'conv_in.weight'], keep: ['noise_pred'] });
    expect(r.requiredInputs.sort()).toEqual(['context', 'sample', 'temb']);
    const feeds = { sample: randn([2, 2, 4, 4], 1), temb: randn([2, 5], 2), context: randn([2, 3, 6], 3) };
    const a = await r.run(feeds);
    expect(Object.keys(a.outputs).sort()).toEqual(['attn_probs', 'noise_pred']);
    expect(a.grads.sample!.dims).toEqual([2, 2, 4, 4]);
    expect(a.grads['conv_in.weight']!.dims).toEqual([4, 2, 3, 3]);
    // same numbers as a plain session with the weight fed explicitly
    const w = m.graph!.initializer.find((t) => t.name === 'conv_in.weight')!;
    const s = await createSession(r.model);
    const b = await s.run({ ...feeds, 'conv_in.weight': { data: tensorValues(w).data as Float32Array, dims: w.dims.map(Number) } });
    expect(Array.from(b.sample_grad!.data as Float32Array)).toEqual(Array.from(a.grads.sample!.data as Float32Array));
    // a different latent gives a different gradient
    const c = await r.run({ ...feeds, sample: randn([2, 2, 4, 4], 9) });
    expect(Array.from(c.grads.sample!.data as Float32Array)).not.toEqual(Array.from(a.grads.sample!.data as Float32Array));
    await s.release();
    await r.release();
  });

  it('reuses forward activations: each forward node appears once', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [3]);
    const s = g.op('Sigmoid', [x]);
    const t = g.op('Tanh', [s]);
    const e = g.op('Exp', [t]);
    g.output(e, 'y');
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x'] });
    const count = (op: string) => gm.graph!.node.filter((n) => n.opType === op).length;
    expect(count('Sigmoid')).toBe(1);
    expect(count('Tanh')).toBe(1);
    expect(count('Exp')).toBe(1);
  });

  it('LayerNormalization reuses its own Mean/InvStdDev outputs', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 4]);
    g.output(g.op('LayerNormalization', [x, g.initializer('s', new Float32Array(4).fill(1), [4])], { axis: -1 }), 'y');
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x'] });
    const ln = gm.graph!.node.filter((n) => n.opType === 'LayerNormalization');
    expect(ln.length).toBe(1);
    expect(ln[0]!.output.filter((o) => o).length).toBe(3);
    expect(gm.graph!.node.some((n) => n.opType === 'ReduceMean' && n.input[0] === 'x')).toBe(false);
  });

  it('GroupNorm pattern: the backward reads the statistics of a rebuilt forward, not recomputed ones; outputs unchanged', async () => {
    const m = blockModel((n) => n.groupNorm('x', 8, 4, 'gn'), { x: [2, 8, 5, 5] });
    const x = randn([2, 8, 5, 5], 3, 'float32', 2);
    const ref = (await (await createSession(m)).run({ x })).y!.data as Float32Array;
    const saved = NORM_GRAD.stats;
    try {
      const grads: Float32Array[] = [];
      for (const stats of ['forward', 'recompute'] as const) {
        NORM_GRAD.stats = stats;
        const gm = await differentiate(m, { of: 'y', wrt: ['x'], keep: ['y'] });
        const count = (op: string) => gm.graph!.node.filter((n) => n.opType === op).length;
        // forward: one normalization node; statistics recomputed only in 'recompute' mode
        expect(count('InstanceNormalization') + count('LayerNormalization'), stats).toBe(1);
        expect(count('LayerNormalization'), stats).toBe(stats === 'forward' ? 1 : 0);
        expect(count('ReduceMean'), stats).toBe(stats === 'forward' ? 2 : 4);
        const s = await createSession(gm);
        const r = await s.run({ x });
        await s.release();
        const y = r.y!.data as Float32Array;
        for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - ref[i]!), `${stats} y[${i}]`).toBeLessThan(1e-5);
        grads.push(r.x_grad!.data as Float32Array);
      }
      for (let i = 0; i < grads[0]!.length; i++) expect(Math.abs(grads[0]![i]! - grads[1]![i]!)).toBeLessThan(1e-4);
      NORM_GRAD.stats = 'forward';
      ok(await gradcheck(m, { wrt: ['x', 'gn.weight', 'gn.bias'], samples: 8 }), 'GN forward stats');
    } finally {
      NORM_GRAD.stats = saved;
    }
  });

  it('SiLU x * Sigmoid(x) (either order) folds the Sigmoid path; other consumers of Sigmoid(x) still count', async () => {
    for (const order of ['xs', 'sx'] as const) {
      for (const extraUse of [false, true]) {
        const g = new GraphBuilder({ opset: 17 });
        const x = g.input('x', 'float32', [2, 5]);
        const s = g.op('Sigmoid', [x]);
        const y = g.op('Mul', order === 'xs' ? [x, s] : [s, x]);
        // extraUse: s also feeds the output directly, so its own gradient path must survive
        g.output(extraUse ? g.op('Add', [y, g.op('Mul', [s, s])]) : y, 'y');
        const r = await gradcheck(g.toModel(), { wrt: ['x'], feeds: { x: randn([2, 5], 5, 'float32', 2) } });
        expect(r.errors.x, `${order}${extraUse ? ' + s*s' : ''}`).toBeLessThan(2e-3);
        const subs = r.gradModel.graph!.node.filter((n) => n.opType === 'Sub' && n.name.startsWith('grad/')).length;
        // folded: one Sub (y - y*s); the Sigmoid rule's 1 - s only when s has another consumer
        expect(subs, `${order}${extraUse ? ' + s*s' : ''}`).toBe(extraUse ? 2 : 1);
      }
    }
  });

  it('gradient outputs are written by their backward nodes; a gradient shared by two wrt names reaches both', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [2, 3]);
    const c = g.input('c', 'float32', [2, 3]);
    g.output(g.op('Mul', [g.op('Add', [a, b]), c]), 'y');
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['a', 'b', 'c'] });
    // d/da and d/db are the same backward tensor (g * c): the first is renamed, the second keeps its Identity
    expect(gm.graph!.node.filter((n) => n.opType === 'Identity' && n.name.startsWith('grad')).length).toBe(1);
    const feeds = { a: randn([2, 3], 1), b: randn([2, 3], 2), c: randn([2, 3], 3) };
    const s = await createSession(gm);
    const r = await s.run(feeds);
    await s.release();
    const cv = feeds.c.data as Float32Array;
    for (let i = 0; i < 6; i++) {
      expect(r.a_grad!.data[i]).toBeCloseTo(cv[i]!, 6);
      expect(r.b_grad!.data[i]).toBeCloseTo(cv[i]!, 6);
      expect(r.c_grad!.data[i]).toBeCloseTo((feeds.a.data[i] as number) + (feeds.b.data[i] as number), 6);
    }
  });

  it('prunes what neither gradients nor kept outputs need', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [3]);
    const a = g.op('Exp', [x]);
    g.output(g.op('Neg', [a]), 'y');
    g.output(g.op('Log', [g.op('Sigmoid', [x])]), 'unused');
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x'] });
    expect(opTypes(gm).has('Log')).toBe(false);
    expect(opTypes(gm).has('Sigmoid')).toBe(false);
    const gm2 = await differentiate(g.toModel(), { of: 'y', wrt: ['x'], keep: ['unused'] });
    expect(opTypes(gm2).has('Log')).toBe(true);
  });

  it('sums non-scalar `of`; zero gradient when wrt does not influence of', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 3]);
    const z = g.input('z', 'float32', [4]);
    g.output(g.op('Mul', [x, x]), 'y');
    g.output(g.op('Neg', [z]), 'other');
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x', 'z'] });
    const s = await createSession(gm);
    const xv = randn([2, 3], 3);
    const r = await s.run({ x: xv, z: randn([4], 4) });
    for (let i = 0; i < 6; i++) expect(r.x_grad!.data[i]).toBeCloseTo(2 * (xv.data[i] as number), 5);
    expect(Array.from(r.z_grad!.data as Float32Array)).toEqual([0, 0, 0, 0]);
    await s.release();
  });

  it('symbolic batch dimension: gradient model runs at other batch sizes', async () => {
    const m = buildUNet({ batch: 'batch', channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    const gm = await differentiate(m, { of: 'attn_probs', wrt: ['sample', 'conv_in.weight'] });
    const s = await createSession(gm);
    for (const B of [1, 4]) {
      const r = await s.run({ sample: randn([B, 2, 4, 4], 1), temb: randn([B, 5], 2), context: randn([B, 3, 6], 3), 'conv_in.weight': randn([4, 2, 3, 3], 4, 'float32', 0.3) });
      expect(r.sample_grad!.dims).toEqual([B, 2, 4, 4]);
      expect(r['conv_in.weight_grad']!.dims).toEqual([4, 2, 3, 3]);
      expect(Number.isFinite(r.sample_grad!.data[0] as number)).toBe(true);
    }
    await s.release();
  });

  it('symbolic batch probed at size 1 (dimSizes): batch-1 operands still get reduced at other sizes', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 2, 3]);
    const pos = g.initializer('pos', Float32Array.from({ length: 6 }, (_, i) => i / 10), [1, 2, 3]);
    const w = g.initializer('w', Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), [1, 3, 4]);
    g.output(g.op('MatMul', [g.op('Add', [x, pos]), w]), 'y', 'float32', ['batch', 2, 4]);
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x', 'pos', 'w'], dimSizes: { batch: 1 } });
    const s = await createSession(gm);
    const B = 3;
    const xv = randn([B, 2, 3], 5);
    const r = await s.run({ x: xv, pos: { data: Float32Array.from({ length: 6 }, (_, i) => i / 10), dims: [1, 2, 3] }, w: { data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), dims: [1, 3, 4] } });
    expect(r.pos_grad!.dims).toEqual([1, 2, 3]);
    expect(r.w_grad!.dims).toEqual([1, 3, 4]);
    expect(r.x_grad!.dims).toEqual([B, 2, 3]);
    // d sum(y) / d pos[0, i, k] = sum_b sum_n w[k, n] = B * rowsum(w)[k]
    const wv = Array.from({ length: 12 }, (_, i) => Math.sin(i));
    for (let k = 0; k < 3; k++) {
      const rs = wv.slice(4 * k, 4 * k + 4).reduce((a, b) => a + b, 0);
      expect(r.pos_grad!.data[k]).toBeCloseTo(B * rs, 4);
    }
    await s.release();
  });

  it('light probe (shapes + one element + small values) agrees with fetching every tensor', async () => {
    const m = buildUNet({ batch: 'batch', channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    const light = await probeShapes(m, { mode: 'light' });
    const full = await probeShapes(m, { mode: 'full' });
    expect(light.size).toBe(full.size);
    for (const [k, v] of full) {
      const l = light.get(k)!;
      expect(l.dtype, k).toBe(v.dtype);
      expect(l.shape, k).toEqual(v.shape);
      if (v.dtype !== 'float32') expect(l.value, k).toEqual(v.value);
    }
  });

  it('a probe can be reused across differentiate calls (shapes option)', async () => {
    const m = buildUNet({ batch: 1, channels: 2, size: 4, base: 4, tokens: 3, ctxDim: 6, tembDim: 5, heads: 2 });
    const shapes = await probeShapes(m);
    const a = await differentiate(m, { of: 'attn_probs', wrt: ['sample'], shapes });
    const b = await differentiate(m, { of: 'noise_pred', wrt: ['conv_in.weight'], shapes });
    const ref = await differentiate(m, { of: 'attn_probs', wrt: ['sample'] });
    expect(a.graph!.node.length).toBe(ref.graph!.node.length);
    expect(b.graph!.output.map((o) => o.name)).toEqual(['noise_pred', 'conv_in.weight_grad']);
  });

  it('ops without a rule give a clear error naming op type and node', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [4]);
    g.output(g.op('Acosh', [x], {}, { name: '/block/Acosh' }), 'y');
    await expect(differentiate(g.toModel(), { of: 'y', wrt: ['x'] })).rejects.toThrow(UnsupportedOpError);
    await expect(differentiate(g.toModel(), { of: 'y', wrt: ['x'] })).rejects.toThrow(/'Acosh'.*'\/block\/Acosh'/);
  });

  it('non-ai.onnx ops on the path are rejected; off the path they are fine', async () => {
    const g = new GraphBuilder({ opset: 17, domains: { 'com.microsoft': 1 } });
    const x = g.input('x', 'float32', [4]);
    g.output(g.op('Gelu', [x], {}, { name: '/ms/Gelu', domain: 'com.microsoft' }), 'y');
    await expect(differentiate(g.toModel(), { of: 'y', wrt: ['x'] })).rejects.toThrow(/com\.microsoft\.Gelu/);
  });

  it('invalid names and unsupported opsets are reported', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [4]);
    g.output(g.op('Exp', [x]), 'y');
    await expect(differentiate(g.toModel(), { of: 'nope', wrt: ['x'] })).rejects.toThrow(GradientError);
    await expect(differentiate(g.toModel(), { of: 'y', wrt: ['nope'] })).rejects.toThrow(/not a graph input or initializer/);
    const g12 = new GraphBuilder({ opset: 12 });
    g12.output(g12.op('Exp', [g12.input('x', 'float32', [4])]), 'y');
    await expect(differentiate(g12.toModel(), { of: 'y', wrt: ['x'] })).rejects.toThrow(/opset 12/);
  });

  it('several `of` with seed inputs: vector-Jacobian product equals the gradient of sum(of_k * seed_k)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 3, 4]);
    const y1 = g.op('Softmax', [g.op('MatMul', [x, g.initializer('w', Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)), [4, 5])])], { axis: -1 });
    g.output(y1, 'y1', 'float32', ['batch', 3, 5]);
    g.output(g.op('Tanh', [x]), 'y2', 'float32', ['batch', 3, 4]);
    const m = g.toModel();
    const vjp = await differentiate(m, { of: ['y1', 'y2'], wrt: ['x', 'w'], seeds: 'inputs' });
    expect(vjp.graph!.input.map((i) => i.name)).toEqual(['x', 'w', 'y1_seed', 'y2_seed']);
    // reference: L = sum(y1 * r1) + sum(y2 * r2) with r as constants
    const r1 = randn([2, 3, 5], 11);
    const r2 = randn([2, 3, 4], 12);
    const gr = new GraphBuilder({ opset: 17 });
    const xr = gr.input('x', 'float32', [2, 3, 4]);
    const wr = gr.initializer('w', Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)), [4, 5]);
    const a = gr.op('Mul', [gr.op('Softmax', [gr.op('MatMul', [xr, wr])], { axis: -1 }), gr.initializer('r1', r1.data as Float32Array, r1.dims)]);
    const b = gr.op('Mul', [gr.op('Tanh', [xr]), gr.initializer('r2', r2.data as Float32Array, r2.dims)]);
    gr.output(gr.op('Add', [gr.op('ReduceSum', [a], { keepdims: 0 }), gr.op('ReduceSum', [b], { keepdims: 0 })]), 'L');
    const ref = await differentiate(gr.toModel(), { of: 'L', wrt: ['x', 'w'] });
    const xv = randn([2, 3, 4], 13);
    const wv = { data: Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)), dims: [4, 5] };
    const s1 = await createSession(vjp);
    const s2 = await createSession(ref);
    const o1 = await s1.run({ x: xv, w: wv, y1_seed: r1, y2_seed: r2 });
    const o2 = await s2.run({ x: xv, w: wv });
    for (const k of ['x_grad', 'w_grad']) {
      const p = o1[k]!.data as Float32Array;
      const q = o2[k]!.data as Float32Array;
      for (let i = 0; i < q.length; i++) expect(p[i]).toBeCloseTo(q[i]!, 5);
    }
    await s1.release();
    await s2.release();
  });

  it('refuses an active input whose gradient a rule does not implement (no silent zeros)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [4]);
    const hi = g.input('hi', 'float32', []);
    g.output(g.op('Clip', [x, '', hi], {}, { name: '/clip' }), 'y');
    await expect(differentiate(g.toModel(), { of: 'y', wrt: ['x', 'hi'] })).rejects.toThrow(/'Clip' \(node '\/clip'\).*input 2 \('hi'\)/);
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x'] });
    expect(gm.graph!.output.map((o) => o.name)).toEqual(['y', 'x_grad']);
  });

  it('accepts graphs whose nodes are not in topological order', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [3]);
    const a = g.op('Exp', [x]);
    g.output(g.op('Mul', [a, x]), 'y');
    const m = g.toModel();
    m.graph!.node.reverse();
    const r = await gradcheck(m, { wrt: ['x'] });
    expect(r.errors.x).toBeLessThan(TOL);
  });

  it('the harness detects a wrong rule', async () => {
    const orig = RULES.Tanh!;
    RULES.Tanh = (c) => [c.e.op('Mul', [c.gy[0]!, c.outputs[0]!])];
    try {
      const g = new GraphBuilder({ opset: 17 });
      g.output(g.op('Tanh', [g.input('x', 'float32', [5])]), 'y');
      const r = await gradcheck(g.toModel(), { wrt: ['x'] });
      expect(r.errors.x).toBeGreaterThan(0.1);
    } finally {
      RULES.Tanh = orig;
    }
  });
});
