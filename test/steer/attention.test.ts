import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { buildUNet } from '../../src/engine/nets/unet.ts';
import { addAttentionTaps } from '../../src/engine/steer/attention-taps.ts';
import { AttentionSpecError, compareSpecs, layerChannels, makeSpec, meanMap, objectTokenGroups, resizeBilinear, stacksFromTaps, tapUNetModel } from '../../src/engine/steer/attention.ts';
import { randf } from '../nets/util.ts';

describe('map order and spec', () => {
  it('orders channels resolution ascending, then down/mid/up in forward order, then heads', async () => {
    const unet = buildUNet({}, 3);
    const { taps } = await addAttentionTaps(unet);
    const spec = makeSpec(taps);
    const res = spec.layers.map((l) => l.height);
    expect(res).toEqual([...res].sort((a, b) => a - b));
    const at8 = spec.layers.filter((l) => l.height === 8).map((l) => l.block);
    expect(at8).toEqual(['down', 'mid', 'up', 'up']);
    expect(spec.layers.filter((l) => l.height === 16).map((l) => l.block)).toEqual(['down', 'up', 'up']);
    expect(spec.channels).toHaveLength(spec.layers.reduce((a, l) => a + l.heads.length, 0));
    expect(spec.channels[0]).toBe(`${spec.layers[0]!.layer}#0`);
    expect(layerChannels(spec).flatMap((l) => l.channels)).toEqual(spec.channels.map((_, i) => i));
    // a head subset narrows every layer
    const two = makeSpec(taps, { heads: [1, 3] });
    expect(two.channels.filter((c) => c.endsWith('#0'))).toHaveLength(0);
    expect(compareSpecs(spec, two)).toMatch(/channels/);
    expect(compareSpecs(spec, makeSpec(taps))).toBe('');
  });

  it('names the model file and what was searched for when there is no attn2 softmax', async () => {
    const g = new GraphBuilder({ opset: 17 });
    g.output(g.op('Relu', [g.input('sample', 'float32', [1, 4, 16, 16])]), 'out_sample');
    await expect(tapUNetModel(g.toModel(), { file: 'some/unet/model.onnx', latentShape: [4, 16, 16] })).rejects.toThrow(/some\/unet\/model\.onnx: no cross-attention softmax found \(searched for Softmax nodes named '\/<module path>\/attn2\/Softmax'/);
  });

  it('refuses a selection that matches nothing, listing the layers there are', async () => {
    await expect(tapUNetModel(buildUNet({}, 3), { file: 'u.onnx', latentShape: [4, 16, 16] }, { include: 'nothing_here' })).rejects.toThrow(/u\.onnx: no cross-attention layer matches the selection \(include \/nothing_here\/\); the model has down_blocks/);
  });
});

describe('resize', () => {
  it('matches ONNX Resize (linear, half_pixel), which is PyTorch bilinear with align_corners=False', async () => {
    const src = randf([1, 1, 8, 8], 5);
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [1, 1, 8, 8]);
    const y = g.op('Resize', [x, '', g.initializer('scales', Float32Array.from([1, 1, 2, 2]), [4])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
    g.output(y, 'y');
    const s = await createSession(g.toModel());
    const ref = (await s.run({ x: src })).y!.data as Float32Array;
    const ours = new Float32Array(256);
    resizeBilinear(src.data as Float32Array, 8, 8, 16, 16, ours);
    for (let i = 0; i < 256; i++) expect(ours[i]).toBeCloseTo(ref[i]!, 5);
    await s.release();
  });
});

describe('stacks from taps', () => {
  it('averages a word split into several tokens, resizes 8x8 maps and renormalises only those', async () => {
    const unet = buildUNet({}, 4);
    const { model, taps } = await addAttentionTaps(unet);
    const spec = makeSpec(taps);
    const s = await createSession(model);
    const out = await s.run({ sample: randf([1, 4, 16, 16], 1), timestep: { data: Float32Array.of(400), dims: [1] }, encoder_hidden_states: randf([1, 32, 64], 2) }, taps.map((t) => t.output));
    const groups = [[[3], [5, 6]]];
    const [stack] = stacksFromTaps(spec, taps, out, groups);
    const C = spec.channels.length;
    expect(stack).toHaveLength(2 * C * 256);
    spec.layers.forEach((L, li) => {
      const c = layerChannels(spec)[li]!.channels[0]!;
      const sum = stack!.subarray(c * 256, (c + 1) * 256).reduce((a, v) => a + v, 0);
      if (L.height !== 16) expect(sum).toBeCloseTo(1, 4);
      else {
        // raw softmax probabilities: the tap's own values for token 3, head 0
        const raw = out[taps.find((t) => t.layer === L.layer)!.output]!.data as Float32Array;
        expect(stack![c * 256 + 17]).toBeCloseTo(raw[17 * 32 + 3]!, 6);
      }
    });
    // object 1 = mean of tokens 5 and 6, at a native 16x16 channel
    const L16 = spec.layers.findIndex((l) => l.height === 16);
    const c16 = layerChannels(spec)[L16]!.channels[0]!;
    const raw = out[taps.find((t) => t.layer === spec.layers[L16]!.layer)!.output]!.data as Float32Array;
    expect(stack![(C + c16) * 256 + 40]).toBeCloseTo((raw[40 * 32 + 5]! + raw[40 * 32 + 6]!) / 2, 6);
    expect(meanMap(stack!, spec, 1)).toHaveLength(256);
    expect(() => stacksFromTaps(spec, taps, out, [[[99], [1]]])).toThrow(AttentionSpecError);
    await s.release();
  });

  it('reads the head noun tokens of each aligned object', () => {
    const groups = objectTokenGroups([
      { object: 'red circle', span: [2, 12], tokenIndices: [2, 3], noun: 'circle', headSpan: [6, 12], headTokenIndices: [3], truncated: 'none' },
      { object: 'teddy bear', span: [20, 30], tokenIndices: [7, 8], noun: 'teddy bear', headSpan: [20, 30], headTokenIndices: [7, 8], truncated: 'none' },
    ]);
    expect(groups).toEqual([[3], [7, 8]]);
  });
});
