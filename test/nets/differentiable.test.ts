/**
 * Integration with the project's ONNX autodiff (src/engine/onnx/autodiff): every net must be
 * differentiable with respect to its float inputs and its weights, since training and latent
 * steering both backpropagate through these graphs.
 */
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { makeTensor, tensorValues, type ModelProto } from '../../src/engine/onnx/model.ts';
import { createSession, type HostTensor } from '../../src/engine/onnx/session.ts';
import { buildTextEncoder, buildUNet, buildVaeDecoder, buildVaeEncoder, shapeWorldConfigs } from '../../src/engine/nets/index.ts';
import { addAttentionTaps } from '../../src/engine/steer/attention-taps.ts';
import { allFinite, randf, randIds } from './util.ts';

const cfg = shapeWorldConfigs();
/** Tokens per prompt and vocabulary size of the default text encoder. */
const L = cfg.textEncoder.max_position_embeddings;
const V = cfg.textEncoder.vocab_size;

/** Weights named in `wrt` become inputs of the gradient model: feed their current values. */
function weightFeeds(model: ModelProto, wrt: readonly string[]): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const t of model.graph!.initializer) if (wrt.includes(t.name)) {
    const v = tensorValues(t);
    out[t.name] = { data: v.data as Float32Array, dims: v.dims };
  }
  return out;
}

function norm(t: HostTensor): number {
  let s = 0;
  for (const v of t.data as Float32Array) s += v * v;
  return Math.sqrt(s);
}

describe('Shape World nets are differentiable by the project autodiff', () => {
  it('UNet: d sum(out_sample) / d sample matches a central finite difference; weight grads are finite', async () => {
    const unet = buildUNet({}, 5);
    const wrt = ['sample', 'encoder_hidden_states', 'time_embedding.linear_1.weight', 'up_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight', 'conv_norm_out.weight'];
    const grad = await differentiate(unet, { of: 'out_sample', wrt, dimSizes: { batch: 1 } });
    const s = await createSession(grad);
    const fwd = await createSession(unet);
    try {
      const feeds = { sample: randf([1, 4, 16, 16], 1), timestep: { data: Float32Array.from([300]), dims: [1] }, encoder_hidden_states: randf([1, L, 64], 2) };
      const out = await s.run({ ...feeds, ...weightFeeds(unet, wrt) });
      for (const w of wrt) {
        const g = out[`${w}_grad`]!;
        expect(allFinite(g), w).toBe(true);
        expect(norm(g), w).toBeGreaterThan(0);
      }
      // Directional derivative along d.
      const d = randf([1, 4, 16, 16], 3).data as Float32Array;
      const gs = out.sample_grad!.data as Float32Array;
      let analytic = 0;
      for (let i = 0; i < d.length; i++) analytic += gs[i]! * d[i]!;
      const eps = 1e-2;
      const f = async (sign: number) => {
        const x = Float32Array.from(feeds.sample.data as Float32Array, (v, i) => v + sign * eps * d[i]!);
        const y = (await fwd.run({ ...feeds, sample: { data: x, dims: [1, 4, 16, 16] } })).out_sample!.data as Float32Array;
        let sum = 0;
        for (const v of y) sum += v;
        return sum;
      };
      const numeric = ((await f(1)) - (await f(-1))) / (2 * eps);
      expect(Math.abs(analytic - numeric)).toBeLessThan(0.03 * Math.max(1, Math.abs(numeric)));
    } finally {
      await s.release();
      await fwd.release();
    }
  });

  it('a tapped cross-attention map is differentiable w.r.t. the latent (the steering path)', async () => {
    const { model, taps } = await addAttentionTaps(buildUNet({}, 5), { resolutions: [16], include: /^up_blocks/ });
    // Weight the map so the loss is not the constant row sum.
    const g = model.graph!;
    const tap = taps[0]!;
    const wName = 'tap_weight';
    g.initializer.push(makeTensor(wName, randf([1, 1, tap.queryLength, tap.tokens], 9).data as Float32Array, [1, 1, tap.queryLength, tap.tokens]));
    const { create } = await import('@bufbuild/protobuf');
    const { NodeProtoSchema } = await import('onnx-buf');
    g.node.push(create(NodeProtoSchema, { opType: 'Mul', name: '/loss/Mul', input: [tap.output, wName], output: ['weighted_map'] }));
    const grad = await differentiate(model, { of: 'weighted_map', wrt: ['sample'], dimSizes: { batch: 1 } });
    const s = await createSession(grad);
    try {
      const out = await s.run({ sample: randf([1, 4, 16, 16], 1), timestep: { data: Float32Array.from([300]), dims: [1] }, encoder_hidden_states: randf([1, L, 64], 2) });
      expect(allFinite(out.sample_grad!)).toBe(true);
      expect(norm(out.sample_grad!)).toBeGreaterThan(0);
    } finally {
      await s.release();
    }
  });

  it('text encoder and VAE: gradients w.r.t. inputs / weights exist and are finite', async () => {
    const cases: { m: ModelProto; of: string; wrt: string[]; feeds: Record<string, HostTensor> }[] = [
      { m: buildTextEncoder({}, 5), of: 'last_hidden_state', wrt: ['text_model.embeddings.token_embedding.weight', 'text_model.encoder.layers.1.mlp.fc1.weight'], feeds: { input_ids: randIds([1, L], V, 4) } },
      { m: buildVaeEncoder({}, 5), of: 'latent_parameters', wrt: ['sample', 'encoder.mid_block.attentions.0.to_q.weight'], feeds: { sample: randf([1, 3, 64, 64], 5) } },
      { m: buildVaeDecoder({}, 5), of: 'sample', wrt: ['latent_sample', 'decoder.up_blocks.0.upsamplers.0.conv.weight'], feeds: { latent_sample: randf([1, 4, 16, 16], 6) } },
    ];
    for (const c of cases) {
      const grad = await differentiate(c.m, { of: c.of, wrt: c.wrt, dimSizes: { batch: 1 } });
      const s = await createSession(grad);
      try {
        const out = await s.run({ ...c.feeds, ...weightFeeds(c.m, c.wrt) });
        for (const w of c.wrt) {
          expect(allFinite(out[`${w}_grad`]!), w).toBe(true);
          expect(norm(out[`${w}_grad`]!), w).toBeGreaterThan(0);
        }
      } finally {
        await s.release();
      }
    }
  });
});
