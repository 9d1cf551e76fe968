/**
 * Text encoder (text_encoder/model.onnx), a small CLIP-style transformer.
 *
 *   input_ids int64 [batch, L]  ->  last_hidden_state float32 [batch, L, D]   (L = max_position_embeddings, 32)
 *
 * token_embedding (Gather) + learned position_embedding (Gather of position ids 0..L-1), then
 * `num_hidden_layers` pre-LN layers { layer_norm1 -> self_attn (q/k/v/out_proj with bias, causal
 * mask) -> residual; layer_norm2 -> mlp.fc1 -> GELU -> mlp.fc2 -> residual }, final_layer_norm.
 * Parameter names follow transformers' CLIPTextModel state dict (`text_model.encoder.layers.0.
 * self_attn.q_proj.weight`, ...). No pooler_output: the pipeline only uses last_hidden_state.
 *
 * Causal mask: an additive [1, 1, L, L] constant (0 on and below the diagonal, -1e9 above), added
 * to the scaled logits before Softmax, as CLIP does.
 */
import type { ModelProto } from '../onnx/model.ts';
import { parseTextEncoderConfig, type TextEncoderConfigInput } from './config.ts';
import { uniformStd } from './init.ts';
import { NetBuilder } from './layers.ts';

export const TEXT_ENCODER_INPUT = 'input_ids';
export const TEXT_ENCODER_OUTPUT = 'last_hidden_state';

export function buildTextEncoder(config: TextEncoderConfigInput = {}, seed = 0): ModelProto {
  const c = parseTextEncoderConfig(config);
  const L = c.max_position_embeddings;
  const D = c.hidden_size;
  const n = new NetBuilder(seed, 'text_encoder');
  const ids = n.g.input(TEXT_ENCODER_INPUT, 'int64', ['batch', L]);

  const emb = 'text_model.embeddings';
  const tok = n.op(`${emb}.token_embedding`, 'Gather', [n.param(`${emb}.token_embedding.weight`, [c.vocab_size, D], uniformStd(0.02)), ids], { axis: 0 });
  const posIds = n.constI(emb, Array.from({ length: L }, (_, i) => i), [1, L]);
  const pos = n.op(`${emb}.position_embedding`, 'Gather', [n.param(`${emb}.position_embedding.weight`, [L, D], uniformStd(0.01)), posIds], { axis: 0 });
  let h = n.op(emb, 'Add', [tok, pos]);

  let mask: string | undefined;
  if (c.causal_attention) {
    const m = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -1e9;
    mask = n.constF('text_model', m, [1, 1, L, L]);
  }

  for (let i = 0; i < c.num_hidden_layers; i++) {
    const k = `text_model.encoder.layers.${i}`;
    let r = h;
    let x = n.layerNorm(`${k}.layer_norm1`, h, D, c.layer_norm_eps);
    x = n.attention(`${k}.self_attn`, x, { nq: L, nk: L, qDim: D, inner: D, heads: c.num_attention_heads, qkvBias: true, names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', out: 'out_proj' }, mask });
    h = n.op(k, 'Add', [r, x]);
    r = h;
    x = n.layerNorm(`${k}.layer_norm2`, h, D, c.layer_norm_eps);
    x = n.linear(`${k}.mlp.fc1`, x, D, c.intermediate_size);
    x = n.gelu(`${k}.mlp.activation_fn`, x);
    x = n.linear(`${k}.mlp.fc2`, x, c.intermediate_size, D);
    h = n.op(k, 'Add', [r, x]);
  }
  h = n.layerNorm('text_model.final_layer_norm', h, D, c.layer_norm_eps);
  n.output(h, TEXT_ENCODER_OUTPUT, ['batch', L, D]);
  return n.toModel(`Shape World text encoder (seed ${seed})`);
}
