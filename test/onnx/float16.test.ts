/**
 * float16 models (common for diffusion UNet exports): finite differences are meaningless at half
 * precision, so the check is that the gradient of the float16 model matches the gradient of the
 * same model in float32 (inputs and weights rounded to half in both).
 */
import { describe, expect, it } from 'vitest';
import { TensorProto_DataType, type ModelProto } from 'onnx-buf';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { cloneModel, fromHalf, makeTensor, tensorValues, toHalf } from '../../src/engine/onnx/model.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { createSession, type HostTensor } from '../../src/engine/onnx/session.ts';
import { Net } from './blocks.ts';
import { randn } from './gradcheck.ts';

/** Converts float32 tensors to float16 except Resize scales; also returns the float32 model with half-rounded weights. */
function halve(model: ModelProto): { f16: ModelProto; f32: ModelProto } {
  const f16 = cloneModel(model);
  const f32 = cloneModel(model);
  const g = f16.graph!;
  const keep32 = new Set(g.node.filter((n) => n.opType === 'Resize').flatMap((n) => n.input.slice(1)));
  g.initializer = g.initializer.map((t) => {
    if (t.dataType !== TensorProto_DataType.FLOAT || keep32.has(t.name)) return t;
    const v = tensorValues(t).data as Float32Array;
    return makeTensor(t.name, Uint16Array.from(v, toHalf), t.dims.map(Number), 'float16');
  });
  f32.graph!.initializer = f32.graph!.initializer.map((t) => {
    if (t.dataType !== TensorProto_DataType.FLOAT || keep32.has(t.name)) return t;
    const v = tensorValues(t).data as Float32Array;
    return makeTensor(t.name, Float32Array.from(v, (x) => fromHalf(toHalf(x))), t.dims.map(Number));
  });
  for (const vi of [...g.input, ...g.output]) if (vi.type?.value.case === 'tensorType' && vi.type.value.value.elemType === TensorProto_DataType.FLOAT) vi.type.value.value.elemType = TensorProto_DataType.FLOAT16;
  return { f16, f32 };
}

describe('float16 models', () => {
  it('toHalf/fromHalf round trip', () => {
    for (const v of [0, 1, -2.5, 65504, 6.1e-5, 1e-7, 0.1]) expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-3 + 6e-8);
    expect(toHalf(1)).toBe(0x3c00);
    expect(fromHalf(0x7c00)).toBe(Infinity);
  });

  it('GroupNorm/SiLU/Conv/Resize/AveragePool/LayerNorm/attention block: float16 gradients match float32', async () => {
    const g = new GraphBuilder({ opset: 17 });
    g.input('x', 'float32', [1, 4, 4, 4]);
    g.input('ctx', 'float32', [1, 3, 6]);
    const net = new Net(g);
    const h = net.conv(net.silu(net.groupNorm('x', 4, 2, 'gn'), 'act'), 4, 4, 3, 'conv');
    const up = g.op('Resize', [h, '', g.initializer('sc', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' });
    const down = g.op('AveragePool', [up], { kernel_shape: [2, 2], strides: [2, 2] });
    const seq = g.op('Transpose', [g.op('Reshape', [down, net.i64('flat', [0, 4, 16])])], { perm: [0, 2, 1] });
    const ln = g.op('LayerNormalization', [seq, net.weight('ln.w', [4], 0.3), net.weight('ln.b', [4], 0.1)], { axis: -1 });
    const a = net.crossAttention(g.op('Add', [seq, ln]), 'ctx', 4, 6, 2, 'attn');
    g.output(a.out, 'y');
    const { f16, f32 } = halve(g.toModel());
    const wrt = ['x', 'conv.weight'];
    const xs = randn([1, 4, 4, 4], 1);
    const cs = randn([1, 3, 6], 2);
    const feeds16: Record<string, HostTensor> = { x: { data: Uint16Array.from(xs.data as Float32Array, toHalf), dims: xs.dims }, ctx: { data: Uint16Array.from(cs.data as Float32Array, toHalf), dims: cs.dims } };
    const feeds32: Record<string, HostTensor> = { x: { data: Float32Array.from(feeds16.x!.data as Uint16Array, fromHalf), dims: xs.dims }, ctx: { data: Float32Array.from(feeds16.ctx!.data as Uint16Array, fromHalf), dims: cs.dims } };
    const w16 = f16.graph!.initializer.find((t) => t.name === 'conv.weight')!;
    const w32 = f32.graph!.initializer.find((t) => t.name === 'conv.weight')!;
    feeds16['conv.weight'] = { data: tensorValues(w16).data as Uint16Array, dims: w16.dims.map(Number) };
    feeds32['conv.weight'] = { data: tensorValues(w32).data as Float32Array, dims: w32.dims.map(Number) };
    const g16 = await differentiate(f16, { of: 'y', wrt, probeFeeds: { x: feeds16.x!, ctx: feeds16.ctx! } });
    const g32 = await differentiate(f32, { of: 'y', wrt });
    const r16 = await (await createSession(g16)).run(feeds16);
    const r32 = await (await createSession(g32)).run(feeds32);
    for (const w of wrt) {
      const a16 = Array.from(r16[`${w}_grad`]!.data as Uint16Array, fromHalf);
      const a32 = Array.from(r32[`${w}_grad`]!.data as Float32Array);
      const scale = Math.max(...a32.map(Math.abs));
      const maxDiff = Math.max(...a32.map((v, i) => Math.abs(v - a16[i]!)));
      expect(maxDiff / scale, w).toBeLessThan(3e-2);
      expect(scale).toBeGreaterThan(0);
    }
  });
});
