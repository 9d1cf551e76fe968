import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeModel, type ModelProto } from '../../src/engine/onnx/model.ts';
import { createSession, type HostTensor, type Session } from '../../src/engine/onnx/session.ts';
import {
  buildShapeWorld,
  buildTextEncoder,
  buildUNet,
  checkOps,
  modelParamCount,
  moduleNodePath,
  shapeWorldConfigs,
  type ShapeWorldModels,
} from '../../src/engine/nets/index.ts';
import { allFinite, initializerDims, nodeModuleKey, randf, randIds } from './util.ts';

const SEED = 7;
let models: ShapeWorldModels;
const sessions: Partial<Record<keyof ShapeWorldModels, Session>> = {};
const cfg = shapeWorldConfigs();
/** Tokens per prompt (input_ids / encoder_hidden_states length), vocabulary size and width of the default text encoder. */
const L = cfg.textEncoder.max_position_embeddings;
const V = cfg.textEncoder.vocab_size;
const D = cfg.textEncoder.hidden_size;

beforeAll(async () => {
  models = buildShapeWorld({}, SEED).models;
  for (const k of Object.keys(models) as (keyof ShapeWorldModels)[]) sessions[k] = await createSession(models[k]);
});
afterAll(async () => {
  for (const s of Object.values(sessions)) await s?.release();
});

const unetFeeds = (b: number, seed: number, t: number[] = [10, 500, 999].slice(0, b)) => ({
  sample: randf([b, 4, 16, 16], seed),
  timestep: { data: Float32Array.from(t), dims: [b] },
  encoder_hidden_states: randf([b, L, D], seed + 1),
});

function maxAbsDiff(a: HostTensor, b: HostTensor, from = 0, to = a.data.length): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
}

describe('Shape World nets: forward passes', () => {
  it(`text encoder: input_ids [2,${L}] -> last_hidden_state [2,${L},${D}], finite`, async () => {
    const out = await sessions.textEncoder!.run({ input_ids: randIds([2, L], V, 1) });
    expect(Object.keys(out)).toEqual(['last_hidden_state']);
    expect(out.last_hidden_state!.dims).toEqual([2, L, D]);
    expect(allFinite(out.last_hidden_state!)).toBe(true);
  });

  it('text encoder is causal: tokens after position k do not change positions <= k', async () => {
    const a = randIds([1, L], V, 2);
    const b: HostTensor = { data: BigInt64Array.from(a.data as BigInt64Array), dims: [1, L] };
    for (let i = 6; i < L; i++) (b.data as BigInt64Array)[i] = BigInt((i * 7) % V);
    const ya = (await sessions.textEncoder!.run({ input_ids: a })).last_hidden_state!;
    const yb = (await sessions.textEncoder!.run({ input_ids: b })).last_hidden_state!;
    expect(maxAbsDiff(ya, yb, 0, 6 * D)).toBeLessThan(1e-5);
    expect(maxAbsDiff(ya, yb, 6 * D)).toBeGreaterThan(1e-3);
  });

  it('unet: out_sample [2,4,16,16], finite, per-item independent of the batch, depends on the timestep', async () => {
    const f = unetFeeds(2, 3);
    const y = (await sessions.unet!.run(f)).out_sample!;
    expect(y.dims).toEqual([2, 4, 16, 16]);
    expect(allFinite(y)).toBe(true);
    const one = { sample: { data: (f.sample.data as Float32Array).slice(0, 1024), dims: [1, 4, 16, 16] }, timestep: { data: Float32Array.from([10]), dims: [1] }, encoder_hidden_states: { data: (f.encoder_hidden_states.data as Float32Array).slice(0, L * D), dims: [1, L, D] } };
    const y1 = (await sessions.unet!.run(one)).out_sample!;
    expect(maxAbsDiff(y, y1, 0, 1024)).toBeLessThan(1e-4);
    const y2 = (await sessions.unet!.run({ ...one, timestep: { data: Float32Array.from([900]), dims: [1] } })).out_sample!;
    expect(maxAbsDiff(y1, y2)).toBeGreaterThan(1e-3);
  });

  it('unet: encoder_hidden_states change the output (cross-attention is wired)', async () => {
    const f = unetFeeds(1, 5);
    const y1 = (await sessions.unet!.run(f)).out_sample!;
    const y2 = (await sessions.unet!.run({ ...f, encoder_hidden_states: randf([1, L, D], 99) })).out_sample!;
    expect(maxAbsDiff(y1, y2)).toBeGreaterThan(1e-4);
  });

  it('vae encoder: sample [2,3,64,64] -> latent_sample [2,4,16,16] = mean half of latent_parameters [2,8,16,16]', async () => {
    const out = await sessions.vaeEncoder!.run({ sample: randf([2, 3, 64, 64], 4) });
    expect(out.latent_sample!.dims).toEqual([2, 4, 16, 16]);
    expect(out.latent_parameters!.dims).toEqual([2, 8, 16, 16]);
    expect(allFinite(out.latent_parameters!)).toBe(true);
    const p = out.latent_parameters!.data as Float32Array;
    const m = out.latent_sample!.data as Float32Array;
    for (let b = 0; b < 2; b++) expect(Array.from(m.subarray(b * 1024, (b + 1) * 1024))).toEqual(Array.from(p.subarray(b * 2048, b * 2048 + 1024)));
  });

  it('vae decoder: latent_sample [2,4,16,16] -> sample [2,3,64,64], finite', async () => {
    const out = await sessions.vaeDecoder!.run({ latent_sample: randf([2, 4, 16, 16], 6) });
    expect(out.sample!.dims).toEqual([2, 3, 64, 64]);
    expect(allFinite(out.sample!)).toBe(true);
  });
});

