/**
 * Encode Prompt: tokens -> text encoder hidden states, plus the token indices of every parsed
 * object (what steering reads attention maps by). The unconditional embedding (empty prompt)
 * for classifier-free guidance is computed alongside.
 */
import { alignObjects, type AlignedObject } from '../model/align.ts';
import type { TokenEncoding } from '../model/tokenizer.ts';
import type { ParsedPrompt } from '../../shared/prompt.ts';
import type { Pipeline } from './load.ts';

export interface Embedding {
  /** [1, tokens, hidden] float32 */
  data: Float32Array;
  dims: [number, number, number];
}

export interface Conditioning {
  prompt: ParsedPrompt;
  cond: Embedding;
  uncond: Embedding;
  tokens: string[];
  /** Per parsed object: its token indices (and the head noun's). */
  objects: AlignedObject[];
  warnings: string[];
}

export async function embed(pipe: Pipeline, text: string): Promise<{ embedding: Embedding; encoding: TokenEncoding }> {
  const encoding = pipe.tokenizer.encode(text, { idsType: pipe.io.idsType });
  const out = await pipe.textEncoder.run({ input_ids: { data: encoding.ids, dims: [1, encoding.ids.length] } });
  const h = out.last_hidden_state ?? Object.values(out)[0]!;
  if (!(h.data instanceof Float32Array) || h.dims.length !== 3) {
    throw new Error(`${pipe.folder.textEncoder.model}: expected a float32 [1, tokens, hidden] output, got ${h.data.constructor.name} [${h.dims.join(', ')}]`);
  }
  return { embedding: { data: h.data, dims: h.dims as [number, number, number] }, encoding };
}

export async function encodePrompt(pipe: Pipeline, prompt: ParsedPrompt, negative = ''): Promise<Conditioning> {
  const { embedding: cond, encoding } = await embed(pipe, prompt.text);
  const { embedding: uncond } = await embed(pipe, negative);
  const objects = alignObjects(prompt, encoding);
  const warnings = [...encoding.warnings, ...objects.flatMap((o) => (o.warning ? [o.warning] : []))];
  return { prompt, cond, uncond, tokens: encoding.tokens, objects, warnings };
}
