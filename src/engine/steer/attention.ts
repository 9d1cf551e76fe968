/**
 * The one owner of "which attention maps, of which tokens, at which steps, in which order".
 *
 * Evaluation (attention-peak), the Extract Attention node, the relation dataset, the relation
 * classifiers and Latent Optimize all read cross-attention through this module, so a map stack
 * means the same thing everywhere:
 *
 *  - Layers: every attn2 (cross-attention) Softmax of the UNet unless a selection narrows it
 *    (resolutions, include/exclude name patterns, blocks). Heads: all, or a chosen subset.
 *  - Order (Learn-to-Steer's): resolution ascending (8x8 before 16x16 ...), then down, mid, up
 *    blocks in forward (graph) order, then heads. `MapSpec.channels` lists every channel.
 *  - Tokens: one group of token positions per object, from Encode Prompt's alignment (the head
 *    noun's tokens; a word split into several tokens is averaged over them; specials excluded;
 *    the first occurrence only). Only the conditional (text) pass is ever read.
 *  - Maps are resized to `size` x `size` (16) with bilinear interpolation (PyTorch
 *    `F.interpolate(mode='bilinear', align_corners=False)`, ONNX Resize linear/half_pixel) and
 *    renormalised to sum 1 over space, but only where a resize happened; maps already at `size`
 *    stay raw softmax-over-text probabilities.
 *
 * A stack for G objects is Float32Array [G, C, size, size] (C = spec.channels.length).
 * The spec is written into every artefact that stores maps (datasets, classifiers) and checked
 * when they are read back (`compareSpecs`).
 */
import { createHash } from 'node:crypto';
import type { AlignedObject } from '../model/align.ts';
import { loadModel, type ModelProto } from '../onnx/model.ts';
import type { Session, SessionManager } from '../onnx/session.ts';
import { addAttentionTaps, findCrossAttentionSoftmax, type AttentionTap, type UNetBlock } from './attention-taps.ts';

/** Which maps to read. Every field narrows the default (all attn2 layers, all heads). */
export interface AttentionSelection {
  /** Map resolutions to keep: side length (16) or 'HxW'. */
  resolutions?: readonly (number | string)[];
  /** Regular expression source; keep layers whose module path matches. */
  include?: string;
  /** Regular expression source; drop layers whose module path matches. */
  exclude?: string;
  blocks?: readonly UNetBlock[];
  /** Head indices to keep (default all). */
  heads?: readonly number[];
}

export interface MapLayer {
  layer: string;
  block: UNetBlock;
  height: number;
  width: number;
  heads: number[];
}

/** What a map stack holds, in order. Serialisable; stored next to every saved stack. */
export interface MapSpec {
  /** Side of every map after resizing. */
  size: number;
  /** Layers in channel order; each contributes its heads in order. */
  layers: MapLayer[];
  /** 'layer#head' per channel, in order (derived from layers; kept for readers of the JSON). */
  channels: string[];
  /** How the order was made, in words. */
  order: string;
  /** Resize rule, in words. */
  resize: string;
}

export const MAP_ORDER = 'resolution ascending, then down/mid/up blocks in forward order, then heads';
export const MAP_RESIZE = 'bilinear (align_corners=false) to size x size, renormalised to sum 1 only where resized';
export const DEFAULT_MAP_SIZE = 16;

export class AttentionSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttentionSpecError';
  }
}

const BLOCK_RANK: Record<UNetBlock, number> = { down: 0, mid: 1, up: 2 };

/** Sorts taps into Learn-to-Steer's order (stable on graph order within a block). */
export function orderTaps(taps: readonly AttentionTap[]): AttentionTap[] {
  const graphIndex = new Map(taps.map((t, i) => [t, i]));
  return [...taps].sort((a, b) => a.height * a.width - b.height * b.width || BLOCK_RANK[a.block] - BLOCK_RANK[b.block] || graphIndex.get(a)! - graphIndex.get(b)!);
}

export function makeSpec(taps: readonly AttentionTap[], sel: AttentionSelection = {}, size = DEFAULT_MAP_SIZE): MapSpec {
  const layers = orderTaps(taps).map((t) => {
    const heads = sel.heads ? sel.heads.filter((h) => h >= 0 && h < t.heads) : Array.from({ length: t.heads }, (_, h) => h);
    if (sel.heads && heads.length !== sel.heads.length) throw new AttentionSpecError(`layer '${t.layer}' has ${t.heads} heads; selected heads ${sel.heads.join(', ')} are not all in range`);
    return { layer: t.layer, block: t.block, height: t.height, width: t.width, heads };
  });
  return { size, layers, channels: layers.flatMap((l) => l.heads.map((h) => `${l.layer}#${h}`)), order: MAP_ORDER, resize: MAP_RESIZE };
}

/** A short stable hash of a spec (what must match between a dataset, a classifier and a model). */
export function specHash(spec: MapSpec): string {
  return createHash('sha256').update(JSON.stringify({ size: spec.size, channels: spec.channels })).digest('hex').slice(0, 16);
}

