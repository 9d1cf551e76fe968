/**
 * "Is the attention usable for steering?": for each object of a prompt, the cross-attention map
 * of its head-noun token (mean over heads and over the 16x16 cross-attention layers, averaged
 * over the middle denoising steps) should peak inside that object's detected box. This module
 * records those maps along a normal sampling run (via the sampler's beforeStep hook, on the
 * conditional prompt) and scores them against detections.
 */
import { loadModel } from '../onnx/model.ts';
import type { Session, SessionManager } from '../onnx/session.ts';
import type { Embedding } from '../pipeline/encode.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { addAttentionTaps, type AttentionTap } from '../steer/attention-taps.ts';
import type { Box } from './geneval.ts';

export interface TappedUNet {
  session: Session;
  taps: AttentionTap[];
  /** Map side (16 for Shape World). */
  size: number;
}

/** The UNet with its cross-attention maps at the largest resolution exposed as outputs. */
export async function tappedUNet(pipe: Pipeline, sessions: SessionManager): Promise<TappedUNet> {
  const { model } = loadModel(pipe.folder.unet.model);
  const [, h, w] = pipe.latentShape;
  const { model: tapped, taps } = await addAttentionTaps(model, { resolutions: [Math.max(h, w)], latentSize: [h, w] });
  if (taps.length === 0) throw new Error(`${pipe.folder.unet.model}: no cross-attention (attn2) softmax at ${h}x${w} to read`);
  return { session: await sessions.get(tapped), taps, size: taps[0]!.height };
}

/** Accumulates per-token maps (mean over heads and layers) over the steps it is fed. */
export class AttentionRecorder {
  private readonly sums: Float32Array[];
  private count = 0;

  constructor(
    private readonly unet: TappedUNet,
    private readonly pipe: Pipeline,
    /** One token list per object: the maps of these tokens are averaged. */
    private readonly tokenGroups: number[][],
  ) {
    this.sums = tokenGroups.map(() => new Float32Array(unet.size * unet.size));
  }

  async record(latentIn: Float32Array, t: number, cond: Embedding): Promise<void> {
    const [c, h, w] = this.pipe.latentShape;
    const out = await this.unet.session.run(
      {
        sample: { data: latentIn, dims: [1, c, h, w] },
        timestep: this.pipe.io.timestepType === 'int64' ? { data: BigInt64Array.of(BigInt(Math.round(t))), dims: [1] } : { data: Float32Array.of(t), dims: [1] },
        encoder_hidden_states: { data: cond.data, dims: cond.dims },
      },
      this.unet.taps.map((tap) => tap.output),
    );
    const hw = this.unet.size * this.unet.size;
    for (const tap of this.unet.taps) {
      const m = out[tap.output]!.data as Float32Array; // [1, heads, HW, tokens]
      const T = tap.tokens;
      this.tokenGroups.forEach((tokens, g) => {
        const sum = this.sums[g]!;
        for (let head = 0; head < tap.heads; head++) {
          const base = head * hw * T;
          for (let q = 0; q < hw; q++) for (const k of tokens) sum[q] = sum[q]! + m[base + q * T + k]! / (tap.heads * tokens.length);
        }
      });
    }
    this.count += this.unet.taps.length;
  }

  /** Mean map per object, [size*size] row-major. */
  maps(): Float32Array[] {
    return this.sums.map((s) => s.map((v) => v / Math.max(1, this.count)));
  }
}

/** Whether the map's peak cell centre (scaled to image pixels) lies inside the box. */
export function peakInBox(map: Float32Array, size: number, box: Box, imageSize: number): boolean {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i]! > map[best]!) best = i;
  const scale = imageSize / size;
  const x = ((best % size) + 0.5) * scale;
  const y = (Math.floor(best / size) + 0.5) * scale;
  return x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3];
}