describe('Shape World nets: determinism and size', () => {
  it('same seed -> identical bytes; another seed -> different weights, same structure', () => {
    const again = buildShapeWorld({}, SEED).models;
    const other = buildShapeWorld({}, SEED + 1).models;
    for (const k of Object.keys(models) as (keyof ShapeWorldModels)[]) {
      expect(Buffer.from(serializeModel(again[k])).equals(Buffer.from(serializeModel(models[k]))), k).toBe(true);
      expect(Buffer.from(serializeModel(other[k])).equals(Buffer.from(serializeModel(models[k]))), k).toBe(false);
      expect(other[k].graph!.node.map((n) => n.name)).toEqual(models[k].graph!.node.map((n) => n.name));
    }
  });

  it("a tensor's initial values depend only on (seed, name, shape), not on the rest of the net", () => {
    const a = buildUNet({ block_out_channels: [64, 96] }, 3);
    const b = buildUNet({ block_out_channels: [64, 128] }, 3);
    const get = (m: ModelProto, name: string) => Buffer.from(m.graph!.initializer.find((t) => t.name === name)!.rawData);
    expect(get(a, 'conv_in.weight').equals(get(b, 'conv_in.weight'))).toBe(true);
    expect(get(a, 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight').equals(get(b, 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight'))).toBe(true);
  });

  it('all four nets together hold at most 20 MB of float32 weights', () => {
    const counts = Object.fromEntries((Object.keys(models) as (keyof ShapeWorldModels)[]).map((k) => [k, modelParamCount(models[k])]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total * 4).toBeLessThanOrEqual(20e6);
    const bytes = (Object.values(models) as ModelProto[]).reduce((a, m) => a + serializeModel(m).length, 0);
    expect(bytes).toBeLessThanOrEqual(20e6);
    // Pin the default sizes so a change is noticed (update the report/docs if this moves).
    // Text encoder: 97 token + 32 position embeddings of width 64 (SHAPE_WORLD_MAX_LENGTH = 32 tokens).
    expect(counts).toEqual({ textEncoder: 108_352, unet: 2_765_540, vaeEncoder: 367_344, vaeDecoder: 587_223 });
    for (const m of Object.values(models) as ModelProto[]) for (const t of m.graph!.initializer) expect(t.dataType).toBe(1); // FLOAT
  });
});