/** Human-readable differences between two specs ('' when they match). */
export function compareSpecs(expected: MapSpec, actual: MapSpec): string {
  const out: string[] = [];
  if (expected.size !== actual.size) out.push(`map size ${expected.size} vs ${actual.size}`);
  if (expected.channels.length !== actual.channels.length) out.push(`${expected.channels.length} channels vs ${actual.channels.length}`);
  const n = Math.min(expected.channels.length, actual.channels.length);
  for (let i = 0; i < n; i++) {
    if (expected.channels[i] !== actual.channels[i]) {
      out.push(`channel ${i} is '${expected.channels[i]}' vs '${actual.channels[i]}'`);
      break;
    }
  }
  return out.join('; ');
}

/**
 * Bilinear resize of one map (PyTorch bilinear, align_corners=false, no antialias), src h x w ->
 * dst H x W, written into `out` at `offset`.
 */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number, out: Float32Array, offset = 0): void {
  const sy = h / H;
  const sx = w / W;
  for (let Y = 0; Y < H; Y++) {
    const fy = Math.max(0, (Y + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const ly = fy - y0;
    for (let X = 0; X < W; X++) {
      const fx = Math.max(0, (X + 0.5) * sx - 0.5);
      const x0 = Math.min(w - 1, Math.floor(fx));
      const x1 = Math.min(w - 1, x0 + 1);
      const lx = fx - x0;
      const top = src[y0 * w + x0]! * (1 - lx) + src[y0 * w + x1]! * lx;
      const bot = src[y1 * w + x0]! * (1 - lx) + src[y1 * w + x1]! * lx;
      out[offset + Y * W + X] = top * (1 - ly) + bot * ly;
    }
  }
}

/** Token positions per object, as the maps are read: the head noun's tokens (the whole phrase if it has none). */
export function objectTokenGroups(objects: readonly AlignedObject[]): number[][] {
  return objects.map((o) => (o.headTokenIndices.length > 0 ? o.headTokenIndices : o.tokenIndices));
}

/**
 * Builds map stacks from one UNet call's tap outputs.
 * `outputs[tap.output]` is [batch, heads, H*W, tokens]; `groups[b]` are the token groups of batch
 * item b (one list of token positions per object). Returns per batch item a [G, C, size, size] stack.
 */
export function stacksFromTaps(spec: MapSpec, taps: readonly AttentionTap[], outputs: Record<string, { data: unknown; dims: readonly number[] }>, groups: readonly (readonly (readonly number[])[])[]): Float32Array[] {
  const byLayer = new Map(taps.map((t) => [t.layer, t]));
  const S = spec.size;
  const C = spec.channels.length;
  const result = groups.map((g) => new Float32Array(g.length * C * S * S));
  let channel = 0;
  for (const L of spec.layers) {
    const tap = byLayer.get(L.layer);
    if (!tap) throw new AttentionSpecError(`attention layer '${L.layer}' of the map spec is not among the model's taps`);
    const t = outputs[tap.output];
    if (!t) throw new AttentionSpecError(`the UNet run returned no '${tap.output}'`);
    const data = t.data as Float32Array;
    const [B, heads, q, T] = t.dims as number[];
    if (B! < groups.length) throw new AttentionSpecError(`'${tap.output}' has batch ${B}, fewer than the ${groups.length} token-group sets given`);
    const hw = L.height * L.width;
    if (q !== hw) throw new AttentionSpecError(`'${tap.output}' has ${q} queries; the spec says ${L.height}x${L.width}`);
    const resized = L.height !== S || L.width !== S;
    const tmp = new Float32Array(hw);
    for (let b = 0; b < groups.length; b++) {
      const gs = groups[b]!;
      for (let hi = 0; hi < L.heads.length; hi++) {
        const head = L.heads[hi]!;
        const base = (b * heads! + head) * hw * T!;
        gs.forEach((tokens, gi) => {
          if (tokens.length === 0) throw new AttentionSpecError(`object ${gi} has no tokens to read attention from`);
          tmp.fill(0);
          for (const k of tokens) {
            if (k < 0 || k >= T!) throw new AttentionSpecError(`token index ${k} is outside the ${T} text tokens of '${tap.output}'`);
            for (let p = 0; p < hw; p++) tmp[p] = tmp[p]! + data[base + p * T! + k]! / tokens.length;
          }
          const off = (gi * C + channel + hi) * S * S;
          const out = result[b]!;
          if (!resized) out.set(tmp, off);
          else {
            resizeBilinear(tmp, L.height, L.width, S, S, out, off);
            let sum = 0;
            for (let p = 0; p < S * S; p++) sum += out[off + p]!;
            if (sum > 0) for (let p = 0; p < S * S; p++) out[off + p] = out[off + p]! / sum;
          }
        });
      }
    }
    channel += L.heads.length;
  }
  return result;
}

/** Mean over channels of one object's maps in a stack: [size*size]. */
export function meanMap(stack: Float32Array, spec: MapSpec, object: number, channels?: readonly number[]): Float32Array {
  const S2 = spec.size * spec.size;
  const C = spec.channels.length;
  const sel = channels ?? Array.from({ length: C }, (_, c) => c);
  const out = new Float32Array(S2);
  for (const c of sel) {
    const off = (object * C + c) * S2;
    for (let p = 0; p < S2; p++) out[p] = out[p]! + stack[off + p]! / sel.length;
  }
  return out;
}

/** Channel indices of each layer of a spec (for per-layer grids). */
export function layerChannels(spec: MapSpec): { layer: string; channels: number[] }[] {
  let c = 0;
  return spec.layers.map((L) => {
    const channels = L.heads.map((_, i) => c + i);
    c += L.heads.length;
    return { layer: L.layer, channels };
  });
}

/** A UNet session whose outputs include the selected cross-attention maps, and the spec they make. */
export interface AttentionUNet {
  session: Session;
  taps: AttentionTap[];
  spec: MapSpec;
  file: string;
}

export interface AttentionModelInfo {
  file: string;
  latentShape: readonly [number, number, number];
}

/** Adds taps for a selection to a loaded UNet model; errors name the model file and what was searched for. */
export async function tapUNetModel(model: ModelProto, info: AttentionModelInfo, sel: AttentionSelection = {}, size = DEFAULT_MAP_SIZE): Promise<{ model: ModelProto; taps: AttentionTap[]; spec: MapSpec }> {
  const [, h, w] = info.latentShape;
  if (findCrossAttentionSoftmax(model).length === 0) {
    throw new AttentionSpecError(`${info.file}: no cross-attention softmax found (searched for Softmax nodes named '/<module path>/attn2/Softmax', as PyTorch exports of diffusers UNets name them; fused-attention exports have none: export without fused attention)`);
  }
  let include: RegExp | undefined;
  let exclude: RegExp | undefined;
  try {
    include = sel.include ? new RegExp(sel.include) : undefined;
    exclude = sel.exclude ? new RegExp(sel.exclude) : undefined;
  } catch (err) {
    throw new AttentionSpecError(`layer pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  const { model: tapped, taps } = await addAttentionTaps(model, { resolutions: sel.resolutions, include, exclude, blocks: sel.blocks, latentSize: [h, w] });
  if (taps.length === 0) {
    const what = [sel.resolutions ? `resolutions ${sel.resolutions.join(', ')}` : '', sel.include ? `include /${sel.include}/` : '', sel.exclude ? `exclude /${sel.exclude}/` : '', sel.blocks ? `blocks ${sel.blocks.join(', ')}` : ''].filter(Boolean).join(', ');
    throw new AttentionSpecError(`${info.file}: no cross-attention layer matches the selection (${what}); the model has ${findCrossAttentionSoftmax(model).map((f) => f.layer).join(', ')}`);
  }
  return { model: tapped, taps, spec: makeSpec(taps, sel, size) };
}

/** Loads the pipeline's UNet with attention taps as a session (shared through `sessions`). */
export async function attentionUNet(pipe: { folder: { unet: { model: string } }; latentShape: readonly [number, number, number] }, sessions: SessionManager, sel: AttentionSelection = {}, size = DEFAULT_MAP_SIZE): Promise<AttentionUNet> {
  const file = pipe.folder.unet.model;
  const { model } = loadModel(file);
  const { model: tapped, taps, spec } = await tapUNetModel(model, { file, latentShape: pipe.latentShape }, sel, size);
  return { session: await sessions.get(tapped), taps, spec, file };
}

/** Parses "5,10,15" into sorted distinct step indices below `steps`; errors say what is wrong. */
export function parseStepList(text: string, steps: number, what = 'recorded steps'): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new AttentionSpecError(`${what}: give at least one step index, e.g. '5,10,15'`);
  const out = parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new AttentionSpecError(`${what}: '${p}' is not a step index (comma-separated integers, e.g. '5,10,15')`);
    const n = Number(p);
    if (n >= steps) throw new AttentionSpecError(`${what}: step ${n} is outside 0..${steps - 1} (${steps} steps)`);
    return n;
  });
  if (new Set(out).size !== out.length) throw new AttentionSpecError(`${what}: '${text}' lists a step twice`);
  return out.sort((a, b) => a - b);
}

/** Parses a selection from node/CLI text fields: resolutions "8,16" (empty = all), heads "0,2" (empty = all). */
export function parseSelection(o: { resolutions?: string; include?: string; exclude?: string; heads?: string }): AttentionSelection {
  const list = (s: string | undefined, what: string) => {
    if (!s || s.trim() === '' || s.trim() === 'all') return undefined;
    return s.split(',').map((x) => {
      const t = x.trim();
      if (!/^\d+(x\d+)?$/.test(t)) throw new AttentionSpecError(`${what}: '${t}' is not a number${what === 'resolutions' ? " or 'HxW'" : ''}`);
      return t;
    });
  };
  const res = list(o.resolutions, 'resolutions');
  const heads = list(o.heads, 'heads');
  return {
    ...(res ? { resolutions: res.map((r) => (r.includes('x') ? r : Number(r))) } : {}),
    ...(o.include ? { include: o.include } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
    ...(heads ? { heads: heads.map(Number) } : {}),
  };
}
