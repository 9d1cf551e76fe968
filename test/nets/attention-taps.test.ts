import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { cloneModel, serializeModel, type ModelProto } from '../../src/engine/onnx/model.ts';
import { createSession, type HostTensor, type Session } from '../../src/engine/onnx/session.ts';
import { shapeWorldConfigs } from '../../src/engine/nets/config.ts';
import { buildUNet } from '../../src/engine/nets/unet.ts';
import { addAttentionTaps, describeAttentionTaps, findCrossAttentionSoftmax, AttentionTapError, type AttentionTap } from '../../src/engine/steer/attention-taps.ts';
import { randf } from './util.ts';

const B = 2;
/** Text tokens the default UNet cross-attends to (= the text encoder's max_position_embeddings). */
const L = shapeWorldConfigs().unet.text_length;
let unet: ModelProto;
let tapped: { model: ModelProto; taps: AttentionTap[] };
let plain: Session;
let withTaps: Session;
const feeds = {
  sample: randf([B, 4, 16, 16], 21),
  timestep: { data: Float32Array.from([5, 801]), dims: [B] },
  encoder_hidden_states: randf([B, L, 64], 22),
};
let plainOut: Record<string, HostTensor>;
let tapOut: Record<string, HostTensor>;

beforeAll(async () => {
  unet = buildUNet({}, 11);
  tapped = await addAttentionTaps(unet);
  plain = await createSession(unet);
  withTaps = await createSession(tapped.model);
  plainOut = await plain.run(feeds);
  tapOut = await withTaps.run(feeds);
});
afterAll(async () => {
  await plain.release();
  await withTaps.release();
});

