/**
 * "Is the attention usable for steering?": for each object of a prompt, the cross-attention map
 * of its head-noun token (mean over heads and over the 16x16 cross-attention layers, averaged
 * over the middle denoising steps) should peak inside that object's detected box. This module
 * records those maps along a normal sampling run (via the sampler's beforeStep hook, on the
 * conditional prompt) and scores them against detections. The maps come from the one attention
 * module (src/engine/steer/attention.ts): same layers, tokens and order as steering reads.
 */
import type { SessionManager } from '../onnx/session.ts';
import type { Embedding } from '../pipeline/encode.ts';
import { unetBatch } from '../pipeline/invert.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { attentionUNet, meanMap, stacksFromTaps, type AttentionUNet } from '../steer/attention.ts';
import type { Box } from './geneval.ts';

/** The UNet with its cross-attention maps at the largest (latent) resolution exposed (steer/attention.ts). */
export interface TappedUNet extends AttentionUNet {
  /** Map side (16 for Shape World). */
  size: number;
}

/** The UNet with its cross-attention maps at the largest resolution exposed as outputs. */
export async function tappedUNet(pipe: Pipeline, sessions: SessionManager): Promise<TappedUNet> {
  const [, h, w] = pipe.latentShape;
  const size = Math.max(h, w);
  const unet = await attentionUNet(pipe, sessions, { resolutions: [size] }, size);
  return { ...unet, size };
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
    const u = this.unet;
    const out = await unetBatch(this.pipe, u.session, latentIn, 1, t, cond.data, u.taps.map((tap) => tap.output));
    const [stack] = stacksFromTaps(u.spec, u.taps, out, [this.tokenGroups]);
    this.tokenGroups.forEach((_, g) => {
      const m = meanMap(stack!, u.spec, g);
      const sum = this.sums[g]!;
      for (let i = 0; i < m.length; i++) sum[i] = sum[i]! + m[i]!;
    });
    this.count += 1;
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