describe('Shape World nets: diffusers naming', () => {
  const PREFIX: Record<keyof ShapeWorldModels, RegExp> = {
    textEncoder: /^text_model\.(embeddings|encoder|final_layer_norm)\./,
    unet: /^(conv_in|time_embedding|down_blocks|mid_block|up_blocks|conv_norm_out|conv_out)\./,
    vaeEncoder: /^(encoder\.|quant_conv\.)/,
    vaeDecoder: /^(decoder\.|post_quant_conv\.)/,
  };
  const PARAMLESS = new Set(['time_proj', 'nonlinearity', 'act', 'conv_act', 'activation_fn']);

  it('every initializer is a state-dict key (<module path>.weight|bias) of the right family', () => {
    for (const k of Object.keys(models) as (keyof ShapeWorldModels)[]) {
      for (const t of models[k].graph!.initializer) {
        expect(t.name, k).toMatch(/^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*\.(weight|bias)$/);
        expect(t.name, k).toMatch(PREFIX[k]);
      }
    }
  });

  it('every node is named /<module path>/<OpType>[_k] and its module path is a real module', () => {
    for (const k of Object.keys(models) as (keyof ShapeWorldModels)[]) {
      const keys = [...initializerDims(models[k]).keys()];
      const names = new Set<string>();
      for (const n of models[k].graph!.node) {
        expect(names.has(n.name), n.name).toBe(false);
        names.add(n.name);
        expect(n.name).toMatch(new RegExp(`^(/[a-z_][a-z0-9_]*(\\.\\d+)?)*/${n.opType}(_\\d+)?$`));
        const mod = nodeModuleKey(n.name);
        expect(moduleNodePath(mod)).toBe(n.name.split('/').slice(1, -1).join('/'));
        const ok = mod === '' || PARAMLESS.has(mod.split('.').pop()!) || keys.some((p) => p.startsWith(`${mod}.`));
        expect(ok, `${k}: node ${n.name} belongs to no module with parameters`).toBe(true);
      }
    }
  });

  it('UNet parameters have diffusers names and shapes', () => {
    const d = initializerDims(models.unet);
    const expectShape: Record<string, number[]> = {
      'conv_in.weight': [64, 4, 3, 3],
      'time_embedding.linear_1.weight': [256, 64],
      'time_embedding.linear_2.bias': [256],
      'down_blocks.0.resnets.0.norm1.weight': [64],
      'down_blocks.0.resnets.0.conv1.weight': [64, 64, 3, 3],
      'down_blocks.0.resnets.0.time_emb_proj.weight': [64, 256],
      'down_blocks.0.attentions.0.norm.weight': [64],
      'down_blocks.0.attentions.0.proj_in.weight': [64, 64],
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight': [64, 64],
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight': [64, 64],
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.weight': [64, 64],
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.bias': [64],
      'down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight': [512, 64],
      'down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight': [64, 256],
      'down_blocks.0.attentions.0.transformer_blocks.0.norm3.weight': [64],
      'down_blocks.0.downsamplers.0.conv.weight': [64, 64, 3, 3],
      'down_blocks.1.resnets.0.conv_shortcut.weight': [96, 64, 1, 1],
      'mid_block.resnets.1.conv2.weight': [96, 96, 3, 3],
      'mid_block.attentions.0.transformer_blocks.0.attn2.to_q.weight': [96, 96],
      'up_blocks.0.resnets.0.conv1.weight': [96, 192, 3, 3],
      'up_blocks.0.resnets.1.conv_shortcut.weight': [96, 160, 1, 1],
      'up_blocks.0.upsamplers.0.conv.weight': [96, 96, 3, 3],
      'up_blocks.1.resnets.0.conv1.weight': [64, 160, 3, 3],
      'up_blocks.1.resnets.1.conv1.weight': [64, 128, 3, 3],
      'up_blocks.1.attentions.1.proj_out.weight': [64, 64],
      'conv_norm_out.bias': [64],
      'conv_out.weight': [4, 64, 3, 3],
    };
    for (const [k, s] of Object.entries(expectShape)) expect(d.get(k), k).toEqual(s);
    expect(d.has('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.bias')).toBe(false); // SD: no q/k/v bias
    expect(d.has('up_blocks.1.upsamplers.0.conv.weight')).toBe(false);
    expect(d.has('down_blocks.1.downsamplers.0.conv.weight')).toBe(false);
  });

  it('text encoder and VAE parameters have transformers / diffusers names and shapes', () => {
    const t = initializerDims(models.textEncoder);
    expect(t.get('text_model.embeddings.token_embedding.weight')).toEqual([V, 64]);
    expect(t.get('text_model.embeddings.position_embedding.weight')).toEqual([L, 64]);
    expect(t.get('text_model.encoder.layers.1.self_attn.out_proj.weight')).toEqual([64, 64]);
    expect(t.get('text_model.encoder.layers.1.mlp.fc1.weight')).toEqual([256, 64]);
    expect(t.get('text_model.final_layer_norm.weight')).toEqual([64]);
    const e = initializerDims(models.vaeEncoder);
    expect(e.get('encoder.conv_in.weight')).toEqual([32, 3, 3, 3]);
    expect(e.get('encoder.down_blocks.1.resnets.0.conv_shortcut.weight')).toEqual([64, 32, 1, 1]);
    expect(e.get('encoder.mid_block.attentions.0.to_q.weight')).toEqual([64, 64]);
    expect(e.get('encoder.conv_out.weight')).toEqual([8, 64, 3, 3]);
    expect(e.get('quant_conv.weight')).toEqual([8, 8, 1, 1]);
    const dd = initializerDims(models.vaeDecoder);
    expect(dd.get('post_quant_conv.weight')).toEqual([4, 4, 1, 1]);
    expect(dd.get('decoder.up_blocks.0.resnets.1.conv1.weight')).toEqual([64, 64, 3, 3]);
    expect(dd.get('decoder.up_blocks.2.resnets.0.conv_shortcut.weight')).toEqual([32, 64, 1, 1]);
    expect(dd.get('decoder.up_blocks.1.upsamplers.0.conv.weight')).toEqual([64, 64, 3, 3]);
    expect(dd.get('decoder.conv_out.weight')).toEqual([3, 32, 3, 3]);
  });

  it('UNet attention Softmax nodes are named like SD exports, 4-D and annotated', () => {
    const sm = models.unet.graph!.node.filter((n) => n.opType === 'Softmax').map((n) => n.name);
    const attn2 = sm.filter((n) => n.endsWith('/attn2/Softmax'));
    expect(attn2).toEqual([
      '/down_blocks.0/attentions.0/transformer_blocks.0/attn2/Softmax',
      '/down_blocks.1/attentions.0/transformer_blocks.0/attn2/Softmax',
      '/mid_block/attentions.0/transformer_blocks.0/attn2/Softmax',
      '/up_blocks.0/attentions.0/transformer_blocks.0/attn2/Softmax',
      '/up_blocks.0/attentions.1/transformer_blocks.0/attn2/Softmax',
      '/up_blocks.1/attentions.0/transformer_blocks.0/attn2/Softmax',
      '/up_blocks.1/attentions.1/transformer_blocks.0/attn2/Softmax',
    ]);
    expect(sm.filter((n) => n.endsWith('/attn1/Softmax'))).toHaveLength(7);
    expect(sm).toHaveLength(14);
  });
});