describe('attention taps on the Shape World UNet', () => {
  it('finds every attn2 softmax and describes it (block, resolution, heads, tokens)', () => {
    const { taps } = tapped;
    expect(taps.map((t) => [t.output, t.block, t.blockIndex, `${t.height}x${t.width}`])).toEqual([
      ['attn2:down_blocks.0/attentions.0/transformer_blocks.0', 'down', 0, '16x16'],
      ['attn2:down_blocks.1/attentions.0/transformer_blocks.0', 'down', 1, '8x8'],
      ['attn2:mid_block/attentions.0/transformer_blocks.0', 'mid', null, '8x8'],
      ['attn2:up_blocks.0/attentions.0/transformer_blocks.0', 'up', 0, '8x8'],
      ['attn2:up_blocks.0/attentions.1/transformer_blocks.0', 'up', 0, '8x8'],
      ['attn2:up_blocks.1/attentions.0/transformer_blocks.0', 'up', 1, '16x16'],
      ['attn2:up_blocks.1/attentions.1/transformer_blocks.0', 'up', 1, '16x16'],
    ]);
    for (const t of taps) {
      expect(t.heads).toBe(4);
      expect(t.tokens).toBe(L);
      expect(t.queryLength).toBe(t.height * t.width);
      expect(t.node).toBe(`/${t.layer}/attn2/Softmax`);
      expect(t.foldedHeads).toBe(false);
    }
    const byRes = new Map<string, number>();
    for (const t of taps) byRes.set(`${t.height}x${t.width}`, (byRes.get(`${t.height}x${t.width}`) ?? 0) + 1);
    expect(Object.fromEntries(byRes)).toEqual({ '16x16': 3, '8x8': 4 });
  });

  it(`the maps are outputs [batch, heads, HW, ${L}] whose rows sum to 1 over tokens`, () => {
    expect(Object.keys(tapOut)).toEqual(['out_sample', ...tapped.taps.map((t) => t.output)]);
    for (const t of tapped.taps) {
      const m = tapOut[t.output]!;
      expect(m.dims).toEqual([B, 4, t.height * t.width, L]);
      const d = m.data as Float32Array;
      let worst = 0;
      let lo = Infinity;
      for (let r = 0; r < d.length / L; r++) {
        let s = 0;
        for (let k = 0; k < L; k++) {
          const v = d[r * L + k]!;
          lo = Math.min(lo, v);
          s += v;
        }
        worst = Math.max(worst, Math.abs(s - 1));
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('leaves out_sample bit-identical and the input model untouched', () => {
    const a = Buffer.from((plainOut.out_sample!.data as Float32Array).buffer);
    const b = Buffer.from((tapOut.out_sample!.data as Float32Array).buffer);
    expect(b.equals(a)).toBe(true);
    expect(unet.graph!.output.map((o) => o.name)).toEqual(['out_sample']);
    expect(Buffer.from(serializeModel(unet)).equals(Buffer.from(serializeModel(buildUNet({}, 11))))).toBe(true);
    expect(tapped.model.graph!.output[0]!.name).toBe('out_sample');
  });

  it('selects layers by resolution, block, and name regex', async () => {
    const names = async (o: Parameters<typeof describeAttentionTaps>[1]) => (await describeAttentionTaps(unet, o)).map((t) => t.layer);
    expect(await names({ resolutions: [16] })).toHaveLength(3);
    expect(await names({ resolutions: ['8x8'] })).toHaveLength(4);
    expect(await names({ blocks: ['mid'] })).toEqual(['mid_block/attentions.0/transformer_blocks.0']);
    expect(await names({ include: /^up_blocks\.1\// })).toEqual(['up_blocks.1/attentions.0/transformer_blocks.0', 'up_blocks.1/attentions.1/transformer_blocks.0']);
    expect(await names({ exclude: /attentions\.1/, resolutions: [16] })).toEqual(['down_blocks.0/attentions.0/transformer_blocks.0', 'up_blocks.1/attentions.0/transformer_blocks.0']);
    const { model, taps } = await addAttentionTaps(unet, { resolutions: [8], blocks: ['up'], prefix: 'map/' });
    expect(taps.map((t) => t.output)).toEqual(['map/up_blocks.0/attentions.0/transformer_blocks.0', 'map/up_blocks.0/attentions.1/transformer_blocks.0']);
    expect(model.graph!.output.map((o) => o.name)).toEqual(['out_sample', ...taps.map((t) => t.output)]);
  });

  it('probes shapes with onnxruntime when value_info is missing, with the same result', async () => {
    const bare = cloneModel(unet);
    bare.graph!.valueInfo = [];
    const taps = await describeAttentionTaps(bare, { probe: { dimSizes: { batch: 2 } } });
    expect(taps).toEqual(tapped.taps);
  });
});

/**
 * A stand-in for a real SD export whose attention runs over [batch*heads, HW, tokens]
 * (diffusers' head_to_batch_dim layout), on a non-square 8x16 latent.
 */
function foldedHeadsModel(dims: (number | string)[] = ['batch', 4, 8, 16]): ModelProto {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('sample', 'float32', dims); // 512 values per item = 2 heads x 128 queries x 2 tokens
  const shape = g.constant(BigInt64Array.from([-1n, 128n, 2n]), [3], { name: 'shape' });
  const logits = g.op('Reshape', [x, shape], {}, { name: '/up_blocks.2/attentions.1/transformer_blocks.0/attn2/Reshape' });
  const p = g.op('Softmax', [logits], { axis: -1 }, { name: '/up_blocks.2/attentions.1/transformer_blocks.0/attn2/Softmax' });
  const self = g.op('Softmax', [logits], { axis: -1 }, { name: '/up_blocks.2/attentions.1/transformer_blocks.0/attn1/Softmax' });
  g.output(g.op('Add', [p, self], {}, { name: '/Add' }), 'y');
  return g.toModel();
}

describe('attention taps on other layouts', () => {
  it('reshapes [batch*heads, HW, tokens] maps to [batch, heads, HW, tokens] and infers a non-square resolution', async () => {
    const m = foldedHeadsModel();
    expect(findCrossAttentionSoftmax(m).map((f) => f.layer)).toEqual(['up_blocks.2/attentions.1/transformer_blocks.0']);
    const { model, taps } = await addAttentionTaps(m, { probe: { dimSizes: { batch: 3 } } });
    expect(taps).toHaveLength(1);
    expect(taps[0]).toMatchObject({ block: 'up', blockIndex: 2, heads: 2, tokens: 2, height: 8, width: 16, queryLength: 128, foldedHeads: true });
    const s = await createSession(model);
    try {
      const x = randf([3, 4, 8, 16], 5);
      const out = await s.run({ sample: x });
      const t = out[taps[0]!.output]!;
      expect(t.dims).toEqual([3, 2, 128, 2]);
      // Row r of the map is softmax over consecutive pairs of the input.
      const xd = x.data as Float32Array;
      const td = t.data as Float32Array;
      for (let r = 0; r < 3 * 2 * 128; r += 97) {
        const e0 = Math.exp(xd[2 * r]!);
        const e1 = Math.exp(xd[2 * r + 1]!);
        expect(td[2 * r]!).toBeCloseTo(e0 / (e0 + e1), 5);
      }
    } finally {
      await s.release();
    }
  });

  it('probes exports with dynamic H/W axes at the given latent size', async () => {
    const m = foldedHeadsModel(['batch', 'channels', 'height', 'width']);
    const taps = await describeAttentionTaps(m, { latentSize: [8, 16] });
    expect(taps[0]).toMatchObject({ heads: 2, tokens: 2, height: 8, width: 16, foldedHeads: true });
  });

  it('says what is wrong when the resolution cannot be inferred', async () => {
    const m = foldedHeadsModel();
    await expect(addAttentionTaps(m, { latentSize: [7, 7] })).rejects.toThrow(AttentionTapError);
    await expect(addAttentionTaps(m, { latentSize: [7, 7] })).rejects.toThrow(/query length 128 is not a downscale of the latent size 7x7/);
  });
});