describe('Shape World nets: op vocabulary', () => {
  it('only autodiff-covered ops, except Sin/Cos on the timestep-only path', () => {
    expect(checkOps(models.textEncoder)).toEqual([]);
    expect(checkOps(models.vaeEncoder)).toEqual([]);
    expect(checkOps(models.vaeDecoder)).toEqual([]);
    expect(checkOps(models.unet, ['timestep'])).toEqual([]);
    // Without exempting the timestep path, exactly the sinusoidal embedding's Sin and Cos show up.
    expect(checkOps(models.unet).map((v) => v.node)).toEqual(['/time_proj/Sin', '/time_proj/Cos']);
    for (const m of Object.values(models) as ModelProto[]) {
      expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
      for (const n of m.graph!.node) if (n.opType === 'Resize') expect(new TextDecoder().decode(n.attribute.find((a) => a.name === 'mode')!.s)).toBe('nearest');
    }
  });
});

describe('Shape World nets: configs', () => {
  it('defaults fit together and non-default configs build and run', async () => {
    expect(cfg.unet.cross_attention_dim).toBe(cfg.textEncoder.hidden_size);
    const te = buildTextEncoder({ vocab_size: 100, num_hidden_layers: 1, causal_attention: false }, 1);
    const s = await createSession(te);
    try {
      const y = (await s.run({ input_ids: randIds([3, L], 100, 9) })).last_hidden_state!;
      expect(y.dims).toEqual([3, L, 64]);
    } finally {
      await s.release();
    }
    const unet = buildUNet({ block_out_channels: [32, 64, 64], layers_per_block: 1, attention_head_dim: 2 }, 1);
    const su = await createSession(unet);
    try {
      const y = (await su.run(unetFeeds(1, 11))).out_sample!;
      expect(y.dims).toEqual([1, 4, 16, 16]);
      expect(allFinite(y)).toBe(true);
    } finally {
      await su.release();
    }
  });

  it('rejects configs that cannot build, naming the field', () => {
    expect(() => buildUNet({ block_out_channels: [64, 100] })).toThrow(/block_out_channels: 100 channels do not split into norm_num_groups=32/);
    expect(() => buildTextEncoder({ hidden_size: 66 })).toThrow(/hidden_size must be divisible/);
    expect(() => shapeWorldConfigs({ textEncoder: { hidden_size: 128 } })).toThrow(/cross_attention_dim \(64\) must equal textEncoder.hidden_size \(128\)/);
    expect(() => shapeWorldConfigs({ vae: { block_out_channels: [32, 64] } })).toThrow(/unet.sample_size \(16\) must equal the VAE latent size \(32\)/);
  });
});
